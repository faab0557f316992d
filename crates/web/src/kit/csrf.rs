//! Double-submit CSRF tokens for forms, with no server state (security test S44).
//!
//! The browser holds a random token in an `HttpOnly`, `SameSite=Strict` cookie and every form
//! repeats it in a hidden field. A cross-site page can make the browser send the cookie (or, with
//! `SameSite=Strict`, not even that) but cannot read it, so it cannot put the matching value in
//! the form body. The cookie is per browser, not per form, so several tabs work at once.

use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use lanyard_core::Rng;
use lanyard_core::rng::random_token;
use subtle::ConstantTimeEq as _;

/// Name of the cookie holding the token.
pub const CSRF_COOKIE: &str = "lanyard_csrf";
/// Name of the hidden form field the templates put the token in.
pub const CSRF_FIELD: &str = "csrf_token";

/// 256 bits: far beyond guessing, and the same size as our other bearer secrets.
const TOKEN_BYTES: usize = 32;
/// Length of [`TOKEN_BYTES`] in unpadded base64url.
const TOKEN_CHARS: usize = 43;

/// How the cookie is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CsrfConfig {
    /// Mark the cookie `Secure`; true whenever the public URL is `https`.
    pub secure_cookies: bool,
}

/// Returns the token to embed in a form, and the jar to send back with the response.
///
/// Reuses the browser's existing token if it has a well-formed one (so open tabs stay valid);
/// otherwise draws a new one from the injected `rng` (the OS generator in production, which
/// aborts rather than fall back to a weaker one) and adds the cookie to the jar.
pub fn ensure_token(jar: CookieJar, config: CsrfConfig, rng: &dyn Rng) -> (CookieJar, String) {
    if let Some(existing) = jar.get(CSRF_COOKIE).map(Cookie::value)
        && is_well_formed(existing)
    {
        let token = existing.to_owned();
        return (jar, token);
    }
    let token = random_token(rng, TOKEN_BYTES);
    let cookie = Cookie::build((CSRF_COOKIE, token.clone()))
        .http_only(true)
        .same_site(SameSite::Strict)
        .path("/")
        .secure(config.secure_cookies)
        .build();
    (jar.add(cookie), token)
}

/// Whether `submitted` (the form field) matches the browser's cookie. Refuses a missing cookie,
/// an empty or malformed value, and any mismatch. The comparison takes the same time wherever
/// the values differ, so a network attacker cannot learn the token byte by byte.
pub fn verify(jar: &CookieJar, submitted: &str) -> bool {
    let Some(cookie) = jar.get(CSRF_COOKIE) else {
        return false;
    };
    let expected = cookie.value();
    if !is_well_formed(expected) {
        return false;
    }
    // `ct_eq` on slices of different lengths is false; the length is public anyway.
    expected.as_bytes().ct_eq(submitted.as_bytes()).into()
}

/// A token we could have issued: exactly 43 base64url characters. Anything else in the cookie
/// (empty, planted junk) is replaced rather than trusted.
fn is_well_formed(token: &str) -> bool {
    token.len() == TOKEN_CHARS
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
