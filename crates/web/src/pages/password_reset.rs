//! Password reset (A2): `/password/forgot` (the email address) → always "if an account
//! exists for that address, we sent a link" → the emailed link `/password/reset?token=T`,
//! whose page puts the token in its form (never again in an address; `no-referrer`,
//! `no-store`) and asks the new password → "your password is changed, sign in". Who gets a
//! link, and what a reset ends, is `lanyard_signin::links::reset`.

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum_extra::extract::CookieJar;
use lanyard_core::Secret;
use lanyard_core::model::{AccountLink, LinkPurpose};
use lanyard_signin::links::{LinkError, LinkRefusal};

use crate::error::WebError;
use crate::kit::extract::CsrfForm;
use crate::kit::{Query, csrf_token, link_page, no_store, paths, see_other, theme};
use crate::state::AppState;
use crate::ui::account_link_pages::{ForgotPage, MessagePage, ResetPage};
use crate::ui::times::Times;
use crate::ui::{self, FieldError};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(paths::PASSWORD_FORGOT, get(forgot_get).post(forgot_post))
        .route(paths::PASSWORD_FORGOT_SENT, get(forgot_sent_get))
        .route(paths::PASSWORD_RESET, get(reset_get).post(reset_post))
        .route(paths::PASSWORD_RESET_DONE, get(reset_done_get))
}

async fn forgot_get(State(state): State<AppState>, jar: CookieJar) -> Response {
    forgot_page(&state, jar, "", None)
}

async fn forgot_post(
    State(state): State<AppState>,
    CsrfForm {
        form, jar, origin, ..
    }: CsrfForm,
) -> Result<Response, WebError> {
    let email = form.get("email").unwrap_or_default();
    match state.account_links.request_reset(email, &origin).await {
        Ok(()) => Ok(see_other(paths::PASSWORD_FORGOT_SENT)),
        Err(LinkError::Field(refused)) => {
            let error = crate::error::field_error(refused)?;
            let email: String = email.chars().take(254).collect();
            Ok(forgot_page(&state, jar, &email, Some(error)))
        }
        Err(e) => Err(e.into()),
    }
}

fn forgot_page(
    state: &AppState,
    jar: CookieJar,
    email: &str,
    error: Option<FieldError>,
) -> Response {
    let (jar, csrf) = csrf_token(state, jar);
    let status = ui::status_for(error.as_ref());
    let page = ForgotPage {
        theme: theme(state),
        action: paths::PASSWORD_FORGOT.to_owned(),
        csrf,
        email: email.to_owned(),
        error,
    };
    (jar, no_store(ui::render_with_status(status, page))).into_response()
}

async fn forgot_sent_get(State(state): State<AppState>) -> Response {
    let page = MessagePage {
        theme: theme(&state),
        heading: "Check your email".to_owned(),
        paragraphs: vec![
            "If an account exists for that address, we sent a link to it. Open the link to \
             choose a new password."
                .to_owned(),
            "No mail after a few minutes? Check your spam folder and the address you entered, \
             then ask again."
                .to_owned(),
        ],
        link: None,
    };
    no_store(ui::render(page))
}

async fn reset_get(
    State(state): State<AppState>,
    jar: CookieJar,
    Query(params): Query,
) -> Result<Response, WebError> {
    let token = params
        .get("token")
        .ok_or(LinkError::Refused(LinkRefusal::Invalid))?;
    let link = state.account_links.open(token, LinkPurpose::Reset).await?;
    reset_page(&state, jar, &link, token, None).await
}

async fn reset_post(
    State(state): State<AppState>,
    CsrfForm {
        form, jar, origin, ..
    }: CsrfForm,
) -> Result<Response, WebError> {
    let token = form.get("token").unwrap_or_default();
    let password = Secret::new(form.get("password").unwrap_or_default());
    match state
        .account_links
        .reset_password(token, password, &origin)
        .await
    {
        Ok(_) => Ok(see_other(paths::PASSWORD_RESET_DONE)),
        Err(LinkError::Field(refused)) => {
            let error = crate::error::field_error(refused)?;
            // Shown again with what to fix; the link was not spent.
            let link = state.account_links.open(token, LinkPurpose::Reset).await?;
            reset_page(&state, jar, &link, token, Some(error)).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn reset_page(
    state: &AppState,
    jar: CookieJar,
    link: &AccountLink,
    token: &str,
    error: Option<FieldError>,
) -> Result<Response, WebError> {
    let account = state.accounts.get(link.account_id).await?;
    let (jar, csrf) = csrf_token(state, jar);
    let times = Times::utc(state.clock.now());
    let status = ui::status_for(error.as_ref());
    let page = ResetPage {
        theme: theme(state),
        action: paths::PASSWORD_RESET.to_owned(),
        csrf,
        hidden: vec![("token".to_owned(), token.to_owned())],
        email: account.email,
        expires_text: format!(
            "{} ({})",
            times.date_time(link.expires_at),
            times.relative(link.expires_at)
        ),
        min_len: state.accounts.password_rules().min_chars,
        error,
    };
    Ok(link_page(
        (jar, ui::render_with_status(status, page)).into_response(),
    ))
}

async fn reset_done_get(State(state): State<AppState>) -> Response {
    let page = MessagePage {
        theme: theme(&state),
        heading: "Your password is changed".to_owned(),
        paragraphs: vec![
            "You are signed out everywhere. Sign in with your new password.".to_owned(),
        ],
        link: Some(("Sign in".to_owned(), paths::ACCOUNT.to_owned())),
    };
    no_store(ui::render(page))
}
