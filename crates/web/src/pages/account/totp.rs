//! The authenticator app on the account pages (B5): set up or replace, and turn off — each
//! behind a fresh session (B8). Members of an organization that requires an app may replace
//! theirs but not turn it off (S54).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use lanyard_core::model::Account;
use lanyard_mfa::MfaError;
use lanyard_signin::Problem;

use crate::error::WebError;
use crate::kit::extract::{Fresh, FreshForm, ToSecurity, ToTotpSetup};
use crate::kit::{paths, see_other, to_security};
use crate::state::AppState;
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

pub async fn totp_turn_off_post(
    State(state): State<AppState>,
    FreshForm {
        session, origin, ..
    }: FreshForm<ToSecurity>,
) -> Result<Response, WebError> {
    let account = state.accounts.get(session.auth.account_id).await?;
    if org_requires_authenticator(&state, &account).await? {
        return Err(WebError::page(
            StatusCode::CONFLICT,
            "Your organization requires an authenticator app",
            "You can replace your authenticator app with a new one, but not turn it off.",
        ));
    }
    state.mfa.turn_off_totp(&account, &origin).await?;
    Ok(to_security("totp-off"))
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
