//! The account security page as people use it (issue 12 items 5, 6 and 8): every security
//! reduction asks first and says what follows; actions answer 303 with a notice that names
//! what they acted on, read once; a new backup code is shown from a one-time, no-store page
//! that a reload, Back, another session or a reused id can not show again or re-create; the
//! trusted device list marks "This device".

use lanyard_testkit::recording::hidden_field;
use reqwest::header::CACHE_CONTROL;

use crate::helpers::each_backend;
use crate::mfa_devices_stepup::{
    A, CHROME_WINDOWS, FIREFOX_LINUX, SECURITY, Tab, between, devices, location, signed_in_browser,
    trusted_browser,
};

const REGENERATE: &str = "/account/backup-codes/regenerate";
const SAVED: &str = "/account/backup-codes/saved";
const REVOKE_ALL: &str = "/account/devices/revoke-all";

/// A confirmation page: 200, no-store, its consequence, one CSRF form posting to `path`,
/// and Cancel back to the security page.
async fn assert_confirmation(
    app: &lanyard_testkit::TestApp,
    tab: &Tab,
    path: &str,
    says: &str,
) -> String {
    let response = tab.get_raw(app, path).await;
    assert_eq!(response.status(), 200, "{path}");
    assert_eq!(response.headers()[CACHE_CONTROL], "no-store", "{path}");
    let page = response.text().await.unwrap();
    assert!(page.contains(says), "{path}: {page}");
    assert!(
        page.contains(&format!("<form method=\"post\" action=\"{path}\">")),
        "{page}"
    );
    assert_eq!(
        hidden_field(&page, "csrf_token"),
        Some(tab.csrf(app).await),
        "{page}"
    );
    assert!(
        page.contains("href=\"/account/security\">Cancel</a>"),
        "{page}"
    );
    page
}

#[tokio::test]
async fn issue12_security_reductions_ask_first_and_act_only_on_the_post() {
    each_backend(|app| async move {
        let a = app.create_user(A).await;
        let (firefox, _) = trusted_browser(&app, A, FIREFOX_LINUX).await;
        let (chrome, _) = trusted_browser(&app, A, CHROME_WINDOWS).await;
        let rows = devices(&app, a.id).await;
        assert_eq!(rows.len(), 2);
        let backup_before = app.app.state.mfa.backup_code_info(a.id).await.unwrap();

        // The security page links to confirmations instead of acting.
        let (_, _, security) = firefox.get(&app, SECURITY).await;
        assert!(
            security.contains(&format!("href=\"{REGENERATE}\"")),
            "{security}"
        );
        assert!(
            security.contains(&format!("href=\"{REVOKE_ALL}\"")),
            "{security}"
        );

        assert_confirmation(
            &app,
            &firefox,
            REGENERATE,
            "Your current backup code will stop working",
        )
        .await;
        assert_confirmation(&app, &firefox, REVOKE_ALL, "all 2 trusted devices").await;
        let chrome_row = rows.iter().find(|d| d.label.contains("Chrome")).unwrap();
        let firefox_row = rows.iter().find(|d| d.label.contains("Firefox")).unwrap();
        let chrome_path = format!("/account/devices/{}/revoke", chrome_row.id);
        let firefox_path = format!("/account/devices/{}/revoke", firefox_row.id);
        assert_confirmation(&app, &firefox, &chrome_path, "on that browser").await;
        assert_confirmation(
            &app,
            &firefox,
            &firefox_path,
            "This is the browser you are using now",
        )
        .await;
        // Loading confirmations changed nothing.
        assert_eq!(devices(&app, a.id).await.len(), 2);
        assert_eq!(
            app.app
                .state
                .mfa
                .backup_code_info(a.id)
                .await
                .unwrap()
                .map(|b| b.created_at),
            backup_before.map(|b| b.created_at)
        );

        // Another account's device, a malformed id: 404 on the confirmation too.
        let b = app.create_user(crate::mfa_devices_stepup::B).await;
        let (_, _) = trusted_browser(&app, crate::mfa_devices_stepup::B, FIREFOX_LINUX).await;
        let b_device = devices(&app, b.id).await[0].id;
        for path in [
            format!("/account/devices/{b_device}/revoke"),
            "/account/devices/x/revoke".to_owned(),
        ] {
            let response = firefox.get_raw(&app, &path).await;
            assert_eq!(response.status(), 404, "{path}");
        }

        // Wrong CSRF token: 403 and nothing removed; no session: nothing removed.
        for path in [chrome_path.as_str(), REVOKE_ALL, REGENERATE] {
            let response = firefox.post(&app, path, &[("csrf_token", "forged")]).await;
            assert_eq!(response.status(), 403, "{path}");
            let response = Tab::new(FIREFOX_LINUX)
                .post(&app, path, &[("csrf_token", "x")])
                .await;
            assert_eq!(response.status(), 403, "{path}");
        }
        assert_eq!(devices(&app, a.id).await.len(), 2);

        // Removing one: 303 to the security page, whose notice names it once.
        let response = firefox.post_action(&app, &chrome_path).await;
        assert_eq!(
            (response.status().as_u16(), location(&response)),
            (303, SECURITY.to_owned())
        );
        let (_, _, page) = firefox.get(&app, SECURITY).await;
        assert!(
            page.contains(&format!("\u{2018}{}\u{2019} removed", chrome_row.label)),
            "{page}"
        );
        let (_, _, page) = firefox.get(&app, SECURITY).await;
        assert!(
            !page.contains("removed."),
            "the notice is read once: {page}"
        );
        // The replayed POST (a reload of it): 404, nothing else changes.
        let response = firefox.post_action(&app, &chrome_path).await;
        assert_eq!(response.status(), 404);
        assert_eq!(devices(&app, a.id).await.len(), 1);
        // The other browser's notice is its own: it saw nothing.
        let (_, _, page) = chrome.get(&app, SECURITY).await;
        assert!(!page.contains("removed."), "{page}");

        let response = firefox.post_action(&app, REVOKE_ALL).await;
        assert_eq!(location(&response), SECURITY);
        let (_, _, page) = firefox.get(&app, SECURITY).await;
        assert!(page.contains("1 trusted device removed"), "{page}");
        assert!(devices(&app, a.id).await.is_empty());
        // With none left there is nothing to confirm.
        let response = firefox.get_raw(&app, REVOKE_ALL).await;
        assert_eq!(location(&response), SECURITY);
        app
    })
    .await;
}

#[tokio::test]
async fn issue12_the_device_list_marks_this_device() {
    each_backend(|app| async move {
        app.create_user(A).await;
        let (firefox, _) = trusted_browser(&app, A, FIREFOX_LINUX).await;
        let (chrome, _) = trusted_browser(&app, A, CHROME_WINDOWS).await;
        let untrusted = signed_in_browser(&app, A, FIREFOX_LINUX).await;
        for (tab, marked) in [
            (&firefox, "Firefox on Linux"),
            (&chrome, "Chrome on Windows"),
        ] {
            let (_, _, page) = tab.get(&app, SECURITY).await;
            assert_eq!(
                page.matches("<span class=\"tag\">This device</span>")
                    .count(),
                1,
                "{page}"
            );
            assert!(
                page.contains(&format!("{marked} <span class=\"tag\">This device</span>")),
                "{page}"
            );
        }
        let (_, _, page) = untrusted.get(&app, SECURITY).await;
        assert!(!page.contains("This device"), "{page}");
        app
    })
    .await;
}

/// Item 5 and 6 on the security page: the new backup code's one-time page.
#[tokio::test]
async fn issue12_a_new_backup_code_is_shown_once_and_a_missed_tick_keeps_it() {
    each_backend(|app| async move {
        let a = app.create_user(A).await;
        let tab = signed_in_browser(&app, A, FIREFOX_LINUX).await;
        let other = signed_in_browser(&app, A, CHROME_WINDOWS).await;
        let response = tab.post_action(&app, REGENERATE).await;
        assert_eq!(response.status(), 303);
        let shown = location(&response);
        assert!(shown.starts_with("/account/backup-codes/shown/"), "{shown}");
        let id = shown.rsplit('/').next().unwrap().to_owned();
        let issued = app.app.state.mfa.backup_code_info(a.id).await.unwrap();

        // Another session of the same user: nothing, and the page stays for its owner.
        let response = other.get_raw(&app, &shown).await;
        assert_eq!(response.status(), 404);
        let response = tab.get_raw(&app, &shown).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
        let page = response.text().await.unwrap();
        let code = between(&page, "<p class=\"secret-block\"><code>", "</code>").to_owned();
        assert!(page.contains("required"), "the box is required: {page}");

        // Reload: no code, no new code.
        let response = tab.get_raw(&app, &shown).await;
        assert_eq!(response.status(), 200);
        let again = response.text().await.unwrap();
        assert!(again.contains("This backup code was shown once"), "{again}");
        assert!(!again.contains(&code));

        // A missed tick shows the SAME code with the error; nothing is issued.
        let csrf = tab.csrf(&app).await;
        let response = tab
            .post(&app, SAVED, &[("csrf_token", &csrf), ("shown", &id)])
            .await;
        assert_eq!(location(&response), shown);
        let response = tab.get_raw(&app, &shown).await;
        assert_eq!(response.status(), 400);
        let page = response.text().await.unwrap();
        assert!(page.contains(&code), "{page}");
        assert!(page.contains("It is the same code as before"), "{page}");
        // Another session's id in the form, a malformed one, a wrong CSRF token: no effect.
        let response = other
            .post(
                &app,
                SAVED,
                &[
                    ("csrf_token", &other.csrf(&app).await),
                    ("shown", &id),
                    ("saved", "yes"),
                ],
            )
            .await;
        assert_eq!(location(&response), SECURITY);
        let response = tab
            .post(
                &app,
                SAVED,
                &[("csrf_token", &csrf), ("shown", "nope"), ("saved", "yes")],
            )
            .await;
        assert_eq!(response.status(), 400);
        let response = tab
            .post(
                &app,
                SAVED,
                &[("csrf_token", "forged"), ("shown", &id), ("saved", "yes")],
            )
            .await;
        assert_eq!(response.status(), 403);

        // The tick: the security page says so once; the id is used up.
        let response = tab
            .post(
                &app,
                SAVED,
                &[("csrf_token", &csrf), ("shown", &id), ("saved", "yes")],
            )
            .await;
        assert_eq!(location(&response), SECURITY);
        let (_, _, page) = tab.get(&app, SECURITY).await;
        assert!(page.contains("Your new backup code is saved"), "{page}");
        let response = tab.get_raw(&app, &shown).await;
        assert_eq!(response.status(), 404, "Back after saving shows nothing");
        let response = tab
            .post(&app, SAVED, &[("csrf_token", &csrf), ("shown", &id)])
            .await;
        assert_eq!(location(&response), shown, "a reused id");
        let response = tab.get_raw(&app, &shown).await;
        assert_eq!(response.status(), 404);
        assert_eq!(
            app.app
                .state
                .mfa
                .backup_code_info(a.id)
                .await
                .unwrap()
                .map(|b| b.created_at),
            issued.map(|b| b.created_at),
            "one code issued in all"
        );

        // The one-time entry lasts minutes; the session must be fresh to make one.
        let response = tab.post_action(&app, REGENERATE).await;
        let later = location(&response);
        app.clock.advance(6 * 60);
        let response = tab.get_raw(&app, &later).await;
        assert_eq!(response.status(), 404);
        app.clock.advance(5 * 60);
        let response = tab.post_action(&app, REGENERATE).await;
        assert!(
            location(&response).starts_with("/account/reconfirm"),
            "{}",
            location(&response)
        );
        app
    })
    .await;
}
