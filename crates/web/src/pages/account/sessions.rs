//! Signing out one of the account's other browsers from the security page's list (F3):
//! protective, so a signed-in session is enough (no step-up), like "sign out everywhere
//! else". The browser names the session by the handle the list showed; a handle of another
//! account's session, or of none, ends nothing.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use lanyard_core::Origin;
use lanyard_core::model::AuditEvent;
use lanyard_signin::Session;

use crate::error::WebError;
use crate::kit::extract::{SignedInForm, ToSecurity};
use crate::kit::guard::signed_in;
use crate::kit::{Caller, RequestOrigin, check_api_csrf, paths, to_security};
use crate::state::AppState;

/// A handle is the hex keyed hash the list showed; anything else names no session.
fn well_formed(handle: &str) -> bool {
    handle.len() == 64 && handle.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Ends the listed session; false when the handle names none of this account's.
async fn end(
    state: &AppState,
    session: &Session,
    handle: &str,
    origin: &Origin,
) -> Result<bool, WebError> {
    if !well_formed(handle) {
        return Ok(false);
    }
    let account = session.auth.account_id;
    let ended = state
        .signin
        .sessions()
        .end_listed(account, handle, origin)
        .await?;
    if ended {
        let event = AuditEvent::new(state.clock.now(), "session.ended_one", "success")
            .subject(account.to_string());
        state.audit.record(event, origin).await;
    }
    Ok(ended)
}

pub async fn end_session_post(
    State(state): State<AppState>,
    SignedInForm {
        session,
        form,
        origin,
        ..
    }: SignedInForm<ToSecurity>,
) -> Result<Response, WebError> {
    let handle = form.get("session").unwrap_or("");
    if end(&state, &session, handle, &origin).await? {
        Ok(to_security("session-ended"))
    } else {
        // Already signed out (another tab, the idle limit) or never this account's: the
        // list shows what is left.
        Ok(to_security("session-gone"))
    }
}

pub async fn end_session_delete(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    jar: CookieJar,
    Path(handle): Path<String>,
) -> Result<Response, WebError> {
    check_api_csrf(&state, &jar, &headers)?;
    let session = signed_in(&state, &jar, Caller::Api, paths::ACCOUNT_SECURITY).await?;
    if end(&state, &session, &handle, &origin).await? {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(WebError::status(StatusCode::NOT_FOUND))
    }
}

#[cfg(test)]
mod tests {
    use super::well_formed;

    #[test]
    fn only_a_hex_hash_is_a_handle() {
        assert!(well_formed(&"ab12".repeat(16)));
        assert!(!well_formed(&"ab12".repeat(15)));
        assert!(!well_formed(&"zz12".repeat(16)));
        assert!(!well_formed("../../etc"));
    }
}
