//! The access token of a request to a bearer-protected resource (UserInfo): in the
//! `Authorization` header (RFC 6750 §2.1) or, on a POST, as `access_token` in a form-encoded
//! body (§2.2); never in the query string (§2.3 is not supported: URLs end up in logs), never
//! in two places at once (§2). No token at all is `WebError::bearer_missing`, the challenge
//! without an error code (§3.1).

use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, Method, StatusCode, header};
use lanyard_core::Secret;
use lanyard_issuer::OAuthError;

use crate::error::WebError;
use crate::kit::body::declared_length;
use crate::kit::params::{ParamError, read_form};
use crate::state::AppState;

/// The one access token of a request to a bearer-protected resource.
pub struct BearerToken(pub Secret);

impl FromRequest<AppState> for BearerToken {
    type Rejection = WebError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, WebError> {
        let invalid = |description| WebError::bearer(OAuthError::invalid_request(description));
        if req
            .uri()
            .query()
            .is_some_and(|q| q.contains("access_token"))
        {
            return Err(invalid("send the access token in the Authorization header"));
        }
        let header = bearer_header(req.headers())?;
        let form = if req.method() == Method::POST && has_body(req.headers()) {
            read_form(req, state).await.map_err(|e| match e {
                ParamError::BodyTooLarge => invalid("the request body is too large")
                    .with_status(StatusCode::PAYLOAD_TOO_LARGE),
                _ => invalid("the body must be application/x-www-form-urlencoded"),
            })?
        } else {
            Default::default()
        };
        // RFC 6749 §3.1: a parameter sent empty is treated as omitted.
        match (header, form.get_nonempty("access_token")) {
            (Some(_), Some(_)) => Err(invalid("send the access token in one place only")),
            (Some(token), None) => Ok(Self(token)),
            (None, Some(token)) => Ok(Self(Secret::new(token))),
            (None, None) => Err(WebError::bearer_missing()),
        }
    }
}

/// A POST that has a body or says what its body is (`Content-Length` above 0, chunked, a
/// `Content-Type`); an empty POST is like a GET.
fn has_body(headers: &HeaderMap) -> bool {
    headers.contains_key(header::TRANSFER_ENCODING)
        || declared_length(headers).is_some_and(|n| n > 0)
        || headers.contains_key(header::CONTENT_TYPE)
}

/// The `Authorization: Bearer` token. Another scheme is no bearer token (RFC 6750 §3.1
/// counts it as "lacks any authentication information"); `Bearer` with nothing usable after
/// it is a malformed request.
fn bearer_header(headers: &HeaderMap) -> Result<Option<Secret>, WebError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let malformed = || {
        WebError::bearer(OAuthError::invalid_request(
            "the Authorization header is malformed",
        ))
    };
    let value = value.to_str().map_err(|_| malformed())?;
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Ok(None);
    }
    let token = token.trim();
    if token.is_empty() || token.contains(' ') {
        return Err(malformed());
    }
    Ok(Some(Secret::new(token)))
}
