//! The account API: the same sensitive changes as the security page, for API callers
//! (`DELETE`, CSRF token in `x-csrf-token`, RFC 9470 challenge when the session is not fresh):
//! turn the authenticator app off, remove a trusted device.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::delete;
use axum_extra::extract::CookieJar;
use lanyard_core::model::DeviceId;
use lanyard_identity::IdentityError;
use lanyard_mfa::MfaError;

use crate::error::WebError;
use crate::kit::guard::fresh;
use crate::kit::{Caller, RequestOrigin, check_api_csrf, paths};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(paths::ACCOUNT_TOTP, delete(totp_delete))
        .route(paths::ACCOUNT_DEVICE, delete(device_delete))
}

/// An API change's answer: 204 when it changed something, 404 when there was nothing to
/// change (another account's device, no authenticator app).
fn api_outcome(outcome: Result<bool, MfaError>) -> Result<Response, WebError> {
    match outcome? {
        true => Ok(StatusCode::NO_CONTENT.into_response()),
        false => Err(WebError::status(StatusCode::NOT_FOUND)),
    }
}

async fn totp_delete(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    jar: axum_extra::extract::CookieJar,
) -> Result<Response, WebError> {
    check_api_csrf(&state, &jar, &headers)?;
    let session = fresh(&state, &jar, Caller::Api, &origin, paths::ACCOUNT_SECURITY).await?;
    let account = match state.accounts.get(session.auth.account_id).await {
        Err(IdentityError::NotFound) => return Err(WebError::status(StatusCode::NOT_FOUND)),
        other => other?,
    };
    let required = state
        .orgs
        .policy()
        .authenticator_required(account.id)
        .await?;
    // S54: members may replace their app but not turn it off.
    if required {
        return Err(WebError::api(
            StatusCode::CONFLICT,
            "authenticator_required",
            "an organization of this account requires an authenticator app",
        ));
    }
    api_outcome(state.mfa.turn_off_totp(&account, &origin).await)
}

async fn device_delete(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    jar: CookieJar,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    check_api_csrf(&state, &jar, &headers)?;
    let session = fresh(&state, &jar, Caller::Api, &origin, paths::ACCOUNT_SECURITY).await?;
    let device = uuid::Uuid::parse_str(&id)
        .map(DeviceId)
        .map_err(|_| WebError::status(StatusCode::NOT_FOUND))?;
    api_outcome(
        state
            .mfa
            .revoke_device(session.auth.account_id, device, &origin)
            .await,
    )
}
