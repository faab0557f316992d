//! The device authorization endpoint (RFC 8628 §3.1–§3.2): an authenticated client asks for
//! a device code and a user code; errors as at the token endpoint (RFC 6749 §5.2).

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::post;
use lanyard_issuer::endpoints;

use crate::error::WebError;
use crate::kit::authenticated::{AuthenticatedClient, no_store_json};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route(
        endpoints::DEVICE_AUTHORIZATION,
        post(device_authorization_post),
    )
}

/// RFC 8628 §3.1–§3.2; errors as at the token endpoint (RFC 6749 §5.2).
async fn device_authorization_post(
    State(state): State<AppState>,
    request: AuthenticatedClient,
) -> Result<Response, WebError> {
    let response = state
        .issuer
        .authorize_device(
            &request.client,
            request.form.get_nonempty("scope"),
            &request.origin,
        )
        .await
        .map_err(WebError::token)?;
    Ok(no_store_json(&response))
}
