//! The sign-in pages (F1): one question per page — email, password, the code, the backup code
//! to save, "Trust this device?", and the forced authenticator set-up (S54). Each handler
//! extracts, calls one step of `lanyard_signin::SignInService`, and renders its `Next`
//! ([`render`]); the sequence and its rules live in the sign-in service.

pub mod render;

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use lanyard_signin::CodeKind;

use crate::error::WebError;
use crate::kit::extract::{CsrfForm, SignInPage};
use crate::kit::{Query, flow_id, paths};
use crate::state::AppState;
use render::{After, respond};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(paths::LOGIN, get(email_get).post(email_post))
        .route(paths::LOGIN_PASSWORD, get(password_get).post(password_post))
        .route(paths::LOGIN_CODE, get(code_get).post(code_post))
        .route(paths::LOGIN_CODE_EMAIL, post(code_by_email_post))
        .route(paths::LOGIN_BACKUP_CODE, post(backup_saved_post))
        .route(paths::LOGIN_TRUST, post(trust_post))
        .route(paths::LOGIN_ENROLL, get(enroll_get).post(enroll_post))
}

async fn email_get(
    State(state): State<AppState>,
    page: SignInPage,
    Query(params): Query,
) -> Result<Response, WebError> {
    let next = state.signin.email_question(&flow_id(&params)?).await?;
    Ok(respond(&state, page.jar, next, After::Get))
}

async fn email_post(
    State(state): State<AppState>,
    CsrfForm { form, jar, .. }: CsrfForm,
) -> Result<Response, WebError> {
    let email = form.get("email").unwrap_or("");
    let next = state.signin.submit_email(&flow_id(&form)?, email).await?;
    Ok(respond(&state, jar, next, After::Post))
}

async fn password_get(
    State(state): State<AppState>,
    page: SignInPage,
    Query(params): Query,
) -> Result<Response, WebError> {
    let next = state.signin.password_question(&flow_id(&params)?).await?;
    // No address yet: back to the email question (a redirect, not a page at this address).
    let after = match next {
        lanyard_signin::Next::AskEmail { .. } => After::Post,
        _ => After::Get,
    };
    Ok(respond(&state, page.jar, next, after))
}

async fn password_post(
    State(state): State<AppState>,
    page: SignInPage,
    CsrfForm { form, .. }: CsrfForm,
) -> Result<Response, WebError> {
    let password = form.get("password").unwrap_or("");
    let next = state
        .signin
        .submit_password(&flow_id(&form)?, password, &page.browser())
        .await?;
    Ok(respond(&state, page.jar, next, After::Post))
}

async fn code_get(
    State(state): State<AppState>,
    page: SignInPage,
    Query(params): Query,
) -> Result<Response, WebError> {
    let asked = params.get("method").and_then(CodeKind::parse);
    let next = state
        .signin
        .code_question(&flow_id(&params)?, asked)
        .await?;
    Ok(respond(&state, page.jar, next, After::Get))
}

async fn code_post(
    State(state): State<AppState>,
    page: SignInPage,
    CsrfForm { form, .. }: CsrfForm,
) -> Result<Response, WebError> {
    let kind = form.get("method").and_then(CodeKind::parse);
    let typed = form.get("code").unwrap_or("");
    let next = state
        .signin
        .submit_code(&flow_id(&form)?, kind, typed, &page.browser())
        .await?;
    Ok(respond(&state, page.jar, next, After::Post))
}

async fn code_by_email_post(
    State(state): State<AppState>,
    page: SignInPage,
    CsrfForm { form, .. }: CsrfForm,
) -> Result<Response, WebError> {
    let next = state
        .signin
        .send_email_code(&flow_id(&form)?, &page.browser())
        .await?;
    Ok(respond(&state, page.jar, next, After::Post))
}

async fn backup_saved_post(
    State(state): State<AppState>,
    page: SignInPage,
    CsrfForm { form, .. }: CsrfForm,
) -> Result<Response, WebError> {
    let saved = form.get("saved") == Some("yes");
    let next = state
        .signin
        .acknowledge_backup_code(&flow_id(&form)?, saved, &page.browser())
        .await?;
    Ok(respond(&state, page.jar, next, After::Post))
}

async fn trust_post(
    State(state): State<AppState>,
    page: SignInPage,
    CsrfForm { form, .. }: CsrfForm,
) -> Result<Response, WebError> {
    let trust = match form.get("trust") {
        Some("yes") => true,
        Some("no") => false,
        _ => {
            return Err(WebError::bad_request(
                "Choose an answer",
                "Go back and choose whether to trust this device.",
            ));
        }
    };
    let next = state
        .signin
        .answer_trust(&flow_id(&form)?, trust, &page.browser())
        .await?;
    Ok(respond(&state, page.jar, next, After::Post))
}

async fn enroll_get(
    State(state): State<AppState>,
    page: SignInPage,
    Query(params): Query,
) -> Result<Response, WebError> {
    let next = state
        .signin
        .setup_question(&flow_id(&params)?, &page.browser())
        .await?;
    Ok(respond(&state, page.jar, next, After::Get))
}

async fn enroll_post(
    State(state): State<AppState>,
    page: SignInPage,
    CsrfForm { form, .. }: CsrfForm,
) -> Result<Response, WebError> {
    let typed = form.get("code").unwrap_or("");
    let next = state
        .signin
        .confirm_setup(&flow_id(&form)?, typed, &page.browser())
        .await?;
    Ok(respond(&state, page.jar, next, After::Post))
}
