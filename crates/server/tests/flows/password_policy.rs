//! The password policy on the password change page (issue 12 item 3): every refusal is a
//! page with the field's message and changes nothing; a good change sends the notice mail.

use lanyard_core::{Origin, Secret};
use lanyard_testkit::{Backend, Browser, PASSWORD, TestApp};

use crate::helpers::{authorize_url, confidential};

const EMAIL: &str = "grace.hopper@example.com";
const NEW_PASSWORD: &str = "violet tractor humming quietly";
const NOTICE_SUBJECT: &str = "your password was changed";

/// Signs in through the pages with the emailed code; the session is fresh afterwards.
async fn sign_in(app: &TestApp, browser: &Browser) {
    let base = app.base_url.as_str();
    let (_, _, page) = browser.get(&authorize_url(app, "rp", ""), base).await;
    let (_, _, page) = browser.submit(&page, base, &[("email", EMAIL)]).await;
    let sent = app.mail.messages_to(EMAIL).len();
    let (_, _, page) = browser.submit(&page, base, &[("password", PASSWORD)]).await;
    let mails = app.mail.wait_for(EMAIL, sent + 1).await;
    let code = lanyard_testkit::code_in(&mails[sent].text);
    let (_, _, mut page) = browser.submit(&page, base, &[("code", &code)]).await;
    if page.contains("name=\"saved\"") {
        (_, _, page) = browser.submit(&page, base, &[("saved", "yes")]).await;
    }
    if page.contains("name=\"trust\"") {
        browser.submit(&page, base, &[("trust", "no")]).await;
    }
}

/// Whether `password` is the account's password now (straight through the account service,
/// so the sign-in limits do not count these checks).
async fn is_current(app: &TestApp, password: &str) -> bool {
    app.app
        .state
        .accounts
        .authenticate_password(EMAIL, Secret::new(password), &Origin::cli())
        .await
        .is_ok()
}

fn notices(app: &TestApp) -> usize {
    app.mail
        .messages_to(EMAIL)
        .iter()
        .filter(|m| m.subject.contains(NOTICE_SUBJECT))
        .count()
}

/// The page shows `message` as the error of `field`, in the summary and at the field.
fn assert_field_error(page: &str, field: &str, message: &str) {
    assert!(page.contains("There is a problem"), "{page}");
    assert!(
        page.contains(&format!("href=\"#{field}\"")),
        "the summary links to {field}: {page}"
    );
    assert!(
        page.contains(&format!("id=\"{field}-error\"")),
        "the message is at {field}: {page}"
    );
    assert!(page.contains(message), "{message:?} on {page}");
}

#[tokio::test]
async fn item3_the_password_page_refuses_what_the_policy_refuses_and_changes_nothing() {
    for backend in Backend::available() {
        let app = TestApp::spawn(backend).await;
        app.create_client(confidential("rp")).await.unwrap();
        app.app
            .state
            .accounts
            .create_account(EMAIL, "Grace Hopper", Secret::new(PASSWORD), &Origin::cli())
            .await
            .unwrap();
        let base = app.base_url.clone();

        // Not signed in: the page and the post lead to sign-in; nothing changes.
        let stranger = Browser::new();
        let (_, at, _) = stranger.get(&app.url("/account/password"), &base).await;
        assert!(!at.ends_with("/account/password"), "{at}");
        let posted = stranger
            .http
            .post(app.url("/account/password"))
            .form(&[
                ("new_password", NEW_PASSWORD),
                ("confirm_password", NEW_PASSWORD),
            ])
            .send()
            .await
            .unwrap();
        assert!(posted.status().is_client_error(), "{}", posted.status());

        let browser = Browser::new();
        sign_in(&app, &browser).await;
        let (status, at, form) = browser.get(&app.url("/account/password"), &base).await;
        assert_eq!(status, 200, "{at}");
        assert!(form.contains("name=\"confirm_password\""), "{form}");
        assert!(form.contains("Use at least 8 characters"), "{form}");

        let long = "tangerine submarine ".repeat(13);
        let cases: [(&str, &str, &str, &str); 8] = [
            ("", "", "new_password", "Enter a new password."),
            (
                "Xk9#q2",
                "Xk9#q2",
                "new_password",
                "Use at least 8 characters.",
            ),
            (&long, &long, "new_password", "Use at most 256 characters."),
            (
                "password123",
                "password123",
                "new_password",
                "This password is too easy to guess. This is a very common password.",
            ),
            (
                "qwertyuiop",
                "qwertyuiop",
                "new_password",
                "This is a top-100 common password.",
            ),
            (
                "gracehopper1",
                "gracehopper1",
                "new_password",
                "use your name or email address.",
            ),
            (
                PASSWORD,
                PASSWORD,
                "new_password",
                "This is your current password. Choose a new one.",
            ),
            (
                NEW_PASSWORD,
                "violet tractor humming quietly!",
                "confirm_password",
                "The two passwords are not the same.",
            ),
        ];
        for (new, confirm, field, message) in cases {
            let (status, at, page) = browser
                .submit(
                    &form,
                    &base,
                    &[("new_password", new), ("confirm_password", confirm)],
                )
                .await;
            assert_eq!(status, 400, "{new:?}: {at}");
            assert!(page.contains("<h1>Change your password</h1>"), "{page}");
            assert_field_error(&page, field, message);
            if !new.is_empty() {
                assert!(
                    !page.contains(new),
                    "the password is never shown back: {new:?}"
                );
            }
        }
        // The confirmation alone missing is a mismatch too.
        let (status, _, page) = browser
            .submit(&form, &base, &[("new_password", NEW_PASSWORD)])
            .await;
        assert_eq!(status, 400);
        assert_field_error(
            &page,
            "confirm_password",
            "The two passwords are not the same.",
        );

        // Without the CSRF token: refused before anything is read.
        let refused = browser
            .http
            .post(app.url("/account/password"))
            .form(&[
                ("new_password", NEW_PASSWORD),
                ("confirm_password", NEW_PASSWORD),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 403);
        let csrf = lanyard_testkit::recording::hidden_field(&form, "csrf_token").unwrap();
        let forged = browser
            .http
            .post(app.url("/account/password"))
            .form(&[
                ("csrf_token", "forged"),
                ("new_password", NEW_PASSWORD),
                ("confirm_password", NEW_PASSWORD),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(forged.status(), 403);

        assert!(is_current(&app, PASSWORD).await, "nothing changed");
        assert_eq!(notices(&app), 0);

        // Not fresh any more: the change waits for a reconfirmation and nothing changes.
        app.clock.advance(2 * 3600);
        let stale = browser
            .http
            .post(app.url("/account/password"))
            .header("accept", "application/json")
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("new_password", NEW_PASSWORD),
                ("confirm_password", NEW_PASSWORD),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(stale.status(), 401);
        let (_, at, _) = browser
            .submit(
                &form,
                &base,
                &[
                    ("new_password", NEW_PASSWORD),
                    ("confirm_password", NEW_PASSWORD),
                ],
            )
            .await;
        assert!(at.contains("/account/reconfirm"), "{at}");
        assert!(is_current(&app, PASSWORD).await, "nothing changed");
        assert_eq!(notices(&app), 0);

        // Fresh again, a good password changes it and sends the notice.
        let fresh = Browser::new();
        sign_in(&app, &fresh).await;
        let (_, _, form) = fresh.get(&app.url("/account/password"), &base).await;
        let sent = app.mail.messages_to(EMAIL).len();
        let (status, at, page) = fresh
            .submit(
                &form,
                &base,
                &[
                    ("new_password", NEW_PASSWORD),
                    ("confirm_password", NEW_PASSWORD),
                ],
            )
            .await;
        assert_eq!(status, 200);
        assert!(at.contains("done=password"), "{at}");
        assert!(page.contains("We emailed you a notice"), "{page}");
        let mails = app.mail.wait_for(EMAIL, sent + 1).await;
        let notice = mails
            .iter()
            .find(|m| m.subject.contains(NOTICE_SUBJECT))
            .expect("the notice mail");
        assert!(notice.text.contains(EMAIL), "{}", notice.text);
        assert!(notice.text.contains("was changed on"), "{}", notice.text);
        assert!(
            notice.text.contains("If this was not you"),
            "{}",
            notice.text
        );
        assert!(!notice.text.contains(NEW_PASSWORD), "never the password");
        assert!(is_current(&app, NEW_PASSWORD).await);
        assert!(!is_current(&app, PASSWORD).await);

        // The same post again (a reload): the new password is now the current one, so it is
        // refused and no second notice goes out.
        let (status, _, page) = fresh
            .submit(
                &form,
                &base,
                &[
                    ("new_password", NEW_PASSWORD),
                    ("confirm_password", NEW_PASSWORD),
                ],
            )
            .await;
        assert_eq!(status, 400);
        assert_field_error(&page, "new_password", "This is your current password.");
        assert_eq!(notices(&app), 1);
        app.cleanup().await;
    }
}

#[tokio::test]
async fn item3_the_cli_refuses_a_weak_password_with_the_reason_and_exit_status_65() {
    for backend in Backend::available() {
        let app = TestApp::spawn(backend).await;
        for (password, reason) in [
            ("password123", "too easy to guess"),
            ("short", "Use at least 8 characters."),
            ("violet\ttractor humming quietly", "control character"),
        ] {
            let out = crate::helpers::lanyard_cli_with_stdin(
                &app,
                &[
                    "user",
                    "create",
                    "--email",
                    "cli@example.com",
                    "--name",
                    "Cli User",
                    "--password-stdin",
                ],
                password,
            )
            .await;
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(65), "{password:?}: {stderr}");
            assert!(stderr.contains(reason), "{stderr}");
            assert!(stderr.contains("no account was created"), "{stderr}");
            assert!(!stderr.contains(password), "never the password: {stderr}");
            assert!(out.stdout.is_empty());
        }
        assert!(
            app.app
                .state
                .accounts
                .find_by_email("cli@example.com")
                .await
                .unwrap()
                .is_none()
        );
        // A good one, with the line break `echo` adds, is accepted as typed.
        let out = crate::helpers::lanyard_cli_with_stdin(
            &app,
            &[
                "user",
                "create",
                "--email",
                "cli@example.com",
                "--name",
                "Cli User",
                "--password-stdin",
            ],
            &format!("{NEW_PASSWORD}\n"),
        )
        .await;
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let account = app
            .app
            .state
            .accounts
            .authenticate_password("cli@example.com", Secret::new(NEW_PASSWORD), &Origin::cli())
            .await;
        assert!(account.is_ok());
        app.cleanup().await;
    }
}
