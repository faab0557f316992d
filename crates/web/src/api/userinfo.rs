//! UserInfo (OIDC Core §5.3), GET and POST. The access token comes in the `Authorization`
//! header (RFC 6750 §2.1) or, on a POST, as `access_token` in a form-encoded body
//! (RFC 6750 §2.2) — never in the query string, where it would leak into logs and caches
//! (RFC 6750 §2.3, §5.3), and never in two places at once (§2: "MUST NOT use more than one
//! method"). A request with no token at all is told how to authenticate, with no error code
//! (RFC 6750 §3.1).

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use lanyard_core::Secret;
use lanyard_issuer::endpoints;

use crate::error::WebError;
use crate::kit::bearer::BearerToken;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route(endpoints::USERINFO, get(userinfo_get).post(userinfo_post))
}

async fn userinfo_get(
    State(state): State<AppState>,
    BearerToken(token): BearerToken,
) -> Result<Response, WebError> {
    userinfo(&state, &token).await
}

async fn userinfo_post(
    State(state): State<AppState>,
    BearerToken(token): BearerToken,
) -> Result<Response, WebError> {
    userinfo(&state, &token).await
}

async fn userinfo(state: &AppState, token: &Secret) -> Result<Response, WebError> {
    let info = state
        .issuer
        .userinfo(token.expose())
        .await
        .map_err(WebError::bearer)?;
    let mut response = Json(info).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
