//! A site admin's page (design13.md point 5): an admin of the site sees progress, invites,
//! turns the 2FA preference on (a step-up action) and moves the mode; a licensed user, a
//! client user and the admin of another site are refused (403) with nothing written.
//! S41: invitation links name the configured issuer even when the request that sent them
//! named another host.

use lanyard_core::Clock;
use lanyard_core::model::{MigrationState, SiteRole};
use lanyard_testkit::{Browser, TestApp};

use super::helpers::{each_backend, field, get_reply, post};
use super::sites_support::{
    SITE_USERS, email_of, import, new_site, repo, sign_in_to_account, studio, user,
};

/// `login`'s identity account, linked to its user of `site`, signed in in a new browser.
async fn linked_browser(app: &TestApp, site: &lanyard_core::model::Site, login: &str) -> Browser {
    let account = app.create_user(&email_of(login)).await;
    repo(app)
        .link_site_user(user(app, site, login).await.id, account.id, app.clock.now())
        .await
        .unwrap();
    let browser = Browser::new();
    sign_in_to_account(app, &browser, &email_of(login)).await;
    browser
}

fn admin(slug: &str, rest: &str) -> String {
    format!("/sites/{slug}/admin{rest}")
}

async fn csrf_of(app: &TestApp, browser: &Browser) -> String {
    let (_, _, page) = browser.get(&app.url("/account"), &app.base_url).await;
    field(&page, "csrf_token")
}

#[tokio::test]
async fn a_site_admin_sees_progress_invites_and_changes_the_site() {
    each_backend(|app| async move {
        let (site, _) = studio(&app, &SITE_USERS, MigrationState::Dual).await;
        let alice = linked_browser(&app, &site, "alice").await;
        let page = get_reply(&app, &alice, &admin("studio", "")).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert_eq!(page.cache_control, "no-store");
        assert!(page.body.contains("Studio: site administration"));
        assert!(
            page.body
                .contains("4 users: 1 linked, 0 invited, 3 not invited yet")
        );

        // S41: a Host or X-Forwarded-Host naming another server changes no link.
        let csrf = field(&page.body, "csrf_token");
        let response = alice
            .http
            .post(app.url(&admin("studio", "/invite")))
            .header("host", "evil.example")
            .header("x-forwarded-host", "evil.example")
            .form(&[("csrf_token", csrf.as_str()), ("which", "not_invited")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 303);
        for login in ["bob", "carol", "dave"] {
            let mails = app.mail.wait_for(&email_of(login), 1).await;
            assert!(
                mails[0]
                    .text
                    .contains(&format!("{}/migrate/claim?token=", app.base_url)),
                "{}",
                mails[0].text
            );
            assert!(!mails[0].text.contains("evil.example"));
        }
        let page = get_reply(&app, &alice, &admin("studio", "")).await;
        assert!(page.body.contains("3 invitations sent."), "{}", page.body);
        assert!(page.body.contains("1 linked, 3 invited, 0 not invited yet"));

        let csrf = field(&page.body, "csrf_token");
        // Identity mode needs the box ticked.
        let refused = post(
            &app,
            &alice,
            &admin("studio", "/mode"),
            &[("csrf_token", &csrf), ("to", "identity")],
        )
        .await;
        assert_eq!(refused.status, 400);
        assert_eq!(
            repo(&app).get_site(site.id).await.unwrap().unwrap().state,
            MigrationState::Dual
        );
        let moved = post(
            &app,
            &alice,
            &admin("studio", "/mode"),
            &[
                ("csrf_token", &csrf),
                ("to", "identity"),
                ("confirm", "yes"),
            ],
        )
        .await;
        assert_eq!(moved.status, 303, "{}", moved.body);
        let now_site = repo(&app).get_site(site.id).await.unwrap().unwrap();
        assert_eq!(now_site.state, MigrationState::Identity);
        let page = get_reply(&app, &alice, &admin("studio", "")).await;
        assert!(
            page.body.contains("The site is now in identity mode."),
            "{}",
            page.body
        );

        // The 2FA preference (fresh: Alice signed in minutes ago).
        let csrf = field(&page.body, "csrf_token");
        let done = post(
            &app,
            &alice,
            &admin("studio", "/two-factor"),
            &[("csrf_token", &csrf), ("required", "on")],
        )
        .await;
        assert_eq!(done.status, 303, "{}", done.body);
        let now_site = repo(&app).get_site(site.id).await.unwrap().unwrap();
        assert!(now_site.two_factor_required_since.is_some());
        // C3: Alice (an admin without an authenticator app) must now set one up first.
        let after = get_reply(&app, &alice, &admin("studio", "")).await;
        assert_eq!(after.status, 303, "{}", after.body);
        app
    })
    .await;
}

/// The 2FA preference is a step-up action: a session older than the window goes to
/// reconfirm first and nothing changes.
#[tokio::test]
async fn c3_changing_the_two_factor_preference_needs_a_fresh_sign_in() {
    each_backend(|app| async move {
        let (site, _) = studio(&app, &SITE_USERS, MigrationState::Dual).await;
        let alice = linked_browser(&app, &site, "alice").await;
        let csrf = csrf_of(&app, &alice).await;
        app.clock.advance(11 * 60);
        let stale = post(
            &app,
            &alice,
            &admin("studio", "/two-factor"),
            &[("csrf_token", &csrf), ("required", "on")],
        )
        .await;
        assert_eq!(stale.status, 303);
        assert!(
            stale.location.contains("/account/reconfirm"),
            "{}",
            stale.location
        );
        let now_site = repo(&app).get_site(site.id).await.unwrap().unwrap();
        assert!(now_site.two_factor_required_since.is_none());
        app
    })
    .await;
}

/// A licensed user, a client user and the admin of another site: 403 on the page and on every
/// action, nothing written.
#[tokio::test]
async fn non_admins_and_other_sites_admins_are_refused_and_nothing_is_written() {
    each_backend(|app| async move {
        let (site, _) = studio(&app, &SITE_USERS, MigrationState::Dual).await;
        let other = new_site(&app, "other", "Other", &[]).await;
        import(
            &app,
            &other,
            &[("alice", SiteRole::LicensedUser), ("erin", SiteRole::Admin)],
        )
        .await;
        super::sites_support::move_site(&app, &other, MigrationState::Dual).await;
        let alice = linked_browser(&app, &site, "alice").await;
        // Alice is also a licensed user of `other`, linked with the same account.
        let alice_account = app
            .app
            .state
            .accounts
            .find_by_email(&email_of("alice"))
            .await
            .unwrap()
            .unwrap();
        repo(&app)
            .link_site_user(
                repo(&app)
                    .site_user_by_login(other.id, "alice")
                    .await
                    .unwrap()
                    .unwrap()
                    .id,
                alice_account.id,
                app.clock.now(),
            )
            .await
            .unwrap();
        let bob = linked_browser(&app, &site, "bob").await;
        let carol = linked_browser(&app, &site, "carol").await;
        let stranger = Browser::new();
        app.create_user("stranger@example.com").await;
        sign_in_to_account(&app, &stranger, "stranger@example.com").await;
        let cases: [(&Browser, &str); 4] = [
            (&bob, "studio"),
            (&carol, "studio"),
            (&alice, "other"),
            (&stranger, "studio"),
        ];
        for (browser, slug) in cases {
            let page = get_reply(&app, browser, &admin(slug, "")).await;
            assert_eq!(page.status, 403, "{slug}: {}", page.body);
            let csrf = csrf_of(&app, browser).await;
            for (action, fields) in [
                ("/two-factor", vec![("required", "on")]),
                ("/mode", vec![("to", "identity"), ("confirm", "yes")]),
                ("/invite", vec![("which", "all")]),
            ] {
                let mut form = vec![("csrf_token", csrf.as_str())];
                form.extend(fields);
                let refused = post(&app, browser, &admin(slug, action), &form).await;
                assert_eq!(refused.status, 403, "{slug}{action}: {}", refused.body);
            }
        }
        for s in [&site, &other] {
            let now = repo(&app).get_site(s.id).await.unwrap().unwrap();
            assert_eq!(now.state, MigrationState::Dual);
            assert!(now.two_factor_required_since.is_none());
        }
        assert!(
            app.mail
                .messages()
                .iter()
                .all(|m| !m.text.contains("/migrate/claim"))
        );
        app
    })
    .await;
}

/// Bad input: an unknown site, a missing CSRF token, an unknown mode or choice.
#[tokio::test]
async fn malformed_admin_requests_change_nothing() {
    each_backend(|app| async move {
        let (site, _) = studio(&app, &SITE_USERS, MigrationState::Dual).await;
        let alice = linked_browser(&app, &site, "alice").await;
        assert_eq!(
            get_reply(&app, &alice, "/sites/nowhere/admin").await.status,
            404
        );
        let no_csrf = post(
            &app,
            &alice,
            &admin("studio", "/two-factor"),
            &[("required", "on")],
        )
        .await;
        assert_eq!(no_csrf.status, 403);
        let csrf = csrf_of(&app, &alice).await;
        for (action, fields) in [
            ("/two-factor", vec![("required", "maybe")]),
            ("/mode", vec![("to", "sideways")]),
            ("/mode", vec![]),
            ("/invite", vec![("which", "everyone-ever")]),
        ] {
            let mut form = vec![("csrf_token", csrf.as_str())];
            form.extend(fields);
            let refused = post(&app, &alice, &admin("studio", action), &form).await;
            assert!(
                [400, 403].contains(&refused.status),
                "{action}: {}",
                refused.status
            );
        }
        let now = repo(&app).get_site(site.id).await.unwrap().unwrap();
        assert_eq!(now.state, MigrationState::Dual);
        assert!(now.two_factor_required_since.is_none());
        assert!(
            app.mail
                .messages()
                .iter()
                .all(|m| !m.text.contains("/migrate/claim"))
        );
        app
    })
    .await;
}
