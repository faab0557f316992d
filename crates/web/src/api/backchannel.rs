//! Introspection (RFC 7662) and revocation (RFC 7009): authenticated clients only.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use lanyard_issuer::{OAuthError, endpoints};

use crate::error::WebError;
use crate::kit::authenticated::{AuthenticatedClient, no_store_json};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(endpoints::INTROSPECT, post(introspect_post))
        .route(endpoints::REVOKE, post(revoke_post))
}

fn token_param(request: &AuthenticatedClient) -> Result<&str, OAuthError> {
    request
        .form
        .get_nonempty("token")
        .ok_or_else(|| OAuthError::invalid_request("token is required"))
}

async fn introspect_post(
    State(state): State<AppState>,
    request: AuthenticatedClient,
) -> Result<Response, WebError> {
    if request.client.is_public() {
        // A public client proves nothing about itself; it may not probe tokens.
        return Err(WebError::token(OAuthError::invalid_client()));
    }
    let answer = state
        .issuer
        .introspect(
            &request.client,
            token_param(&request).map_err(WebError::token)?,
        )
        .await
        .map_err(WebError::token)?;
    Ok(no_store_json(&answer))
}

async fn revoke_post(
    State(state): State<AppState>,
    request: AuthenticatedClient,
) -> Result<Response, WebError> {
    state
        .issuer
        .revoke(
            &request.client,
            token_param(&request).map_err(WebError::token)?,
            &request.origin,
        )
        .await
        .map_err(WebError::token)?;
    Ok(StatusCode::OK.into_response())
}
