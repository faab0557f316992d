//! Setting up an authenticator app in the middle of a sign-in, when an organization of the
//! account requires one and it has none (S54). The password and the second step have passed;
//! there is no session and no authorization code until the app is confirmed, and then the
//! sign-in ends as usual (`second_step::finish`).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum_extra::extract::CookieJar;
use lanyard_core::model::Account;
use lanyard_issuer::endpoints;
use lanyard_mfa::MfaError;

use crate::error::PageError;
use crate::origin::RequestOrigin;
use crate::params::{Form, Params, Query};
use crate::routes::account::{SetupFor, totp_setup_page};
use crate::routes::login::check_csrf;
use crate::routes::second_step::{enrollment_due, finish, open_flow};
use crate::state::AppState;
use crate::ui::FieldError;

pub fn routes() -> Router<AppState> {
    Router::new().route(endpoints::LOGIN_ENROLL, get(enroll_get).post(enroll_post))
}

/// The flow's account, when the flow is at this step: second step passed, backup code
/// acknowledged, a sign-in (not a step-up) and the policy still waiting for an app.
async fn enrolling_account(
    state: &AppState,
    params: &Params,
) -> Result<(String, crate::session::Flow, Account), PageError> {
    let (id, flow, pending) = open_flow(state, params).await?;
    if pending.passed.is_none()
        || pending.step_up
        || pending.backup_code_unacknowledged
        || !enrollment_due(state, pending.account_id).await?
    {
        return Err(PageError::expired_flow());
    }
    let account = state
        .accounts
        .get(pending.account_id)
        .await
        .map_err(|_| PageError::expired_flow())?;
    Ok((id, flow, account))
}

async fn enroll_get(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    jar: CookieJar,
    Query(params): Query,
) -> Result<Response, PageError> {
    let (id, _, account) = enrolling_account(&state, &params).await?;
    // Reloading the page keeps the secret already shown (it may be scanned already).
    let setup = match state.mfa.pending_setup(&account).await? {
        Some(setup) => setup,
        None => state.mfa.start_totp_setup(&account, &origin).await?,
    };
    totp_setup_page(&state, jar, setup, SetupFor::SignIn { flow_id: &id }, None)
}

async fn enroll_post(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    jar: CookieJar,
    Form(form): Form,
) -> Result<Response, PageError> {
    check_csrf(&jar, &form)?;
    let (id, flow, account) = enrolling_account(&state, &form).await?;
    let typed = form.get("code").unwrap_or("");
    let message = match state.mfa.confirm_totp_setup(&account, typed, &origin).await {
        Ok(()) => return finish(&state, jar, &id, flow).await,
        Err(MfaError::Malformed) => "Enter the 6-digit code from your authenticator app",
        Err(MfaError::WrongCode { .. }) => {
            "The code is not right. Check the app shows the new entry and try again."
        }
        Err(MfaError::NotAvailable) => {
            return Ok(crate::routes::authorize::redirect(
                &format!("{}?flow={id}", endpoints::LOGIN_ENROLL),
                StatusCode::SEE_OTHER,
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let Some(setup) = state.mfa.pending_setup(&account).await? else {
        return Err(PageError::expired_flow());
    };
    totp_setup_page(
        &state,
        jar,
        setup,
        SetupFor::SignIn { flow_id: &id },
        Some(FieldError::new("code", message)),
    )
}
