//! The two cookies the sign-in sequence reads: the session (an opaque id naming a record the
//! sign-in service keeps) and the trusted-device cookie (B6, S36: an opaque token naming a
//! server-side row; `__Host-` wherever cookies are Secure — plain-http loopback development
//! can not use that prefix, so it gets a plain name there).

use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use lanyard_core::Timestamp;

use crate::state::AppState;

pub const SESSION_COOKIE: &str = "lanyard_session";
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
