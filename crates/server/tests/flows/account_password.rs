//! Changing the password from the security page: a sensitive action behind step-up (S37)
//! that distrusts every device (S36) and ends the account's grants.

use lanyard_testkit::recording::cookie_value;
use lanyard_testkit::{Backend, Browser, PASSWORD, TestApp};

use crate::helpers::{authorize_url, confidential, query_param};

const EMAIL: &str = "pat@example.com";
const NEW_PASSWORD: &str = "a much longer new passphrase";

/// Signs in through the pages with the emailed code, trusting the device when asked.
async fn sign_in(
    app: &TestApp,
    browser: &Browser,
    password: &str,
    trust: &str,
) -> (String, String) {
    let base = app.base_url.as_str();
    let (_, _, page) = browser.get(&authorize_url(app, "rp", ""), base).await;
    let (_, _, page) = browser.submit(&page, base, &[("email", EMAIL)]).await;
    let sent = app.mail.messages_to(EMAIL).len();
    let (_, at, page) = browser.submit(&page, base, &[("password", password)]).await;
    if !page.contains("name=\"code\"") {
        return (at, page);
    }
    let mails = app.mail.wait_for(EMAIL, sent + 1).await;
    let code = lanyard_testkit::code_in(&mails[sent].text);
    let (_, mut at, mut page) = browser.submit(&page, base, &[("code", &code)]).await;
    if page.contains("name=\"saved\"") {
        (_, at, page) = browser.submit(&page, base, &[("saved", "yes")]).await;
    }
    if page.contains("name=\"trust\"") {
        (_, at, page) = browser.submit(&page, base, &[("trust", trust)]).await;
    } else if page.contains("name=\"stay\"") {
        (_, at, page) = browser.submit(&page, base, &[("stay", "no")]).await;
    }
    (at, page)
}

#[tokio::test]
async fn s37_a_password_change_needs_step_up_and_s36_it_distrusts_every_device() {
    for backend in Backend::available() {
        let app = TestApp::spawn(backend).await;
        app.create_client(confidential("rp")).await.unwrap();
        app.create_user(EMAIL).await;
        let base = app.base_url.clone();
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        let browser = Browser::with_cookie_jar(jar.clone());
        let (back, _) = sign_in(&app, &browser, PASSWORD, "yes").await;
        assert!(query_param(&back, "code").is_some(), "{back}");
        assert!(cookie_value(&jar, &base, "lanyard_device").is_some());

        // Two hours later the session is stale: the change is refused and nothing changes.
        app.clock.advance(2 * 3600);
        let (_, at, page) = browser.get(&app.url("/account/password"), &base).await;
        assert!(at.contains("/account/reconfirm"), "{at}");
        assert!(page.contains("Confirm it"), "{page}");
        let csrf = lanyard_testkit::recording::hidden_field(&page, "csrf_token").unwrap();
        let refused = browser
            .http
            .post(app.url("/account/password"))
            .header("accept", "application/json")
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("new_password", NEW_PASSWORD),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 401);
        let challenge = refused.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            challenge.contains("error=\"insufficient_user_authentication\"")
                && challenge.contains("max_age=600"),
            "{challenge}"
        );
        // The old password still works: nothing changed.
        let other = Browser::new();
        let (_, page) = sign_in(&app, &other, NEW_PASSWORD, "no").await;
        assert!(page.contains("not right"), "{page}");

        // Step up (password, then the emailed code), then change it.
        let sent = app.mail.messages_to(EMAIL).len();
        let (_, _, page) = browser
            .submit(
                &page_of(&browser, &app).await,
                &base,
                &[("password", PASSWORD)],
            )
            .await;
        assert!(page.contains("name=\"code\""), "{page}");
        let mails = app.mail.wait_for(EMAIL, sent + 1).await;
        let code = lanyard_testkit::code_in(&mails[sent].text);
        let (_, at, page) = browser.submit(&page, &base, &[("code", &code)]).await;
        assert!(at.ends_with("/account/password"), "{at}");
        let (_, at, page) = browser
            .submit(&page, &base, &[("new_password", "short")])
            .await;
        assert!(page.contains("at least 8 characters"), "{at} {page}");
        let oversized = "x".repeat(5000);
        let (status, _, page) = browser
            .submit(&page, &base, &[("new_password", &oversized)])
            .await;
        assert_eq!(status, 400);
        assert!(page.contains("at most 256 characters"), "{page}");
        let (_, at, _) = browser
            .submit(
                &page,
                &base,
                &[
                    ("new_password", NEW_PASSWORD),
                    ("confirm_password", NEW_PASSWORD),
                ],
            )
            .await;
        assert!(at.contains("done=password"), "{at}");

        // The old password is dead, the new one works, and the trusted device asks for a
        // code again.
        let fresh = Browser::new();
        let (_, page) = sign_in(&app, &fresh, PASSWORD, "no").await;
        assert!(page.contains("not right"), "{page}");
        let sent = app.mail.messages_to(EMAIL).len();
        let (_, _, page) = browser
            .get(&authorize_url(&app, "rp", "&prompt=login"), &base)
            .await;
        let (_, _, page) = browser.submit(&page, &base, &[("email", EMAIL)]).await;
        let (_, _, page) = browser
            .submit(&page, &base, &[("password", NEW_PASSWORD)])
            .await;
        assert!(
            page.contains("name=\"code\""),
            "the device is no longer trusted: {page}"
        );
        app.mail.wait_for(EMAIL, sent + 1).await;
        app.cleanup().await;
    }
}

/// The reconfirm page a stale session is sent to.
async fn page_of(browser: &Browser, app: &TestApp) -> String {
    let (_, at, page) = browser
        .get(&app.url("/account/password"), &app.base_url)
        .await;
    assert!(at.contains("/account/reconfirm"), "{at}");
    page
}

#[tokio::test]
async fn s31_sign_out_everywhere_else_ends_the_other_sessions_only() {
    for backend in Backend::available() {
        let app = TestApp::spawn(backend).await;
        app.create_client(confidential("rp")).await.unwrap();
        app.create_user(EMAIL).await;
        let base = app.base_url.clone();
        let mine = Browser::new();
        let (back, _) = sign_in(&app, &mine, PASSWORD, "no").await;
        assert!(query_param(&back, "code").is_some(), "{back}");
        let other = Browser::new();
        let (back, _) = sign_in(&app, &other, PASSWORD, "no").await;
        assert!(query_param(&back, "code").is_some(), "{back}");
        let (_, at, _) = other.get(&app.url("/account/security"), &base).await;
        assert!(at.ends_with("/account/security"), "signed in: {at}");

        // A forged CSRF token changes nothing.
        let refused = mine
            .http
            .post(app.url("/account/sessions/end-others"))
            .form(&[("csrf_token", "forged")])
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 403);
        let (_, at, _) = other.get(&app.url("/account/security"), &base).await;
        assert!(at.ends_with("/account/security"), "{at}");

        let (_, _, page) = mine.get(&app.url("/account/security"), &base).await;
        let csrf = lanyard_testkit::recording::hidden_field(&page, "csrf_token").unwrap();
        let ended = mine
            .http
            .post(app.url("/account/sessions/end-others"))
            .form(&[("csrf_token", csrf.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(ended.status(), 303);
        let (_, at, page) = mine.get(&app.url("/account/security"), &base).await;
        assert!(at.contains("/account/security"), "this session stays: {at}");
        assert!(page.contains("Security"), "{page}");
        let (_, at, _) = other.get(&app.url("/account/security"), &base).await;
        assert!(at.contains("/login"), "the other session is gone: {at}");
        // A session started after the cut is not affected by it.
        app.clock.advance(1);
        let later = Browser::new();
        sign_in(&app, &later, PASSWORD, "no").await;
        let (_, at, _) = later.get(&app.url("/account/security"), &base).await;
        assert!(at.ends_with("/account/security"), "{at}");
        app.cleanup().await;
    }
}
