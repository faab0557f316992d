//! The shared front of the back-channel endpoints (token, introspection, revocation):
//! parameters only in a form body, one authenticated client, `no-store` JSON answers.

use std::sync::Arc;

use axum::Json;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use lanyard_core::Origin;
use lanyard_core::model::Client;
use lanyard_issuer::{OAuthError, endpoints};
use serde::Serialize;

use crate::error::WebError;
use crate::kit::RequestOrigin;
use crate::kit::client_credentials::client_credentials;
use crate::kit::params::{Params, ProtocolForm};
use crate::state::AppState;

/// A back-channel request from a client that authenticated with its registered method.
pub struct AuthenticatedClient {
    pub client: Arc<Client>,
    pub form: Params,
    pub origin: Origin,
}

impl FromRequest<AppState> for AuthenticatedClient {
    type Rejection = WebError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        // A secret or token in the query string would end up in logs (RFC 6749 §2.3.1, S52).
        if parts.uri.query().is_some_and(|q| !q.is_empty()) {
            return Err(WebError::token(OAuthError::invalid_request(
                "parameters must be sent in the request body",
            )));
        }
        let RequestOrigin(origin) = RequestOrigin::of(&parts, state);
        let headers = parts.headers.clone();
        let endpoint = called_endpoint(parts.uri.path());
        let ProtocolForm(form) =
            ProtocolForm::from_request(Request::from_parts(parts, body), state).await?;
        let credentials = client_credentials(&headers, &form).map_err(WebError::token)?;
        let client = state
            .issuer
            .authenticate_client(credentials, endpoint, &origin)
            .await
            .map_err(WebError::token)?;
        Ok(Self {
            client,
            form,
            origin,
        })
    }
}

/// The endpoint a request was routed to, as its constant: an assertion may name this
/// endpoint's URL as audience (RFC 7523 §3). Anything else (never routed here) counts as
/// the token endpoint, which every assertion may name anyway.
fn called_endpoint(path: &str) -> &'static str {
    [
        endpoints::INTROSPECT,
        endpoints::REVOKE,
        endpoints::DEVICE_AUTHORIZATION,
    ]
    .into_iter()
    .find(|e| *e == path)
    .unwrap_or(endpoints::TOKEN)
}

/// RFC 6749 §5.1: token-bearing answers must not be cached.
pub fn no_store_json<T: Serialize>(value: &T) -> Response {
    let mut response = Json(value).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}
