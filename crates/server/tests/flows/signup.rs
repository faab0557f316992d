//! Self sign-up with email verification (A2) over HTTP: the form, the emailed link (its
//! token moved into the page's form), the account `invited` until then and `active` after,
//! the sign-in as usual; an existing address; a second sign-up before verifying; the link's
//! refusals (expired, replayed, replaced, malformed, CSRF, parallel use); sign-up turned off.

use lanyard_core::model::AccountStatus;
use lanyard_testkit::{Backend, Browser, PASSWORD, TestApp};

use super::account_links_support::{
    NEW_PASSWORD, account, audit_kinds, follow, link_in_mail, path_of, post_token, register,
    settle, stored_link, token_of,
};
use super::helpers::{database_snapshot, each_backend, get_reply, post, side_connection};
use super::sites_support::finish_sign_in;

const ROBIN: &str = "Robin@Example.com";

/// A2, F1: sign up → `invited` (the password does not sign in yet, with the same answer as a
/// wrong one) → the link → `active`, verified → sign in with the second step.
#[tokio::test]
async fn a2_sign_up_verify_then_sign_in_as_usual() {
    each_backend(|app| async move {
        let browser = Browser::new();
        let reply = register(&app, &browser, ROBIN, NEW_PASSWORD).await;
        assert_eq!(
            (reply.status, reply.location.as_str()),
            (303, "/register/sent")
        );
        let sent = get_reply(&app, &browser, "/register/sent").await;
        assert!(sent.body.contains("Check your email"), "{}", sent.body);

        let link = link_in_mail(&app, ROBIN, 1).await;
        assert!(
            link.starts_with(&format!("{}/register/verify?token=", app.base_url)),
            "{link}"
        );
        assert_eq!(token_of(&link).len(), 43);
        let created = account(&app, ROBIN).await.unwrap();
        assert_eq!(created.status, AccountStatus::Invited);
        assert!(!created.email_verified);
        assert_eq!(created.name, "Robin Example");
        let stored = stored_link(&app, &link).await;
        assert_ne!(
            stored.token_hash,
            token_of(&link),
            "only a keyed hash is stored"
        );

        // Before verification the right password answers like a wrong one (S43).
        let early = Browser::new();
        let (_, _, page) = early.get(&app.url("/account"), &app.base_url).await;
        let (_, _, page) = early
            .submit(&page, &app.base_url, &[("email", ROBIN)])
            .await;
        let (status, _, page) = early
            .submit(&page, &app.base_url, &[("password", NEW_PASSWORD)])
            .await;
        assert_eq!(status, 400, "the wrong-password answer");
        assert!(page.contains("Enter your password"), "{page}");
        assert!(page.contains("error-summary"), "{page}");

        // The link's page holds the token in its form, not in any address.
        let response = browser.http.get(&link).send().await.unwrap();
        assert_eq!(response.headers()["referrer-policy"], "no-referrer");
        assert_eq!(response.headers()["cache-control"], "no-store");
        let page = response.text().await.unwrap();
        assert!(!page.contains("?token="), "{page}");
        let done = follow(&app, &browser, &link, &[]).await;
        assert_eq!(
            (done.status, done.location.as_str()),
            (303, "/register/verified")
        );
        let active = account(&app, ROBIN).await.unwrap();
        assert_eq!(active.status, AccountStatus::Active);
        assert!(active.email_verified);
        assert!(
            audit_kinds(&app)
                .await
                .contains(&"account.email_verified".to_owned())
        );

        let signer = Browser::new();
        let (_, _, page) = signer.get(&app.url("/account"), &app.base_url).await;
        let page = sign_in_with(&app, &signer, page, ROBIN, NEW_PASSWORD).await;
        assert!(page.contains("Your account"), "{page}");
        app
    })
    .await;
}

async fn sign_in_with(
    app: &TestApp,
    browser: &Browser,
    page: String,
    email: &str,
    password: &str,
) -> String {
    let base = &app.base_url;
    let (_, _, page) = browser.submit(&page, base, &[("email", email)]).await;
    let sent = app.mail.messages_to(email).len();
    let (_, _, page) = browser.submit(&page, base, &[("password", password)]).await;
    let (_, page) = browser
        .second_step(page, base, &app.mail, email, sent)
        .await;
    page
}

/// A2, S43: a sign-up for an address that has an account gets the same answer, changes
/// nothing, and the owner gets a notice instead of a link.
#[tokio::test]
async fn a2_sign_up_for_an_existing_address_changes_nothing_and_tells_the_owner() {
    each_backend(|app| async move {
        let owner = app.create_user("owner@example.com").await;
        settle(&app).await;
        let db = side_connection(&app).await;
        let before = database_snapshot(&db).await;
        let browser = Browser::new();
        let reply = register(&app, &browser, "OWNER@example.com", NEW_PASSWORD).await;
        assert_eq!(
            (reply.status, reply.location.as_str()),
            (303, "/register/sent")
        );
        settle(&app).await;
        let mails = app.mail.wait_for("owner@example.com", 1).await;
        assert!(
            mails[0].subject.contains("someone tried to sign up"),
            "{}",
            mails[0].subject
        );
        assert!(!mails[0].text.contains("token="), "{}", mails[0].text);
        let after = database_snapshot(&db).await;
        assert_eq!(
            before["accounts"], after["accounts"],
            "the account is unchanged"
        );
        assert_eq!(
            before["account_links"], after["account_links"],
            "no link made"
        );
        assert_eq!(account(&app, "owner@example.com").await.unwrap(), owner);

        // The owner's password still signs in; the one typed at sign-up does not.
        let signer = Browser::new();
        let (_, _, page) = signer.get(&app.url("/account"), &app.base_url).await;
        let (_, page) = finish_sign_in(&app, &signer, page, "owner@example.com").await;
        assert!(page.contains("Your account"), "{page}");
        app
    })
    .await;
}

/// A2: signing up again before verifying sends a fresh link and kills the first; the
/// account gets what the registration behind the followed link typed.
#[tokio::test]
async fn a2_a_second_sign_up_before_verifying_replaces_the_link() {
    each_backend(|app| async move {
        let browser = Browser::new();
        register(&app, &browser, ROBIN, PASSWORD).await;
        let first = link_in_mail(&app, ROBIN, 1).await;
        register(&app, &browser, ROBIN, NEW_PASSWORD).await;
        let second = link_in_mail(&app, ROBIN, 2).await;
        assert_ne!(first, second);

        let refused = post_token(&app, &browser, "/register/verify", &token_of(&first), &[]).await;
        assert_eq!(refused.status, 410);
        assert!(
            refused.body.contains("This link was replaced"),
            "{}",
            refused.body
        );
        assert_eq!(
            account(&app, ROBIN).await.unwrap().status,
            AccountStatus::Invited
        );

        let done = follow(&app, &browser, &second, &[]).await;
        assert_eq!(done.status, 303);
        let signer = Browser::new();
        let (_, _, page) = signer.get(&app.url("/account"), &app.base_url).await;
        let page = sign_in_with(&app, &signer, page, ROBIN, NEW_PASSWORD).await;
        assert!(page.contains("Your account"), "{page}");
        app
    })
    .await;
}

/// A2: an expired link (expiry + 1 s), a replayed one, a malformed or oversized token, a
/// post without CSRF and twenty parallel uses: refused, and the account changes once.
#[tokio::test]
async fn a2_verification_links_expire_work_once_and_refuse_bad_input() {
    each_backend(|app| async move {
        let browser = Browser::new();
        register(&app, &browser, ROBIN, NEW_PASSWORD).await;
        let link = link_in_mail(&app, ROBIN, 1).await;
        let token = token_of(&link);

        // Malformed, oversized, unknown, missing: 400, nothing changes.
        let db = side_connection(&app).await;
        let before = database_snapshot(&db).await;
        for bad in [
            String::new(),
            "x".to_owned(),
            "A".repeat(43),
            "A".repeat(5000),
            format!("{token}x"),
            "' OR 1=1--".to_owned(),
        ] {
            let reply = post_token(&app, &browser, "/register/verify", &bad, &[]).await;
            assert_eq!(reply.status, 400, "{bad}: {}", reply.body);
        }
        let missing = get_reply(&app, &browser, "/register/verify").await;
        assert_eq!(missing.status, 400);
        // Without the CSRF token.
        let no_csrf = post(&app, &browser, "/register/verify", &[("token", &token)]).await;
        assert_eq!(no_csrf.status, 403);
        assert_eq!(before, database_snapshot(&db).await, "nothing changed");

        // Twenty at once: one wins.
        let page = get_reply(&app, &browser, &path_of(&app, &link)).await;
        let csrf = super::helpers::field(&page.body, "csrf_token");
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let (url, token) = (app.url("/register/verify"), token.clone());
            let (csrf, http) = (csrf.clone(), browser.http.clone());
            tasks.push(tokio::spawn(async move {
                let form = [("csrf_token", csrf.as_str()), ("token", token.as_str())];
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
        assert!(
            statuses.iter().all(|s| *s == 303 || *s == 410),
            "{statuses:?}"
        );
        let replay = post_token(&app, &browser, "/register/verify", &token, &[]).await;
        assert_eq!(replay.status, 410);
        assert!(replay.body.contains("already used"), "{}", replay.body);

        // Another address's link, one second after it expires.
        register(&app, &browser, "late@example.com", NEW_PASSWORD).await;
        let late = link_in_mail(&app, "late@example.com", 1).await;
        app.clock.advance(24 * 3600 + 1);
        let expired = post_token(&app, &browser, "/register/verify", &token_of(&late), &[]).await;
        assert_eq!(expired.status, 410);
        assert!(expired.body.contains("expired"), "{}", expired.body);
        let late = account(&app, "late@example.com").await.unwrap();
        assert_eq!(late.status, AccountStatus::Invited);
        app
    })
    .await;
}

/// A2: refused fields are shown on the form and nothing is made or sent; oversized input is
/// refused the same way.
#[tokio::test]
async fn a2_malformed_and_oversized_sign_ups_make_nothing() {
    each_backend(|app| async move {
        let browser = Browser::new();
        let db = side_connection(&app).await;
        let before = database_snapshot(&db).await;
        let long_name = "n".repeat(300);
        let long_email = format!("{}@example.com", "a".repeat(300));
        let long_password = "p".repeat(2000);
        for (email, name, password, field) in [
            ("not an email", "Robin", NEW_PASSWORD, "email"),
            (long_email.as_str(), "Robin", NEW_PASSWORD, "email"),
            ("robin@example.com", "", NEW_PASSWORD, "name"),
            (
                "robin@example.com",
                long_name.as_str(),
                NEW_PASSWORD,
                "name",
            ),
            ("robin@example.com", "Robin", "short", "password"),
            ("robin@example.com", "Robin", "password123", "password"),
            (
                "robin@example.com",
                "Robin",
                long_password.as_str(),
                "password",
            ),
        ] {
            let reply = super::account_links_support::submit(
                &app,
                &browser,
                "/register",
                &[("email", email), ("name", name), ("password", password)],
            )
            .await;
            assert_eq!(reply.status, 400, "{email} {name}: {}", reply.body);
            assert!(
                reply.body.contains(&format!("href=\"#{field}\"")),
                "{}",
                reply.body
            );
            assert!(!reply.body.contains(password) || password.is_empty());
        }
        settle(&app).await;
        assert_eq!(before, database_snapshot(&db).await);
        assert!(app.mail.messages().is_empty());
        app
    })
    .await;
}

/// `[signup] enabled = false`: the page says "by invitation only", a post creates nothing
/// and sends nothing, and the sign-in page offers no sign-up.
#[tokio::test]
async fn a2_sign_up_turned_off_creates_nothing() {
    for backend in Backend::available() {
        let app = TestApp::spawn_with(backend, |c| c.signup.enabled = false).await;
        let browser = Browser::new();
        let page = get_reply(&app, &browser, "/register").await;
        assert!(
            page.body.contains("Sign-up is by invitation only"),
            "{}",
            page.body
        );
        assert!(!page.body.contains("name=\"password\""));
        let csrf = get_reply(&app, &browser, "/password/forgot").await;
        let csrf = super::helpers::field(&csrf.body, "csrf_token");
        let refused = post(
            &app,
            &browser,
            "/register",
            &[
                ("csrf_token", csrf.as_str()),
                ("email", ROBIN),
                ("name", "Robin"),
                ("password", NEW_PASSWORD),
            ],
        )
        .await;
        assert_eq!(refused.status, 403);
        settle(&app).await;
        assert!(account(&app, ROBIN).await.is_none());
        assert!(app.mail.messages().is_empty());
        let (_, _, login) = browser.get(&app.url("/account"), &app.base_url).await;
        assert!(!login.contains("Create an account"), "{login}");
        app.cleanup().await;
    }
    let app = TestApp::spawn(Backend::Embedded).await;
    let (_, _, login) = Browser::new()
        .get(&app.url("/account"), &app.base_url)
        .await;
    assert!(login.contains("href=\"/register\""), "{login}");
    app.cleanup().await;
}
