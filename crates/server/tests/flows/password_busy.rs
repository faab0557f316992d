//! Sign-ins beyond what the node can hash (issue 17): a password that gets no hashing thread
//! within `passwords.max_hash_wait_ms` is answered "We're busy right now" (503) and nothing is
//! used up: the account's attempt counted in advance is taken back, and the same form sent
//! again once a thread is free signs in. On the identity and the legacy site login alike
//! (the legacy hashes run on the same threads).

use lanyard_core::model::{MigrationState, SiteRole};
use lanyard_core::ports::MfaRepo;
use lanyard_testkit::{Backend, Browser, PASSWORD, TestApp};

use crate::helpers::{authorize_url, confidential, hold_hashing};
use crate::sites_support::{CLIENT, studio, user};

const EMAIL: &str = "busy@example.com";

async fn busy_app(backend: Backend) -> TestApp {
    TestApp::spawn_with(backend, |config| {
        config.passwords.max_hash_wait_ms = 200;
    })
    .await
}

fn is_busy_page(status: u16, page: &str) -> bool {
    status == 503 && page.contains("busy right now")
}

#[tokio::test]
async fn a_password_that_can_not_be_hashed_in_time_is_answered_busy_and_uses_nothing_up() {
    for backend in Backend::available() {
        let app = busy_app(backend).await;
        let account = app.create_user(EMAIL).await;
        app.create_client(confidential("app")).await;
        let base = &app.base_url;
        let browser = Browser::new();
        let (_, _, page) = browser.get(&authorize_url(&app, "app", ""), base).await;
        let (_, _, password_page) = browser.submit(&page, base, &[("email", EMAIL)]).await;
        assert!(
            password_page.contains("name=\"password\""),
            "{password_page}"
        );

        let (gate, holder) = hold_hashing(&app).await;
        // More tries than the five that start the account's back-off (S53): none counts.
        for _ in 0..6 {
            let (status, at, page) = browser
                .submit(&password_page, base, &[("password", PASSWORD)])
                .await;
            assert!(
                is_busy_page(status, &page),
                "{backend:?}: {status} {at}: {page}"
            );
            assert!(page.contains("try again in"), "{page}");
            let state = app.app.stores.sql.mfa_state(account.id).await.unwrap();
            assert_eq!(state.failures, 0, "{backend:?}: a busy answer counted");
        }
        gate.open();
        holder.await.unwrap();
        let (status, at, page) = browser
            .submit(&password_page, base, &[("password", PASSWORD)])
            .await;
        assert_eq!(status, 200, "{at}: {page}");
        assert!(at.contains("/login/code"), "{backend:?}: {at}");
        app.cleanup().await;
    }
}

#[tokio::test]
async fn a_legacy_site_login_waits_on_the_same_threads_and_is_answered_busy() {
    for backend in Backend::available() {
        let app = busy_app(backend).await;
        let (site, _) = studio(
            &app,
            &[("ann", SiteRole::LicensedUser)],
            MigrationState::Legacy,
        )
        .await;
        let ann = user(&app, &site, "ann").await;
        let base = &app.base_url;
        let browser = Browser::new();
        let (_, at, page) = browser.get(&authorize_url(&app, CLIENT, ""), base).await;
        assert!(at.contains("/sites/studio/login"), "{at}");

        let (gate, holder) = hold_hashing(&app).await;
        let (status, at, busy) = browser
            .submit(
                &page,
                base,
                &[("login", "ann"), ("password", "whatever it is")],
            )
            .await;
        assert!(
            is_busy_page(status, &busy),
            "{backend:?}: {status} {at}: {busy}"
        );
        let state = app.app.stores.sql.mfa_state(ann.principal).await.unwrap();
        assert_eq!(state.failures, 0, "{backend:?}: a busy answer counted");
        gate.open();
        holder.await.unwrap();
        // Checked now: a wrong password is counted as one.
        let (status, _, page) = browser
            .submit(
                &page,
                base,
                &[("login", "ann"), ("password", "whatever it is")],
            )
            .await;
        assert_eq!(status, 400, "{page}");
        let state = app.app.stores.sql.mfa_state(ann.principal).await.unwrap();
        assert_eq!(state.failures, 1);
        app.cleanup().await;
    }
}
