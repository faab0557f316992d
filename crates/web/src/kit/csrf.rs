//! CSRF tokens for forms, bound to the browser's session (F4, security test S44).
//!
//! The browser holds a random secret, the *binder*, in an `HttpOnly`, `SameSite=Strict`,
//! `__Host-` cookie. A form's token is HMAC-SHA-256 under a server key of the binder and of the
//! browser's session cookie (none before sign-in). A post is accepted only when its token is
//! the MAC of the cookies it arrives with, so:
//! - a cross-site page can make the browser send the cookies but can not read them, nor
//!   compute the MAC without the key;
//! - a token from another browser or another session fails: before sign-in the binder is the
//!   pre-auth secret, so a login form token copied from the attacker's browser does not work
//!   in the victim's (login CSRF); once signed in, even a binder an attacker managed to plant
//!   (cookie tossing where `__Host-` is not available) is useless without the session id;
//! - signing in or out changes the session cookie and so every token: a form rendered before
//!   that is refused once and works again after a reload.
//!
//! A keyed MAC rather than a random token stored with the session: it needs no session
//! record before sign-in (the login forms must be protected too), no store read or write per
//! form, and every node computes the same token from the shared token hash key. The key is
//! derived from `keys.token_hash_key` by the server (`lanyard_server::app`), under its own
//! label, so no other keyed hash can be replayed as a CSRF token.
//!
//! The token is the same for every form of one session, so several tabs work at once.

use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac as _};
use lanyard_core::Rng;
use lanyard_core::rng::random_token;
use sha2::Sha256;

use crate::kit::cookies::SESSION_COOKIE;

/// The binder's cookie wherever browsers accept `__Host-`: an https issuer, and a loopback
/// http one (browsers treat `localhost` and `127.0.0.1` as secure contexts, so they keep a
/// `Secure` cookie there). `__Host-` means `Secure`, `Path=/` and no `Domain`: a sibling host
/// or a plain-http page can not set or overwrite it.
pub const CSRF_COOKIE: &str = "__Host-lanyard_csrf";
/// The binder's cookie where `__Host-` can not work: plain http off loopback, which the
/// server's configuration refuses (`server.issuer` must be https there); kept so that a
/// `WebSettings` made for such an address still works.
pub const PLAIN_CSRF_COOKIE: &str = "lanyard_csrf";
/// Name of the hidden form field the templates put the token in.
pub const CSRF_FIELD: &str = "csrf_token";

/// 256 bits: far beyond guessing, and the same size as our other bearer secrets.
const BINDER_BYTES: usize = 32;
/// Length of [`BINDER_BYTES`] (and of a MAC) in unpadded base64url.
const TOKEN_CHARS: usize = 43;
/// Separates these MACs from any other use of the key.
const LABEL: &[u8] = b"lanyard csrf v1";

/// The MAC key for form tokens (32 bytes), keyed once; never printed.
#[derive(Clone)]
pub struct CsrfKey(Hmac<Sha256>);

impl CsrfKey {
    pub fn new(key: [u8; 32]) -> Self {
        // HMAC pads a key shorter than the hash's 64-byte block with zeros (RFC 2104 §2), so
        // this is HMAC under the 32-byte key, built without a fallible length check.
        let mut block = zeroize::Zeroizing::new([0u8; 64]);
        block[..32].copy_from_slice(&key);
        let mac = <Hmac<Sha256> as hmac::digest::KeyInit>::new(
            hmac::digest::generic_array::GenericArray::from_slice(block.as_slice()),
        );
        Self(mac)
    }
}

impl std::fmt::Debug for CsrfKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CsrfKey(***)")
    }
}

/// How tokens are made and the cookie is set.
#[derive(Debug, Clone, Copy)]
pub struct CsrfConfig<'a> {
    pub key: &'a CsrfKey,
    /// Use [`CSRF_COOKIE`] (`__Host-`, always `Secure`); otherwise [`PLAIN_CSRF_COOKIE`].
    pub host_cookie: bool,
}

impl CsrfConfig<'_> {
    fn cookie_name(&self) -> &'static str {
        if self.host_cookie {
            CSRF_COOKIE
        } else {
            PLAIN_CSRF_COOKIE
        }
    }
}

/// Returns the token to embed in a form, and the jar to send back with the response.
///
/// Reuses the browser's binder if it has a well-formed one (so open tabs stay valid);
/// otherwise draws a new one from the injected `rng` and adds the cookie to the jar. The
/// token is bound to the session cookie as it will be after this response (a session cookie
/// added to `jar` counts).
pub fn ensure_token(jar: CookieJar, config: CsrfConfig<'_>, rng: &dyn Rng) -> (CookieJar, String) {
    let name = config.cookie_name();
    let (jar, binder) = match jar.get(name).map(Cookie::value) {
        Some(existing) if is_well_formed(existing) => {
            let binder = existing.to_owned();
            (jar, binder)
        }
        _ => {
            let binder = random_token(rng, BINDER_BYTES);
            let cookie = Cookie::build((name, binder.clone()))
                .http_only(true)
                .same_site(SameSite::Strict)
                .path("/")
                // `__Host-` requires `Secure`; the plain name is only used over plain http.
                .secure(config.host_cookie)
                .build();
            (jar.add(cookie), binder)
        }
    };
    let token = URL_SAFE_NO_PAD.encode(
        mac(config.key, &binder, session(&jar))
            .finalize()
            .into_bytes(),
    );
    (jar, token)
}

/// Whether `submitted` (the form field or header) is the token of the browser's binder and
/// session cookies. Refuses a missing or malformed binder, a malformed token and any
/// mismatch; the comparison takes the same time wherever the values differ.
pub fn verify(jar: &CookieJar, config: CsrfConfig<'_>, submitted: &str) -> bool {
    let Some(binder) = jar.get(config.cookie_name()).map(Cookie::value) else {
        return false;
    };
    if !is_well_formed(binder) || !is_well_formed(submitted) {
        return false;
    }
    let Ok(submitted) = URL_SAFE_NO_PAD.decode(submitted) else {
        return false;
    };
    mac(config.key, binder, session(jar))
        .verify_slice(&submitted)
        .is_ok()
}

fn session(jar: &CookieJar) -> &str {
    jar.get(SESSION_COOKIE).map_or("", Cookie::value)
}

/// HMAC(key, label ‖ len(binder) ‖ binder ‖ session): the length keeps the two values apart
/// whatever the session cookie holds.
fn mac(key: &CsrfKey, binder: &str, session: &str) -> Hmac<Sha256> {
    let mut mac = key.0.clone();
    mac.update(LABEL);
    mac.update(&(binder.len() as u64).to_be_bytes());
    mac.update(binder.as_bytes());
    mac.update(session.as_bytes());
    mac
}

/// A binder or token we could have issued: exactly 43 base64url characters. Anything else in
/// the cookie (empty, planted junk) is replaced rather than trusted.
fn is_well_formed(token: &str) -> bool {
    token.len() == TOKEN_CHARS
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
