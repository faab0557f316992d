//! The token endpoint (RFC 6749 §3.2): form-encoded POST only, client authenticated, one
//! grant per request, `no-store` responses.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::post;
use lanyard_core::Secret;
use lanyard_core::model::GrantType;
use lanyard_issuer::grant::{GrantRequest, TokenExchangeRequest};
use lanyard_issuer::{ErrorCode, OAuthError, endpoints};

use crate::error::WebError;
use crate::kit::authenticated::{AuthenticatedClient, no_store_json};
use crate::kit::params::Params;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route(endpoints::TOKEN, post(token_post))
}

async fn token_post(
    State(state): State<AppState>,
    request: AuthenticatedClient,
) -> Result<Response, WebError> {
    let grant = grant_request(&request.form).map_err(WebError::token)?;
    let response = state
        .issuer
        .exchange(&request.client, grant, &request.origin)
        .await
        .map_err(WebError::token)?;
    Ok(no_store_json(&response))
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
            audience: form.get_nonempty("audience").map(str::to_owned),
            resource: form.get_nonempty("resource").map(str::to_owned),
        }),
        Some(g) if g == GrantType::TokenExchange.as_str() => {
            Ok(GrantRequest::TokenExchange(TokenExchangeRequest {
                subject_token: Secret::new(required("subject_token", "subject_token is required")?),
                subject_token_type: required(
                    "subject_token_type",
                    "subject_token_type is required",
                )?
                .to_owned(),
                requested_token_type: form.get_nonempty("requested_token_type").map(str::to_owned),
                audience: form.get_nonempty("audience").map(str::to_owned),
                resource: form.get_nonempty("resource").map(str::to_owned),
                scope: form.get_nonempty("scope").map(str::to_owned),
                actor_token: form.get("actor_token").map(Secret::new),
                actor_token_type: form.get("actor_token_type").map(str::to_owned),
            }))
        }
        Some(g) if g == GrantType::DeviceCode.as_str() => Ok(GrantRequest::DeviceCode {
            device_code: Secret::new(required("device_code", "device_code is required")?),
        }),
        Some(_) => Err(OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            "the grant type is not supported",
        )),
        None => Err(OAuthError::invalid_request("grant_type is required")),
    }
}
