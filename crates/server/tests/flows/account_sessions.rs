//! The account's signed-in browsers and connected applications (F3): the security page lists
//! every session with its device, network and times, and signs out one of the others; the
//! connected applications page lists what each app may do, and disconnecting one forgets its
//! consent and revokes its refresh grants. Another account's session or app is never
//! touched, and bad input changes nothing.

use lanyard_core::model::AuditEvent;
use lanyard_core::ports::AuditRepo;
use lanyard_testkit::TestApp;
use lanyard_testkit::fixtures::authorize_url;

use crate::helpers::{
    REDIRECT, VERIFIER, confidential, each_backend, json, query_param, redeem, refresh,
};
use crate::mfa_devices_stepup::{
    A, B, CHROME_WINDOWS, FIREFOX_LINUX, SECURITY, Tab, location, signed_in_browser,
};

const END: &str = "/account/sessions/end";
const APPS: &str = "/account/apps";
const DISCONNECT: &str = "/account/apps/disconnect";

/// The handles of the sessions the page offers to sign out.
fn handles(page: &str) -> Vec<String> {
    page.split("name=\"session\" value=\"")
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].to_owned())
        .collect()
}

async fn security(app: &TestApp, tab: &Tab) -> String {
    let (status, at, page) = tab.get(app, SECURITY).await;
    assert_eq!(
        (status, at.as_str()),
        (200, app.url(SECURITY).as_str()),
        "{page}"
    );
    page
}

async fn audits(app: &TestApp, kind: &str) -> Vec<AuditEvent> {
    app.app
        .stores
        .sql
        .list_audit(Some(kind), 100)
        .await
        .unwrap()
}

#[tokio::test]
async fn f3_each_signed_in_browser_is_listed_and_one_is_signed_out_from_another() {
    each_backend(|app| async move {
        app.create_user(A).await;
        app.create_user(B).await;
        let firefox = signed_in_browser(&app, A, FIREFOX_LINUX).await;
        let chrome = signed_in_browser(&app, A, CHROME_WINDOWS).await;
        let b_one = signed_in_browser(&app, B, FIREFOX_LINUX).await;
        let b_two = signed_in_browser(&app, B, CHROME_WINDOWS).await;

        let page = security(&app, &firefox).await;
        assert!(
            page.contains("Firefox on Linux <span class=\"tag\">This browser</span>"),
            "{page}"
        );
        assert!(page.contains("Chrome on Windows</h3>"), "{page}");
        assert!(
            page.contains("Network 127.0.0.0/24"),
            "only the network, never the address: {page}"
        );
        assert!(!page.contains("127.0.0.1"), "{page}");
        let chrome_handle = handles(&page);
        assert_eq!(
            chrome_handle.len(),
            1,
            "only the other browser has a sign-out form"
        );

        // A's session can not end B's: the handle of B's other browser ends nothing.
        let b_handle = handles(&security(&app, &b_one).await);
        assert_eq!(b_handle.len(), 1);
        let csrf = firefox.csrf(&app).await;
        let refused = firefox
            .post(
                &app,
                END,
                &[("csrf_token", &csrf), ("session", &b_handle[0])],
            )
            .await;
        assert_eq!(location(&refused), "/account/security?done=session-gone");
        security(&app, &b_two).await;
        // Bad input: nothing ends.
        for bad in ["", "../../etc/passwd", &"g".repeat(64), &"a".repeat(5000)] {
            let refused = firefox
                .post(&app, END, &[("csrf_token", &csrf), ("session", bad)])
                .await;
            assert_eq!(
                location(&refused),
                "/account/security?done=session-gone",
                "{bad}"
            );
        }
        let no_csrf = firefox
            .post(&app, END, &[("session", &chrome_handle[0])])
            .await;
        assert_eq!(no_csrf.status(), 403);
        let other_csrf = firefox
            .post(
                &app,
                END,
                &[
                    ("csrf_token", &chrome.csrf(&app).await),
                    ("session", &chrome_handle[0]),
                ],
            )
            .await;
        assert_eq!(other_csrf.status(), 403, "another browser's CSRF token");
        security(&app, &chrome).await;
        assert!(audits(&app, "session.ended_one").await.is_empty());

        // Signing Chrome out from Firefox: Chrome is signed out at once, Firefox stays.
        let ended = firefox
            .post(
                &app,
                END,
                &[("csrf_token", &csrf), ("session", &chrome_handle[0])],
            )
            .await;
        assert_eq!(location(&ended), "/account/security?done=session-ended");
        let (_, at, _) = chrome.get(&app, SECURITY).await;
        assert!(at.contains("/login?flow="), "chrome is signed out: {at}");
        let page = security(&app, &firefox).await;
        assert!(!page.contains("Chrome on Windows</h3>"), "{page}");
        assert!(handles(&page).is_empty());
        // Replayed: there is nothing left to end.
        let again = firefox
            .post(
                &app,
                END,
                &[("csrf_token", &csrf), ("session", &chrome_handle[0])],
            )
            .await;
        assert_eq!(location(&again), "/account/security?done=session-gone");
        let events = audits(&app, "session.ended_one").await;
        assert_eq!(events.len(), 1);
        // B's sessions were never touched.
        security(&app, &b_one).await;
        security(&app, &b_two).await;

        // The API: DELETE with the CSRF header; unknown handles are 404, no header is 403.
        let b_handle = handles(&security(&app, &b_one).await);
        let delete = |tab: &Tab, handle: &str, csrf: Option<String>| {
            let mut request = tab
                .browser
                .http
                .delete(app.url(&format!("/account/sessions/{handle}")));
            if let Some(csrf) = csrf {
                request = request.header("x-csrf-token", csrf);
            }
            request.send()
        };
        assert_eq!(
            delete(&b_one, &b_handle[0], None).await.unwrap().status(),
            403
        );
        assert_eq!(
            delete(&firefox, &b_handle[0], Some(csrf.clone()))
                .await
                .unwrap()
                .status(),
            404
        );
        assert_eq!(
            delete(&b_one, "nope", Some(b_one.csrf(&app).await))
                .await
                .unwrap()
                .status(),
            404
        );
        assert_eq!(
            delete(&b_one, &b_handle[0], Some(b_one.csrf(&app).await))
                .await
                .unwrap()
                .status(),
            204
        );
        let (_, at, _) = b_two.get(&app, SECURITY).await;
        assert!(at.contains("/login?flow="), "{at}");
        app
    })
    .await;
}

/// The code the signed-in `tab` gets for `client`, allowing on the consent page if asked.
async fn code_for(app: &TestApp, tab: &Tab, client: &str) -> (String, bool) {
    let (_, mut at, page) = tab.get(app, &authorize_url(app, client, "")).await;
    let consented = page.contains("name=\"decision\"");
    if consented {
        (_, at, _) = tab.submit(app, &page, &[("decision", "allow")]).await;
    }
    assert!(at.starts_with(REDIRECT), "{at}");
    (query_param(&at, "code").unwrap(), consented)
}

async fn refresh_token(app: &TestApp, tab: &Tab, client: &str, secret: &str) -> String {
    let (code, _) = code_for(app, tab, client).await;
    let (status, tokens) = json(redeem(app, client, secret, &code, VERIFIER).await).await;
    assert_eq!(status, 200, "{tokens}");
    tokens["refresh_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn f3_connected_apps_show_what_each_may_do_and_disconnecting_revokes_its_grants() {
    each_backend(|app| async move {
        app.create_user(A).await;
        app.create_user(B).await;
        let third = app
            .create_client(lanyard_server::NewClient {
                first_party: false,
                ..confidential("tp")
            })
            .await
            .unwrap();
        let first = app.create_client(confidential("rp")).await.unwrap();
        let tab = signed_in_browser(&app, A, FIREFOX_LINUX).await;
        let third_rt = refresh_token(&app, &tab, "tp", &third).await;
        let first_rt = refresh_token(&app, &tab, "rp", &first).await;

        let (status, _, page) = tab.get(&app, APPS).await;
        assert_eq!(status, 200);
        assert!(
            page.contains("<h3 class=\"device-label\">App tp</h3>"),
            "{page}"
        );
        assert!(
            page.contains("<h3 class=\"device-label\">App rp</h3>"),
            "{page}"
        );
        assert!(page.contains("<li>See your email address</li>"), "{page}");
        assert!(page.contains("Allowed "), "the consent's time: {page}");

        // B has no such app: its disconnect changes nothing for A.
        let other = signed_in_browser(&app, B, CHROME_WINDOWS).await;
        let (_, _, b_page) = other.get(&app, APPS).await;
        assert!(
            b_page.contains("No application is connected to your account."),
            "{b_page}"
        );
        let b_csrf = other.csrf(&app).await;
        let gone = other
            .post(
                &app,
                DISCONNECT,
                &[("csrf_token", &b_csrf), ("client_id", "tp")],
            )
            .await;
        assert_eq!(location(&gone), "/account/apps?done=gone");
        let csrf = tab.csrf(&app).await;
        for bad in ["", "no-such-client", "../../x", &"x".repeat(5000)] {
            let gone = tab
                .post(
                    &app,
                    DISCONNECT,
                    &[("csrf_token", &csrf), ("client_id", bad)],
                )
                .await;
            assert_eq!(location(&gone), "/account/apps?done=gone", "{bad}");
        }
        assert_eq!(
            tab.post(&app, DISCONNECT, &[("client_id", "tp")])
                .await
                .status(),
            403
        );
        let (status, body) = refresh(&app, "tp", &third, &third_rt, None).await;
        assert_eq!(status, 200, "nothing was revoked yet: {body}");
        let third_rt = body["refresh_token"].as_str().unwrap().to_owned();

        let done = tab
            .post(
                &app,
                DISCONNECT,
                &[("csrf_token", &csrf), ("client_id", "tp")],
            )
            .await;
        assert_eq!(location(&done), "/account/apps?done=disconnected");
        let (status, body) = refresh(&app, "tp", &third, &third_rt, None).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant")),
            "{body}"
        );
        let (status, body) = refresh(&app, "rp", &first, &first_rt, None).await;
        assert_eq!(status, 200, "the other app keeps its grant: {body}");
        let first_rt = body["refresh_token"].as_str().unwrap().to_owned();
        let (_, _, page) = tab.get(&app, "/account/apps?done=disconnected").await;
        assert!(page.contains("The application is disconnected."), "{page}");
        assert!(!page.contains("App tp</h3>"), "{page}");
        // The app asks for permission again next time.
        let (_, consented) = code_for(&app, &tab, "tp").await;
        assert!(consented, "the consent page is shown again");
        let events = audits(&app, "consent.revoked").await;
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].client_id.as_deref(), Some("tp"));

        // The API: DELETE with the CSRF header.
        let delete = |csrf: Option<&str>, client: &str| {
            let mut request = tab
                .browser
                .http
                .delete(app.url(&format!("/account/apps/{client}")));
            if let Some(csrf) = csrf {
                request = request.header("x-csrf-token", csrf);
            }
            request.send()
        };
        assert_eq!(delete(None, "rp").await.unwrap().status(), 403);
        assert_eq!(delete(Some(&csrf), "nope").await.unwrap().status(), 404);
        assert_eq!(delete(Some(&csrf), "rp").await.unwrap().status(), 204);
        let (status, body) = refresh(&app, "rp", &first, &first_rt, None).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant")),
            "{body}"
        );
        app
    })
    .await;
}
