//! Browser sessions and sign-in flows, both kept in the ephemeral store under the keyed hash
//! of an opaque random id that lives in a cookie (session) or a hidden field (flow).

use std::time::Duration;

use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use lanyard_core::model::Authenticated;
use lanyard_core::rng::random_token;
use lanyard_issuer::OAuthError;
use lanyard_issuer::authorize::AuthorizationRequest;
use serde::{Deserialize, Serialize};

use crate::state::AppState;

pub const SESSION_COOKIE: &str = "lanyard_session";

/// One sign-in in progress: the authorization request it serves and how far it got.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Flow {
    pub request: AuthorizationRequest,
    pub email: Option<String>,
    /// Set once the user signed in during this flow, so `prompt=login` and `max_age` are met.
    pub signed_in: bool,
}

fn session_key(state: &AppState, id: &str) -> String {
    format!("session:{}", state.hasher.hash(id))
}

fn flow_key(state: &AppState, id: &str) -> String {
    format!("flow:{}", state.hasher.hash(id))
}

/// The signed-in user of this browser, if the cookie names a live session.
pub async fn current_session(
    state: &AppState,
    jar: &CookieJar,
) -> Result<Option<Authenticated>, OAuthError> {
    let Some(cookie) = jar.get(SESSION_COOKIE) else {
        return Ok(None);
    };
    let id = cookie.value();
    if id.len() != 43 {
        return Ok(None);
    }
    let Some(bytes) = state.ephemeral.get(&session_key(state, id)).await? else {
        return Ok(None);
    };
    Ok(serde_json::from_slice(&bytes).ok())
}

/// Starts a new session (a new id on every sign-in, ASVS 7.2.4) and drops the old one.
pub async fn start_session(
    state: &AppState,
    jar: CookieJar,
    auth: &Authenticated,
) -> Result<CookieJar, OAuthError> {
    let jar = end_session(state, jar).await?;
    let id = random_token(&*state.rng, 32);
    let value = serde_json::to_vec(auth).map_err(OAuthError::server)?;
    let ttl = Duration::from_secs(state.settings.session_ttl_secs.max(1) as u64);
    state
        .ephemeral
        .put(&session_key(state, &id), &value, ttl)
        .await?;
    let cookie = Cookie::build((SESSION_COOKIE, id))
        .http_only(true)
        .secure(state.settings.secure_cookies)
        .same_site(SameSite::Lax)
        .path("/")
        .build();
    Ok(jar.add(cookie))
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
