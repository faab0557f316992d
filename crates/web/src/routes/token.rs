//! The token endpoint (RFC 6749 §3.2): form-encoded POST only, client authenticated, one
//! grant per request, `no-store` responses.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use lanyard_core::Secret;
use lanyard_issuer::grant::GrantRequest;
use lanyard_issuer::{ErrorCode, OAuthError, endpoints};

use crate::client_credentials::client_credentials;
use crate::error::TokenError;
use crate::origin::RequestOrigin;
use crate::params::{Form, Params};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route(endpoints::TOKEN, post(token_post))
}

/// Back-channel endpoints take their parameters from the body only: a secret or token in
/// the query string would end up in logs (RFC 6749 §2.3.1, S52).
pub(crate) fn refuse_query(uri: &Uri) -> Result<(), TokenError> {
    match uri.query() {
        Some(q) if !q.is_empty() => Err(TokenError(OAuthError::invalid_request(
            "parameters must be sent in the request body",
        ))),
        _ => Ok(()),
    }
}

async fn token_post(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    uri: Uri,
    headers: HeaderMap,
    Form(form): Form,
) -> Result<Response, TokenError> {
    refuse_query(&uri)?;
    let request = grant_request(&form)?;
    let credentials = client_credentials(&headers, &form)?;
    let client = state
        .issuer
        .authenticate_client(credentials, &origin)
        .await?;
    let response = state.issuer.exchange(&client, request, &origin).await?;
    let mut response = Json(response).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    Ok(response)
}

fn grant_request(form: &Params) -> Result<GrantRequest, OAuthError> {
    let required = |name: &'static str, description: &'static str| {
        form.get_nonempty(name)
            .ok_or_else(|| OAuthError::invalid_request(description))
    };
    match form.get_nonempty("grant_type") {
        Some("authorization_code") => Ok(GrantRequest::AuthorizationCode {
            code: Secret::new(required("code", "code is required")?),
            redirect_uri: form.get_nonempty("redirect_uri").map(str::to_owned),
            code_verifier: form.get_nonempty("code_verifier").map(Secret::new),
        }),
        Some("refresh_token") => Ok(GrantRequest::RefreshToken {
            refresh_token: Secret::new(required("refresh_token", "refresh_token is required")?),
            scope: form.get_nonempty("scope").map(str::to_owned),
        }),
        Some("client_credentials") => Ok(GrantRequest::ClientCredentials {
            scope: form.get_nonempty("scope").map(str::to_owned),
        }),
        Some(_) => Err(OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            "the grant type is not supported",
        )),
        None => Err(OAuthError::invalid_request("grant_type is required")),
    }
}
