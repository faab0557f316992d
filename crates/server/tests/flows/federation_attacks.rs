//! The upstream callback under attack (S40) and the upstream under faults (R12), against a
//! real OpenID provider on loopback whose answers the tests tamper with (`tests/idp`'s
//! `/__test/` hooks). Every refusal ends on a page, with no session and nothing created.

use std::time::{Duration, Instant};

use lanyard_core::Origin;
use lanyard_testkit::Browser;
use serde_json::json;

use crate::federation_support::{
    Fed, ORG, Options, account_count, after_email, audits, follow, set_connection, setup,
    to_callback, user,
};

fn with_param(url: &str, name: &str, value: Option<&str>) -> String {
    let mut parsed = url::Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> = parsed
        .query_pairs()
        .filter(|(k, _)| k != name)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    {
        let mut query = parsed.query_pairs_mut();
        query.clear();
        for (k, v) in &pairs {
            query.append_pair(k, v);
        }
        if let Some(value) = value {
            query.append_pair(name, value);
        }
    }
    parsed.to_string()
}

async fn signed_in(fed: &Fed, browser: &Browser) -> bool {
    let (status, at, _) = browser
        .get(&fed.app.url("/account"), &fed.app.base_url)
        .await;
    status == 200 && !at.contains("/login")
}

/// A refused callback: 400 (or the given status), no session, nothing created.
async fn assert_refused(fed: &Fed, browser: &Browser, callback: String, status: u16, case: &str) {
    let accounts = account_count(&fed.app).await;
    let outcome = follow(fed, browser, callback).await;
    assert_eq!(outcome.status, status, "{case}: {}", outcome.body);
    assert!(!signed_in(fed, browser).await, "{case}: a session was made");
    assert_eq!(
        account_count(&fed.app).await,
        accounts,
        "{case}: an account was made"
    );
}

fn one_user() -> serde_json::Value {
    json!([user("zoe-1", "zoe@corp.example", json!(true))])
}

#[tokio::test]
async fn s40_a_callback_whose_state_does_not_match_is_refused() {
    let Some(fed) = setup(one_user(), Options::default()).await else {
        return;
    };
    fed.app
        .app
        .state
        .orgs
        .create("globex", "Globex", &Origin::cli())
        .await
        .unwrap();
    let browser = Browser::new();
    let callback = to_callback(&fed, &browser, "zoe@corp.example", "zoe-1").await;
    let garbage = "A".repeat(43);
    for (case, url) in [
        ("missing state", with_param(&callback, "state", None)),
        (
            "unknown state",
            with_param(&callback, "state", Some(&garbage)),
        ),
        (
            "malformed state",
            with_param(&callback, "state", Some("x'\"<>")),
        ),
        (
            "another organization's callback",
            callback.replace(&format!("/federation/{ORG}/"), "/federation/globex/"),
        ),
    ] {
        assert_refused(&fed, &browser, url, 400, case).await;
    }
    // From another browser (no binding cookie): refused, and the real one is not burnt.
    let other = Browser::new();
    assert_refused(&fed, &other, callback.clone(), 400, "another browser").await;
    // The real browser sends it twice at once: exactly one of them finishes.
    let accounts = account_count(&fed.app).await;
    let (a, b) = tokio::join!(
        follow(&fed, &browser, callback.clone()),
        follow(&fed, &browser, callback.clone())
    );
    let finished = [&a, &b].iter().filter(|o| o.reached_app()).count();
    assert_eq!(finished, 1, "{} / {}", a.status, b.status);
    assert!([a.status, b.status].contains(&400));
    assert_eq!(account_count(&fed.app).await, accounts + 1, "one account");
    // And again later: used.
    assert_eq!(follow(&fed, &browser, callback).await.status, 400, "replay");
    fed.app.cleanup().await;
}

#[tokio::test]
async fn s40_a_mixed_up_issuer_parameter_is_refused() {
    let Some(fed) = setup(one_user(), Options::default()).await else {
        return;
    };
    let browser = Browser::new();
    let callback = to_callback(&fed, &browser, "zoe@corp.example", "zoe-1").await;
    assert!(
        callback.contains("iss="),
        "the IdP sends iss (RFC 9207): {callback}"
    );
    let mixed = with_param(&callback, "iss", Some("http://127.0.0.1:1"));
    assert_refused(
        &fed,
        &browser,
        mixed,
        400,
        "iss parameter of another issuer",
    )
    .await;
    let browser = Browser::new();
    let callback = to_callback(&fed, &browser, "zoe@corp.example", "zoe-1").await;
    let silent = with_param(&callback, "iss", None);
    assert_refused(&fed, &browser, silent, 400, "iss parameter missing").await;
    fed.app.cleanup().await;
}

#[tokio::test]
async fn s40_a_code_from_another_round_trip_fails_its_pkce_binding() {
    let Some(fed) = setup(one_user(), Options::default()).await else {
        return;
    };
    let browser = Browser::new();
    let first = to_callback(&fed, &browser, "zoe@corp.example", "zoe-1").await;
    let second = to_callback(&fed, &browser, "zoe@corp.example", "zoe-1").await;
    let code = crate::helpers::query_param(&first, "code").unwrap();
    let swapped = with_param(&second, "code", Some(&code));
    assert_refused(
        &fed,
        &browser,
        swapped,
        400,
        "a code bound to another verifier",
    )
    .await;
    fed.app.cleanup().await;
}

#[tokio::test]
async fn s40_every_tampered_id_token_is_refused() {
    let Some(fed) = setup(one_user(), Options::default()).await else {
        return;
    };
    for mode in [
        "wrong_nonce",
        "wrong_issuer",
        "wrong_audience",
        "unexpected_azp",
        "expired",
        "alg_none",
        "hs256",
        "bad_signature",
    ] {
        let browser = Browser::new();
        let callback = to_callback(&fed, &browser, "zoe@corp.example", "zoe-1").await;
        fed.idp.tamper(mode, 1).await;
        assert_refused(&fed, &browser, callback, 400, mode).await;
    }
    let failures = audits(&fed.app, "federation.failed").await;
    assert_eq!(failures.len(), 8);
    assert!(
        failures
            .iter()
            .all(|e| e.reason.as_deref() == Some("invalid_response"))
    );
    // Untampered, the same user signs in.
    let browser = Browser::new();
    let callback = to_callback(&fed, &browser, "zoe@corp.example", "zoe-1").await;
    assert!(follow(&fed, &browser, callback).await.reached_app());
    fed.app.cleanup().await;
}

#[tokio::test]
async fn an_error_from_the_idp_ends_on_a_clear_page_and_creates_nothing() {
    let Some(fed) = setup(one_user(), Options::default()).await else {
        return;
    };
    let browser = Browser::new();
    let (_, _, org_page) = after_email(&fed, &browser, "zoe@corp.example").await;
    let callback = crate::federation_support::upstream_from_org_page(
        &fed,
        &browser,
        &org_page,
        "zoe-1",
        &[("cancel", "1")],
    )
    .await;
    assert!(callback.contains("error=access_denied"), "{callback}");
    let accounts = account_count(&fed.app).await;
    let outcome = follow(&fed, &browser, callback).await;
    assert_eq!(outcome.status, 400);
    assert!(outcome.body.contains("did not finish"), "{}", outcome.body);
    assert!(
        !outcome.body.contains("The user cancelled"),
        "the IdP's words stay out"
    );
    assert_eq!(account_count(&fed.app).await, accounts);
    let failed = audits(&fed.app, "federation.failed").await;
    assert_eq!(
        failed[0].reason.as_deref(),
        Some("upstream_error:access_denied")
    );
    fed.app.cleanup().await;
}

#[tokio::test]
async fn r12_a_hanging_idp_fails_its_sign_in_within_the_timeout_and_nothing_else() {
    let Some(fed) = setup(one_user(), Options::default()).await else {
        return;
    };
    fed.app.create_user("local@elsewhere.example").await;
    let browser = Browser::new();
    let callback = to_callback(&fed, &browser, "zoe@corp.example", "zoe-1").await;
    // The token endpoint answers after 35 s; our timeout is 2 s.
    fed.idp.fault("/token", "hang", 1, 35_000).await;
    let started = Instant::now();
    let local = async {
        // A password sign-in of someone else, meanwhile.
        let code = crate::helpers::obtain_code(
            &fed.app,
            crate::federation_support::RP,
            "local@elsewhere.example",
        )
        .await;
        (code, started.elapsed())
    };
    let (outcome, (code, local_took)) = tokio::join!(follow(&fed, &browser, callback), local);
    let took = started.elapsed();
    assert_eq!(outcome.status, 502, "{}", outcome.body);
    assert!(outcome.body.contains("sign-in isn"), "{}", outcome.body);
    assert!(
        took < Duration::from_secs(10),
        "failed within the timeout: {took:?}"
    );
    assert!(!code.is_empty());
    assert!(
        local_took < Duration::from_secs(10),
        "local sign-in held up: {local_took:?}"
    );
    fed.app.cleanup().await;
}

/// Posts the organization page of a new browser: where "Continue" led.
async fn org_page(fed: &Fed) -> (u16, String) {
    let browser = Browser::new();
    let (_, _, org_page) = after_email(fed, &browser, "zoe@corp.example").await;
    let (status, _, body) = browser.submit(&org_page, &fed.app.base_url, &[]).await;
    (status, body)
}

#[tokio::test]
async fn r12_an_idp_that_is_down_or_failing_gets_a_clear_page() {
    let Some(fed) = setup(one_user(), Options::default()).await else {
        return;
    };
    // Discovery answering 500 (nothing cached yet).
    fed.idp
        .fault("/.well-known/openid-configuration", "status500", 1, 0)
        .await;
    let (status, body) = org_page(&fed).await;
    assert_eq!(status, 502, "{body}");
    // Nobody listening there at all.
    set_connection(&fed.app, ORG, "http://127.0.0.1:9", Options::default()).await;
    let (status, body) = org_page(&fed).await;
    assert_eq!(status, 502, "{body}");
    fed.app.cleanup().await;
}

#[tokio::test]
async fn r12_an_unknown_kid_refetches_the_key_set_once_and_rotation_is_followed() {
    let Some(fed) = setup(one_user(), Options::default()).await else {
        return;
    };
    // A first sign-in caches discovery and keys.
    let browser = Browser::new();
    let callback = to_callback(&fed, &browser, "zoe@corp.example", "zoe-1").await;
    assert!(follow(&fed, &browser, callback).await.reached_app());
    let jwks =
        |counts: std::collections::HashMap<String, u64>| counts.get("/jwks").copied().unwrap_or(0);

    // Signed with a key the IdP never published: one refetch, then refused.
    fed.idp.reset_request_counts().await;
    let browser = Browser::new();
    let callback = to_callback(&fed, &browser, "zoe@corp.example", "zoe-1").await;
    fed.idp.tamper("unknown_kid", 1).await;
    assert_eq!(follow(&fed, &browser, callback).await.status, 400);
    assert_eq!(
        jwks(fed.idp.request_counts().await),
        1,
        "exactly one refetch"
    );

    // Logout tokens naming an unknown kid, again and again: at most one refetch for it.
    fed.idp.reset_request_counts().await;
    let forged = format!(
        "{}.{}.{}",
        b64(&json!({"alg": "RS256", "kid": "forged-kid"})),
        b64(&json!({"iss": fed.idp.issuer()})),
        "AAAA"
    );
    for _ in 0..5 {
        let response = crate::helpers::http()
            .post(
                fed.app
                    .url(&format!("/federation/{ORG}/backchannel-logout")),
            )
            .form(&[("logout_token", forged.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400);
    }
    assert!(jwks(fed.idp.request_counts().await) <= 1, "no refetch loop");

    // The IdP rotates its key: the next sign-in follows it.
    fed.idp.rotate_keys().await;
    fed.idp.reset_request_counts().await;
    let browser = Browser::new();
    let callback = to_callback(&fed, &browser, "zoe@corp.example", "zoe-1").await;
    let outcome = follow(&fed, &browser, callback).await;
    assert!(outcome.reached_app(), "{}", outcome.body);
    assert_eq!(jwks(fed.idp.request_counts().await), 1);
    fed.app.cleanup().await;
}

fn b64(value: &serde_json::Value) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
}
