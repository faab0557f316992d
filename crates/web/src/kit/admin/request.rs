//! The admin API's request and response pieces: strict query parameters (each name known
//! and at most once: an unknown `sort` or `order` is refused, never passed on — S50), JSON
//! bodies (`application/json` only, [`MAX_JSON_BODY`], unknown fields refused by the body
//! types' `deny_unknown_fields`), pages, and `ETag` / `If-Match` (RFC 9110 §13.1.1).

use axum::Json;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::error::{Problem, WebError};
use crate::kit::MAX_JSON_BODY;
use crate::kit::body::{BodyError, is_json, read_limited};
use crate::kit::params::Params;

/// Rows per page unless `limit` says otherwise, and the most it may say.
pub const DEFAULT_LIMIT: u64 = 50;
pub const MAX_LIMIT: u64 = 200;

/// The query string, parsed strictly (`kit::params`).
pub struct AdminQuery(Params);

impl<S: Send + Sync> FromRequestParts<S> for AdminQuery {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, WebError> {
        let raw = parts.uri.query().unwrap_or("");
        Params::parse(raw.as_bytes())
            .map(Self)
            .map_err(|e| Problem::invalid(format!("query: {e}")).into())
    }
}

impl AdminQuery {
    /// Refuses any parameter not in `known`.
    pub fn only(&self, known: &[&str]) -> Result<(), Problem> {
        match self.0.0.iter().find(|(n, _)| !known.contains(&n.as_str())) {
            Some(_) => Err(Problem::invalid(format!(
                "unknown query parameter; this route takes: {}",
                known.join(", ")
            ))),
            None => Ok(()),
        }
    }

    /// A non-empty parameter.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get_nonempty(name)
    }

    /// A text filter: at most `max` characters and no control character (no stored value
    /// has one, and PostgreSQL refuses a NUL in text).
    pub fn text(&self, name: &'static str, max: usize) -> Result<Option<String>, Problem> {
        match self.get(name) {
            Some(v) if v.chars().count() > max || v.chars().any(char::is_control) => Err(
                Problem::invalid(format!("{name} is too long or holds a control character")),
            ),
            other => Ok(other.map(str::to_owned)),
        }
    }

    /// `limit`: 1 to [`MAX_LIMIT`], default [`DEFAULT_LIMIT`].
    pub fn limit(&self) -> Result<u64, Problem> {
        match self.get("limit") {
            None => Ok(DEFAULT_LIMIT),
            Some(text) => text
                .parse::<u64>()
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| Problem::invalid(format!("limit must be 1 to {MAX_LIMIT}"))),
        }
    }

    /// A whole number of seconds since the epoch.
    pub fn seconds(&self, name: &'static str) -> Result<Option<i64>, Problem> {
        self.get(name)
            .map(|text| {
                text.parse::<i64>()
                    .ok()
                    .filter(|n| (0..=253_402_300_799).contains(n))
                    .ok_or_else(|| {
                        Problem::invalid(format!("{name} must be seconds since 1970 (UTC)"))
                    })
            })
            .transpose()
    }
}

/// A JSON body of type `T` (which refuses unknown fields).
pub struct AdminJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for AdminJson<T> {
    type Rejection = WebError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, WebError> {
        let (parts, body) = req.into_parts();
        if !is_json(&parts.headers) {
            return Err(Problem::UnsupportedMediaType.into());
        }
        let bytes = read_limited(body, &parts.headers, MAX_JSON_BODY)
            .await
            .map_err(|e| match e {
                BodyError::TooLarge => Problem::TooLarge,
                BodyError::Unreadable => Problem::invalid("the body could not be read"),
            })?;
        // serde's message can quote a value sent (a password): only its category is told.
        serde_json::from_slice(&bytes).map(Self).map_err(|e| {
            let why = match e.classify() {
                serde_json::error::Category::Data => {
                    "a field is unknown, missing, or of the wrong type"
                }
                _ => "the body is not valid JSON",
            };
            Problem::invalid(why).into()
        })
    }
}

/// One page of a list: `next_cursor` is absent on the last page.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T: utoipa::ToSchema> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// The strong entity tag of a representation: a digest of its JSON.
pub fn etag_of<T: Serialize>(value: &T) -> String {
    let json = serde_json::to_vec(value).unwrap_or_default();
    let digest = Sha256::digest(&json);
    format!("\"{}\"", hex::encode(&digest[..16]))
}

/// A change needs `If-Match` with the current tag (or `*`): 428 without, 412 on another.
pub fn require_if_match(headers: &HeaderMap, current: &str) -> Result<(), Problem> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Err(Problem::PreconditionRequired);
    };
    let value = value.to_str().map_err(|_| Problem::PreconditionFailed)?;
    let matches = value
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag == current);
    if matches {
        Ok(())
    } else {
        Err(Problem::PreconditionFailed)
    }
}

/// A JSON representation with its `ETag`: the digest of the body, or the tag of the
/// resource the body contains ([`Tagged::with_etag`]).
pub struct Tagged<T> {
    status: StatusCode,
    body: T,
    etag: Option<String>,
}

impl<T: Serialize> Tagged<T> {
    pub fn ok(body: T) -> Self {
        Self {
            status: StatusCode::OK,
            body,
            etag: None,
        }
    }

    pub fn created(body: T) -> Self {
        Self {
            status: StatusCode::CREATED,
            ..Self::ok(body)
        }
    }

    pub fn with_etag(mut self, etag: String) -> Self {
        self.etag = Some(etag);
        self
    }
}

impl<T: Serialize> IntoResponse for Tagged<T> {
    fn into_response(self) -> Response {
        let tag = self.etag.unwrap_or_else(|| etag_of(&self.body));
        let mut response = (self.status, Json(self.body)).into_response();
        if let Ok(value) = HeaderValue::from_str(&tag) {
            response.headers_mut().insert(header::ETAG, value);
        }
        response
    }
}
