//! The trusted-device cookie (B6, S36): an opaque token naming a server-side row. `__Host-`
//! (Secure, Path=/, no Domain) wherever cookies are Secure; plain-http loopback development
//! can not use that prefix, so it gets a plain name there.

use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use lanyard_core::Timestamp;

use crate::state::AppState;

const SECURE_NAME: &str = "__Host-lanyard_device";
const LOOPBACK_NAME: &str = "lanyard_device";

fn name(state: &AppState) -> &'static str {
    if state.settings.secure_cookies {
        SECURE_NAME
    } else {
        LOOPBACK_NAME
    }
}

pub fn read<'a>(state: &AppState, jar: &'a CookieJar) -> Option<&'a str> {
    jar.get(name(state)).map(Cookie::value)
}

pub fn set(state: &AppState, jar: CookieJar, token: String, expires_at: Timestamp) -> CookieJar {
    let max_age = (expires_at.seconds() - state.clock.now().seconds()).max(0);
    let cookie = Cookie::build((name(state), token))
        .http_only(true)
        .secure(state.settings.secure_cookies)
        .same_site(SameSite::Lax)
        .path("/")
        .max_age(cookie::time::Duration::seconds(max_age))
        .build();
    jar.add(cookie)
}

/// "Firefox on Linux": enough to recognise a device in the list, without keeping the whole
/// User-Agent string.
pub fn label(user_agent: Option<&str>) -> String {
    let ua = user_agent.unwrap_or("");
    let browser = [
        ("Edg/", "Edge"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
    ]
    .iter()
    .find(|(marker, _)| ua.contains(marker))
    .map_or("A browser", |(_, name)| name);
    let system = [
        ("Android", "Android"),
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(marker, _)| ua.contains(marker))
    .map(|(_, name)| *name);
    match system {
        Some(system) => format!("{browser} on {system}"),
        None => browser.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::label;

    #[test]
    fn labels_common_browsers() {
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
        assert_eq!(label(Some(firefox)), "Firefox on Linux");
        let chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36";
        assert_eq!(label(Some(chrome)), "Chrome on Windows");
        assert_eq!(label(None), "A browser");
    }
}
