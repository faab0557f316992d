//! The time zone preference (issue 12 item 10): times on the account's pages are shown in
//! the zone it chose, UTC until then; unknown names are refused; the form wants a session
//! and the CSRF token.

use lanyard_testkit::recording::hidden_field;
use lanyard_testkit::{Backend, Browser, TestApp};

use crate::ways_on::sign_in_to_account;

const EMAIL: &str = "zone@example.com";

async fn post_zone(app: &TestApp, browser: &Browser, csrf: &str, zone: &str) -> reqwest::Response {
    browser
        .http
        .post(app.url("/account/time-zone"))
        .form(&[("csrf_token", csrf), ("time_zone", zone)])
        .send()
        .await
        .unwrap()
}

async fn account_page(app: &TestApp, browser: &Browser) -> String {
    let (status, _, page) = browser.get(&app.url("/account"), &app.base_url).await;
    assert_eq!(status, 200, "{page}");
    page
}

#[tokio::test]
async fn times_are_utc_until_a_zone_is_chosen_then_shown_in_it() {
    for backend in Backend::available() {
        let app = TestApp::spawn(backend).await;
        app.create_user(EMAIL).await;
        let browser = Browser::new();
        sign_in_to_account(&app, &browser, EMAIL).await;

        let page = account_page(&app, &browser).await;
        assert!(page.contains("<h1>Your account</h1>"), "{page}");
        assert!(page.contains("in <strong>UTC</strong> time"), "{page}");
        assert!(page.contains("<option value=\"UTC\" selected>"), "{page}");
        let (_, _, security) = browser
            .get(&app.url("/account/security"), &app.base_url)
            .await;
        assert!(
            security.contains("Last generated") && security.contains(" UTC."),
            "{security}"
        );

        let csrf = hidden_field(&page, "csrf_token").unwrap();
        let saved = post_zone(&app, &browser, &csrf, "Asia/Tokyo").await;
        assert_eq!(saved.status(), 303, "post/redirect/get");
        assert_eq!(saved.headers()["location"], "/account?done=time-zone");
        let (_, _, page) = browser
            .get(&app.url("/account?done=time-zone"), &app.base_url)
            .await;
        assert!(page.contains("Your time zone is saved."), "{page}");
        assert!(
            page.contains("in <strong>Asia/Tokyo</strong> time"),
            "{page}"
        );
        assert!(
            page.contains("<option value=\"Asia/Tokyo\" selected>"),
            "{page}"
        );
        assert!(
            page.contains(" JST</span>"),
            "the clock in the zone: {page}"
        );
        let (_, _, security) = browser
            .get(&app.url("/account/security"), &app.base_url)
            .await;
        assert!(
            security.contains(" JST."),
            "the security page's times: {security}"
        );
        assert!(!security.contains(" UTC."), "{security}");

        // Any letter case of a known name is stored in its canonical spelling.
        let saved = post_zone(&app, &browser, &csrf, "europe/paris").await;
        assert_eq!(saved.status(), 303);
        let page = account_page(&app, &browser).await;
        assert!(
            page.contains("in <strong>Europe/Paris</strong> time"),
            "{page}"
        );
        // A reloaded post does the same again and nothing else.
        let again = post_zone(&app, &browser, &csrf, "europe/paris").await;
        assert_eq!(again.status(), 303);
        let account = app
            .app
            .state
            .accounts
            .find_by_email(EMAIL)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(account.time_zone.as_deref(), Some("Europe/Paris"));
        app.cleanup().await;
    }
}

#[tokio::test]
async fn unknown_empty_and_oversized_zones_are_refused_and_nothing_changes() {
    for backend in Backend::available() {
        let app = TestApp::spawn(backend).await;
        app.create_user(EMAIL).await;
        let browser = Browser::new();
        sign_in_to_account(&app, &browser, EMAIL).await;
        let page = account_page(&app, &browser).await;
        let csrf = hidden_field(&page, "csrf_token").unwrap();
        assert_eq!(
            post_zone(&app, &browser, &csrf, "Asia/Tokyo")
                .await
                .status(),
            303
        );

        // Longer than any zone name, within what the form parser takes (16 KiB a value).
        let oversized = "Europe/".repeat(1000);
        for bad in [
            "Mars/Olympus_Mons",
            "",
            "   ",
            "../../../../etc/passwd",
            "<script>alert(1)</script>",
            oversized.as_str(),
        ] {
            let refused = post_zone(&app, &browser, &csrf, bad).await;
            assert_eq!(refused.status(), 400, "{bad:?}");
            let body = refused.text().await.unwrap();
            assert!(body.contains("There is a problem"), "{body}");
            assert!(body.contains("Choose a time zone from the list"), "{body}");
            assert!(
                body.contains("href=\"#time_zone\""),
                "the summary links to the field"
            );
            assert!(!body.contains("Mars/Olympus_Mons") && !body.contains("<script>alert"));
            // Nothing is pre-selected after a refusal: the list asks again.
            assert!(body.contains("<option value=\"\" selected>"), "{body}");
        }
        // A control character never reaches the form: the strict parameter parser refuses the
        // request with its own page (kit::params).
        let control = post_zone(&app, &browser, &csrf, "UTC\u{0}").await;
        assert_eq!(control.status(), 400);
        let huge = post_zone(&app, &browser, &csrf, &"Europe/".repeat(4000)).await;
        assert_eq!(huge.status(), 400);
        // A request without the field at all is refused like an unknown name.
        let missing = browser
            .http
            .post(app.url("/account/time-zone"))
            .form(&[("csrf_token", csrf.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(missing.status(), 400);
        let page = account_page(&app, &browser).await;
        assert!(
            page.contains("in <strong>Asia/Tokyo</strong> time"),
            "unchanged: {page}"
        );
        app.cleanup().await;
    }
}

#[tokio::test]
async fn the_zone_form_wants_the_csrf_token_and_a_session() {
    for backend in Backend::available() {
        let app = TestApp::spawn(backend).await;
        app.create_user(EMAIL).await;
        let base = app.base_url.as_str();
        let browser = Browser::new();
        sign_in_to_account(&app, &browser, EMAIL).await;
        for csrf in ["", "wrong"] {
            let refused = post_zone(&app, &browser, csrf, "Asia/Tokyo").await;
            assert_eq!(refused.status(), 403, "{csrf:?}");
        }
        let page = account_page(&app, &browser).await;
        assert!(
            page.contains("in <strong>UTC</strong> time"),
            "unchanged: {page}"
        );

        // Signed out (a browser with a CSRF cookie but no session): sent to sign in, and an
        // API caller gets a 401; nothing is stored.
        let stranger = Browser::new();
        let (_, _, login) = stranger.get(&app.url("/account"), base).await;
        let csrf = hidden_field(&login, "csrf_token").unwrap();
        let response = post_zone(&app, &stranger, &csrf, "Asia/Tokyo").await;
        assert_eq!(response.status(), 303);
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        assert!(location.starts_with("/login?flow="), "{location}");
        let api = stranger
            .http
            .post(app.url("/account/time-zone"))
            .header("accept", "application/json")
            .form(&[("csrf_token", csrf.as_str()), ("time_zone", "Asia/Tokyo")])
            .send()
            .await
            .unwrap();
        assert_eq!(api.status(), 401);
        let account = app
            .app
            .state
            .accounts
            .find_by_email(EMAIL)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(account.time_zone, None);
        app.cleanup().await;
    }
}
