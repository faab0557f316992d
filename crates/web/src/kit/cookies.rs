//! The two cookies the sign-in sequence reads: the session (an opaque id naming a record the
//! sign-in service keeps) and the trusted-device cookie (B6, S36: an opaque token naming a
//! server-side row; `__Host-` wherever cookies are Secure — plain-http loopback development
//! can not use that prefix, so it gets a plain name there).

use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use lanyard_core::Timestamp;

use crate::state::AppState;

pub const SESSION_COOKIE: &str = "lanyard_session";
/// Binds an upstream sign-in to the browser that started it (S40); sent back only to the
/// callbacks. `Lax`: the upstream's redirect back is a top-level navigation.
const FEDERATION_COOKIE: &str = "lanyard_federation";
const FEDERATION_PATH: &str = "/federation/";
const SECURE_DEVICE_COOKIE: &str = "__Host-lanyard_device";
const LOOPBACK_DEVICE_COOKIE: &str = "lanyard_device";

pub fn session(jar: &CookieJar) -> Option<&str> {
    jar.get(SESSION_COOKIE).map(Cookie::value)
}

/// The cookie of a session just started: a browser-session cookie, or, for a session kept
/// signed in ("Stay signed in"), one that lasts until the session's absolute end.
pub fn set_session(
    state: &AppState,
    jar: CookieJar,
    id: String,
    lasts_until: Option<Timestamp>,
) -> CookieJar {
    let mut builder = Cookie::build((SESSION_COOKIE, id))
        .http_only(true)
        .secure(state.settings.secure_cookies)
        .same_site(SameSite::Lax)
        .path("/");
    if let Some(until) = lasts_until {
        let max_age = (until.seconds() - state.clock.now().seconds()).max(0);
        builder = builder.max_age(cookie::time::Duration::seconds(max_age));
    }
    jar.add(builder.build())
}

pub fn federation(jar: &CookieJar) -> Option<&str> {
    jar.get(FEDERATION_COOKIE).map(Cookie::value)
}

pub fn set_federation(state: &AppState, jar: CookieJar, binder: String) -> CookieJar {
    let max_age = state.signin.flows().ttl().as_secs() as i64;
    jar.add(
        Cookie::build((FEDERATION_COOKIE, binder))
            .http_only(true)
            .secure(state.settings.secure_cookies)
            .same_site(SameSite::Lax)
            .path(FEDERATION_PATH)
            .max_age(cookie::time::Duration::seconds(max_age))
            .build(),
    )
}

pub fn remove_federation(jar: CookieJar) -> CookieJar {
    jar.remove(
        Cookie::build(FEDERATION_COOKIE)
            .path(FEDERATION_PATH)
            .build(),
    )
}

pub fn remove_session(jar: CookieJar) -> CookieJar {
    jar.remove(Cookie::build(SESSION_COOKIE).path("/").build())
}

fn device_name(state: &AppState) -> &'static str {
    if state.settings.secure_cookies {
        SECURE_DEVICE_COOKIE
    } else {
        LOOPBACK_DEVICE_COOKIE
    }
}

pub fn device<'a>(state: &AppState, jar: &'a CookieJar) -> Option<&'a str> {
    jar.get(device_name(state)).map(Cookie::value)
}

pub fn set_device(
    state: &AppState,
    jar: CookieJar,
    token: String,
    expires_at: Timestamp,
) -> CookieJar {
    let max_age = (expires_at.seconds() - state.clock.now().seconds()).max(0);
    let cookie = Cookie::build((device_name(state), token))
        .http_only(true)
        .secure(state.settings.secure_cookies)
        .same_site(SameSite::Lax)
        .path("/")
        .max_age(cookie::time::Duration::seconds(max_age))
        .build();
    jar.add(cookie)
}

/// The app's authorization request this browser last made (`/authorize?…`), so that a
/// sign-in that expired can start again where it came from. Not a secret (the app put the
/// same address in the browser's location bar); followed, it is validated again like any
/// request. Kept an hour, longer than a sign-in flow lives. Stored base64url-encoded: the
/// cookie crate percent-encodes values on the way out and decodes them on the way in, and
/// the middleware reads the raw header, so the value must look the same either way.
const RESTART_COOKIE: &str = "lanyard_restart";
/// How the cookie starts in a `Cookie` header line.
const RESTART_PREFIX: &str = "lanyard_restart=";
const RESTART_MAX_AGE_SECS: i64 = 3600;
/// A cookie must stay well under the 4 KiB browsers keep; a longer request is not kept.
const MAX_RESTART_LEN: usize = 2048;

/// `/authorize?<params>` for the cookie, or `None` when it would be too long. The
/// parameters are encoded again, so the value holds only characters a cookie may carry
/// (no `;`, `,`, space or quote).
pub fn restart_href(params: &[(String, String)]) -> Option<String> {
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.iter())
        .finish();
    let href = format!("{}?{query}", lanyard_issuer::endpoints::AUTHORIZE);
    (href.len() <= MAX_RESTART_LEN).then_some(href)
}

pub fn set_restart(state: &AppState, jar: CookieJar, href: String) -> CookieJar {
    let cookie = Cookie::build((RESTART_COOKIE, URL_SAFE_NO_PAD.encode(href)))
        .http_only(true)
        .secure(state.settings.secure_cookies)
        .same_site(SameSite::Lax)
        .path("/")
        .max_age(cookie::time::Duration::seconds(RESTART_MAX_AGE_SECS))
        .build();
    jar.add(cookie)
}

/// Once the app got its answer there is nothing to start again.
pub fn remove_restart(jar: CookieJar) -> CookieJar {
    jar.remove(Cookie::build(RESTART_COOKIE).path("/").build())
}

/// The request's restart address, if it has one that is ours to link to: an `/authorize`
/// address of this server, nothing else (the cookie could have been set by anything that
/// shares the host).
pub fn restart(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|line| line.split(';'))
        .filter_map(|pair| pair.trim().strip_prefix(RESTART_PREFIX))
        .find_map(decode_restart)
}

/// The same from a jar already read.
pub fn restart_in(jar: &CookieJar) -> Option<String> {
    jar.get(RESTART_COOKIE)
        .map(Cookie::value)
        .and_then(decode_restart)
}

fn decode_restart(value: &str) -> Option<String> {
    if value.len() > MAX_RESTART_LEN * 4 / 3 + 4 {
        return None;
    }
    let href = String::from_utf8(URL_SAFE_NO_PAD.decode(value).ok()?).ok()?;
    is_restart_href(&href).then_some(href)
}

fn is_restart_href(href: &str) -> bool {
    href.len() <= MAX_RESTART_LEN
        && href
            .strip_prefix(lanyard_issuer::endpoints::AUTHORIZE)
            .is_some_and(|rest| rest.starts_with('?'))
        && href
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"%&=+-._*?/".contains(&b))
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderMap, HeaderValue, header};

    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::{restart, restart_href};

    fn line(href: &str) -> String {
        format!("lanyard_restart={}", URL_SAFE_NO_PAD.encode(href))
    }

    fn headers(lines: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for line in lines {
            headers.append(header::COOKIE, HeaderValue::from_str(line).unwrap());
        }
        headers
    }

    #[test]
    fn the_restart_address_is_re_encoded_and_read_back() {
        let params = vec![
            ("client_id".to_owned(), "app one".to_owned()),
            ("state".to_owned(), "a;b,c\"d".to_owned()),
        ];
        let href = restart_href(&params).unwrap();
        assert_eq!(href, "/authorize?client_id=app+one&state=a%3Bb%2Cc%22d");
        let cookies = format!("lanyard_session=x; {}; other=1", line(&href));
        assert_eq!(
            restart(&headers(&[&cookies])).as_deref(),
            Some(href.as_str())
        );
    }

    #[test]
    fn only_our_authorize_addresses_are_offered() {
        for bad in [
            "https://evil.example/authorize?x=1",
            "//evil.example/authorize?x=1",
            "/authorize",
            "/authorizex?x=1",
            "/authorize?x=<script>",
            "javascript:alert(1)",
        ] {
            assert_eq!(restart(&headers(&[&line(bad)])), None, "{bad}");
        }
        let other = format!(
            "lanyard_restart_other={}",
            URL_SAFE_NO_PAD.encode("/authorize?x=1")
        );
        assert_eq!(restart(&headers(&[&other])), None);
        assert_eq!(
            restart(&headers(&["lanyard_restart=/authorize?x=1"])),
            None,
            "not encoded"
        );
        assert_eq!(restart(&HeaderMap::new()), None);
        let long = vec![("x".to_owned(), "y".repeat(3000))];
        assert_eq!(restart_href(&long), None);
    }
}
