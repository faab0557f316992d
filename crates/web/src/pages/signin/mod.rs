//! The sign-in pages (F1): one question per page — email, password, the code, the backup code
//! to save, "Trust this device?" (or, for authenticator-app accounts, "Stay signed in?"), and the forced authenticator set-up (S54). Each handler
//! extracts the flow, calls one step of `lanyard_signin::SignInService`, and renders its
//! `Next` (`ui::signin`); the sequence and its rules live in the sign-in service.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use lanyard_signin::{CodeKind, FlowId, Next};

use crate::error::WebError;
use crate::kit::extract::{FlowForm, FlowPage};
use crate::kit::paths;
use crate::state::AppState;
use crate::ui::signin::{After, respond, respond_naming};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(paths::LOGIN, get(email_get).post(email_post))
        .route(paths::LOGIN_PASSWORD, get(password_get).post(password_post))
        .route(
            paths::LOGIN_ORGANIZATION,
            get(organization_get).post(organization_post),
        )
        .route(paths::LOGIN_CODE, get(code_get).post(code_post))
        .route(paths::LOGIN_CODE_EMAIL, post(code_by_email_post))
        .route(paths::LOGIN_BACKUP_CODE, post(backup_saved_post))
        .route(paths::LOGIN_TRUST, post(trust_post))
        .route(paths::LOGIN_STAY_SIGNED_IN, post(stay_signed_in_post))
        .route(paths::LOGIN_ENROLL, get(enroll_get).post(enroll_post))
}

async fn email_get(State(state): State<AppState>, p: FlowPage) -> Result<Response, WebError> {
    let next = state.signin.email_question(&p.flow).await?;
    let app = app_name(&state, &p.flow).await;
    Ok(respond_naming(&state, p.page.jar, next, After::Get, app))
}

async fn email_post(State(state): State<AppState>, f: FlowForm) -> Result<Response, WebError> {
    let next = state.signin.submit_email(&f.flow, f.field("email")).await?;
    let app = app_name(&state, &f.flow).await;
    Ok(respond_naming(&state, f.page.jar, next, After::Post, app))
}

/// The registered name of the app a flow signs in to; `None` for an account-page sign-in.
/// A failed lookup only leaves the name out: the step itself reports real failures.
async fn app_name(state: &AppState, flow: &FlowId) -> Option<String> {
    let request = state.signin.flows().get(flow).await.ok()?.request?;
    let client = state
        .issuer
        .clients()
        .find(&request.client_id)
        .await
        .ok()??;
    Some(client.name.clone())
}

async fn password_get(State(state): State<AppState>, p: FlowPage) -> Result<Response, WebError> {
    let next = state.signin.password_question(&p.flow).await?;
    // No address yet: back to the email question (a redirect, not a page at this address).
    let after = match next {
        Next::AskEmail { .. } => After::Post,
        _ => After::Get,
    };
    Ok(respond(&state, p.page.jar, next, after))
}

async fn password_post(State(state): State<AppState>, f: FlowForm) -> Result<Response, WebError> {
    let next = state
        .signin
        .submit_password(&f.flow, f.field("password"), &f.page.browser())
        .await?;
    Ok(respond(&state, f.page.jar, next, After::Post))
}

async fn organization_get(
    State(state): State<AppState>,
    p: FlowPage,
) -> Result<Response, WebError> {
    let next = state.signin.organization_question(&p.flow).await?;
    let after = match next {
        Next::AskOrganization(_) => After::Get,
        _ => After::Post,
    };
    Ok(respond(&state, p.page.jar, next, after))
}

/// "Continue to <organization>": off to its identity provider.
async fn organization_post(
    State(state): State<AppState>,
    f: FlowForm,
) -> Result<Response, WebError> {
    let next = state.signin.start_upstream(&f.flow).await?;
    Ok(respond(&state, f.page.jar, next, After::Post))
}

async fn code_get(State(state): State<AppState>, p: FlowPage) -> Result<Response, WebError> {
    let asked = p.query.get("method").and_then(CodeKind::parse);
    let next = state.signin.code_question(&p.flow, asked).await?;
    Ok(respond(&state, p.page.jar, next, After::Get))
}

async fn code_post(State(state): State<AppState>, f: FlowForm) -> Result<Response, WebError> {
    let kind = f.form.get("method").and_then(CodeKind::parse);
    let next = state
        .signin
        .submit_code(&f.flow, kind, f.field("code"), &f.page.browser())
        .await?;
    Ok(respond(&state, f.page.jar, next, After::Post))
}

async fn code_by_email_post(
    State(state): State<AppState>,
    f: FlowForm,
) -> Result<Response, WebError> {
    let next = state
        .signin
        .send_email_code(&f.flow, &f.page.browser())
        .await?;
    Ok(respond(&state, f.page.jar, next, After::Post))
}

async fn backup_saved_post(
    State(state): State<AppState>,
    f: FlowForm,
) -> Result<Response, WebError> {
    let saved = f.field("saved") == "yes";
    let next = state
        .signin
        .acknowledge_backup_code(&f.flow, saved, &f.page.browser())
        .await?;
    Ok(respond(&state, f.page.jar, next, After::Post))
}

async fn trust_post(State(state): State<AppState>, f: FlowForm) -> Result<Response, WebError> {
    let trust = match f.field("trust") {
        "yes" => true,
        "no" => false,
        _ => {
            return Err(WebError::bad_request(
                "Choose an answer",
                "Go back and choose whether to trust this device.",
            ));
        }
    };
    let next = state
        .signin
        .answer_trust(&f.flow, trust, &f.page.browser())
        .await?;
    Ok(respond(&state, f.page.jar, next, After::Post))
}

async fn stay_signed_in_post(
    State(state): State<AppState>,
    f: FlowForm,
) -> Result<Response, WebError> {
    let stay = match f.field("stay") {
        "yes" => true,
        "no" => false,
        _ => {
            return Err(WebError::bad_request(
                "Choose an answer",
                "Go back and choose whether to stay signed in on this browser.",
            ));
        }
    };
    let next = state
        .signin
        .answer_stay_signed_in(&f.flow, stay, &f.page.browser())
        .await?;
    Ok(respond(&state, f.page.jar, next, After::Post))
}

async fn enroll_get(State(state): State<AppState>, p: FlowPage) -> Result<Response, WebError> {
    let next = state
        .signin
        .setup_question(&p.flow, &p.page.browser())
        .await?;
    Ok(respond(&state, p.page.jar, next, After::Get))
}

async fn enroll_post(State(state): State<AppState>, f: FlowForm) -> Result<Response, WebError> {
    let next = state
        .signin
        .confirm_setup(&f.flow, f.field("code"), &f.page.browser())
        .await?;
    Ok(respond(&state, f.page.jar, next, After::Post))
}
