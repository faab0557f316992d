//! Double-submit CSRF tokens (security test S44).

use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar};
use lanyard_core::OsRng;

use crate::kit::csrf::{CSRF_COOKIE, CsrfConfig, ensure_token, verify};

fn cookie_from(response: &Response) -> Option<String> {
    response
        .headers()
        .get(header::SET_COOKIE)
        .map(|v| v.to_str().unwrap().to_owned())
}

#[test]
fn s44_issued_token_verifies() {
    let (jar, token) = ensure_token(CookieJar::new(), CsrfConfig::default(), &OsRng);
    assert_eq!(token.len(), 43);
    assert!(verify(&jar, &token));
}

#[test]
fn s44_csrf_refuses_empty_other_and_missing_cookie() {
    let (jar, token) = ensure_token(CookieJar::new(), CsrfConfig::default(), &OsRng);
    let (_, other) = ensure_token(CookieJar::new(), CsrfConfig::default(), &OsRng);
    assert_ne!(token, other);
    assert!(!verify(&jar, ""));
    assert!(!verify(&jar, &other), "a token from another browser");
    assert!(!verify(&jar, &token[..42]));
    assert!(!verify(&CookieJar::new(), &token), "no cookie");
    let empty = CookieJar::new().add(Cookie::new(CSRF_COOKIE, ""));
    assert!(!verify(&empty, ""));
}

#[test]
fn s44_csrf_cookie_is_http_only_strict_and_secure_when_asked() {
    let (jar, _) = ensure_token(
        CookieJar::new(),
        CsrfConfig {
            secure_cookies: true,
        },
        &OsRng,
    );
    let set_cookie = cookie_from(&jar.into_response()).unwrap();
    assert!(set_cookie.starts_with("lanyard_csrf="));
    for part in ["HttpOnly", "SameSite=Strict", "Path=/", "Secure"] {
        assert!(set_cookie.contains(part), "{set_cookie}");
    }
    let (jar, _) = ensure_token(
        CookieJar::new(),
        CsrfConfig {
            secure_cookies: false,
        },
        &OsRng,
    );
    assert!(
        !cookie_from(&jar.into_response())
            .unwrap()
            .contains("Secure")
    );
}

#[test]
fn s44_existing_token_is_reused_and_junk_is_replaced() {
    let (_, token) = ensure_token(CookieJar::new(), CsrfConfig::default(), &OsRng);
    let mut request_headers = http::HeaderMap::new();
    request_headers.insert(
        header::COOKIE,
        format!("other=1; {CSRF_COOKIE}={token}").parse().unwrap(),
    );
    let browser = CookieJar::from_headers(&request_headers);
    let (jar_again, again) = ensure_token(browser, CsrfConfig::default(), &OsRng);
    assert_eq!(again, token);
    assert!(verify(&jar_again, &token));
    assert!(
        cookie_from(&jar_again.into_response()).is_none(),
        "no new cookie needed"
    );

    let planted = CookieJar::new().add(Cookie::new(CSRF_COOKIE, "attacker-chosen"));
    assert!(!verify(&planted, "attacker-chosen"));
    let (fixed, fresh) = ensure_token(planted, CsrfConfig::default(), &OsRng);
    assert_ne!(fresh, "attacker-chosen");
    assert!(verify(&fixed, &fresh));
}
