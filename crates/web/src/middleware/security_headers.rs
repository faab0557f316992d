//! The browser-facing security headers every response carries (security tests S45, S48),
//! and `Strict-Transport-Security` when the issuer is https off loopback (S45).

use axum::response::Response;
use http::HeaderValue;
use http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, REFERRER_POLICY, STRICT_TRANSPORT_SECURITY,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};

/// No scripts, no third-party anything; styles and images only from our own origin (the
/// stylesheet under `/assets`, inline SVG and `data:` images for QR codes).
///
/// There is deliberately no `form-action` directive: Chromium applies `form-action` to the
/// redirect that follows a form POST, so after the consent or sign-in POST the final 302/303 to
/// the relying party's `redirect_uri` (another origin) would be blocked. CSRF tokens and
/// `frame-ancestors 'none'` already cover what `form-action` would add here.
pub static CONTENT_SECURITY_POLICY_VALUE: HeaderValue = HeaderValue::from_static(
    "default-src 'none'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'",
);

/// For browsers that predate `frame-ancestors` (clickjacking, RFC 9700 §4.16).
static FRAME_OPTIONS: HeaderValue = HeaderValue::from_static("DENY");
static NOSNIFF: HeaderValue = HeaderValue::from_static("nosniff");
/// Authorization responses carry codes in the URL; no page should leak its URL to another site.
static NO_REFERRER: HeaderValue = HeaderValue::from_static("no-referrer");
/// Pages hold CSRF tokens and personal data, and token responses must not be cached
/// (RFC 6749 §5.1), so nothing is cacheable unless a handler says so (e.g. the stylesheet).
static NO_STORE: HeaderValue = HeaderValue::from_static("no-store");

/// HTTPS only, for a year (RFC 6797 §6.1.1; the OWASP and Mozilla baseline). No
/// `includeSubDomains`: the issuer's host says nothing about its siblings, which other
/// people may serve over http; no `preload`, which is a decision for the domain's owner.
pub static HSTS_VALUE: HeaderValue = HeaderValue::from_static("max-age=31536000");

/// Adds the security headers to a response; [`super::edge`] applies it to every one.
///
/// The values are statics: cloning a `from_static` value copies a pointer, so this stays cheap
/// on the token endpoint.
///
/// A header the handler already set is kept: a handler with a special need (the stylesheet's
/// `Cache-Control`, a stricter policy on one page) knows better than this default.
pub fn add_security_headers(mut response: Response, hsts: bool) -> Response {
    let headers = response.headers_mut();
    if hsts {
        headers
            .entry(STRICT_TRANSPORT_SECURITY)
            .or_insert_with(|| HSTS_VALUE.clone());
    }
    headers
        .entry(CONTENT_SECURITY_POLICY)
        .or_insert_with(|| CONTENT_SECURITY_POLICY_VALUE.clone());
    headers
        .entry(X_FRAME_OPTIONS)
        .or_insert_with(|| FRAME_OPTIONS.clone());
    headers
        .entry(X_CONTENT_TYPE_OPTIONS)
        .or_insert_with(|| NOSNIFF.clone());
    headers
        .entry(REFERRER_POLICY)
        .or_insert_with(|| NO_REFERRER.clone());
    headers
        .entry(CACHE_CONTROL)
        .or_insert_with(|| NO_STORE.clone());
    response
}
