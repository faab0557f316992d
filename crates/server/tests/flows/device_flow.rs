//! The device authorization grant (RFC 8628, requirement D7) over HTTP on every backend: a
//! device asks for codes and polls the token endpoint while a person signs in with the
//! second step, enters the user code and allows or denies. Time only moves through the
//! `ManualClock`.

use lanyard_core::model::{AuditEvent, GrantType};
use lanyard_core::ports::AuditRepo;
use lanyard_testkit::{Browser, PASSWORD, TestApp};
use reqwest::header::{CACHE_CONTROL, LOCATION, RETRY_AFTER};

use crate::helpers::{device_client, each_backend, ephemeral_snapshot, http, json, jwt_claims};

const TV: &str = "tv-app";
const OTHER: &str = "other-tool";
const ALICE: &str = "alice@example.com";
const BOB: &str = "bob@example.com";
const SCOPE: &str = "openid email";
/// The defaults of `tokens.device_code_ttl_secs` and `tokens.device_poll_interval_secs`.
const TTL: i64 = 600;
const INTERVAL: i64 = 5;
const ALPHABET: &str = "BCDFGHJKLMNPQRSTVWXZ";
/// The field error for input that can not be a user code.
const MALFORMED: &str = "Enter the 8 letters shown on your device, like BCDF-GHJK";

async fn set_up(app: &TestApp) -> lanyard_core::model::Account {
    let alice = app.create_user(ALICE).await;
    app.create_client(device_client(TV)).await;
    alice
}

/// POST /device_authorization for a public client.
async fn start(app: &TestApp, client_id: &str, scope: &str) -> (u16, serde_json::Value) {
    let response = http()
        .post(app.url("/device_authorization"))
        .form(&[("client_id", client_id), ("scope", scope)])
        .send()
        .await
        .unwrap();
    if response.status().is_success() {
        assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
    }
    json(response).await
}

/// A started request: (device_code, user_code as shown).
async fn started(app: &TestApp) -> (String, String) {
    let (status, body) = start(app, TV, SCOPE).await;
    assert_eq!(status, 200, "{body}");
    (
        body["device_code"].as_str().unwrap().to_owned(),
        body["user_code"].as_str().unwrap().to_owned(),
    )
}

/// One poll of the token endpoint by a public client.
async fn poll(app: &TestApp, client_id: &str, device_code: &str) -> (u16, serde_json::Value) {
    let response = http()
        .post(app.url("/token"))
        .form(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("client_id", client_id),
            ("device_code", device_code),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
    json(response).await
}

/// The `error` of a poll that must fail with HTTP 400.
async fn poll_error(app: &TestApp, client_id: &str, device_code: &str) -> String {
    let (status, body) = poll(app, client_id, device_code).await;
    assert_eq!(status, 400, "{body}");
    body["error"].as_str().unwrap().to_owned()
}

/// Opens `path` (the device page) in a new browser, signs `email` in with the password and
/// the emailed code, and returns the browser with the page it came back to.
async fn signed_in(app: &TestApp, path: &str, email: &str) -> (Browser, String) {
    let browser = Browser::new();
    let base = &app.base_url;
    let (status, at, page) = browser.get(&app.url(path), base).await;
    assert_eq!(status, 200, "{at}");
    assert!(at.contains("/login?flow="), "sign in first: {at}");
    let (_, _, page) = browser.submit(&page, base, &[("email", email)]).await;
    let sent = app.mail.messages_to(email).len();
    let (_, _, page) = browser.submit(&page, base, &[("password", PASSWORD)]).await;
    assert!(page.contains("name=\"code\""), "the second step: {page}");
    let (at, page) = browser
        .second_step(page, base, &app.mail, email, sent)
        .await;
    assert_eq!(at, app.url(path), "back to the device page");
    assert!(is_code_page(&page), "{page}");
    (browser, page)
}

fn is_code_page(page: &str) -> bool {
    page.contains("name=\"user_code\"")
}

fn is_confirm_page(page: &str) -> bool {
    page.contains("name=\"decision\"") && page.contains("name=\"confirm\"")
}

/// Types `code` on the code page.
async fn enter(app: &TestApp, browser: &Browser, page: &str, code: &str) -> (u16, String) {
    let (status, _, page) = browser
        .submit(page, &app.base_url, &[("user_code", code)])
        .await;
    (status, page)
}

/// Allow (`approve`) or Deny (`deny`) on the confirmation page.
async fn decide(app: &TestApp, browser: &Browser, page: &str, decision: &str) -> (u16, String) {
    assert!(is_confirm_page(page), "{page}");
    let (status, _, page) = browser
        .submit(page, &app.base_url, &[("decision", decision)])
        .await;
    (status, page)
}

async fn audits(app: &TestApp, kind: &str) -> Vec<AuditEvent> {
    app.app
        .stores
        .sql
        .list_audit(Some(kind), 1000)
        .await
        .unwrap()
}

/// A well-formed user code that is not `real`.
fn wrong_code(real: &str, n: usize) -> String {
    let letters: Vec<char> = ALPHABET.chars().collect();
    (0..)
        .map(|i: usize| {
            let a = letters[(n + i) % 20];
            let b = letters[(n * 7 + i + 3) % 20];
            format!("{a}{b}{a}{b}-{b}{a}{b}{a}")
        })
        .find(|c| c != real)
        .unwrap()
}

#[tokio::test]
async fn d7_a_device_gets_tokens_once_after_the_person_allows_it() {
    each_backend(|app| async move {
        let alice = set_up(&app).await;
        let (status, body) = start(&app, TV, SCOPE).await;
        assert_eq!(status, 200, "{body}");
        let device_code = body["device_code"].as_str().unwrap().to_owned();
        let user_code = body["user_code"].as_str().unwrap().to_owned();
        assert!(device_code.starts_with("lyd_dc_") && device_code.len() == 7 + 43);
        let (left, right) = user_code.split_once('-').unwrap();
        assert_eq!((left.len(), right.len()), (4, 4), "{user_code}");
        assert!(user_code.chars().all(|c| c == '-' || ALPHABET.contains(c)));
        assert_eq!(body["verification_uri"], app.url("/device"));
        assert_eq!(
            body["verification_uri_complete"],
            app.url(&format!("/device?user_code={user_code}"))
        );
        assert_eq!(body["expires_in"], TTL);
        assert_eq!(body["interval"], INTERVAL);

        assert_eq!(
            poll_error(&app, TV, &device_code).await,
            "authorization_pending"
        );

        // The device shows the complete link; the person opens it and signs in first.
        let path = format!("/device?user_code={user_code}");
        let (browser, page) = signed_in(&app, &path, ALICE).await;
        assert!(
            page.contains(&format!("value=\"{user_code}\"")),
            "prefilled"
        );
        let (status, page) = enter(&app, &browser, &page, &user_code).await;
        assert_eq!(status, 200, "{page}");
        assert!(
            page.contains("Connect Living Room tv-app to your"),
            "{page}"
        );
        assert_eq!(
            crate::helpers::code_after(&page, "secret-block"),
            user_code,
            "{page}"
        );
        assert!(page.contains("See your email address"), "{page}");
        let (status, page) = decide(&app, &browser, &page, "approve").await;
        assert_eq!(status, 200, "{page}");
        assert!(page.contains("Your device is connected"), "{page}");
        assert!(page.contains("You can return to your device"), "{page}");
        let approved = audits(&app, "device.approved").await;
        assert_eq!(approved.len(), 1);
        assert_eq!(approved[0].subject.as_deref(), Some(&*alice.id.to_string()));
        assert_eq!(approved[0].client_id.as_deref(), Some(TV));

        app.clock.advance(INTERVAL);
        let (status, tokens) = poll(&app, TV, &device_code).await;
        assert_eq!(status, 200, "{tokens}");
        assert_eq!(tokens["token_type"], "Bearer");
        assert_eq!(tokens["scope"], "email openid");
        let access = tokens["access_token"].as_str().unwrap();
        let claims = jwt_claims(access);
        assert_eq!(claims["sub"], alice.id.to_string());
        assert_eq!(claims["client_id"], TV);
        let id_claims = jwt_claims(tokens["id_token"].as_str().unwrap());
        assert_eq!(id_claims["sub"], alice.id.to_string());
        assert_eq!(id_claims["aud"], TV);
        assert_eq!(
            id_claims["acr"], "urn:lanyard:loa:2",
            "the emailed code's level"
        );
        assert!(id_claims.get("nonce").is_none());

        // The server accepts its own access token...
        let userinfo = http()
            .get(app.url("/userinfo"))
            .bearer_auth(access)
            .send()
            .await
            .unwrap();
        let (status, info) = json(userinfo).await;
        assert_eq!(status, 200, "{info}");
        assert_eq!(info["sub"], alice.id.to_string());
        assert_eq!(info["email"], ALICE);

        // ...the code works once...
        app.clock.advance(INTERVAL);
        assert_eq!(poll_error(&app, TV, &device_code).await, "invalid_grant");
        assert_eq!(audits(&app, "token.issued").await.len(), 1);

        // ...and the refresh token continues the grant.
        let response = http()
            .post(app.url("/token"))
            .form(&[
                ("grant_type", "refresh_token"),
                ("client_id", TV),
                ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
            ])
            .send()
            .await
            .unwrap();
        let (status, refreshed) = json(response).await;
        assert_eq!(status, 200, "{refreshed}");
        let again = jwt_claims(refreshed["access_token"].as_str().unwrap());
        assert_eq!(again["sub"], alice.id.to_string());
        assert_eq!(again["gid"], claims["gid"], "the same grant");

        // Only keyed hashes name the state: neither code appears in a store key.
        for key in ephemeral_snapshot(&app).await {
            assert!(!key.contains(&device_code) && !key.contains(&user_code.replace('-', "")));
        }
        app
    })
    .await;
}

#[tokio::test]
async fn polling_faster_than_the_interval_gets_slow_down_and_a_longer_interval() {
    each_backend(|app| async move {
        set_up(&app).await;
        let (code, _) = started(&app).await;
        assert_eq!(poll_error(&app, TV, &code).await, "authorization_pending");
        assert_eq!(poll_error(&app, TV, &code).await, "slow_down", "at once");
        // The interval is now 10 s: 5 s later is still too soon, and it grows to 15 s.
        app.clock.advance(INTERVAL);
        assert_eq!(poll_error(&app, TV, &code).await, "slow_down");
        app.clock.advance(15);
        assert_eq!(poll_error(&app, TV, &code).await, "authorization_pending");
        app.clock.advance(14);
        assert_eq!(poll_error(&app, TV, &code).await, "slow_down");
        app.clock.advance(20);
        assert_eq!(poll_error(&app, TV, &code).await, "authorization_pending");
        // Another request keeps its own interval.
        let (fresh, _) = started(&app).await;
        assert_eq!(poll_error(&app, TV, &fresh).await, "authorization_pending");
        app.clock.advance(INTERVAL);
        assert_eq!(poll_error(&app, TV, &fresh).await, "authorization_pending");
        app
    })
    .await;
}

#[tokio::test]
async fn an_expired_device_code_says_expired_token_and_its_user_code_is_dead() {
    each_backend(|app| async move {
        set_up(&app).await;
        let (unanswered, unanswered_user) = started(&app).await;
        let (approved, approved_user) = started(&app).await;
        let (browser, page) = signed_in(&app, "/device", ALICE).await;
        let (_, page) = enter(&app, &browser, &page, &approved_user).await;
        let (status, _) = decide(&app, &browser, &page, "approve").await;
        assert_eq!(status, 200);

        app.clock.advance(TTL - 1);
        assert_eq!(
            poll_error(&app, TV, &unanswered).await,
            "authorization_pending"
        );
        app.clock.advance(1);
        assert_eq!(poll_error(&app, TV, &unanswered).await, "expired_token");
        app.clock.advance(INTERVAL);
        assert_eq!(poll_error(&app, TV, &unanswered).await, "expired_token");
        // Allowed but not collected in time: expired too, and no tokens.
        assert_eq!(poll_error(&app, TV, &approved).await, "expired_token");
        assert!(audits(&app, "token.issued").await.is_empty());

        let (_, _, page) = browser.get(&app.url("/device"), &app.base_url).await;
        let (status, page) = enter(&app, &browser, &page, &unanswered_user).await;
        assert_eq!(status, 400, "{page}");
        assert!(page.contains("That code did not work"), "{page}");
        app
    })
    .await;
}

#[tokio::test]
async fn a_denied_request_says_access_denied() {
    each_backend(|app| async move {
        set_up(&app).await;
        let (code, user_code) = started(&app).await;
        let (browser, page) = signed_in(&app, "/device", ALICE).await;
        let (_, page) = enter(&app, &browser, &page, &user_code).await;
        let (status, page) = decide(&app, &browser, &page, "deny").await;
        assert_eq!(status, 200, "{page}");
        assert!(page.contains("You denied access"), "{page}");
        assert_eq!(poll_error(&app, TV, &code).await, "access_denied");
        app.clock.advance(INTERVAL);
        assert_eq!(poll_error(&app, TV, &code).await, "access_denied");
        assert_eq!(audits(&app, "device.denied").await.len(), 1);
        assert!(audits(&app, "device.approved").await.is_empty());
        assert!(audits(&app, "token.issued").await.is_empty());
        app
    })
    .await;
}

#[tokio::test]
async fn a_device_code_is_bound_to_the_client_that_asked_and_only_device_clients_ask() {
    each_backend(|app| async move {
        set_up(&app).await;
        app.create_client(device_client(OTHER)).await;
        let mut web_only = device_client("web-only");
        web_only.grant_types = vec![GrantType::AuthorizationCode];
        web_only.redirect_uris = vec!["https://rp.example.com/cb".to_owned()];
        app.create_client(web_only).await;

        let (code, user_code) = started(&app).await;
        assert_eq!(poll_error(&app, OTHER, &code).await, "invalid_grant");
        let (browser, page) = signed_in(&app, "/device", ALICE).await;
        let (_, page) = enter(&app, &browser, &page, &user_code).await;
        decide(&app, &browser, &page, "approve").await;
        app.clock.advance(INTERVAL);
        assert_eq!(poll_error(&app, OTHER, &code).await, "invalid_grant");
        assert_eq!(
            audits(&app, "token.device_code_rejected").await.len(),
            2,
            "both attempts audited"
        );
        // The other client's attempts burned nothing: the right client still collects.
        let (status, tokens) = poll(&app, TV, &code).await;
        assert_eq!(status, 200, "{tokens}");

        let (status, body) = start(&app, "web-only", SCOPE).await;
        assert_eq!(
            (status, &body["error"]),
            (400, &"unauthorized_client".into())
        );
        assert_eq!(
            poll_error(&app, "web-only", &code).await,
            "unauthorized_client"
        );
        let (status, body) = start(&app, TV, "openid admin").await;
        assert_eq!((status, &body["error"]), (400, &"invalid_scope".into()));
        let (status, body) = start(&app, "no-such-client", SCOPE).await;
        assert_eq!((status, &body["error"]), (401, &"invalid_client".into()));
        app
    })
    .await;
}

#[tokio::test]
async fn guessing_user_codes_is_limited_per_session_and_per_address() {
    each_backend(|app| async move {
        set_up(&app).await;
        app.create_user(BOB).await;
        let (code, user_code) = started(&app).await;

        // Five codes per session: the sixth is refused even when it is right.
        let (a, mut page) = signed_in(&app, "/device", ALICE).await;
        for n in 0..5 {
            let (status, next) = enter(&app, &a, &page, &wrong_code(&user_code, n)).await;
            assert_eq!(status, 400, "{next}");
            assert!(next.contains("That code did not work"), "{next}");
            assert!(next.contains("aria-invalid=\"true\""), "{next}");
            page = next;
        }
        let response = a
            .http
            .post(app.url("/device"))
            .form(&code_form(&page, &user_code))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 429);
        assert_eq!(response.headers()[RETRY_AFTER], "900");
        assert!(response.text().await.unwrap().contains("Too many tries"));

        // Ten per address: another session from the same address gets four more.
        let (b, mut page) = signed_in(&app, "/device", BOB).await;
        for n in 5..9 {
            let (status, next) = enter(&app, &b, &page, &wrong_code(&user_code, n)).await;
            assert_eq!(status, 400, "{next}");
            page = next;
        }
        let (status, next) = enter(&app, &b, &page, &user_code).await;
        assert_eq!(status, 429, "{next}");

        // The limit is a wait, not a verdict on the request.
        assert_eq!(poll_error(&app, TV, &code).await, "authorization_pending");
        assert!(audits(&app, "device.approved").await.is_empty());
        app
    })
    .await;
}

/// The code page's hidden fields (the CSRF token) plus `user_code`.
fn code_form(page: &str, user_code: &str) -> Vec<(String, String)> {
    let mut form = lanyard_testkit::recording::hidden_field(page, "csrf_token")
        .map(|token| vec![("csrf_token".to_owned(), token)])
        .unwrap();
    form.push(("user_code".to_owned(), user_code.to_owned()));
    form
}

#[tokio::test]
async fn user_codes_are_read_as_people_type_them() {
    each_backend(|app| async move {
        set_up(&app).await;
        let (code, user_code) = started(&app).await;
        let (browser, page) = signed_in(&app, "/device", ALICE).await;
        let compact = user_code.replace('-', "");
        for typed in [
            compact.to_lowercase(),
            format!(" {} ", user_code.to_lowercase().replace('-', " ")),
        ] {
            let (status, confirm) = enter(&app, &browser, &page, &typed).await;
            assert_eq!(status, 200, "{typed:?}: {confirm}");
            assert!(is_confirm_page(&confirm), "{confirm}");
            assert_eq!(
                crate::helpers::code_after(&confirm, "secret-block"),
                user_code
            );
        }
        // A link with a lower-case code is prefilled in the shown form.
        let (_, _, prefilled) = browser
            .get(
                &app.url(&format!("/device?user_code={}", compact.to_lowercase())),
                &app.base_url,
            )
            .await;
        assert!(
            prefilled.contains(&format!("value=\"{user_code}\"")),
            "{prefilled}"
        );
        let (_, confirm) = enter(&app, &browser, &page, &compact).await;
        decide(&app, &browser, &confirm, "approve").await;
        let (status, _) = poll(&app, TV, &code).await;
        assert_eq!(status, 200);
        app
    })
    .await;
}

#[tokio::test]
async fn one_request_gets_one_decision_from_the_session_that_entered_its_code() {
    each_backend(|app| async move {
        set_up(&app).await;
        app.create_user(BOB).await;
        let (code, user_code) = started(&app).await;
        let (alice, page) = signed_in(&app, "/device", ALICE).await;
        let (_, first_tab) = enter(&app, &alice, &page, &user_code).await;
        let (_, second_tab) = enter(&app, &alice, &page, &user_code).await;
        assert!(is_confirm_page(&first_tab) && is_confirm_page(&second_tab));

        // Bob's session can not use Alice's confirmation, even with his own CSRF token.
        let (bob, bob_page) = signed_in(&app, "/device", BOB).await;
        let confirm = lanyard_testkit::recording::hidden_field(&first_tab, "confirm").unwrap();
        let bob_csrf = lanyard_testkit::recording::hidden_field(&bob_page, "csrf_token").unwrap();
        let response = bob
            .http
            .post(app.url("/device/confirm"))
            .form(&[
                ("csrf_token", bob_csrf.as_str()),
                ("confirm", confirm.as_str()),
                ("decision", "approve"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400);
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("This code no longer works")
        );
        assert_eq!(poll_error(&app, TV, &code).await, "authorization_pending");

        // Bob's attempt used up that confirmation; the second tab decides, and only once.
        let (status, page) = decide(&app, &alice, &first_tab, "approve").await;
        assert_eq!(status, 400, "{page}");
        let (status, page) = decide(&app, &alice, &second_tab, "deny").await;
        assert_eq!(status, 200, "{page}");
        let (status, page) = decide(&app, &alice, &second_tab, "approve").await;
        assert_eq!(status, 400, "{page}");
        app.clock.advance(INTERVAL);
        assert_eq!(poll_error(&app, TV, &code).await, "access_denied");
        // The decided code is gone from the page.
        let (status, page) = enter(
            &app,
            &alice,
            &page_with_form(&app, &alice).await,
            &user_code,
        )
        .await;
        assert_eq!(status, 400, "{page}");
        app
    })
    .await;
}

/// A fresh code page for a signed-in browser.
async fn page_with_form(app: &TestApp, browser: &Browser) -> String {
    let (status, _, page) = browser.get(&app.url("/device"), &app.base_url).await;
    assert_eq!(status, 200);
    assert!(is_code_page(&page), "{page}");
    page
}

#[tokio::test]
async fn the_device_page_needs_a_signed_in_session_and_csrf_tokens() {
    each_backend(|app| async move {
        set_up(&app).await;
        let (code, user_code) = started(&app).await;
        let raw = http();
        let response = raw
            .get(app.url(&format!("/device?user_code={user_code}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303);
        let location = response.headers()[LOCATION].to_str().unwrap().to_owned();
        assert!(location.starts_with("/login?flow="), "{location}");
        let response = raw
            .get(app.url("/device"))
            .header("accept", "application/json")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "API callers get a challenge");
        // A stranger's post has no CSRF cookie or token.
        let response = raw
            .post(app.url("/device"))
            .form(&[("user_code", user_code.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403);

        let (browser, page) = signed_in(&app, "/device", ALICE).await;
        let response = browser
            .http
            .post(app.url("/device"))
            .form(&[("user_code", user_code.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "no CSRF token");
        let (_, confirm_page) = enter(&app, &browser, &page, &user_code).await;
        let confirm = lanyard_testkit::recording::hidden_field(&confirm_page, "confirm").unwrap();
        for csrf in ["", "not-the-token"] {
            let response = browser
                .http
                .post(app.url("/device/confirm"))
                .form(&[
                    ("csrf_token", csrf),
                    ("confirm", confirm.as_str()),
                    ("decision", "approve"),
                ])
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 403, "{csrf:?}");
        }
        assert_eq!(poll_error(&app, TV, &code).await, "authorization_pending");
        // The refused posts changed nothing: the real form still works.
        let (status, _) = decide(&app, &browser, &confirm_page, "approve").await;
        assert_eq!(status, 200);
        app
    })
    .await;
}

#[tokio::test]
async fn malformed_device_input_is_refused_without_counting_as_a_guess() {
    each_backend(|app| async move {
        set_up(&app).await;
        let (code, user_code) = started(&app).await;

        // The device authorization endpoint parses like the token endpoint.
        let post_raw = |path: &'static str, body: Vec<u8>| {
            let app_url = app.url(path);
            async move {
                http()
                    .post(app_url)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body)
                    .send()
                    .await
                    .unwrap()
            }
        };
        for body in [
            b"client_id=tv-app&client_id=tv-app".to_vec(),
            b"client_id=tv-app&scope=openid%FF".to_vec(),
            b"client_id=tv-app&scope=\xff".to_vec(),
        ] {
            let (status, error) = json(post_raw("/device_authorization", body).await).await;
            assert_eq!((status, &error["error"]), (400, &"invalid_request".into()));
        }
        let response = http()
            .post(app.url("/device_authorization?client_id=tv-app"))
            .form(&[("scope", "openid")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "nothing in the query string");

        // Polls with a device code of the wrong shape or size.
        let grant = "urn:ietf:params:oauth:grant-type:device_code";
        for device_code in [
            format!("lyd_dc_{}", "A".repeat(200)),
            "lyd_ac_something".to_owned(),
            code.to_uppercase(),
        ] {
            assert_eq!(poll_error(&app, TV, &device_code).await, "invalid_grant");
        }
        let body =
            format!("grant_type={grant}&client_id=tv-app&device_code={code}&device_code={code}");
        let (status, error) = json(post_raw("/token", body.into_bytes()).await).await;
        assert_eq!((status, &error["error"]), (400, &"invalid_request".into()));
        let body = format!("grant_type={grant}&client_id=tv-app");
        let (status, error) = json(post_raw("/token", body.into_bytes()).await).await;
        assert_eq!((status, &error["error"]), (400, &"invalid_request".into()));

        // The page: oversized and ill-formed codes get the field error, are not echoed, and
        // do not count against the five tries of this session.
        let (browser, page) = signed_in(&app, "/device", ALICE).await;
        let huge = "B".repeat(5000);
        for typed in [
            huge.as_str(),
            "",
            "BCDF-GHJ",
            "AEIO-UAEI",
            "BCDF-GHJK-L",
            "<b>x</b>",
        ] {
            let (status, next) = enter(&app, &browser, &page, typed).await;
            assert_eq!(status, 400, "{typed:?}");
            assert!(next.contains(MALFORMED), "{next}");
            assert!(next.contains("aria-invalid=\"true\""), "{next}");
            assert!(
                !next.contains(&huge) && !next.contains("<b>x"),
                "escaped or dropped"
            );
        }
        let (_, _, page_for_oversized_link) = browser
            .get(
                &app.url(&format!("/device?user_code={huge}")),
                &app.base_url,
            )
            .await;
        assert!(is_code_page(&page_for_oversized_link));
        assert!(!page_for_oversized_link.contains(&huge));
        let csrf = lanyard_testkit::recording::hidden_field(&page, "csrf_token").unwrap();
        let mut body = format!("csrf_token={csrf}&user_code=").into_bytes();
        body.extend_from_slice(b"\xff\xfe");
        let response = browser
            .http
            .post(app.url("/device"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "non-UTF-8 body");
        let response = browser
            .http
            .post(app.url("/device"))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("user_code", user_code.as_str()),
                ("user_code", user_code.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "repeated parameter");
        let (status, confirm) = enter(&app, &browser, &page, &user_code).await;
        assert_eq!(status, 200, "no malformed entry counted: {confirm}");
        assert!(is_confirm_page(&confirm));
        let response = browser
            .http
            .post(app.url("/device/confirm"))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("confirm", &"x".repeat(5000)),
                ("decision", "approve"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "an oversized confirmation");
        assert_eq!(poll_error(&app, TV, &code).await, "authorization_pending");
        app
    })
    .await;
}
