//! Finds the client credentials in a back-channel request (RFC 6749 §2.3.1, RFC 7523 §2.2)
//! and refuses ambiguous ones: two methods at once, or two different client ids.

use axum::http::{HeaderMap, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use lanyard_core::Secret;
use lanyard_issuer::OAuthError;
use lanyard_issuer::client_auth::{ClientCredentials, JWT_BEARER_ASSERTION};

use crate::kit::params::Params;

pub fn client_credentials(
    headers: &HeaderMap,
    form: &Params,
) -> Result<ClientCredentials, OAuthError> {
    let basic = basic_credentials(headers)?;
    let body_id = form.get_nonempty("client_id");
    let body_secret = form.get("client_secret");
    let assertion_type = form.get("client_assertion_type");
    let assertion = form.get("client_assertion");
    let methods = [
        basic.is_some(),
        body_secret.is_some(),
        assertion.is_some() || assertion_type.is_some(),
    ]
    .iter()
    .filter(|m| **m)
    .count();
    if methods > 1 {
        return Err(OAuthError::invalid_request(
            "more than one client authentication method",
        ));
    }
    if let Some((client_id, secret)) = basic {
        if body_id.is_some_and(|id| id != client_id) {
            return Err(OAuthError::invalid_request(
                "client_id differs from the authenticated client",
            ));
        }
        return Ok(ClientCredentials::Basic { client_id, secret });
    }
    if let Some(secret) = body_secret {
        let client_id = body_id.ok_or_else(OAuthError::invalid_client)?;
        return Ok(ClientCredentials::Post {
            client_id: client_id.to_owned(),
            secret: Secret::new(secret),
        });
    }
    if assertion.is_some() || assertion_type.is_some() {
        if assertion_type != Some(JWT_BEARER_ASSERTION) {
            return Err(OAuthError::invalid_request(
                "unsupported client_assertion_type",
            ));
        }
        let assertion = assertion
            .filter(|a| !a.is_empty())
            .ok_or_else(OAuthError::invalid_client)?;
        return Ok(ClientCredentials::Assertion {
            client_id: body_id.map(str::to_owned),
            assertion: assertion.to_owned(),
        });
    }
    Ok(match body_id {
        Some(id) => ClientCredentials::IdOnly {
            client_id: id.to_owned(),
        },
        None => ClientCredentials::None,
    })
}

/// RFC 6749 §2.3.1: id and secret are form-urlencoded before being joined and base64ed.
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, Secret)>, OAuthError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| OAuthError::invalid_client())?;
    let Some(encoded) = value
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .map(|(_, rest)| rest.trim())
    else {
        return Err(OAuthError::invalid_client());
    };
    if encoded.len() > 1024 {
        return Err(OAuthError::invalid_client());
    }
    let decoded = STANDARD
        .decode(encoded)
        .map_err(|_| OAuthError::invalid_client())?;
    let decoded = String::from_utf8(decoded).map_err(|_| OAuthError::invalid_client())?;
    let (id, secret) = decoded
        .split_once(':')
        .ok_or_else(OAuthError::invalid_client)?;
    let id = Params::parse(format!("v={id}").as_bytes())
        .ok()
        .and_then(|p| p.get("v").map(str::to_owned))
        .ok_or_else(OAuthError::invalid_client)?;
    let secret = Params::parse(format!("v={secret}").as_bytes())
        .ok()
        .and_then(|p| p.get("v").map(str::to_owned))
        .ok_or_else(OAuthError::invalid_client)?;
    if id.is_empty() {
        return Err(OAuthError::invalid_client());
    }
    Ok(Some((id, Secret::new(secret))))
}
