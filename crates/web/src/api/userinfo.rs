//! UserInfo (OIDC Core §5.3), GET and POST, bearer token in the Authorization header only:
//! tokens in query strings or bodies leak into logs and caches (RFC 6750 §2.3, §5.3).

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use lanyard_issuer::{OAuthError, endpoints};

use crate::error::WebError;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route(endpoints::USERINFO, get(userinfo_get).post(userinfo_get))
}

async fn userinfo_get(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    if uri.query().is_some_and(|q| q.contains("access_token")) {
        return Err(WebError::bearer(OAuthError::invalid_request(
            "send the access token in the Authorization header",
        )));
    }
    let token =
        bearer_token(&headers).ok_or_else(|| WebError::bearer(OAuthError::invalid_token()))?;
    let info = state
        .issuer
        .userinfo(token)
        .await
        .map_err(WebError::bearer)?;
    let mut response = Json(info).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token.trim())
}
