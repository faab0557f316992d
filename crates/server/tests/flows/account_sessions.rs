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

/// H4 on top of F3 and A4: an admin lists an account's signed-in browsers, ends one of them,
/// and reads its privacy preferences with their history; other accounts' sessions, unknown
/// handles and callers without a token get nothing.
#[tokio::test]
async fn h4_an_admin_lists_and_ends_an_accounts_sessions_and_reads_its_privacy() {
    use crate::admin_api::{admin_token, call, get};
    each_backend(|app| async move {
        app.create_user(A).await;
        app.create_user(B).await;
        let firefox = signed_in_browser(&app, A, FIREFOX_LINUX).await;
        let chrome = signed_in_browser(&app, A, CHROME_WINDOWS).await;
        let b = signed_in_browser(&app, B, FIREFOX_LINUX).await;
        let csrf = firefox.csrf(&app).await;
        let set = crate::account_privacy::put(
            &app,
            &firefox,
            r#"{"improve_products":true}"#,
            Some(&csrf),
        )
        .await;
        assert_eq!(set.status(), 200);
        let token = admin_token(&app).await;
        let id_of = |email: &'static str| {
            let app = &app;
            let token = token.clone();
            async move {
                let found = get(
                    app,
                    &format!("/accounts?email_prefix={}", email.replace('@', "%40")),
                    &token,
                )
                .await;
                found.body["items"][0]["id"].as_str().unwrap().to_owned()
            }
        };
        let (a, b_id) = (id_of(A).await, id_of(B).await);

        let listed = get(&app, &format!("/accounts/{a}/sessions"), &token).await;
        assert_eq!(listed.status, 200, "{}", listed.body);
        let sessions = listed.body.as_array().unwrap();
        let mut devices: Vec<_> = sessions
            .iter()
            .map(|s| s["device"].as_str().unwrap())
            .collect();
        devices.sort();
        assert_eq!(devices, ["Chrome on Windows", "Firefox on Linux"]);
        assert!(sessions.iter().all(|s| s["network"] == "127.0.0.0/24"));
        let chrome_handle = sessions
            .iter()
            .find(|s| s["device"] == "Chrome on Windows")
            .unwrap()["handle"]
            .as_str()
            .unwrap()
            .to_owned();
        let b_handle = get(&app, &format!("/accounts/{b_id}/sessions"), &token)
            .await
            .body[0]["handle"]
            .as_str()
            .unwrap()
            .to_owned();

        let delete = |path: String, token: Option<String>| {
            let app = &app;
            async move {
                call(
                    app,
                    reqwest::Method::DELETE,
                    &path,
                    token.as_deref(),
                    None,
                    None,
                )
                .await
            }
        };
        delete(format!("/accounts/{a}/sessions/{chrome_handle}"), None)
            .await
            .assert_problem(401);
        // B's session is not A's; a malformed handle names nothing.
        delete(
            format!("/accounts/{a}/sessions/{b_handle}"),
            Some(token.clone()),
        )
        .await
        .assert_problem(404);
        delete(format!("/accounts/{a}/sessions/nope"), Some(token.clone()))
            .await
            .assert_problem(404);
        security(&app, &chrome).await;
        security(&app, &b).await;
        let ended = delete(
            format!("/accounts/{a}/sessions/{chrome_handle}"),
            Some(token.clone()),
        )
        .await;
        assert_eq!(ended.status, 204);
        let (_, at, _) = chrome.get(&app, SECURITY).await;
        assert!(at.contains("/login?flow="), "{at}");
        security(&app, &firefox).await;
        delete(
            format!("/accounts/{a}/sessions/{chrome_handle}"),
            Some(token.clone()),
        )
        .await
        .assert_problem(404);
        assert_eq!(
            get(&app, &format!("/accounts/{a}/sessions"), &token)
                .await
                .body
                .as_array()
                .unwrap()
                .len(),
            1
        );

        let privacy = get(&app, &format!("/accounts/{a}/privacy"), &token).await;
        assert_eq!(privacy.status, 200, "{}", privacy.body);
        let improve = privacy.body["preferences"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == "improve_products")
            .unwrap()
            .clone();
        assert_eq!(improve["enabled"], true);
        assert_eq!(privacy.body["changes"][0]["actor"], a.as_str());
        let required = privacy.body["preferences"][0].clone();
        assert_eq!(
            (required["id"].as_str(), required["required"].as_bool()),
            (Some("required"), Some(true))
        );
        call(
            &app,
            reqwest::Method::GET,
            &format!("/accounts/{a}/privacy"),
            None,
            None,
            None,
        )
        .await
        .assert_problem(401);
        get(
            &app,
            "/accounts/00000000-0000-0000-0000-000000000000/privacy",
            &token,
        )
        .await
        .assert_problem(404);
        app
    })
    .await;
}
