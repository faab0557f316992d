//! UserInfo (OIDC Core §5.3), GET and POST. The access token comes in the `Authorization`
//! header (RFC 6750 §2.1) or, on a POST, as `access_token` in a form-encoded body
//! (RFC 6750 §2.2) — never in the query string, where it would leak into logs and caches
//! (RFC 6750 §2.3, §5.3), and never in two places at once (§2: "MUST NOT use more than one
//! method"). A request with no token at all is told how to authenticate, with no error code
//! (RFC 6750 §3.1).

use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use lanyard_core::Secret;
use lanyard_issuer::{OAuthError, endpoints};

use crate::error::WebError;
use crate::kit::params::{ParamError, read_form};
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
                    .with_status(axum::http::StatusCode::PAYLOAD_TOO_LARGE),
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

/// A POST with a body (`Content-Length` above 0, or chunked); an empty POST is like a GET.
fn has_body(headers: &HeaderMap) -> bool {
    headers.contains_key(header::TRANSFER_ENCODING)
        || crate::kit::body::declared_length(headers).is_some_and(|n| n > 0)
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
