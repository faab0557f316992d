//! Browser sessions and sign-in flows, both kept in the ephemeral store under the keyed hash
//! of an opaque random id that lives in a cookie (session) or a hidden field (flow).
//!
//! A session ends after `session_idle_secs` without use (24 h, B7) and at the latest
//! `session_max_secs` after it started. It remembers when *this* session last saw a password
//! plus a second step (`verified_at`): the step-up guard (B8) looks at nothing else.

use std::time::Duration;

use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use lanyard_core::model::Authenticated;
use lanyard_core::rng::random_token;
use lanyard_core::{AccountId, Timestamp};
use lanyard_issuer::OAuthError;
use lanyard_issuer::authorize::AuthorizationRequest;
use lanyard_mfa::Factor;
use serde::{Deserialize, Serialize};

use crate::state::AppState;

pub const SESSION_COOKIE: &str = "lanyard_session";

/// Touching a session rewrites it; doing so at most this often keeps page views cheap.
const TOUCH_EVERY_SECS: i64 = 60;

/// A signed-in browser.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    pub auth: Authenticated,
    pub started_at: Timestamp,
    /// The last password + second step seen by this session (not a trusted-device skip).
    pub verified_at: Option<Timestamp>,
    pub last_seen: Timestamp,
    /// Set on the one session that used "sign out everywhere else" at that time, so it
    /// survives the cut that ends every session of the account started until then.
    #[serde(default)]
    pub kept_at: Option<Timestamp>,
}

/// One sign-in in progress: the authorization request it serves (or the account page to
/// return to) and how far it got.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Flow {
    /// The app's request; `None` when signing in to the account pages themselves.
    pub request: Option<AuthorizationRequest>,
    /// Where an account-page sign-in or reconfirmation returns to (a path under /account).
    pub return_to: Option<String>,
    pub email: Option<String>,
    /// Set once the user signed in during this flow, so `prompt=login` and `max_age` are met.
    pub signed_in: bool,
    /// Between the password and the end of the second step.
    pub pending: Option<Pending>,
    /// A reconfirmation belongs to the session that opened it (keyed hash of its id): only
    /// that session can finish it and become fresh (S37).
    #[serde(default)]
    pub bound_session: Option<String>,
}

impl Flow {
    pub fn for_request(request: AuthorizationRequest) -> Self {
        Flow {
            email: request.login_hint.clone(),
            request: Some(request),
            return_to: None,
            signed_in: false,
            pending: None,
            bound_session: None,
        }
    }

    pub fn for_account(return_to: String, email: Option<String>) -> Self {
        Flow {
            request: None,
            return_to: Some(return_to),
            email,
            signed_in: false,
            pending: None,
            bound_session: None,
        }
    }
}

/// What the password step established and which of the pages after the code are done. The
/// pages after it check this, so posting a later step directly gets nowhere (S37).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pending {
    pub account_id: AccountId,
    /// When the password was verified: the session's auth_time.
    pub password_at: Timestamp,
    /// Reconfirming identity for an existing session rather than signing in.
    pub step_up: bool,
    /// Set when the second step passed.
    pub passed: Option<Factor>,
    /// The backup code page still waits for "I saved my backup code".
    pub backup_code_unacknowledged: bool,
}

fn session_key(state: &AppState, id: &str) -> String {
    format!("session:{}", state.hasher.hash(id))
}

fn flow_key(state: &AppState, id: &str) -> String {
    format!("flow:{}", state.hasher.hash(id))
}

fn idle_ttl(state: &AppState) -> Duration {
    Duration::from_secs(state.settings.session_idle_secs.max(1) as u64)
}

/// The signed-in user of this browser, if the cookie names a live session.
pub async fn current_session(
    state: &AppState,
    jar: &CookieJar,
) -> Result<Option<Authenticated>, OAuthError> {
    Ok(current(state, jar).await?.map(|s| s.auth))
}

/// The full session record, sliding its idle expiry.
pub async fn current(state: &AppState, jar: &CookieJar) -> Result<Option<Session>, OAuthError> {
    let Some(cookie) = jar.get(SESSION_COOKIE) else {
        return Ok(None);
    };
    let id = cookie.value();
    if id.len() != 43 {
        return Ok(None);
    }
    let key = session_key(state, id);
    let Some(bytes) = state.ephemeral.get(&key).await? else {
        return Ok(None);
    };
    let Ok(mut session) = serde_json::from_slice::<Session>(&bytes) else {
        return Ok(None);
    };
    if ended_by_cut(state, &session).await? {
        state.ephemeral.delete(&key).await?;
        return Ok(None);
    }
    // S54: an organization now requires an authenticator app this account lacks. The
    // session stays stored but counts for nothing until a new sign-in, which is forced
    // through setting one up, so a pre-policy session gets no codes or tokens.
    if state
        .orgs
        .policy()
        .enrollment_due(session.auth.account_id)
        .await?
    {
        return Ok(None);
    }
    let now = state.clock.now();
    let idle = now.seconds() - session.last_seen.seconds();
    let age = now.seconds() - session.started_at.seconds();
    if idle >= state.settings.session_idle_secs || age >= state.settings.session_max_secs {
        state.ephemeral.delete(&key).await?;
        return Ok(None);
    }
    if idle >= TOUCH_EVERY_SECS {
        session.last_seen = now;
        store(state, &key, &session).await?;
    }
    Ok(Some(session))
}

async fn store(state: &AppState, key: &str, session: &Session) -> Result<(), OAuthError> {
    let value = serde_json::to_vec(session).map_err(OAuthError::server)?;
    state.ephemeral.put(key, &value, idle_ttl(state)).await?;
    Ok(())
}

/// Starts a new session (a new id on every sign-in, ASVS 7.2.4) and drops the old one.
pub async fn start_session(
    state: &AppState,
    jar: CookieJar,
    auth: &Authenticated,
    verified_at: Option<Timestamp>,
) -> Result<CookieJar, OAuthError> {
    let jar = end_session(state, jar).await?;
    let id = random_token(&*state.rng, 32);
    let now = state.clock.now();
    let session = Session {
        auth: auth.clone(),
        started_at: now,
        verified_at,
        last_seen: now,
        kept_at: None,
    };
    store(state, &session_key(state, &id), &session).await?;
    let cookie = Cookie::build((SESSION_COOKIE, id))
        .http_only(true)
        .secure(state.settings.secure_cookies)
        .same_site(SameSite::Lax)
        .path("/")
        .build();
    Ok(jar.add(cookie))
}

fn cut_key(account: AccountId) -> String {
    format!("sessions_ended:{account}")
}

/// Whether "sign out everywhere else" ended this session: it started at or before the
/// account's last cut and is not the session that made it.
async fn ended_by_cut(state: &AppState, session: &Session) -> Result<bool, OAuthError> {
    let Some(bytes) = state
        .ephemeral
        .get(&cut_key(session.auth.account_id))
        .await?
    else {
        return Ok(false);
    };
    let cut = std::str::from_utf8(&bytes)
        .ok()
        .and_then(|s| s.parse().ok())
        .map(Timestamp);
    Ok(match cut {
        Some(cut) => session.started_at <= cut && session.kept_at != Some(cut),
        // Unreadable: fail closed.
        None => true,
    })
}

/// Ends every other session of the signed-in account (S31: after a factor change); this
/// browser's session is marked as the one kept. False without a session.
pub async fn end_other_sessions(state: &AppState, jar: &CookieJar) -> Result<bool, OAuthError> {
    let Some(cookie) = jar.get(SESSION_COOKIE) else {
        return Ok(false);
    };
    let key = session_key(state, cookie.value());
    let Some(mut session) = current(state, jar).await? else {
        return Ok(false);
    };
    let now = state.clock.now();
    // Kept as long as any session it ends could live.
    let ttl = Duration::from_secs(state.settings.session_max_secs.max(1) as u64);
    state
        .ephemeral
        .put(
            &cut_key(session.auth.account_id),
            now.seconds().to_string().as_bytes(),
            ttl,
        )
        .await?;
    session.kept_at = Some(now);
    store(state, &key, &session).await?;
    Ok(true)
}

/// What binds a flow to this browser's session: a keyed hash of the session id, distinct
/// from the hash that keys the session record.
pub fn session_binding(state: &AppState, jar: &CookieJar) -> Option<String> {
    jar.get(SESSION_COOKIE)
        .map(|c| state.hasher.hash(&format!("bind:{}", c.value())))
}

/// Records a step-up in the *current* session only: the proof is bound to this session id,
/// so copying a flag or cookie into another session carries nothing (S37).
pub async fn mark_verified(
    state: &AppState,
    jar: &CookieJar,
    auth: Authenticated,
) -> Result<bool, OAuthError> {
    let Some(cookie) = jar.get(SESSION_COOKIE) else {
        return Ok(false);
    };
    let key = session_key(state, cookie.value());
    let Some(mut session) = current(state, jar).await? else {
        return Ok(false);
    };
    if session.auth.account_id != auth.account_id {
        return Ok(false);
    }
    let now = state.clock.now();
    session.verified_at = Some(now);
    session.last_seen = now;
    session.auth = auth;
    store(state, &key, &session).await?;
    Ok(true)
}

pub async fn end_session(state: &AppState, jar: CookieJar) -> Result<CookieJar, OAuthError> {
    if let Some(cookie) = jar.get(SESSION_COOKIE) {
        state
            .ephemeral
            .delete(&session_key(state, cookie.value()))
            .await?;
    }
    Ok(jar.remove(Cookie::build(SESSION_COOKIE).path("/").build()))
}

pub async fn save_flow(
    state: &AppState,
    id: Option<&str>,
    flow: &Flow,
) -> Result<String, OAuthError> {
    let id = id.map_or_else(|| random_token(&*state.rng, 32), str::to_owned);
    let value = serde_json::to_vec(flow).map_err(OAuthError::server)?;
    let ttl = Duration::from_secs(state.settings.flow_ttl_secs.max(1) as u64);
    state
        .ephemeral
        .put(&flow_key(state, &id), &value, ttl)
        .await?;
    Ok(id)
}

pub async fn load_flow(state: &AppState, id: &str) -> Result<Option<Flow>, OAuthError> {
    if id.len() != 43 {
        return Ok(None);
    }
    let Some(bytes) = state.ephemeral.get(&flow_key(state, id)).await? else {
        return Ok(None);
    };
    Ok(serde_json::from_slice(&bytes).ok())
}

pub async fn finish_flow(state: &AppState, id: &str) -> Result<(), OAuthError> {
    state.ephemeral.delete(&flow_key(state, id)).await?;
    Ok(())
}
