//! S04 (grant, response-type and response-mode allow-lists) and S50 (injection payloads in
//! every parameter that reaches a lookup).

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use lanyard_core::model::{ClientAuthMethod, SigningAlg};
use lanyard_core::{Clock, OsRng};
use lanyard_crypto::Kek;
use lanyard_crypto::keys::generate_signing_key;
use lanyard_testkit::{Browser, TestApp};

use crate::helpers::{
    REDIRECT, authorize_url, confidential, each_backend, http, json, query_param, urlencode,
};

#[tokio::test]
async fn s04_unsupported_response_types_modes_and_grants_are_refused() {
    each_backend(|app| async move {
        let secret = app.create_client(confidential("rp")).await.unwrap();
        for response_type in [
            "token",
            "id_token",
            "id_token token",
            "code id_token",
            "none",
        ] {
            let url = authorize_url(&app, "rp", "").replace(
                "response_type=code",
                &format!("response_type={}", urlencode(response_type)),
            );
            let response = http().get(&url).send().await.unwrap();
            assert_eq!(response.status(), 302, "{response_type}");
            let location = response.headers()["location"].to_str().unwrap().to_owned();
            assert!(location.starts_with(REDIRECT), "{location}");
            assert_eq!(
                query_param(&location, "error").as_deref(),
                Some("unsupported_response_type"),
                "{response_type}"
            );
            assert!(query_param(&location, "code").is_none());
            assert!(!location.contains('#'), "{location}");
        }

        // An unsupported mode builds no redirect at all: a page, and nothing to smuggle.
        for mode in [
            "form_post.jwt",
            "query.jwt",
            "fragment",
            "form_post",
            "jwt",
            "",
        ] {
            let url = authorize_url(&app, "rp", &format!("&response_mode={}", urlencode(mode)));
            let response = http().get(&url).send().await.unwrap();
            assert_eq!(response.status(), 400, "response_mode={mode}");
            assert!(response.headers().get("location").is_none(), "{mode}");
        }
        let url = authorize_url(&app, "rp", "&response_mode=query");
        let response = http().get(&url).send().await.unwrap();
        assert!(
            response.status().is_redirection(),
            "response_mode=query is supported"
        );
        let location = response.headers()["location"].to_str().unwrap();
        assert!(location.starts_with("/login"), "{location}");

        for grant in [
            "password",
            "implicit",
            "token",
            "urn:ietf:params:oauth:grant-type:jwt-bearer",
            "urn:ietf:params:oauth:grant-type:saml2-bearer",
        ] {
            let response = http()
                .post(app.url("/token"))
                .basic_auth("rp", Some(&secret))
                .form(&[
                    ("grant_type", grant),
                    ("username", "a@example.com"),
                    ("password", "x"),
                ])
                .send()
                .await
                .unwrap();
            let (status, body) = json(response).await;
            assert_eq!(status, 400, "{grant}");
            assert_eq!(body["error"], "unsupported_grant_type", "{grant}");
            assert!(body.get("access_token").is_none());
        }

        let (_, discovery) = json(
            http()
                .get(app.url("/.well-known/openid-configuration"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(
            discovery["response_types_supported"],
            serde_json::json!(["code"])
        );
        assert_eq!(
            discovery["response_modes_supported"],
            serde_json::json!(["query"])
        );
        assert!(
            !discovery["grant_types_supported"]
                .as_array()
                .unwrap()
                .iter()
                .any(|g| g == "password" || g == "implicit")
        );
        app
    })
    .await;
}

/// Classic SQL-injection shapes, a sleep that would show up as latency, a huge-blob
/// function, a UNION, a NUL, and JSON in a string.
const PAYLOADS: [&str; 8] = [
    "' OR 1=1--",
    "'; SELECT pg_sleep(5)--",
    "x'||(SELECT randomblob(1000000000))||'",
    "x' UNION SELECT password_hash, email FROM accounts--",
    "\" OR \"\"=\"",
    "a\u{0}b",
    "{\"$gt\": \"\"}",
    "1; DROP TABLE accounts",
];

/// Words that only appear in a response when a database error leaked into it.
const DB_ERROR_WORDS: [&str; 8] = [
    "sqlite",
    "postgres",
    "syntax error",
    "sqlstate",
    "relation \"",
    "near \"",
    "sea_orm",
    "sqlx",
];

/// What the payloads must leave untouched.
async fn snapshot(app: &TestApp) -> (u64, u64, Vec<String>, Vec<String>) {
    let store = &app.app.stores.durable;
    let accounts = store.list_accounts(None, 1000).await.unwrap();
    let clients = store.list_clients().await.unwrap();
    (
        store.count_accounts().await.unwrap(),
        store.count_clients().await.unwrap(),
        accounts
            .iter()
            .map(|a| format!("{}:{}", a.email, a.status.as_str()))
            .collect(),
        clients.iter().map(|c| c.id.as_str().to_owned()).collect(),
    )
}

/// A payload's outcome: a refusal or a redirect, quickly, with no database text.
async fn assert_refused_cleanly(what: &str, response: reqwest::Response, started: Instant) {
    let status = response.status().as_u16();
    let body = response.text().await.unwrap().to_lowercase();
    assert!(status < 500, "{what}: {status} {body}");
    for word in DB_ERROR_WORDS {
        assert!(
            !body.contains(word),
            "{what}: response mentions {word:?}: {body}"
        );
    }
    // A payload that reached SQL as code would show here: `pg_sleep(5)` takes 5 s, and
    // randomblob(1e9) far longer. The bound is generous because the machine is shared.
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{what}: took {:?}",
        started.elapsed()
    );
}

fn fake_assertion(kid: &str) -> String {
    let header = serde_json::json!({"alg": "ES256", "typ": "JWT", "kid": kid});
    let claims = serde_json::json!({"iss": kid, "sub": kid, "aud": "x", "exp": 1, "jti": kid});
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        URL_SAFE_NO_PAD.encode([7u8; 64])
    )
}

#[tokio::test]
async fn s50_injection_payloads_are_refused_and_change_nothing() {
    each_backend(|app| async move {
        let secret = app.create_client(confidential("rp")).await.unwrap();
        let kek = Kek::generate(&OsRng);
        let now = app.clock.now();
        let key = generate_signing_key(SigningAlg::ES256, "k1".into(), &kek, now, now).unwrap();
        let public_jwk: serde_json::Value = serde_json::from_str(&key.public_jwk).unwrap();
        let mut jwt_client = confidential("jwt-rp");
        jwt_client.auth_method = ClientAuthMethod::PrivateKeyJwt;
        jwt_client.jwks = Some(serde_json::json!({ "keys": [public_jwk] }));
        app.create_client(jwt_client).await;
        app.create_user("alice@example.com").await;
        let before = snapshot(&app).await;

        for payload in PAYLOADS {
            let p = urlencode(payload);
            let authorize = [
                (
                    "client_id",
                    authorize_url(&app, "rp", "")
                        .replace("client_id=rp", &format!("client_id={p}")),
                ),
                (
                    "redirect_uri",
                    authorize_url(&app, "rp", "").replace(&urlencode(REDIRECT), &p),
                ),
                (
                    "scope",
                    authorize_url(&app, "rp", "")
                        .replace("scope=openid%20email", &format!("scope={p}")),
                ),
                (
                    "state",
                    authorize_url(&app, "rp", "").replace("state=st", &format!("state={p}")),
                ),
                (
                    "nonce",
                    authorize_url(&app, "rp", "").replace("nonce=nn", &format!("nonce={p}")),
                ),
                (
                    "login_hint",
                    authorize_url(&app, "rp", &format!("&login_hint={p}")),
                ),
            ];
            for (what, url) in authorize {
                let started = Instant::now();
                let response = http().get(&url).send().await.unwrap();
                if let Some(location) = response.headers().get("location") {
                    let location = location.to_str().unwrap();
                    assert!(
                        query_param(location, "code").is_none(),
                        "{what}: {location}"
                    );
                }
                assert_refused_cleanly(&format!("authorize {what}={payload:?}"), response, started)
                    .await;
            }

            // The sign-in page: the email is the account lookup key.
            let browser = Browser::new();
            let (_, _, page) = browser
                .get(&authorize_url(&app, "rp", ""), &app.base_url)
                .await;
            let started = Instant::now();
            let (status, _, body) = browser
                .submit(&page, &app.base_url, &[("email", payload)])
                .await;
            assert!((200..500).contains(&status), "email {payload:?}: {status}");
            assert!(
                !body.contains("name=\"password\""),
                "email {payload:?} was accepted"
            );
            assert!(started.elapsed() < Duration::from_secs(2));

            let token_requests: Vec<(&str, reqwest::RequestBuilder)> = vec![
                (
                    "basic client_id",
                    http()
                        .post(app.url("/token"))
                        .basic_auth(payload, Some(&secret))
                        .form(&[("grant_type", "client_credentials")]),
                ),
                (
                    "basic secret",
                    http()
                        .post(app.url("/token"))
                        .basic_auth("rp", Some(payload))
                        .form(&[("grant_type", "client_credentials")]),
                ),
                (
                    "post client_id",
                    http().post(app.url("/token")).form(&[
                        ("grant_type", "client_credentials"),
                        ("client_id", payload),
                        ("client_secret", payload),
                    ]),
                ),
                (
                    "code",
                    http()
                        .post(app.url("/token"))
                        .basic_auth("rp", Some(&secret))
                        .form(&[
                            ("grant_type", "authorization_code"),
                            ("code", payload),
                            ("redirect_uri", REDIRECT),
                            (
                                "code_verifier",
                                "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
                            ),
                        ]),
                ),
                (
                    "refresh_token",
                    http()
                        .post(app.url("/token"))
                        .basic_auth("rp", Some(&secret))
                        .form(&[("grant_type", "refresh_token"), ("refresh_token", payload)]),
                ),
                (
                    "scope",
                    http()
                        .post(app.url("/token"))
                        .basic_auth("rp", Some(&secret))
                        .form(&[("grant_type", "client_credentials"), ("scope", payload)]),
                ),
                (
                    "assertion kid",
                    http().post(app.url("/token")).form(&[
                        ("grant_type", "client_credentials"),
                        ("client_id", "jwt-rp"),
                        (
                            "client_assertion_type",
                            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                        ),
                        ("client_assertion", &fake_assertion(payload)),
                    ]),
                ),
                (
                    "introspected token",
                    http()
                        .post(app.url("/introspect"))
                        .basic_auth("rp", Some(&secret))
                        .form(&[("token", payload)]),
                ),
                (
                    "revoked token",
                    http()
                        .post(app.url("/revoke"))
                        .basic_auth("rp", Some(&secret))
                        .form(&[("token", payload), ("token_type_hint", payload)]),
                ),
            ];
            for (what, request) in token_requests {
                let started = Instant::now();
                let response = match request.send().await {
                    Ok(response) => response,
                    // reqwest refuses a NUL in a header value before sending; nothing to test.
                    Err(e) if e.is_builder() => continue,
                    Err(e) => panic!("{what}: {e}"),
                };
                assert_refused_cleanly(&format!("{what}={payload:?}"), response, started).await;
            }
            if !payload.contains('\0') {
                let started = Instant::now();
                let response = http()
                    .get(app.url("/userinfo"))
                    .header("authorization", format!("Bearer {payload}"))
                    .send()
                    .await
                    .unwrap();
                assert!(response.status() == 400 || response.status() == 401);
                assert_refused_cleanly(&format!("bearer {payload:?}"), response, started).await;
            }
        }

        assert_eq!(snapshot(&app).await, before, "rows changed");
        app
    })
    .await;
}
