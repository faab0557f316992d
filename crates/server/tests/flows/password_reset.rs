//! Password reset by an emailed link (A2) over HTTP: always "if an account exists…", a
//! link only for an account that may reset, the token moved into the form, and after the
//! reset every session ended, every trusted device distrusted, every grant revoked, the
//! lockout cleared, audited and told; the link's refusals.

use lanyard_core::Clock;
use lanyard_core::ports::MfaRepo;
use lanyard_testkit::recording::cookie_value;
use lanyard_testkit::{Browser, PASSWORD, TestApp};

use super::account_links_support::{
    NEW_PASSWORD, account, audit_kinds, follow, forgot, link_in_mail, path_of, post_token, settle,
    token_of,
};
use super::helpers::{
    authorize_url, confidential, database_snapshot, each_backend, field, get_reply, query_param,
    refresh, side_connection,
};

const EMAIL: &str = "sam@example.com";

/// Signs in through the pages, trusting the device; returns the redirect to the client.
async fn sign_in_trusting(app: &TestApp, browser: &Browser, password: &str) -> String {
    let base = app.base_url.as_str();
    let (_, _, page) = browser.get(&authorize_url(app, "rp", ""), base).await;
    let (_, _, page) = browser.submit(&page, base, &[("email", EMAIL)]).await;
    let sent = app.mail.messages_to(EMAIL).len();
    let (_, at, page) = browser.submit(&page, base, &[("password", password)]).await;
    if !page.contains("name=\"code\"") {
        return at;
    }
    let mails = app.mail.wait_for(EMAIL, sent + 1).await;
    let code = lanyard_testkit::code_in(&mails[sent].text);
    let (_, mut at, mut page) = browser.submit(&page, base, &[("code", &code)]).await;
    if page.contains("name=\"saved\"") {
        (_, at, page) = browser.submit(&page, base, &[("saved", "yes")]).await;
    }
    if page.contains("name=\"trust\"") {
        (_, at, page) = browser.submit(&page, base, &[("trust", "yes")]).await;
    }
    if page.contains("name=\"decision\"") {
        (_, at, _) = browser.submit(&page, base, &[("decision", "allow")]).await;
    }
    at
}

/// A2: the whole reset, and what it ends.
#[tokio::test]
async fn a2_a_reset_sets_the_password_and_ends_sessions_devices_and_grants() {
    each_backend(|app| async move {
        let secret = app.create_client(confidential("rp")).await.unwrap();
        let account_id = app.create_user(EMAIL).await.id;
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        let signed_in = Browser::with_cookie_jar(jar.clone());
        let back = sign_in_trusting(&app, &signed_in, PASSWORD).await;
        let code = query_param(&back, "code").expect("signed in");
        assert!(cookie_value(&jar, &app.base_url, "lanyard_device").is_some());
        let (_, tokens) = super::helpers::json(
            super::helpers::redeem(&app, "rp", &secret, &code, super::helpers::VERIFIER).await,
        )
        .await;
        let refresh_token = tokens["refresh_token"].as_str().map(str::to_owned);
        // A wrong password on the way counts toward the lock; the reset clears it.
        let stranger = Browser::new();
        let (_, _, page) = stranger.get(&app.url("/account"), &app.base_url).await;
        let (_, _, page) = stranger
            .submit(&page, &app.base_url, &[("email", EMAIL)])
            .await;
        stranger
            .submit(
                &page,
                &app.base_url,
                &[("password", "not the password at all")],
            )
            .await;
        assert!(
            app.app
                .stores
                .sql
                .mfa_state(account_id)
                .await
                .unwrap()
                .failures
                > 0
        );

        let browser = Browser::new();
        let reply = forgot(&app, &browser, EMAIL).await;
        assert_eq!(
            (reply.status, reply.location.as_str()),
            (303, "/password/forgot/sent")
        );
        let sent = get_reply(&app, &browser, "/password/forgot/sent").await;
        assert!(
            sent.body.contains("If an account exists for that address"),
            "{}",
            sent.body
        );
        let link = link_in_mail(&app, EMAIL, 2).await;
        assert!(
            link.starts_with(&format!("{}/password/reset?token=", app.base_url)),
            "{link}"
        );
        let response = browser.http.get(&link).send().await.unwrap();
        assert_eq!(response.headers()["referrer-policy"], "no-referrer");
        assert_eq!(response.headers()["cache-control"], "no-store");
        let page = response.text().await.unwrap();
        assert_eq!(field(&page, "token"), token_of(&link));
        assert!(!page.contains("?token="));

        let done = follow(&app, &browser, &link, &[("password", NEW_PASSWORD)]).await;
        assert_eq!(
            (done.status, done.location.as_str()),
            (303, "/password/reset/done")
        );

        // The old session is gone, the device distrusted, the grant revoked, the lock clear.
        let (_, at, _) = signed_in.get(&app.url("/account"), &app.base_url).await;
        assert!(at.contains("/login"), "{at}");
        let devices = app
            .app
            .stores
            .sql
            .list_trusted_devices(account_id, app.clock.now())
            .await
            .unwrap();
        assert!(
            devices.iter().all(|d| d.revoked_at.is_some()),
            "{devices:?}"
        );
        if let Some(refresh_token) = refresh_token {
            let (status, body) = refresh(&app, "rp", &secret, &refresh_token, None).await;
            assert_eq!(status, 400, "{body}");
        }
        assert_eq!(
            app.app
                .stores
                .sql
                .mfa_state(account_id)
                .await
                .unwrap()
                .failures,
            0
        );
        let kinds = audit_kinds(&app).await;
        assert_eq!(
            kinds.iter().filter(|k| *k == "password.reset").count(),
            1,
            "{kinds:?}"
        );
        settle(&app).await;
        let mails = app.mail.messages_to(EMAIL);
        assert!(
            mails
                .last()
                .unwrap()
                .subject
                .contains("your password was reset")
        );

        // The new password signs in (a second later: the reset's "sessions ended" cut is
        // at one-second resolution, and the test clock stands still).
        app.clock.advance(1);
        let again = Browser::new();
        let back = sign_in_trusting(&app, &again, NEW_PASSWORD).await;
        assert!(query_param(&back, "code").is_some(), "{back}");
        app
    })
    .await;
}

/// A2, S43: unknown, invited, disabled and malformed-but-valid addresses get the same
/// answer; only an active account gets a mail.
#[tokio::test]
async fn a2_forgot_answers_alike_and_mails_only_accounts_that_may_reset() {
    each_backend(|app| async move {
        app.create_user(EMAIL).await;
        app.create_user("off@example.com").await;
        app.app
            .state
            .signin
            .disable_account("off@example.com", &lanyard_core::Origin::cli())
            .await
            .unwrap();
        let browser = Browser::new();
        super::account_links_support::register(&app, &browser, "new@example.com", NEW_PASSWORD)
            .await;
        settle(&app).await;
        let before = app.mail.messages().len();
        for email in [
            "nobody@example.com",
            "off@example.com",
            "new@example.com",
            EMAIL,
        ] {
            let reply = forgot(&app, &browser, email).await;
            assert_eq!(
                (reply.status, reply.location.as_str()),
                (303, "/password/forgot/sent")
            );
        }
        settle(&app).await;
        let mails = app.mail.messages();
        assert_eq!(mails.len(), before + 1, "one mail, to the active account");
        assert!(mails.last().unwrap().is_for(EMAIL));
        let bad = super::account_links_support::submit(
            &app,
            &browser,
            "/password/forgot",
            &[("email", "no at sign")],
        )
        .await;
        assert_eq!(bad.status, 400);
        assert!(bad.body.contains("href=\"#email\""), "{}", bad.body);
        app
    })
    .await;
}

/// A2: a second link kills the first; expiry + 1 s; replay; a refused password does not
/// spend the link; malformed tokens and a missing CSRF token change nothing; of parallel
/// uses one wins.
#[tokio::test]
async fn a2_reset_links_are_single_use_expiring_and_refuse_bad_input() {
    each_backend(|app| async move {
        app.create_user(EMAIL).await;
        let browser = Browser::new();
        forgot(&app, &browser, EMAIL).await;
        let first = link_in_mail(&app, EMAIL, 1).await;
        forgot(&app, &browser, EMAIL).await;
        let second = link_in_mail(&app, EMAIL, 2).await;
        let replaced = post_token(
            &app,
            &browser,
            "/password/reset",
            &token_of(&first),
            &[("password", NEW_PASSWORD)],
        )
        .await;
        assert_eq!(replaced.status, 410);
        assert!(replaced.body.contains("replaced"), "{}", replaced.body);

        let db = side_connection(&app).await;
        let before = database_snapshot(&db).await;
        let token = token_of(&second);
        for bad in [
            String::new(),
            "A".repeat(43),
            "A".repeat(4000),
            format!("{token}="),
        ] {
            let reply = post_token(
                &app,
                &browser,
                "/password/reset",
                &bad,
                &[("password", NEW_PASSWORD)],
            )
            .await;
            assert_eq!(reply.status, 400, "{bad}");
        }
        let no_csrf = super::helpers::post(
            &app,
            &browser,
            "/password/reset",
            &[("token", &token), ("password", NEW_PASSWORD)],
        )
        .await;
        assert_eq!(no_csrf.status, 403);
        let weak = post_token(
            &app,
            &browser,
            "/password/reset",
            &token,
            &[("password", "password1")],
        )
        .await;
        assert_eq!(weak.status, 400);
        assert!(weak.body.contains("href=\"#password\""), "{}", weak.body);
        assert_eq!(
            field(&weak.body, "token"),
            token,
            "the same link, still usable"
        );
        let long = "x".repeat(5000);
        let long = post_token(
            &app,
            &browser,
            "/password/reset",
            &token,
            &[("password", &long)],
        )
        .await;
        assert_eq!(long.status, 400);
        assert_eq!(before, database_snapshot(&db).await, "nothing changed");

        let page = get_reply(&app, &browser, &path_of(&app, &second)).await;
        let csrf = field(&page.body, "csrf_token");
        let mut tasks = Vec::new();
        for _ in 0..10 {
            let csrf = csrf.clone();
            let (url, token, http) = (
                app.url("/password/reset"),
                token.clone(),
                browser.http.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let form = [
                    ("csrf_token", csrf.as_str()),
                    ("token", token.as_str()),
                    ("password", NEW_PASSWORD),
                ];
                http.post(url)
                    .form(&form)
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }));
        }
        let mut statuses = Vec::new();
        for task in tasks {
            statuses.push(task.await.unwrap());
        }
        assert_eq!(
            statuses.iter().filter(|s| **s == 303).count(),
            1,
            "{statuses:?}"
        );
        let kinds = audit_kinds(&app).await;
        assert_eq!(kinds.iter().filter(|k| *k == "password.reset").count(), 1);
        let replay = post_token(
            &app,
            &browser,
            "/password/reset",
            &token,
            &[("password", PASSWORD)],
        )
        .await;
        assert_eq!(replay.status, 410);

        settle(&app).await;
        forgot(&app, &browser, EMAIL).await;
        let third = link_in_mail(&app, EMAIL, 4).await;
        app.clock.advance(3600 + 1);
        let expired = post_token(
            &app,
            &browser,
            "/password/reset",
            &token_of(&third),
            &[("password", PASSWORD)],
        )
        .await;
        assert_eq!(expired.status, 410);
        assert!(expired.body.contains("expired"), "{}", expired.body);
        assert!(account(&app, EMAIL).await.is_some());
        app
    })
    .await;
}
