//! S46: session fixation and termination. A session id exists only once both steps of a
//! sign-in are done, is drawn fresh each time (a planted or earlier id is never adopted), and
//! once ended (sign-out, a new sign-in, the account disabled) it is refused at the next
//! request and gone from the store.

use std::sync::Arc;

use lanyard_core::EphemeralKey;
use lanyard_testkit::recording::cookie_value;
use lanyard_testkit::{Browser, TestApp};
use reqwest::cookie::Jar;

use crate::helpers::{authorize_url, confidential, each_backend, http};

const ADA: &str = "ada@example.com";
const SESSION: &str = "lanyard_session";

/// What an API call with only this session id gets: 200 while it lives, 401 after.
async fn api_status(app: &TestApp, session: &str) -> u16 {
    http()
        .get(app.url("/account/pats"))
        .header("accept", "application/json")
        .header("cookie", format!("{SESSION}={session}"))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Whether the store still holds the session this id names.
async fn stored(app: &TestApp, session: &str) -> bool {
    let key = EphemeralKey::Session(&app.app.hasher.hash(session)).to_string();
    app.app.ephemeral.get(&key).await.unwrap().is_some()
}

/// Signs in through the pages with `jar`; returns the session cookie after each step:
/// after the password, and at the end.
async fn sign_in(app: &TestApp, jar: &Arc<Jar>, extra: &str) -> (Option<String>, String) {
    let browser = Browser::with_cookie_jar(jar.clone());
    let base = app.base_url.as_str();
    let (_, _, page) = browser.get(&authorize_url(app, "rp", extra), base).await;
    let (_, _, page) = browser.submit(&page, base, &[("email", ADA)]).await;
    let sent = app.mail.messages_to(ADA).len();
    let (_, _, page) = browser
        .submit(&page, base, &[("password", lanyard_testkit::PASSWORD)])
        .await;
    assert!(page.contains("name=\"code\""), "{page}");
    let after_password = cookie_value(jar, base, SESSION);
    let (_, page) = browser.second_step(page, base, &app.mail, ADA, sent).await;
    if page.contains("name=\"decision\"") {
        browser.submit(&page, base, &[("decision", "allow")]).await;
    }
    let session = cookie_value(jar, base, SESSION).expect("a session after the second step");
    (after_password, session)
}

#[tokio::test]
async fn s46_a_planted_id_is_never_adopted_and_each_sign_in_draws_a_new_one() {
    each_backend(|app| async move {
        app.create_user(ADA).await;
        app.create_client(confidential("rp")).await.unwrap();
        let url = url::Url::parse(&app.base_url).unwrap();
        let jar = Arc::new(Jar::default());
        // An attacker planted a session id of their choosing in the victim's browser.
        let planted = "planted-by-someone-else-aaaaaaaaaaaaaaaaaaaaaaaa";
        jar.add_cookie_str(&format!("{SESSION}={planted}; Path=/"), &url);
        assert_eq!(api_status(&app, planted).await, 401);

        let (after_password, first) = sign_in(&app, &jar, "").await;
        assert_eq!(
            after_password.as_deref(),
            Some(planted),
            "nothing is issued before the second step is done"
        );
        assert_ne!(first, planted);
        assert_eq!(
            api_status(&app, planted).await,
            401,
            "the planted id opens nothing"
        );
        assert!(!stored(&app, planted).await);
        assert_eq!(api_status(&app, &first).await, 200);

        // Signing in again in the same browser (prompt=login) draws another id and ends the
        // first.
        let (_, second) = sign_in(&app, &jar, "&prompt=login").await;
        assert_ne!(second, first);
        assert_eq!(api_status(&app, &first).await, 401, "the old id is refused");
        assert!(!stored(&app, &first).await, "and gone from the store");
        assert_eq!(api_status(&app, &second).await, 200);
        app
    })
    .await;
}

#[tokio::test]
async fn s46_after_logout_the_old_cookie_is_refused_and_the_session_is_gone() {
    each_backend(|app| async move {
        app.create_user(ADA).await;
        app.create_client(confidential("rp")).await.unwrap();
        let jar = Arc::new(Jar::default());
        let (_, session) = sign_in(&app, &jar, "").await;
        assert!(stored(&app, &session).await);
        let browser = Browser::with_cookie_jar(jar.clone());
        let (_, _, page) = browser.get(&app.url("/logout"), &app.base_url).await;
        let (status, _, page) = browser.submit(&page, &app.base_url, &[]).await;
        assert_eq!(status, 200, "{page}");
        assert!(cookie_value(&jar, &app.base_url, SESSION).is_none());
        assert!(
            !stored(&app, &session).await,
            "the server-side session is gone"
        );
        // The old cookie replayed: 401 for an API, the sign-in page for a browser.
        assert_eq!(api_status(&app, &session).await, 401);
        let response = http()
            .get(app.url("/account"))
            .header("cookie", format!("{SESSION}={session}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303);
        let location = response.headers()["location"].to_str().unwrap();
        assert!(location.starts_with("/login?flow="), "{location}");
        app
    })
    .await;
}

#[tokio::test]
async fn s46_disabling_the_account_ends_every_session_at_its_next_request() {
    each_backend(|app| async move {
        app.create_user(ADA).await;
        app.create_client(confidential("rp")).await.unwrap();
        let mut sessions = Vec::new();
        for _ in 0..2 {
            let jar = Arc::new(Jar::default());
            sessions.push(sign_in(&app, &jar, "").await.1);
        }
        for session in &sessions {
            assert_eq!(api_status(&app, session).await, 200);
        }
        app.app
            .state
            .signin
            .disable_account(ADA, &lanyard_core::Origin::cli())
            .await
            .unwrap();
        for session in &sessions {
            assert_eq!(
                api_status(&app, session).await,
                401,
                "the very next request"
            );
            assert!(!stored(&app, session).await);
        }
        app
    })
    .await;
}
