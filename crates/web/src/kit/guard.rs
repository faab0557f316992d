//! The guard in front of account pages and sensitive actions (B8, S37).
//!
//! [`signed_in`] wants a session; [`fresh`] also wants this session to have seen a password
//! plus a second step within the window. A browser that fails is sent to sign in or to the
//! reconfirm page and comes back; an API caller (a `DELETE`, or `Accept: application/json`)
//! gets RFC 9470's `insufficient_user_authentication` challenge. Either way nothing changes
//! and the refusal is audited.

use axum_extra::extract::CookieJar;
use lanyard_core::Origin;
use lanyard_core::model::AuditEvent;
use lanyard_issuer::endpoints;
use lanyard_mfa::stepup::is_fresh;
use lanyard_signin::{Flow, Session, SessionFor};

use crate::error::WebError;
use crate::kit::{Caller, cookies, paths};
use crate::state::AppState;

/// Only paths of the account pages, a site's pages, the device page and an invitation's
/// page (which reads its token from a cookie, never from the address) may be returned to.
pub fn safe_return_to(path: &str) -> &str {
    let device = path == endpoints::DEVICE
        || path
            .strip_prefix(endpoints::DEVICE)
            .is_some_and(|rest| rest.starts_with('?'));
    let ok = (path.starts_with("/account")
        || path.starts_with("/sites/")
        || device
        || path == paths::MIGRATE_CLAIM)
        && !path.contains("//")
        && !path.contains('\\')
        && path.bytes().all(|b| b.is_ascii_graphic());
    if ok { path } else { paths::ACCOUNT_SECURITY }
}

/// A person's session, or the way to get one.
pub async fn signed_in(
    state: &AppState,
    jar: &CookieJar,
    caller: Caller,
    return_to: &str,
) -> Result<Session, WebError> {
    signed_in_for(state, jar, caller, return_to, SessionFor::Person).await
}

/// A session that counts for `audience` (the principal boundary: `signin::session`), or the
/// way to get one (the identity sign-in).
pub async fn signed_in_for(
    state: &AppState,
    jar: &CookieJar,
    caller: Caller,
    return_to: &str,
    audience: SessionFor,
) -> Result<Session, WebError> {
    if let Some(session) = state
        .signin
        .sessions()
        .current_for(cookies::session(jar), audience)
        .await?
    {
        return Ok(session);
    }
    Err(match caller {
        Caller::Api => WebError::api_sign_in_first(),
        Caller::Browser => {
            let flow = Flow::for_account(safe_return_to(return_to).to_owned(), None);
            let id = state.signin.flows().create(&flow).await?;
            WebError::redirect_to(format!("{}?flow={}", paths::LOGIN, id.as_str()))
        }
    })
}

/// The session, if it reconfirmed identity within the step-up window.
pub async fn fresh(
    state: &AppState,
    jar: &CookieJar,
    caller: Caller,
    origin: &Origin,
    return_to: &str,
) -> Result<Session, WebError> {
    let session = signed_in(state, jar, caller, return_to).await?;
    let window = state.mfa.settings().step_up_window_secs;
    if is_fresh(session.verified_at, state.clock.now(), window) {
        return Ok(session);
    }
    let event = AuditEvent::new(state.clock.now(), "stepup.required", "failure")
        .subject(session.auth.account_id.to_string())
        .reason(safe_return_to(return_to));
    state.audit.record(event, origin).await;
    Err(match caller {
        Caller::Api => WebError::api_step_up(window),
        Caller::Browser => WebError::redirect_to(format!(
            "{}?return_to={}",
            paths::ACCOUNT_RECONFIRM,
            form_urlencoded::byte_serialize(safe_return_to(return_to).as_bytes())
                .collect::<String>()
        )),
    })
}

/// A sensitive action on a site's page (`SiteUserSignedIn`): nothing when the session
/// reconfirmed within the step-up window, else the way to reconfirm and come back — the
/// site's reconfirm page for a site user's principal, the account one for a person.
pub async fn fresh_site_user(
    state: &AppState,
    site: &lanyard_core::model::Site,
    session: &Session,
    (caller, origin): (Caller, &Origin),
    return_to: &str,
) -> Result<(), WebError> {
    let window = state.mfa.settings().step_up_window_secs;
    if is_fresh(session.verified_at, state.clock.now(), window) {
        return Ok(());
    }
    let event = AuditEvent::new(state.clock.now(), "stepup.required", "failure")
        .subject(session.auth.account_id.to_string())
        .reason(safe_return_to(return_to));
    state.audit.record(event, origin).await;
    let reconfirm = match session.site {
        Some(_) => paths::for_site(paths::SITE_RECONFIRM, &site.slug),
        None => paths::ACCOUNT_RECONFIRM.to_owned(),
    };
    Err(match caller {
        Caller::Api => WebError::api_step_up(window),
        Caller::Browser => WebError::redirect_to(format!(
            "{reconfirm}?return_to={}",
            form_urlencoded::byte_serialize(safe_return_to(return_to).as_bytes())
                .collect::<String>()
        )),
    })
}

#[cfg(test)]
mod tests {
    use super::safe_return_to;

    #[test]
    fn only_account_pages_site_pages_and_the_device_page_are_returned_to() {
        for ok in [
            "/account/security",
            "/sites/acme/admin",
            "/device",
            "/device?user_code=BCDF-GHJK",
            "/migrate/claim",
        ] {
            assert_eq!(safe_return_to(ok), ok);
        }
        for bad in [
            "/devices",
            "/device/confirm",
            "/device#x",
            "/device?x=//evil.example",
            "//evil.example/device",
            "/sites//evil.example",
            "https://evil.example/device",
            "/device?x=a b",
            "/token",
            "/migrate/claim?token=x",
            "/migrate/claim/done",
        ] {
            assert_eq!(safe_return_to(bad), "/account/security", "{bad}");
        }
    }
}
