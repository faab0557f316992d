//! Refresh tokens over HTTP: rotation (S12), concurrent refresh in strict and grace mode
//! (S14, R10) and binding and lifetimes (S15). Store assertions go through `RefreshRepo`, so
//! they hold on SQLite and on PostgreSQL alike.

use std::sync::Arc;

use lanyard_core::model::RefreshFamily;
use lanyard_core::ports::RefreshRepo;
use lanyard_testkit::TestApp;
use serde_json::Value;
use tokio::sync::Barrier;

use crate::helpers::{
    confidential, each_backend, each_backend_with, http, json, refresh, sign_in_tokens,
};

const EMAIL: &str = "a@example.com";
const GRACE_SECS: i64 = 30;

fn rt(body: &Value) -> String {
    body["refresh_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no refresh_token in {body}"))
        .to_owned()
}

fn scopes(body: &Value) -> Vec<String> {
    let mut scopes: Vec<String> = body["scope"]
        .as_str()
        .unwrap()
        .split(' ')
        .map(str::to_owned)
        .collect();
    scopes.sort();
    scopes
}

fn assert_invalid_grant((status, body): &(u16, Value), what: &str) {
    assert_eq!(
        (*status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{what}: {body}"
    );
}

/// The family a refresh token belongs to, current or retired.
async fn family_of(app: &TestApp, token: &str) -> RefreshFamily {
    let hash = app.app.hasher.hash(token);
    app.app
        .stores
        .sql
        .find_family_by_token(&hash)
        .await
        .unwrap()
        .expect("the token belongs to a family")
}

/// S14's invariant, read from the database: never two live branches.
async fn assert_at_most_one_current(app: &TestApp, family: &RefreshFamily) {
    let current = app
        .app
        .stores
        .sql
        .count_current_tokens(family.id)
        .await
        .unwrap();
    assert!(
        current <= 1,
        "{current} current refresh tokens in one family"
    );
}

async fn is_current(app: &TestApp, token: &str) -> bool {
    let hash = app.app.hasher.hash(token);
    let sql = &app.app.stores.sql;
    sql.find_family_by_current_token(&hash)
        .await
        .unwrap()
        .is_some()
}

async fn introspect_active(app: &TestApp, secret: &str, token: &str) -> bool {
    let response = http()
        .post(app.url("/introspect"))
        .basic_auth("rp", Some(secret))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    json(response).await.1["active"] == Value::Bool(true)
}

/// Two refreshes with the same token, released together.
async fn refresh_twice_at_once(app: &TestApp, secret: &str, token: &str) -> [(u16, Value); 2] {
    let barrier = Arc::new(Barrier::new(2));
    let tasks = [0, 1].map(|_| {
        let barrier = barrier.clone();
        let (url, secret, token) = (app.url("/token"), secret.to_owned(), token.to_owned());
        tokio::spawn(async move {
            barrier.wait().await;
            let response = http()
                .post(url)
                .basic_auth("rp", Some(secret))
                .form(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", token.as_str()),
                ])
                .send()
                .await
                .unwrap();
            json(response).await
        })
    });
    let [a, b] = tasks;
    [a.await.unwrap(), b.await.unwrap()]
}

#[tokio::test]
async fn s12_rotation_issues_a_new_token_within_the_original_scope() {
    each_backend(|app| async move {
        app.create_user(EMAIL).await;
        let secret = app.create_client(confidential("rp")).await.unwrap();
        let tokens = sign_in_tokens(&app, "rp", &secret, EMAIL).await;
        let original = scopes(&tokens);
        let rt1 = rt(&tokens);

        let (status, body) = refresh(&app, "rp", &secret, &rt1, None).await;
        assert_eq!(status, 200, "{body}");
        let rt2 = rt(&body);
        assert_ne!(rt2, rt1);
        assert!(scopes(&body).iter().all(|s| original.contains(s)), "{body}");
        assert!(!is_current(&app, &rt1).await && is_current(&app, &rt2).await);

        // RT2 works, and a narrower scope may be asked for.
        let (status, body) = refresh(&app, "rp", &secret, &rt2, Some("openid")).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(scopes(&body), ["openid"]);
        let rt3 = rt(&body);

        // Anything beyond the original grant is refused, and the refusal consumes nothing.
        for broader in ["openid email profile", "api", "openid offline_access"] {
            let (status, body) = refresh(&app, "rp", &secret, &rt3, Some(broader)).await;
            assert_eq!(
                (status, body["error"].as_str()),
                (400, Some("invalid_scope")),
                "{broader}: {body}"
            );
        }
        let (status, body) = refresh(&app, "rp", &secret, &rt3, None).await;
        assert_eq!(status, 200, "{body}");
        assert!(scopes(&body).iter().all(|s| original.contains(s)), "{body}");
        assert_at_most_one_current(&app, &family_of(&app, &rt3).await).await;
        app
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn s14_strict_concurrent_refresh_succeeds_once_and_revokes_the_family() {
    each_backend(|app| async move {
        app.create_user(EMAIL).await;
        let secret = app.create_client(confidential("rp")).await.unwrap();
        let rt1 = rt(&sign_in_tokens(&app, "rp", &secret, EMAIL).await);
        let family = family_of(&app, &rt1).await;

        let results = refresh_twice_at_once(&app, &secret, &rt1).await;
        let winners: Vec<_> = results.iter().filter(|(s, _)| *s == 200).collect();
        assert_eq!(winners.len(), 1, "{results:?}");
        let loser = results.iter().find(|(s, _)| *s != 200).unwrap();
        assert_invalid_grant(loser, "the second use of RT1 is reuse");

        // The reuse revoked the family: the winner is logged out as well.
        let winner = &winners[0].1;
        assert_invalid_grant(
            &refresh(&app, "rp", &secret, &rt(winner), None).await,
            "the winner's RT2 after the reuse",
        );
        let access = winner["access_token"].as_str().unwrap();
        assert!(!introspect_active(&app, &secret, access).await);
        let family = app
            .app
            .stores
            .sql
            .find_family(family.id)
            .await
            .unwrap()
            .unwrap();
        assert!(family.revoked_at.is_some());
        assert_at_most_one_current(&app, &family).await;
        app
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn s14_grace_concurrent_refresh_returns_the_same_successor_to_both() {
    let grace = |config: &mut lanyard_server::config::Config| {
        config.tokens.refresh_grace_secs = GRACE_SECS;
    };
    each_backend_with(grace, |app| async move {
        app.create_user(EMAIL).await;
        let secret = app.create_client(confidential("rp")).await.unwrap();
        let rt1 = rt(&sign_in_tokens(&app, "rp", &secret, EMAIL).await);
        let family = family_of(&app, &rt1).await;

        let [(s1, a), (s2, b)] = refresh_twice_at_once(&app, &secret, &rt1).await;
        assert_eq!((s1, s2), (200, 200), "{a} {b}");
        let rt2 = rt(&a);
        assert_eq!(rt(&b), rt2, "one successor, never two branches");
        assert_ne!(rt2, rt1);
        assert_ne!(a["access_token"], b["access_token"], "fresh access tokens");
        assert!(a["id_token"].is_string() && b["id_token"].is_string());
        for body in [&a, &b] {
            let access = body["access_token"].as_str().unwrap();
            assert!(introspect_active(&app, &secret, access).await);
        }
        assert!(is_current(&app, &rt2).await);
        assert_at_most_one_current(&app, &family).await;

        // A retry after a lost response, still inside the window: RT2 again.
        app.clock.advance(GRACE_SECS - 1);
        let (status, body) = refresh(&app, "rp", &secret, &rt1, None).await;
        assert_eq!((status, rt(&body)), (200, rt2.clone()));

        // RT2 rotates once, to RT3.
        let (status, body) = refresh(&app, "rp", &secret, &rt2, None).await;
        assert_eq!(status, 200, "{body}");
        let rt3 = rt(&body);
        assert_ne!(rt3, rt2);
        assert_at_most_one_current(&app, &family).await;

        // After the window, a retry of RT2 is reuse: the family dies, RT3 with it.
        app.clock.advance(GRACE_SECS);
        assert_invalid_grant(
            &refresh(&app, "rp", &secret, &rt2, None).await,
            "RT2 after the grace window",
        );
        assert_invalid_grant(
            &refresh(&app, "rp", &secret, &rt3, None).await,
            "RT3 after the reuse",
        );
        let sql = &app.app.stores.sql;
        let revoked = sql.find_family(family.id).await.unwrap().unwrap();
        assert!(revoked.revoked_at.is_some());
        assert_at_most_one_current(&app, &family).await;
        app
    })
    .await;
}

#[tokio::test]
async fn s14_grace_covers_only_the_immediately_previous_token() {
    let grace = |config: &mut lanyard_server::config::Config| {
        config.tokens.refresh_grace_secs = GRACE_SECS;
    };
    each_backend_with(grace, |app| async move {
        app.create_user(EMAIL).await;
        let secret = app.create_client(confidential("rp")).await.unwrap();
        let rt1 = rt(&sign_in_tokens(&app, "rp", &secret, EMAIL).await);
        let (_, body) = refresh(&app, "rp", &secret, &rt1, None).await;
        let rt2 = rt(&body);
        let (_, body) = refresh(&app, "rp", &secret, &rt2, None).await;
        let rt3 = rt(&body);

        // RT1 is two rotations old: reuse, even within seconds.
        assert_invalid_grant(
            &refresh(&app, "rp", &secret, &rt1, None).await,
            "RT1 after two rotations",
        );
        assert_invalid_grant(
            &refresh(&app, "rp", &secret, &rt3, None).await,
            "RT3 after the reuse",
        );
        assert_at_most_one_current(&app, &family_of(&app, &rt1).await).await;
        app
    })
    .await;
}

#[tokio::test]
async fn s15_another_clients_refresh_token_is_refused_and_left_alone() {
    each_backend(|app| async move {
        app.create_user(EMAIL).await;
        let secret_a = app.create_client(confidential("rp")).await.unwrap();
        let secret_b = app.create_client(confidential("other")).await.unwrap();
        let rt1 = rt(&sign_in_tokens(&app, "rp", &secret_a, EMAIL).await);

        assert_invalid_grant(
            &refresh(&app, "other", &secret_b, &rt1, None).await,
            "client B presenting client A's token",
        );
        assert!(is_current(&app, &rt1).await, "B's attempt changed nothing");
        let (status, body) = refresh(&app, "rp", &secret_a, &rt1, None).await;
        assert_eq!(status, 200, "{body}");
        app
    })
    .await;
}

const IDLE_TTL: i64 = 900;
const ABSOLUTE_TTL: i64 = 3_500;
const TEN_MINUTES: i64 = 600;

fn short_refresh_lifetimes(config: &mut lanyard_server::config::Config) {
    config.tokens.refresh_idle_ttl_secs = IDLE_TTL;
    config.tokens.refresh_absolute_ttl_secs = ABSOLUTE_TTL;
}

#[tokio::test]
async fn s15_the_absolute_lifetime_ends_a_family_that_is_never_idle() {
    each_backend_with(short_refresh_lifetimes, |app| async move {
        app.create_user(EMAIL).await;
        let secret = app.create_client(confidential("rp")).await.unwrap();
        let mut token = rt(&sign_in_tokens(&app, "rp", &secret, EMAIL).await);
        let mut elapsed = 0;
        loop {
            // Every gap is well inside the idle lifetime.
            app.clock.advance(TEN_MINUTES);
            elapsed += TEN_MINUTES;
            let result = refresh(&app, "rp", &secret, &token, None).await;
            if elapsed < ABSOLUTE_TTL {
                assert_eq!(result.0, 200, "after {elapsed} s: {}", result.1);
                token = rt(&result.1);
            } else {
                assert_invalid_grant(&result, "past the absolute lifetime");
                break;
            }
        }
        assert_eq!(
            elapsed, 3_600,
            "five refreshes succeeded, the sixth did not"
        );
        app
    })
    .await;
}

#[tokio::test]
async fn s15_a_family_unused_for_its_idle_lifetime_is_dead() {
    each_backend_with(short_refresh_lifetimes, |app| async move {
        app.create_user(EMAIL).await;
        let secret = app.create_client(confidential("rp")).await.unwrap();
        let rt1 = rt(&sign_in_tokens(&app, "rp", &secret, EMAIL).await);
        app.clock.advance(IDLE_TTL - 1);
        let (status, body) = refresh(&app, "rp", &secret, &rt1, None).await;
        assert_eq!(status, 200, "just inside the idle lifetime: {body}");
        let rt2 = rt(&body);
        app.clock.advance(IDLE_TTL + 1);
        assert_invalid_grant(
            &refresh(&app, "rp", &secret, &rt2, None).await,
            "unused for idle_ttl + 1 s",
        );
        app
    })
    .await;
}

#[tokio::test]
async fn s15_disabling_the_user_ends_their_refresh_tokens() {
    each_backend(|app| async move {
        app.create_user(EMAIL).await;
        let secret = app.create_client(confidential("rp")).await.unwrap();
        let rt1 = rt(&sign_in_tokens(&app, "rp", &secret, EMAIL).await);
        app.app
            .state
            .accounts
            .disable(EMAIL, &lanyard_core::Origin::cli())
            .await
            .unwrap();
        assert_invalid_grant(
            &refresh(&app, "rp", &secret, &rt1, None).await,
            "after an admin disabled the user",
        );
        let family = family_of(&app, &rt1).await;
        assert!(family.revoked_at.is_some());
        app
    })
    .await;
}

#[test]
fn s14_the_grace_window_is_off_by_default_and_bounded() {
    use lanyard_issuer::MAX_REFRESH_GRACE_SECS;
    use lanyard_server::config::{Config, ConfigError};
    let mut config = Config::default();
    assert_eq!(config.tokens.refresh_grace_secs, 0, "strict by default");
    for ok in [0, 1, MAX_REFRESH_GRACE_SECS] {
        config.tokens.refresh_grace_secs = ok;
        config.validate().unwrap();
    }
    for bad in [-1, MAX_REFRESH_GRACE_SECS + 1, 86_400] {
        config.tokens.refresh_grace_secs = bad;
        let err = config.validate().unwrap_err();
        assert!(
            matches!(
                err,
                ConfigError::Invalid {
                    key: "tokens.refresh_grace_secs",
                    ..
                }
            ),
            "{bad}: {err}"
        );
    }
}
