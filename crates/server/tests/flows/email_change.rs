//! Changing the account's email (F3, B8, A2) over HTTP: behind step-up (S37), a link to the
//! new address, the change only when it is followed and the address is still free, a notice
//! to the old address; the link's refusals, another account's link included.

use lanyard_testkit::{Browser, TestApp};

use super::account_links_support::{
    account, audit_kinds, follow, link_in_mail, post_token, settle, token_of,
};
use super::helpers::{database_snapshot, each_backend, get_reply, side_connection};
use super::sites_support::{finish_sign_in, sign_in_to_account};

const OLD: &str = "kim@example.com";
const NEW: &str = "Kim.New@Example.org";

async fn ask_change(app: &TestApp, browser: &Browser, to: &str) -> super::helpers::Reply {
    let page = get_reply(app, browser, "/account").await;
    let csrf = super::helpers::field(&page.body, "csrf_token");
    super::helpers::post(
        app,
        browser,
        "/account/email",
        &[("csrf_token", csrf.as_str()), ("new_email", to)],
    )
    .await
}

/// F3: ask, follow, changed; the old address is told; the new one signs in.
#[tokio::test]
async fn f3_an_email_change_takes_effect_when_the_new_address_confirms() {
    each_backend(|app| async move {
        let id = app.create_user(OLD).await.id;
        let browser = Browser::new();
        sign_in_to_account(&app, &browser, OLD).await;
        let reply = ask_change(&app, &browser, NEW).await;
        assert_eq!(
            (reply.status, reply.location.as_str()),
            (303, "/account?done=email-sent")
        );
        let link = link_in_mail(&app, NEW, 1).await;
        assert!(
            link.starts_with(&format!("{}/account/email/confirm?token=", app.base_url)),
            "{link}"
        );
        assert_eq!(account(&app, OLD).await.unwrap().id, id, "not changed yet");

        let done = follow(&app, &browser, &link, &[]).await;
        assert_eq!(
            (done.status, done.location.as_str()),
            (303, "/account/email/confirmed")
        );
        assert!(account(&app, OLD).await.is_none());
        let changed = account(&app, NEW).await.unwrap();
        assert_eq!((changed.id, changed.email.as_str()), (id, NEW));
        assert!(changed.email_verified);
        settle(&app).await;
        let notices = app.mail.messages_to(OLD);
        assert!(
            notices
                .last()
                .unwrap()
                .subject
                .contains("your email address was changed")
        );
        let kinds = audit_kinds(&app).await;
        assert!(kinds.contains(&"account.email_change_requested".to_owned()));
        assert!(kinds.contains(&"account.email_changed".to_owned()));

        let fresh = Browser::new();
        let (_, _, page) = fresh.get(&app.url("/account"), &app.base_url).await;
        let (_, page) = finish_sign_in(&app, &fresh, page, &NEW.to_lowercase()).await;
        assert!(page.contains("Your account"), "{page}");
        app
    })
    .await;
}

/// S37: a stale session is sent to reconfirm (an API caller gets RFC 9470's challenge) and
/// nothing is sent; CSRF missing, malformed and same-as-current addresses are refused.
#[tokio::test]
async fn s37_an_email_change_needs_a_fresh_session_and_refuses_bad_input() {
    each_backend(|app| async move {
        app.create_user(OLD).await;
        let browser = Browser::new();
        sign_in_to_account(&app, &browser, OLD).await;
        let page = get_reply(&app, &browser, "/account").await;
        let csrf = super::helpers::field(&page.body, "csrf_token");
        for (to, field) in [
            ("not an address", "new_email"),
            (OLD, "new_email"),
            ("KIM@EXAMPLE.COM", "new_email"),
        ] {
            let reply = ask_change(&app, &browser, to).await;
            assert_eq!(reply.status, 400, "{to}");
            assert!(
                reply.body.contains(&format!("href=\"#{field}\"")),
                "{}",
                reply.body
            );
        }
        let long = format!("{}@example.com", "a".repeat(400));
        assert_eq!(ask_change(&app, &browser, &long).await.status, 400);
        let no_csrf =
            super::helpers::post(&app, &browser, "/account/email", &[("new_email", NEW)]).await;
        assert_eq!(no_csrf.status, 403);

        app.clock.advance(2 * 3600);
        let stale = super::helpers::post(
            &app,
            &browser,
            "/account/email",
            &[("csrf_token", csrf.as_str()), ("new_email", NEW)],
        )
        .await;
        assert_eq!(stale.status, 303);
        assert!(
            stale.location.contains("/account/reconfirm"),
            "{}",
            stale.location
        );
        let api = browser
            .http
            .post(app.url("/account/email"))
            .header("accept", "application/json")
            .form(&[("csrf_token", csrf.as_str()), ("new_email", NEW)])
            .send()
            .await
            .unwrap();
        assert_eq!(api.status(), 401);
        let challenge = api.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            challenge.contains("insufficient_user_authentication"),
            "{challenge}"
        );
        settle(&app).await;
        assert!(app.mail.messages_to(NEW).is_empty());
        assert!(account(&app, OLD).await.is_some());
        app
    })
    .await;
}

/// A taken address gets a notice, never a link; an address taken after the link was sent
/// is refused when followed; another account's link, a replay and an expired link change
/// nothing.
#[tokio::test]
async fn f3_email_change_links_refuse_taken_addresses_other_accounts_and_replays() {
    each_backend(|app| async move {
        app.create_user(OLD).await;
        app.create_user("other@example.com").await;
        let browser = Browser::new();
        sign_in_to_account(&app, &browser, OLD).await;

        // Taken at the request: a notice to that address, no link, nothing changes.
        ask_change(&app, &browser, "Other@example.com").await;
        settle(&app).await;
        let notices = app.mail.messages_to("Other@example.com");
        assert_eq!(notices.len(), 1);
        assert!(!notices[0].text.contains("token="), "{}", notices[0].text);

        // Free at the request, taken before the link is followed: 409, nothing changes.
        ask_change(&app, &browser, "race@example.com").await;
        let raced = link_in_mail(&app, "race@example.com", 1).await;
        app.create_user("race@example.com").await;
        let db = side_connection(&app).await;
        let before = database_snapshot(&db).await;
        let taken = follow(&app, &browser, &raced, &[]).await;
        assert_eq!(taken.status, 409, "{}", taken.body);
        assert_eq!(before["accounts"], database_snapshot(&db).await["accounts"]);

        // Another account signed in follows this account's link: refused, audited.
        ask_change(&app, &browser, NEW).await;
        let link = link_in_mail(&app, NEW, 1).await;
        let someone = Browser::new();
        sign_in_to_account(&app, &someone, "other@example.com").await;
        let before = database_snapshot(&db).await;
        let wrong = follow(&app, &someone, &link, &[]).await;
        assert_eq!(wrong.status, 403, "{}", wrong.body);
        assert_eq!(before["accounts"], database_snapshot(&db).await["accounts"]);
        assert!(
            audit_kinds(&app)
                .await
                .contains(&"account.email_change_refused".to_owned())
        );

        // Malformed tokens: 400. The owner uses it once; a replay is gone.
        for bad in ["", "short", &"A".repeat(43)] {
            let reply = post_token(&app, &browser, "/account/email/confirm", bad, &[]).await;
            assert_eq!(reply.status, 400, "{bad}");
        }
        assert_eq!(follow(&app, &browser, &link, &[]).await.status, 303);
        let replay = post_token(
            &app,
            &browser,
            "/account/email/confirm",
            &token_of(&link),
            &[],
        )
        .await;
        assert_eq!(replay.status, 410);

        // Expired one second after its end.
        ask_change(&app, &browser, "later@example.com").await;
        let later = link_in_mail(&app, "later@example.com", 1).await;
        app.clock.advance(24 * 3600 + 1);
        let expired = post_token(
            &app,
            &browser,
            "/account/email/confirm",
            &token_of(&later),
            &[],
        )
        .await;
        assert_eq!(expired.status, 410);
        assert!(account(&app, "later@example.com").await.is_none());
        app
    })
    .await;
}
