//! Reading a request body within its limit (S51, docs/http.md).
//!
//! A body is refused on its declared length before a byte of it is read: hyper sends
//! `100 Continue` only when a body is first polled, so a client that sent
//! `Expect: 100-continue` hears a 413 instead of being invited to upload 8 MiB into a
//! connection we are about to close. A body without a length (chunked) is counted while it
//! streams and refused at the first frame past the limit, so nothing larger is buffered.

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, StatusCode, header};
use http_body_util::{BodyExt, LengthLimitError, Limited};

use crate::error::WebError;
use crate::kit::MAX_JSON_BODY;
use crate::kit::params::ParamError;
use crate::middleware::MAX_FORM_BODY;

/// Why a body could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    #[error("the request body is too large")]
    TooLarge,
    #[error("the request body could not be read")]
    Unreadable,
}

/// The whole body, at most `limit` bytes.
pub async fn read_limited(
    body: Body,
    headers: &HeaderMap,
    limit: usize,
) -> Result<Bytes, BodyError> {
    let limit_u64 = u64::try_from(limit).unwrap_or(u64::MAX);
    // hyper sets the size hint from `Content-Length`; the header is read too, for bodies
    // built in-process.
    if declared_length(headers).is_some_and(|n| n > limit_u64)
        || body.size_hint().lower() > limit_u64
    {
        return Err(BodyError::TooLarge);
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(BodyError::TooLarge),
        Err(_) => Err(BodyError::Unreadable),
    }
}

/// `Content-Length`, when present and a number.
pub fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Whether the body says it is JSON (`application/json`, with or without parameters).
pub fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"))
}

/// A body read within the limit of its type: JSON up to [`MAX_JSON_BODY`], anything else
/// (forms) up to [`MAX_FORM_BODY`]. For the routes that take both (the account APIs).
#[derive(Debug)]
pub struct LimitedBody {
    pub bytes: Bytes,
    pub json: bool,
}

impl<S: Send + Sync> FromRequest<S> for LimitedBody {
    type Rejection = WebError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, WebError> {
        let (parts, body) = req.into_parts();
        let json = is_json(&parts.headers);
        let limit = if json { MAX_JSON_BODY } else { MAX_FORM_BODY };
        match read_limited(body, &parts.headers, limit).await {
            Ok(bytes) => Ok(Self { bytes, json }),
            Err(e) if json => Err(WebError::api(
                status_of(e),
                "invalid_request",
                e.to_string(),
            )),
            Err(BodyError::TooLarge) => Err(ParamError::BodyTooLarge.on_page()),
            Err(BodyError::Unreadable) => Err(ParamError::Body.on_page()),
        }
    }
}

/// A JSON API body, at most [`MAX_JSON_BODY`] whatever its `Content-Type` says; refusals
/// are JSON.
#[derive(Debug)]
pub struct JsonBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = WebError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, WebError> {
        let (parts, body) = req.into_parts();
        read_limited(body, &parts.headers, MAX_JSON_BODY)
            .await
            .map(JsonBody)
            .map_err(|e| WebError::api(status_of(e), "invalid_request", e.to_string()))
    }
}

fn status_of(e: BodyError) -> StatusCode {
    match e {
        BodyError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        BodyError::Unreadable => StatusCode::BAD_REQUEST,
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use futures_util::stream;

    use super::*;

    fn with_length(n: usize) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_LENGTH, n.into());
        headers
    }

    /// A body that yields `chunks` frames of `size` bytes and declares no length.
    fn chunked(chunks: usize, size: usize) -> Body {
        let frames = (0..chunks).map(move |_| Ok::<_, Infallible>(Bytes::from(vec![b'a'; size])));
        Body::from_stream(stream::iter(frames))
    }

    #[tokio::test]
    async fn s51_a_declared_length_over_the_limit_is_refused_unread() {
        // The body would fail if polled: it is never touched.
        let body = Body::from_stream(stream::once(async {
            Err::<Bytes, std::io::Error>(std::io::Error::other("polled"))
        }));
        assert_eq!(
            read_limited(body, &with_length(8 << 20), 1024).await,
            Err(BodyError::TooLarge)
        );
    }

    #[tokio::test]
    async fn s51_a_chunked_body_is_cut_at_the_limit() {
        assert_eq!(
            read_limited(chunked(100, 1000), &HeaderMap::new(), 64_000).await,
            Err(BodyError::TooLarge)
        );
        let small = read_limited(chunked(64, 1000), &HeaderMap::new(), 64_000).await;
        assert_eq!(small.map(|b| b.len()), Ok(64_000));
    }

    #[test]
    fn json_is_recognised_with_parameters_only_as_json() {
        let mut headers = HeaderMap::new();
        assert!(!is_json(&headers));
        headers.insert(
            header::CONTENT_TYPE,
            "Application/JSON; charset=utf-8".parse().unwrap(),
        );
        assert!(is_json(&headers));
        headers.insert(header::CONTENT_TYPE, "application/jsonp".parse().unwrap());
        assert!(!is_json(&headers));
    }
}
