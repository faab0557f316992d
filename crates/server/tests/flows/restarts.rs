//! R02 and H2 (shared/design/security-tests.md; issue 11 items 6 and 7): a restart loses
//! nothing that keeps someone out. On the embedded default the server is stopped and a new
//! one started on the same data folder (SQLite file, keys, invalidation file); on
//! PostgreSQL + Redis this test's Redis keys are deleted (its own prefix only: other tests
//! share the Redis server), as after a Redis restart with nothing on disk, and the server is
//! restarted too. Between the two halves of each scenario:
//! - a revoked access token stays revoked (introspection);
//! - a signed-in browser is still signed in (embedded) or cleanly signed out (Redis lost
//!   its sessions), never an error; a session ended by "sign out everywhere else" stays
//!   ended;
//! - a used `private_key_jwt` assertion stays used;
//! - a redeemed code replayed is refused and revokes its grant; a code not yet redeemed is
//!   kept (embedded) or refused (Redis lost it).

use lanyard_core::Clock;
use lanyard_testkit::{Browser, PASSWORD, TestApp};
use serde_json::json;

use crate::helpers::{
    VERIFIER, assertion, authorize_url, confidential, each_backend, http, json as body_json,
    key_client, obtain_code, query_param, redeem,
};

const EMAIL: &str = "r02@example.com";
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// What happened to the state between the two halves of a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lost {
    /// Embedded: the process restarted; every store is on disk.
    Nothing,
    /// Production: Redis came back empty (and the process restarted).
    Redis,
}

/// Restarts the server; on PostgreSQL + Redis empties this server's Redis keys first.
async fn restart(app: TestApp) -> (TestApp, Lost) {
    let lost = if app.flush_redis().await {
        Lost::Redis
    } else {
        Lost::Nothing
    };
    (app.restart().await, lost)
}

async fn introspect(app: &TestApp, secret: &str, token: &str) -> serde_json::Value {
    let response = http()
        .post(app.url("/introspect"))
        .basic_auth("rp", Some(secret))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    let (status, body) = body_json(response).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn client_credentials_token(app: &TestApp, secret: &str) -> String {
    let response = http()
        .post(app.url("/token"))
        .basic_auth("rp", Some(secret))
        .form(&[("grant_type", "client_credentials"), ("scope", "api")])
        .send()
        .await
        .unwrap();
    let (status, body) = body_json(response).await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

/// A client-credentials token has no grant: only its revoked `jti` keeps it out, so this
/// shows where `revoked_jti` lives.
#[tokio::test]
async fn r02_h2_a_revoked_access_token_stays_revoked_after_a_restart() {
    each_backend(|app| async move {
        let secret = app.create_client(confidential("rp")).await.unwrap();
        let revoked = client_credentials_token(&app, &secret).await;
        let kept = client_credentials_token(&app, &secret).await;
        let response = http()
            .post(app.url("/revoke"))
            .basic_auth("rp", Some(&secret))
            .form(&[("token", revoked.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(introspect(&app, &secret, &revoked).await["active"], false);

        let (app, lost) = restart(app).await;
        assert_eq!(
            introspect(&app, &secret, &revoked).await,
            json!({"active": false}),
            "{lost:?}: still revoked"
        );
        assert_eq!(
            introspect(&app, &secret, &kept).await["active"],
            true,
            "{lost:?}: a token nobody revoked still works"
        );
        app
    })
    .await;
}

/// The browser's next page after a restart: on the embedded default the session is still
/// there; when Redis lost it, the browser is sent to sign in (a clean sign-out, not an
/// error). A session that "sign out everywhere else" ended stays ended either way.
#[tokio::test]
async fn r02_h2_a_signed_in_browser_after_a_restart() {
    each_backend(|app| async move {
        app.create_client(confidential("rp")).await.unwrap();
        app.create_user(EMAIL).await;
        let base = app.base_url.clone();
        let mine = Browser::new();
        let other = Browser::new();
        for browser in [&mine, &other] {
            let back = browser
                .sign_in(
                    &authorize_url(&app, "rp", ""),
                    &base,
                    &app.mail,
                    EMAIL,
                    PASSWORD,
                )
                .await;
            assert!(query_param(&back, "code").is_some(), "{back}");
        }
        let (_, at, page) = mine.get(&app.url("/account/security"), &base).await;
        assert!(at.ends_with("/account/security"), "signed in: {at}");
        let csrf = lanyard_testkit::recording::hidden_field(&page, "csrf_token").unwrap();
        let ended = mine
            .http
            .post(app.url("/account/sessions/end-others"))
            .form(&[("csrf_token", csrf.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(ended.status(), 303);

        let (app, lost) = restart(app).await;
        let (status, at, page) = mine.get(&app.url("/account/security"), &base).await;
        assert_eq!(status, 200, "{lost:?}: never an error: {page}");
        match lost {
            Lost::Nothing => {
                assert!(at.ends_with("/account/security"), "still signed in: {at}");
                assert!(page.contains("Security"), "{page}");
            }
            Lost::Redis => assert!(at.contains("/login"), "signed out cleanly: {at}"),
        }
        let (status, at, _) = other.get(&app.url("/account/security"), &base).await;
        assert_eq!(status, 200);
        assert!(
            at.contains("/login"),
            "{lost:?}: the ended session stays ended: {at}"
        );
        app
    })
    .await;
}

/// RFC 7523 §3: a client assertion's `jti` is refused when seen again until the assertion
/// expires, restart or not; a new assertion still works.
#[tokio::test]
async fn r02_h2_s09_a_used_client_assertion_stays_used_after_a_restart() {
    each_backend(|app| async move {
        let now = app.clock.now();
        let ring = key_client(&app, "svc").await;
        let signed = |app: &TestApp, jti: &str| {
            let claims = json!({
                "iss": "svc", "sub": "svc", "aud": app.url("/token"), "jti": jti,
                "iat": now.seconds(), "exp": now.seconds() + 300,
            });
            assertion(&ring, &claims)
        };
        let token_with = |app: &TestApp, assertion: String| {
            let url = app.url("/token");
            async move {
                let response = http()
                    .post(url)
                    .form(&[
                        ("grant_type", "client_credentials"),
                        ("client_assertion_type", ASSERTION_TYPE),
                        ("client_assertion", assertion.as_str()),
                    ])
                    .send()
                    .await
                    .unwrap();
                body_json(response).await
            }
        };
        let used = signed(&app, "used-once");
        let (status, body) = token_with(&app, used.clone()).await;
        assert_eq!(status, 200, "{body}");

        let (app, lost) = restart(app).await;
        let (status, body) = token_with(&app, used).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid_client")),
            "{lost:?}: the replay is refused"
        );
        let (status, body) = token_with(&app, signed(&app, "fresh")).await;
        assert_eq!(status, 200, "{lost:?}: a new assertion works: {body}");
        app
    })
    .await;
}

/// RFC 6749 §4.1.2: a code works once. Replayed after a restart it is refused and the grant
/// it produced is revoked. A code issued but not redeemed before the restart is kept on the
/// embedded default; when Redis lost it, it is refused like any unknown code (the client
/// signs the user in again), never accepted twice.
#[tokio::test]
async fn r02_h2_s09_a_redeemed_code_replayed_after_a_restart_is_refused() {
    each_backend(|app| async move {
        let secret = app.create_client(confidential("rp")).await.unwrap();
        app.create_user(EMAIL).await;
        let redeemed = obtain_code(&app, "rp", EMAIL).await;
        let (status, tokens) =
            body_json(redeem(&app, "rp", &secret, &redeemed, VERIFIER).await).await;
        assert_eq!(status, 200, "{tokens}");
        let refresh_token = tokens["refresh_token"].as_str().unwrap().to_owned();
        let in_flight = obtain_code(&app, "rp", EMAIL).await;

        let (app, lost) = restart(app).await;
        let (status, body) =
            body_json(redeem(&app, "rp", &secret, &redeemed, VERIFIER).await).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant")),
            "{lost:?}: {body}"
        );
        assert_eq!(
            introspect(&app, &secret, &refresh_token).await,
            json!({"active": false}),
            "{lost:?}: the replay revoked the grant"
        );
        let (status, body) =
            body_json(redeem(&app, "rp", &secret, &in_flight, VERIFIER).await).await;
        match lost {
            Lost::Nothing => assert_eq!(status, 200, "the pending code survived: {body}"),
            Lost::Redis => assert_eq!(
                (status, body["error"].as_str()),
                (400, Some("invalid_grant")),
                "{body}"
            ),
        }
        let (status, _) = body_json(redeem(&app, "rp", &secret, &in_flight, VERIFIER).await).await;
        assert_eq!(status, 400, "{lost:?}: and never twice");
        app
    })
    .await;
}
