//! The one stylesheet, compiled into the binary and served with a strong `ETag`.

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};

/// Where the stylesheet is served; the base template links to this same constant.
pub const STYLESHEET_PATH: &str = "/assets/lanyard.css";

/// The stylesheet's bytes, fixed at build time.
pub const STYLESHEET: &str = include_str!("../../assets/lanyard.css");

/// FNV-1a over the stylesheet, computed at compile time: the body cannot change without a new
/// binary, so a hash of it is a valid strong validator (RFC 9110 §8.8.3) at zero runtime cost.
const fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    hash
}

/// `"` + 16 hex digits + `"`.
const fn quoted_hex(value: u64) -> [u8; 18] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = [b'"'; 18];
    let mut i = 0;
    while i < 16 {
        out[16 - i] = DIGITS[((value >> (i * 4)) & 0xf) as usize];
        i += 1;
    }
    out
}

static ETAG_BYTES: [u8; 18] = quoted_hex(fnv1a64(STYLESHEET.as_bytes()));
static ETAG_VALUE: HeaderValue = HeaderValue::from_static(match std::str::from_utf8(&ETAG_BYTES) {
    Ok(etag) => etag,
    // Unreachable: the bytes are ASCII hex digits and quotes. A fixed tag is still correct.
    Err(_) => "\"lanyard\"",
});
static TEXT_CSS: HeaderValue = HeaderValue::from_static("text/css; charset=utf-8");
/// A day is long enough to save requests and short enough that an upgrade shows within a day;
/// the ETag makes the revalidation after that cheap.
static ONE_DAY: HeaderValue = HeaderValue::from_static("public, max-age=86400");

/// Routes for the static assets. Generic over state so any router can merge them.
pub fn asset_routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route(STYLESHEET_PATH, get(stylesheet_get))
}

async fn stylesheet_get(headers: HeaderMap) -> Response {
    let cache = [(ETAG, ETAG_VALUE.clone()), (CACHE_CONTROL, ONE_DAY.clone())];
    if matches_etag(&headers) {
        return (StatusCode::NOT_MODIFIED, cache).into_response();
    }
    (cache, [(CONTENT_TYPE, TEXT_CSS.clone())], STYLESHEET).into_response()
}

/// `If-None-Match` with our tag, a weak form of it, or `*` (RFC 9110 §13.1.2 uses weak
/// comparison here).
fn matches_etag(headers: &HeaderMap) -> bool {
    let ours = ETAG_VALUE.as_bytes();
    headers
        .get_all(IF_NONE_MATCH)
        .iter()
        .flat_map(|value| value.as_bytes().split(|b| *b == b','))
        .map(<[u8]>::trim_ascii)
        .any(|tag| tag == b"*" || tag.strip_prefix(b"W/").unwrap_or(tag) == ours)
}
