//! The authenticator app on the account pages (B5): set up or replace, and turn off — each
//! behind a fresh session (B8). Members of an organization that requires an app may replace
//! theirs but not turn it off (S54).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use lanyard_core::model::Account;
use lanyard_mfa::MfaError;
use lanyard_signin::Problem;

use crate::error::WebError;
use crate::kit::extract::{Fresh, FreshForm, ToSecurity, ToTotpSetup, ToTotpTurnOff};
use crate::kit::notice::{self, Notice};
use crate::kit::{csrf_token, no_store, paths, see_other, theme, to_security};
use crate::state::AppState;
use crate::ui;
use crate::ui::account_pages::ConfirmPage;
use crate::ui::signin::{SetupFor, setup_page};

pub async fn totp_setup_get(
    State(state): State<AppState>,
    Fresh {
        session,
        jar,
        origin,
        ..
    }: Fresh<ToTotpSetup>,
) -> Result<Response, WebError> {
    let account = state.accounts.get(session.auth.account_id).await?;
    let replacing = state.mfa.has_totp(account.id).await?;
    let setup = state.mfa.start_totp_setup(&account, &origin).await?;
    Ok(setup_page(
        &state,
        jar,
        setup,
        SetupFor::Account { replacing },
        None,
    ))
}

pub async fn totp_setup_post(
    State(state): State<AppState>,
    FreshForm {
        session,
        form,
        origin,
        jar,
        ..
    }: FreshForm<ToTotpSetup>,
) -> Result<Response, WebError> {
    let account = state.accounts.get(session.auth.account_id).await?;
    let replacing = state.mfa.has_totp(account.id).await?;
    let typed = form.get("code").unwrap_or("");
    let problem = match state.mfa.confirm_totp_setup(&account, typed, &origin).await {
        Ok(()) => return Ok(to_security("totp-on")),
        Err(MfaError::Malformed) => Problem::MalformedSetupCode,
        Err(MfaError::WrongCode { .. }) => Problem::WrongSetupCode,
        Err(MfaError::NotAvailable) => return Ok(see_other(paths::ACCOUNT_TOTP_SETUP)),
        Err(e) => return Err(e.into()),
    };
    let Some(setup) = state.mfa.pending_setup(&account).await? else {
        return Ok(see_other(paths::ACCOUNT_TOTP_SETUP));
    };
    Ok(setup_page(
        &state,
        jar,
        setup,
        SetupFor::Account { replacing },
        Some(problem),
    ))
}

fn org_refuses() -> WebError {
    WebError::page(
        StatusCode::CONFLICT,
        "Your organization requires an authenticator app",
        "You can replace your authenticator app with a new one, but not turn it off.",
    )
}

/// "Turn off your authenticator app?" with what follows from it (issue 12 item 8).
pub async fn totp_turn_off_get(
    State(state): State<AppState>,
    Fresh { session, jar, .. }: Fresh<ToTotpTurnOff>,
) -> Result<Response, WebError> {
    let account = state.accounts.get(session.auth.account_id).await?;
    if !state.mfa.has_totp(account.id).await? {
        return Ok(see_other(paths::ACCOUNT_SECURITY));
    }
    if org_requires_authenticator(&state, &account).await? {
        return Err(org_refuses());
    }
    let (jar, csrf) = csrf_token(&state, jar);
    let page = ConfirmPage {
        theme: theme(&state),
        title: "Turn off your authenticator app?".to_owned(),
        consequences: vec![
            format!(
                "We will email a code to {} when you sign in, instead of asking for a code from \
                 the app. Anyone who can read that email could then get in with your password.",
                account.email
            ),
            "The app on your phone will stop working for this account. To use an app again, \
             you will need to set it up again."
                .to_owned(),
            "Your trusted devices will be removed, so each will be asked for a code again."
                .to_owned(),
        ],
        action: paths::ACCOUNT_TOTP_TURN_OFF.to_owned(),
        csrf,
        button: "Turn off the authenticator app".to_owned(),
        cancel_href: paths::ACCOUNT_SECURITY.to_owned(),
    };
    Ok((jar, no_store(ui::render(page))).into_response())
}

pub async fn totp_turn_off_post(
    State(state): State<AppState>,
    FreshForm {
        session,
        origin,
        jar,
        ..
    }: FreshForm<ToSecurity>,
) -> Result<Response, WebError> {
    let account = state.accounts.get(session.auth.account_id).await?;
    if org_requires_authenticator(&state, &account).await? {
        return Err(org_refuses());
    }
    state.mfa.turn_off_totp(&account, &origin).await?;
    notice::leave(&state, &jar, Notice::AppTurnedOff).await?;
    Ok(see_other(paths::ACCOUNT_SECURITY))
}

/// S54: members of an organization that requires an authenticator app may replace theirs but
/// not turn it off (that would end the policy's guarantee without a sign-in).
async fn org_requires_authenticator(state: &AppState, account: &Account) -> Result<bool, WebError> {
    Ok(state
        .orgs
        .policy()
        .authenticator_required(account.id)
        .await?)
}
