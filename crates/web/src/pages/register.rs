//! Self sign-up (A2): `/register` (email, name, password) → "check your email" → the
//! emailed link `/register/verify?token=T`, which shows what it does and puts the token in
//! the page's form (never again in an address; `no-referrer`, `no-store`) → "your email
//! address is confirmed, sign in". The rules and the no-enumeration answer are
//! `lanyard_signin::links`; this file only asks and renders.
//!
//! A sign-up's answer is the same 303 to the same page for every address that passes the
//! field checks (S43); refused fields are shown on the form, whoever the address belongs to.

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum_extra::extract::CookieJar;
use lanyard_core::Secret;
use lanyard_core::model::LinkPurpose;
use lanyard_signin::links::{LinkError, LinkRefusal};

use crate::error::WebError;
use crate::kit::extract::CsrfForm;
use crate::kit::{Query, csrf_token, link_page, no_store, paths, see_other, theme};
use crate::state::AppState;
use crate::ui::account_link_pages::{LinkConfirmPage, MessagePage, RegisterPage};
use crate::ui::times::Times;
use crate::ui::{self, FieldError};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(paths::REGISTER, get(register_get).post(register_post))
        .route(paths::REGISTER_SENT, get(register_sent_get))
        .route(paths::REGISTER_VERIFY, get(verify_get).post(verify_post))
        .route(paths::REGISTER_VERIFIED, get(verified_get))
}

async fn register_get(State(state): State<AppState>, jar: CookieJar) -> Response {
    let open = state.account_links.settings().enabled;
    register_page(&state, jar, open, "", "", None)
}

async fn register_post(
    State(state): State<AppState>,
    CsrfForm {
        form, jar, origin, ..
    }: CsrfForm,
) -> Result<Response, WebError> {
    if !state.account_links.settings().enabled {
        return Err(LinkError::SignupClosed.into());
    }
    let email = form.get("email").unwrap_or_default();
    let name = form.get("name").unwrap_or_default();
    let password = Secret::new(form.get("password").unwrap_or_default());
    match state
        .account_links
        .register(email, name, password, &origin)
        .await
    {
        Ok(()) => Ok(see_other(paths::REGISTER_SENT)),
        Err(LinkError::Field(refused)) => {
            let error = crate::error::field_error(refused)?;
            Ok(register_page(&state, jar, true, email, name, Some(error)))
        }
        Err(e) => Err(e.into()),
    }
}

fn register_page(
    state: &AppState,
    jar: CookieJar,
    open: bool,
    email: &str,
    name: &str,
    error: Option<FieldError>,
) -> Response {
    let (jar, csrf) = csrf_token(state, jar);
    let status = ui::status_for(error.as_ref());
    let page = RegisterPage {
        theme: theme(state),
        action: paths::REGISTER.to_owned(),
        csrf,
        open,
        // What was typed comes back only after a refusal, and never the password.
        email: truncate(email, 254),
        name: truncate(name, 200),
        min_len: state.accounts.password_rules().min_chars,
        error,
    };
    (jar, no_store(ui::render_with_status(status, page))).into_response()
}

async fn register_sent_get(State(state): State<AppState>) -> Response {
    let page = MessagePage {
        theme: theme(&state),
        heading: "Check your email".to_owned(),
        paragraphs: vec![
            "We sent a mail to the address you entered. Open the link in it to finish \
             creating your account."
                .to_owned(),
            "If you already have an account with that address, the mail says so instead: \
             sign in, or reset your password."
                .to_owned(),
            "No mail after a few minutes? Check your spam folder, or sign up again to get a \
             new link."
                .to_owned(),
        ],
        link: None,
    };
    no_store(ui::render(page))
}

async fn verify_get(
    State(state): State<AppState>,
    jar: CookieJar,
    Query(params): Query,
) -> Result<Response, WebError> {
    let token = params
        .get("token")
        .ok_or(LinkError::Refused(LinkRefusal::Invalid))?;
    let link = state.account_links.open(token, LinkPurpose::Verify).await?;
    let (jar, csrf) = csrf_token(&state, jar);
    let times = Times::utc(state.clock.now());
    let page = LinkConfirmPage {
        theme: theme(&state),
        action: paths::REGISTER_VERIFY.to_owned(),
        csrf,
        hidden: vec![("token".to_owned(), token.to_owned())],
        heading: "Confirm your email address".to_owned(),
        text: "Confirm that this email address is yours to finish creating your account."
            .to_owned(),
        expires_text: format!(
            "{} ({})",
            times.date_time(link.expires_at),
            times.relative(link.expires_at)
        ),
        button: "Confirm my email address".to_owned(),
        error: None,
    };
    Ok(link_page((jar, ui::render(page)).into_response()))
}

async fn verify_post(
    State(state): State<AppState>,
    CsrfForm { form, origin, .. }: CsrfForm,
) -> Result<Response, WebError> {
    let token = form.get("token").unwrap_or_default();
    state.account_links.verify_email(token, &origin).await?;
    Ok(see_other(paths::REGISTER_VERIFIED))
}

async fn verified_get(State(state): State<AppState>) -> Response {
    let page = MessagePage {
        theme: theme(&state),
        heading: "Your email address is confirmed".to_owned(),
        paragraphs: vec![
            "Your account is ready. Sign in with your email address and password: we will \
             also send you a sign-in code by email."
                .to_owned(),
        ],
        link: Some(("Sign in".to_owned(), paths::ACCOUNT.to_owned())),
    };
    no_store(ui::render(page))
}

/// At most `max` characters (a refused form may have sent far more).
fn truncate(value: &str, max: usize) -> String {
    value.chars().take(max).collect()
}
