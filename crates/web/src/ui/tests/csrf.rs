//! CSRF tokens bound to the browser's binder cookie and session (F4, security test S44).

use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar};
use lanyard_core::OsRng;

use crate::kit::cookies::SESSION_COOKIE;
use crate::kit::csrf::{CSRF_COOKIE, CsrfConfig, CsrfKey, PLAIN_CSRF_COOKIE, ensure_token, verify};

fn key() -> CsrfKey {
    CsrfKey::new([7; 32])
}

fn config(key: &CsrfKey) -> CsrfConfig<'_> {
    CsrfConfig {
        key,
        host_cookie: true,
    }
}

fn cookie_from(response: &Response) -> Option<String> {
    response
        .headers()
        .get(header::SET_COOKIE)
        .map(|v| v.to_str().unwrap().to_owned())
}

/// A browser's request jar holding `cookies`.
fn browser(cookies: &[(&str, &str)]) -> CookieJar {
    let line = cookies
        .iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    let mut headers = http::HeaderMap::new();
    headers.insert(header::COOKIE, line.parse().unwrap());
    CookieJar::from_headers(&headers)
}

fn binder_of(jar: &CookieJar) -> String {
    jar.get(CSRF_COOKIE).unwrap().value().to_owned()
}

#[test]
fn s44_issued_token_verifies() {
    let key = key();
    let (jar, token) = ensure_token(CookieJar::new(), config(&key), &OsRng);
    assert_eq!(token.len(), 43);
    assert_ne!(token, binder_of(&jar), "the token is not the cookie");
    assert!(verify(&jar, config(&key), &token));
}

#[test]
fn s44_csrf_refuses_empty_other_and_missing_cookie() {
    let key = key();
    let (jar, token) = ensure_token(CookieJar::new(), config(&key), &OsRng);
    let (other_jar, other) = ensure_token(CookieJar::new(), config(&key), &OsRng);
    assert_ne!(token, other);
    assert!(!verify(&jar, config(&key), ""));
    assert!(
        !verify(&jar, config(&key), &other),
        "a token from another browser"
    );
    assert!(!verify(&jar, config(&key), &token[..42]));
    assert!(!verify(&jar, config(&key), &format!("{token}A")));
    assert!(
        !verify(&CookieJar::new(), config(&key), &token),
        "no cookie"
    );
    assert!(
        !verify(&jar, config(&key), &binder_of(&jar)),
        "the cookie's value is no token (no double submit)"
    );
    assert!(
        !verify(&other_jar, config(&key), &binder_of(&other_jar)),
        "ditto"
    );
    let empty = CookieJar::new().add(Cookie::new(CSRF_COOKIE, ""));
    assert!(!verify(&empty, config(&key), ""));
    let other_key = CsrfKey::new([8; 32]);
    assert!(
        !verify(&jar, config(&other_key), &token),
        "a token made under another key"
    );
}

#[test]
fn s44_a_token_is_bound_to_the_session_cookie() {
    let key = key();
    let (pre_auth, login_token) = ensure_token(CookieJar::new(), config(&key), &OsRng);
    let binder = binder_of(&pre_auth);
    let signed_in = browser(&[(CSRF_COOKIE, &binder), (SESSION_COOKIE, "session-a")]);
    assert!(
        !verify(&signed_in, config(&key), &login_token),
        "the pre-auth token dies with sign-in"
    );
    let (_, token_a) = ensure_token(signed_in.clone(), config(&key), &OsRng);
    assert!(verify(&signed_in, config(&key), &token_a));
    let other_session = browser(&[(CSRF_COOKIE, &binder), (SESSION_COOKIE, "session-b")]);
    assert!(
        !verify(&other_session, config(&key), &token_a),
        "a token from another session"
    );
    let signed_out = browser(&[(CSRF_COOKIE, &binder)]);
    assert!(!verify(&signed_out, config(&key), &token_a));
    assert!(verify(&signed_out, config(&key), &login_token));

    // A session cookie set on this very response counts: the page rendered with it posts
    // back with it.
    let (with_new_session, token) = ensure_token(
        signed_out.add(Cookie::new(SESSION_COOKIE, "session-a")),
        config(&key),
        &OsRng,
    );
    assert_eq!(token, token_a);
    assert!(verify(&with_new_session, config(&key), &token));
}

#[test]
fn s44_csrf_cookie_is_host_prefixed_http_only_strict_and_secure() {
    let key = key();
    let (jar, _) = ensure_token(CookieJar::new(), config(&key), &OsRng);
    let set_cookie = cookie_from(&jar.into_response()).unwrap();
    assert!(
        set_cookie.starts_with("__Host-lanyard_csrf="),
        "{set_cookie}"
    );
    for part in ["HttpOnly", "SameSite=Strict", "Path=/", "Secure"] {
        assert!(set_cookie.contains(part), "{set_cookie}");
    }
    assert!(!set_cookie.contains("Domain"), "{set_cookie}");

    let plain = CsrfConfig {
        key: &key,
        host_cookie: false,
    };
    let (jar, token) = ensure_token(CookieJar::new(), plain, &OsRng);
    let set_cookie = cookie_from(&jar.clone().into_response()).unwrap();
    assert!(
        set_cookie.starts_with(&format!("{PLAIN_CSRF_COOKIE}=")),
        "{set_cookie}"
    );
    assert!(!set_cookie.contains("Secure"), "{set_cookie}");
    assert!(verify(&jar, plain, &token));
    assert!(
        !verify(&jar, config(&key), &token),
        "where __Host- is used, a plain-named cookie (which a sibling host could plant) counts for nothing"
    );
}

#[test]
fn s44_existing_binder_is_reused_and_junk_is_replaced() {
    let key = key();
    let (first, token) = ensure_token(CookieJar::new(), config(&key), &OsRng);
    let binder = binder_of(&first);
    let browser_jar = browser(&[("other", "1"), (CSRF_COOKIE, &binder)]);
    let (jar_again, again) = ensure_token(browser_jar, config(&key), &OsRng);
    assert_eq!(again, token, "several tabs share one token");
    assert!(verify(&jar_again, config(&key), &token));
    assert!(
        cookie_from(&jar_again.into_response()).is_none(),
        "no new cookie needed"
    );

    let planted = CookieJar::new().add(Cookie::new(CSRF_COOKIE, "attacker-chosen"));
    assert!(!verify(&planted, config(&key), "attacker-chosen"));
    let (fixed, fresh) = ensure_token(planted, config(&key), &OsRng);
    assert_ne!(binder_of(&fixed), "attacker-chosen");
    assert!(verify(&fixed, config(&key), &fresh));
}
