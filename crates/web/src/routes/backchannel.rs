//! Introspection (RFC 7662) and revocation (RFC 7009): authenticated clients only.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use lanyard_issuer::{OAuthError, endpoints};

use crate::client_credentials::client_credentials;
use crate::error::TokenError;
use crate::origin::RequestOrigin;
use crate::params::Form;
use crate::routes::token::refuse_query;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(endpoints::INTROSPECT, post(introspect_post))
        .route(endpoints::REVOKE, post(revoke_post))
}

async fn introspect_post(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    uri: Uri,
    headers: HeaderMap,
    Form(form): Form,
) -> Result<Response, TokenError> {
    refuse_query(&uri)?;
    let credentials = client_credentials(&headers, &form)?;
    let client = state
        .issuer
        .authenticate_client(credentials, &origin)
        .await?;
    if client.is_public() {
        // A public client proves nothing about itself; it may not probe tokens.
        return Err(TokenError(OAuthError::invalid_client()));
    }
    let token = form
        .get_nonempty("token")
        .ok_or_else(|| OAuthError::invalid_request("token is required"))?;
    let answer = state.issuer.introspect(&client, token).await?;
    let mut response = Json(answer).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

async fn revoke_post(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    uri: Uri,
    headers: HeaderMap,
    Form(form): Form,
) -> Result<Response, TokenError> {
    refuse_query(&uri)?;
    let credentials = client_credentials(&headers, &form)?;
    let client = state
        .issuer
        .authenticate_client(credentials, &origin)
        .await?;
    let token = form
        .get_nonempty("token")
        .ok_or_else(|| OAuthError::invalid_request("token is required"))?;
    state.issuer.revoke(&client, token, &origin).await?;
    Ok(axum::http::StatusCode::OK.into_response())
}
