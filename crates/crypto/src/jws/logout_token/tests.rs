//! Back-channel logout tokens (OIDC Back-Channel Logout 1.0 §2.4, §2.6): each rule on its own.

use serde_json::{Map, Value, json};

use super::*;
use crate::test_support::{NOW, b64, ring};

const UPSTREAM: &str = "https://idp.corp.example";
const US: &str = "lanyard";

fn jwks() -> Value {
    serde_json::from_slice(ring().jwks_json()).unwrap()
}

fn good() -> Map<String, Value> {
    json!({
        "iss": UPSTREAM, "aud": US, "iat": NOW.seconds() - 5, "exp": NOW.seconds() + 120,
        "jti": "j-1", "sub": "user-1", "sid": "s-1",
        "events": { LOGOUT_EVENT: {} },
    })
    .as_object()
    .unwrap()
    .clone()
}

fn token(typ: &str, edit: impl FnOnce(&mut Map<String, Value>)) -> String {
    let mut claims = good();
    edit(&mut claims);
    let signer = ring()
        .signer(lanyard_core::model::SigningAlg::ES256)
        .unwrap();
    signer.sign(typ, &Value::Object(claims)).unwrap()
}

fn set(name: &str, value: Value) -> impl FnOnce(&mut Map<String, Value>) {
    let name = name.to_owned();
    move |c| {
        c.insert(name, value);
    }
}

fn without(name: &'static str) -> impl FnOnce(&mut Map<String, Value>) {
    move |c| {
        c.remove(name);
    }
}

fn validation() -> LogoutValidation<'static> {
    LogoutValidation {
        issuer: UPSTREAM,
        audience: US,
        now: NOW,
        leeway_secs: 0,
    }
}

fn check(token: &str) -> Result<LogoutTokenClaims, JwtError> {
    verify_logout_token(token, &jwks(), &validation())
}

#[test]
fn a_valid_token_names_its_session_and_subject() {
    let claims = check(&token("logout+jwt", |_| {})).unwrap();
    assert_eq!(claims.sub.as_deref(), Some("user-1"));
    assert_eq!(claims.sid.as_deref(), Some("s-1"));
    assert_eq!(claims.jti, "j-1");
    // `JWT` is accepted as saying nothing; only sub or only sid is enough.
    assert!(check(&token("JWT", without("sid"))).is_ok());
    assert!(check(&token("logout+jwt", without("sub"))).is_ok());
}

#[test]
fn every_rule_refuses_on_its_own() {
    let cases: Vec<(&str, String)> = vec![
        ("an access token's typ", token("at+jwt", |_| {})),
        (
            "another issuer",
            token("logout+jwt", set("iss", json!("https://evil"))),
        ),
        (
            "another audience",
            token("logout+jwt", set("aud", json!("someone"))),
        ),
        (
            "expired",
            token("logout+jwt", set("exp", json!(NOW.seconds() - 1))),
        ),
        ("no exp", token("logout+jwt", without("exp"))),
        ("no iat", token("logout+jwt", without("iat"))),
        ("no jti", token("logout+jwt", without("jti"))),
        ("no events", token("logout+jwt", without("events"))),
        (
            "another event",
            token("logout+jwt", set("events", json!({"urn:x": {}}))),
        ),
        (
            "a nonce (an ID token)",
            token("logout+jwt", set("nonce", json!("n"))),
        ),
        (
            "neither sub nor sid",
            token("logout+jwt", |c| {
                c.remove("sub");
                c.remove("sid");
            }),
        ),
    ];
    for (case, token) in cases {
        assert!(check(&token).is_err(), "{case} was accepted");
    }
}

#[test]
fn signatures_are_from_the_published_keys_only() {
    let good = token("logout+jwt", |_| {});
    let mut parts = good.split('.');
    let (head, payload) = (parts.next().unwrap(), parts.next().unwrap());
    let none = format!("{}.{payload}.", b64(br#"{"alg":"none"}"#));
    assert!(check(&none).is_err());
    let flipped = format!("{head}.{payload}.{}", b64([7u8; 64]));
    assert!(check(&flipped).is_err());
    let no_keys = json!({"keys": []});
    assert!(verify_logout_token(&good, &no_keys, &validation()).is_err());
}
