//! Cheap request guards that run before any extractor: header size and count, cookie count, and
//! well-formed query strings (security tests S51, S52).
//!
//! They answer with short static bodies so that a hostile request costs us almost nothing.

use crate::error::WebError;
use axum::response::{IntoResponse, Response};
use http::header::{CONNECTION, CONTENT_TYPE, COOKIE};
use http::{HeaderMap, HeaderValue, StatusCode};

/// Largest body any route accepts (forms; JSON has its own, smaller `kit::MAX_JSON_BODY`).
/// [`refuse_oversized_body`] refuses a longer declared length before anything reads the body,
/// `kit::body` caps bodies without one while they stream, and the router's
/// `DefaultBodyLimit::max(MAX_FORM_BODY)` holds any other extractor to it.
pub const MAX_FORM_BODY: usize = 64 * 1024;
/// Total size of all request headers (names, values and separators) we accept.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
/// Number of header lines we accept; hyper's own default cap is also 100.
pub const MAX_HEADERS: usize = 100;
/// Number of cookies we accept across all `Cookie` headers; we set only a handful.
pub const MAX_COOKIES: usize = 50;

/// Bytes each header line costs on the wire besides name and value: `": "` and CRLF.
const LINE_OVERHEAD: usize = 4;

/// Which header limit a request broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HeaderLimitExceeded {
    /// More than [`MAX_HEADER_BYTES`] of headers.
    #[error("request headers are larger than {MAX_HEADER_BYTES} bytes")]
    TooLarge,
    /// More than [`MAX_HEADERS`] header lines.
    #[error("more than {MAX_HEADERS} request headers")]
    TooMany,
    /// More than [`MAX_COOKIES`] cookies.
    #[error("more than {MAX_COOKIES} cookies")]
    TooManyCookies,
}

/// Checks the header limits. Walks the map once and stops at the first limit broken.
pub fn check_headers(headers: &HeaderMap) -> Result<(), HeaderLimitExceeded> {
    // `len` counts every value, so repeated headers count once per line, as on the wire.
    if headers.len() > MAX_HEADERS {
        return Err(HeaderLimitExceeded::TooMany);
    }
    let mut total = 0usize;
    let mut cookies = 0usize;
    for (name, value) in headers {
        total = total.saturating_add(name.as_str().len() + value.len() + LINE_OVERHEAD);
        if total > MAX_HEADER_BYTES {
            return Err(HeaderLimitExceeded::TooLarge);
        }
        if name == COOKIE {
            // HTTP/2 may split cookies over several `Cookie` headers, so count across all.
            cookies += count_cookies(value.as_bytes());
            if cookies > MAX_COOKIES {
                return Err(HeaderLimitExceeded::TooManyCookies);
            }
        }
    }
    Ok(())
}

/// Counts the non-empty `name=value` pairs in one `Cookie` header value.
fn count_cookies(value: &[u8]) -> usize {
    value
        .split(|b| *b == b';')
        .filter(|pair| !pair.trim_ascii().is_empty())
        .count()
}

/// Whether a raw query string is well-formed: every `%` starts a two-hex-digit escape and the
/// decoded bytes are UTF-8. Overlong forms such as `%C0%AE` (a disguised `.`) are not UTF-8, so
/// they are refused here rather than half-decoded by some later parser (the Authelia
/// CVE-2021-32637 class: a malformed value must never fall through to a 200).
pub fn check_query(query: &str) -> bool {
    decode_query(query).is_some()
}

/// The query percent-decoded (borrowed when it has no escapes), or `None` when malformed.
fn decode_query(query: &str) -> Option<std::borrow::Cow<'_, str>> {
    let bytes = query.as_bytes();
    // Fast path: the common query has no escapes and `&str` is already UTF-8.
    if !bytes.contains(&b'%') {
        return Some(std::borrow::Cow::Borrowed(query));
    }
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let (Some(hi), Some(lo)) = (
                bytes.get(i + 1).and_then(|h| hex_value(*h)),
                bytes.get(i + 2).and_then(|l| hex_value(*l)),
            ) else {
                return None;
            };
            decoded.push(hi << 4 | lo);
            i += 3;
        } else {
            decoded.push(b);
            i += 1;
        }
    }
    String::from_utf8(decoded).ok().map(std::borrow::Cow::Owned)
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The refusal for a request whose headers exceed the limits (431), if they do.
pub fn refuse_oversized_headers(headers: &HeaderMap) -> Option<Response> {
    check_headers(headers).err().map(|_| {
        (
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            [(
                CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            )],
            "Request headers are too large.\n",
        )
            .into_response()
    })
}

/// The refusal for a body whose `Content-Length` is over [`MAX_FORM_BODY`] (413), if it is:
/// answered before the body is polled, so hyper never sends `100 Continue` to a client that
/// asked with `Expect: 100-continue`, and with `Connection: close`, as the unread body
/// leaves the connection unusable.
pub fn refuse_oversized_body(headers: &HeaderMap) -> Option<Response> {
    let declared = crate::kit::body::declared_length(headers)?;
    if declared <= MAX_FORM_BODY as u64 {
        return None;
    }
    let mut response = WebError::api(
        StatusCode::PAYLOAD_TOO_LARGE,
        "invalid_request",
        "the request body is too large",
    )
    .into_response();
    response
        .headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    Some(response)
}

/// The refusal for a malformed query string (400), if it is one. A personal access token in
/// a query string is refused too, anywhere: URLs end up in logs, history and referrers, and
/// PATs are only ever sent in a token-exchange body.
pub fn refuse_bad_query(query: Option<&str>) -> Option<Response> {
    let query = query?;
    // Judged on the decoded text, so no escape (`%5F`, `%6C`, ...) hides a token.
    let description = match decode_query(query) {
        None => "The query string is not valid percent-encoded UTF-8.",
        Some(decoded) if lanyard_core::pat_token::mentions_pat(&decoded) => {
            "Personal access tokens are never accepted in a URL."
        }
        Some(_) => return None,
    };
    Some(WebError::api(StatusCode::BAD_REQUEST, "invalid_request", description).into_response())
}
