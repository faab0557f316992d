//! Changing the account's email address (F3, B8): the profile page's form posts the new
//! address behind step-up (`FreshForm`: a stale session reconfirms first, an API caller gets
//! RFC 9470's challenge); the new address gets a link, `/account/email/confirm?token=T`,
//! whose page puts the token in its form and asks to confirm; only then does the email
//! change (`lanyard_signin::links::email_change`: still free, audited, a notice to the old
//! address). A link followed while signed in as another account is refused.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use lanyard_core::model::LinkPurpose;
use lanyard_signin::links::{LinkError, LinkRefusal};

use super::profile::account_page;
use crate::error::WebError;
use crate::kit::extract::{CsrfForm, FreshForm, ToAccount};
use crate::kit::{Query, cookies, csrf_token, link_page, no_store, paths, see_other, theme};
use crate::state::AppState;
use crate::ui::account_link_pages::{LinkConfirmPage, MessagePage};
use crate::ui::times::Times;

pub async fn email_post(
    State(state): State<AppState>,
    FreshForm {
        session,
        form,
        jar,
        origin,
        ..
    }: FreshForm<ToAccount>,
) -> Result<Response, WebError> {
    let account_id = session.auth.account_id;
    let new_email = form.get("new_email").unwrap_or_default();
    match state
        .account_links
        .request_email_change(account_id, new_email, &origin)
        .await
    {
        Ok(()) => Ok(see_other(&format!("{}?done=email-sent", paths::ACCOUNT))),
        Err(LinkError::Field(refused)) => {
            let mut error = crate::error::field_error(refused)?;
            error.field_id = "new_email".to_owned();
            if new_email
                .trim()
                .eq_ignore_ascii_case(&state.accounts.get(account_id).await?.email)
            {
                error.message = "Enter an email address that is not your current one".to_owned();
            }
            let account = state.accounts.get(account_id).await?;
            Ok(account_page(&state, jar, &account, None, Some(error)))
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn email_confirm_get(
    State(state): State<AppState>,
    jar: CookieJar,
    Query(params): Query,
) -> Result<Response, WebError> {
    let token = params
        .get("token")
        .ok_or(LinkError::Refused(LinkRefusal::Invalid))?;
    let link = state
        .account_links
        .open(token, LinkPurpose::EmailChange)
        .await?;
    let (jar, csrf) = csrf_token(&state, jar);
    let times = Times::utc(state.clock.now());
    let page = LinkConfirmPage {
        theme: theme(&state),
        action: paths::ACCOUNT_EMAIL_CONFIRM.to_owned(),
        csrf,
        hidden: vec![("token".to_owned(), token.to_owned())],
        heading: "Confirm your new email address".to_owned(),
        text: format!(
            "Your account's email address will be {}. Mail about your account will go there, \
             and you will sign in with it.",
            link.email.unwrap_or_default()
        ),
        expires_text: format!(
            "{} ({})",
            times.date_time(link.expires_at),
            times.relative(link.expires_at)
        ),
        button: "Use this email address".to_owned(),
        error: None,
    };
    Ok(link_page((jar, crate::ui::render(page)).into_response()))
}

pub async fn email_confirm_post(
    State(state): State<AppState>,
    CsrfForm {
        form, jar, origin, ..
    }: CsrfForm,
) -> Result<Response, WebError> {
    let token = form.get("token").unwrap_or_default();
    let signed_in = state
        .signin
        .sessions()
        .current(cookies::session(&jar))
        .await?
        .map(|s| s.auth.account_id);
    state
        .account_links
        .confirm_email_change(token, signed_in, &origin)
        .await?;
    Ok(see_other(paths::ACCOUNT_EMAIL_CONFIRMED))
}

pub async fn email_confirmed_get(State(state): State<AppState>) -> Response {
    let page = MessagePage {
        theme: theme(&state),
        heading: "Your email address is changed".to_owned(),
        paragraphs: vec![
            "From now on, sign in with your new email address. We told your old address about \
             the change."
                .to_owned(),
        ],
        link: Some(("Go to your account".to_owned(), paths::ACCOUNT.to_owned())),
    };
    no_store(crate::ui::render(page))
}
