//! The account's recent security activity (F3, A5): its own events in words, newest first,
//! with device and network but never the address; token traffic left off; nobody else's
//! events; and only for the signed-in owner.

use crate::mfa_devices_stepup::{A, B, CHROME_WINDOWS, FIREFOX_LINUX, Tab, signed_in_browser};

const ACTIVITY: &str = "/account/activity";

#[tokio::test]
async fn f3_the_activity_page_lists_the_accounts_own_events_in_words() {
    crate::helpers::each_backend(|app| async move {
        app.create_user(A).await;
        app.create_user(B).await;
        let firefox = signed_in_browser(&app, A, FIREFOX_LINUX).await;
        let b = signed_in_browser(&app, B, CHROME_WINDOWS).await;
        let csrf = firefox.csrf(&app).await;
        let set = crate::account_privacy::put(
            &app,
            &firefox,
            r#"{"improve_products":true}"#,
            Some(&csrf),
        )
        .await;
        assert_eq!(set.status(), 200);

        let (status, at, page) = firefox.get(&app, ACTIVITY).await;
        assert_eq!(
            (status, at.as_str()),
            (200, app.url(ACTIVITY).as_str()),
            "{page}"
        );
        assert!(page.contains("<h1>Recent security activity</h1>"), "{page}");
        for what in [
            "Password accepted",
            "Sign-in code emailed",
            "Second step confirmed",
            "Backup code generated",
        ] {
            assert!(
                page.contains(&format!(
                    "<td>{what}</td><td>Firefox on Linux, network 127.0.0.0/24</td>"
                )),
                "{what}: {page}"
            );
        }
        assert!(
            page.contains("<td>Account created</td><td>Not known</td>"),
            "the operator made it: {page}"
        );
        assert!(
            !page.contains("<td>Security event"),
            "every kind here has its words: {page}"
        );
        assert!(page.contains("<td>Privacy setting changed</td>"), "{page}");
        assert!(!page.contains("127.0.0.1"), "never the address: {page}");
        // Newest first: the privacy change comes before the sign-in.
        assert!(
            page.find("Privacy setting changed").unwrap() < page.find("Password accepted").unwrap()
        );

        // B sees only B's: one sign-in from Chrome, nothing of A's.
        let (_, _, b_page) = b.get(&app, ACTIVITY).await;
        assert!(
            b_page.contains("<td>Password accepted</td><td>Chrome on Windows"),
            "{b_page}"
        );
        assert!(!b_page.contains("Privacy setting changed"), "{b_page}");
        assert!(!b_page.contains("Firefox"), "{b_page}");

        // Nobody signed in: the sign-in page, nothing listed.
        let stranger = Tab::new(FIREFOX_LINUX);
        let (_, at, page) = stranger.get(&app, ACTIVITY).await;
        assert!(at.contains("/login?flow="), "{at}");
        assert!(!page.contains("Recent security activity</h1>"), "{page}");
        app
    })
    .await;
}
