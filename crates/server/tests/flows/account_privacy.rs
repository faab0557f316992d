//! Privacy preferences (A4, F3): optional categories switched on and off from the page or
//! the API, a required category that stays on (an attempt to turn it off is refused with a
//! clear error and changes nothing), every change listed with its time and audited, and the
//! `privacy` scope's claim at UserInfo.

use lanyard_core::ports::AuditRepo;
use reqwest::header::ACCEPT;
use serde_json::{Value, json};

use crate::helpers::{
    REDIRECT, VERIFIER, confidential, each_backend, http, json as body_json, query_param, redeem,
};
use crate::mfa_devices_stepup::{A, B, FIREFOX_LINUX, Tab, location, signed_in_browser};

const PRIVACY: &str = "/account/privacy";

async fn state_json(app: &lanyard_testkit::TestApp, tab: &Tab) -> Value {
    let response = tab
        .browser
        .http
        .get(app.url(PRIVACY))
        .header(ACCEPT, "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

fn enabled(state: &Value, id: &str) -> bool {
    state["preferences"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == id)
        .unwrap_or_else(|| panic!("no {id} in {state}"))["enabled"]
        .as_bool()
        .unwrap()
}

fn changes(state: &Value) -> usize {
    state["changes"].as_array().unwrap().len()
}

pub(crate) async fn put(
    app: &lanyard_testkit::TestApp,
    tab: &Tab,
    body: &str,
    csrf: Option<&str>,
) -> reqwest::Response {
    let mut request = tab
        .browser
        .http
        .put(app.url(PRIVACY))
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(csrf) = csrf {
        request = request.header("x-csrf-token", csrf);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn a4_optional_categories_switch_and_every_change_is_listed_and_audited() {
    each_backend(|app| async move {
        app.create_user(A).await;
        let tab = signed_in_browser(&app, A, FIREFOX_LINUX).await;
        let (status, _, page) = tab.get(&app, PRIVACY).await;
        assert_eq!(status, 200, "{page}");
        assert!(page.contains("Required data collection"), "{page}");
        // The required box is shown on and can not be changed; optional ones start off.
        assert!(page.contains("id=\"privacy-required\" name=\"required\" type=\"checkbox\" value=\"on\" aria-describedby=\"privacy-required-hint\" checked disabled>"), "{page}");
        assert!(page.contains("id=\"privacy-improve_products\" name=\"improve_products\" type=\"checkbox\" value=\"on\" aria-describedby=\"privacy-improve_products-hint\">"), "{page}");
        assert!(page.contains("You have not changed these settings yet."), "{page}");

        let csrf = tab.csrf(&app).await;
        let saved = tab
            .post(&app, PRIVACY, &[("csrf_token", &csrf), ("improve_products", "on")])
            .await;
        assert_eq!(saved.status(), 303);
        assert_eq!(location(&saved), "/account/privacy?done=saved");
        let (_, _, page) = tab.get(&app, "/account/privacy?done=saved").await;
        assert!(page.contains("Your privacy settings are saved."), "{page}");
        assert!(page.contains("aria-describedby=\"privacy-improve_products-hint\" checked>"), "{page}");
        assert!(page.contains("<td>Help improve products</td><td>On</td>"), "{page}");

        // Unticking it is a change too; "Personalised offers" stays off, unrecorded.
        let saved = tab.post(&app, PRIVACY, &[("csrf_token", &csrf)]).await;
        assert_eq!(saved.status(), 303);
        let state = state_json(&app, &tab).await;
        assert!(enabled(&state, "required"));
        assert!(!enabled(&state, "improve_products"));
        assert!(!enabled(&state, "personalised_offers"));
        assert_eq!(changes(&state), 2);
        assert_eq!(state["changes"][0]["enabled"], false, "newest first: {state}");

        let events = app.app.stores.sql.list_audit(Some("privacy.changed"), 10).await.unwrap();
        let reasons: Vec<_> = events.iter().filter_map(|e| e.reason.clone()).collect();
        assert_eq!(reasons, ["improve_products=off", "improve_products=on"]);
        assert!(events.iter().all(|e| e.ip.is_some() && e.user_agent.is_some()));

        // The API sets several at once and answers the new state; one setting per account.
        let response = put(&app, &tab, r#"{"improve_products":true,"personalised_offers":true}"#, Some(&csrf)).await;
        assert_eq!(response.status(), 200);
        let state: Value = response.json().await.unwrap();
        assert!(enabled(&state, "improve_products") && enabled(&state, "personalised_offers"));
        assert_eq!(changes(&state), 4);
        app
    })
    .await;
}

#[tokio::test]
async fn a4_the_required_category_is_never_turned_off_and_a_refusal_changes_nothing() {
    each_backend(|app| async move {
        app.create_user(A).await;
        let tab = signed_in_browser(&app, A, FIREFOX_LINUX).await;
        let csrf = tab.csrf(&app).await;
        // A crafted form: the required box off, with an optional one on. All refused.
        let refused = tab
            .post(
                &app,
                PRIVACY,
                &[
                    ("csrf_token", &csrf),
                    ("required", "off"),
                    ("improve_products", "on"),
                ],
            )
            .await;
        assert_eq!(refused.status(), 400);
        let page = refused.text().await.unwrap();
        assert!(
            page.contains("Required data collection is required and cannot be turned off"),
            "{page}"
        );
        assert!(
            page.contains("href=\"#privacy-required\""),
            "the error links to the box: {page}"
        );
        // The API: a clear error, 409, and nothing changed.
        let refused = put(
            &app,
            &tab,
            r#"{"improve_products":true,"required":false}"#,
            Some(&csrf),
        )
        .await;
        assert_eq!(refused.status(), 409);
        let (_, body) = body_json(refused).await;
        assert_eq!(body["error"], "required_category", "{body}");
        assert!(
            body["error_description"]
                .as_str()
                .unwrap()
                .contains("cannot be turned off"),
            "{body}"
        );
        let state = state_json(&app, &tab).await;
        assert!(!enabled(&state, "improve_products"));
        assert!(enabled(&state, "required"));
        assert_eq!(changes(&state), 0);
        // Asking it to stay on is fine and records nothing.
        let kept = put(&app, &tab, r#"{"required":true}"#, Some(&csrf)).await;
        assert_eq!(kept.status(), 200);
        assert_eq!(changes(&state_json(&app, &tab).await), 0);
        app
    })
    .await;
}

#[tokio::test]
async fn privacy_refuses_malformed_oversized_unknown_and_unauthorised_input() {
    each_backend(|app| async move {
        app.create_user(A).await;
        app.create_user(B).await;
        let tab = signed_in_browser(&app, A, FIREFOX_LINUX).await;
        let csrf = tab.csrf(&app).await;
        let no_csrf = tab.post(&app, PRIVACY, &[("improve_products", "on")]).await;
        assert_eq!(no_csrf.status(), 403);
        let wrong_csrf = tab
            .post(
                &app,
                PRIVACY,
                &[("csrf_token", &"x".repeat(43)), ("improve_products", "on")],
            )
            .await;
        assert_eq!(wrong_csrf.status(), 403);
        for fields in [
            vec![("csrf_token", csrf.as_str()), ("improve_products", "yes")],
            vec![("csrf_token", csrf.as_str()), ("evil", "on")],
        ] {
            let refused = tab.post(&app, PRIVACY, &fields).await;
            assert_eq!(refused.status(), 400, "{fields:?}");
        }
        for (body, status) in [
            ("not json", 400),
            ("[true]", 400),
            (r#"{"improve_products":"yes"}"#, 400),
            (r#"{"no_such_category":true}"#, 400),
        ] {
            let refused = put(&app, &tab, body, Some(&csrf)).await;
            assert_eq!(refused.status(), status, "{body}");
        }
        let huge = format!(
            r#"{{"improve_products":true,"pad":"{}"}}"#,
            "x".repeat(2 * 1024 * 1024)
        );
        assert_eq!(put(&app, &tab, &huge, Some(&csrf)).await.status(), 413);
        assert_eq!(
            put(&app, &tab, r#"{"improve_products":true}"#, None)
                .await
                .status(),
            403
        );
        // Nobody signed in: the page leads to sign-in, the API answers 401; nothing changes.
        let stranger = Tab::new(FIREFOX_LINUX);
        let (_, at, _) = stranger.get(&app, PRIVACY).await;
        assert!(at.contains("/login?flow="), "{at}");
        let api = http()
            .put(app.url(PRIVACY))
            .header("content-type", "application/json")
            .header("x-csrf-token", &csrf)
            .body(r#"{"improve_products":true}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(
            api.status(),
            403,
            "no CSRF cookie: refused before anything else"
        );
        let state = state_json(&app, &tab).await;
        assert_eq!(changes(&state), 0);
        assert!(!enabled(&state, "improve_products"));
        app
    })
    .await;
}

#[tokio::test]
async fn a4_relying_parties_get_the_preferences_with_the_privacy_scope_at_userinfo() {
    each_backend(|app| async move {
        app.create_user(A).await;
        let mut rp = confidential("rp");
        rp.allowed_scopes.push("privacy".to_owned());
        let secret = app.create_client(rp).await.unwrap();
        // A client whose own list lacks the scope may not ask for it.
        let narrow = app.create_client(confidential("narrow")).await.unwrap();
        assert!(!narrow.is_empty());
        let tab = signed_in_browser(&app, A, FIREFOX_LINUX).await;
        let csrf = tab.csrf(&app).await;
        let set = put(&app, &tab, r#"{"improve_products":true}"#, Some(&csrf)).await;
        assert_eq!(set.status(), 200);
        for (scope, expected) in [
            ("openid%20privacy", Some(json!({"required": true, "improve_products": true, "personalised_offers": false}))),
            ("openid%20email", None),
        ] {
            let url = lanyard_testkit::fixtures::authorize_url(&app, "rp", "")
                .replace("scope=openid%20email", &format!("scope={scope}"));
            let (_, at, page) = tab.get(&app, &url).await;
            assert!(at.starts_with(REDIRECT), "{at}: {page}");
            let code = query_param(&at, "code").unwrap();
            let (status, tokens) = body_json(redeem(&app, "rp", &secret, &code, VERIFIER).await).await;
            assert_eq!(status, 200, "{tokens}");
            let info: Value = http()
                .get(app.url("/userinfo"))
                .bearer_auth(tokens["access_token"].as_str().unwrap())
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert_eq!(info.get("privacy").cloned(), expected, "{scope}: {info}");
        }
        let url = lanyard_testkit::fixtures::authorize_url(&app, "narrow", "")
            .replace("scope=openid%20email", "scope=openid%20privacy");
        let (_, at, _) = tab.get(&app, &url).await;
        assert_eq!(query_param(&at, "error").as_deref(), Some("invalid_scope"), "{at}");
        let discovery: Value = http()
            .get(app.url("/.well-known/openid-configuration"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(discovery["scopes_supported"].as_array().unwrap().contains(&json!("privacy")));
        assert!(discovery["claims_supported"].as_array().unwrap().contains(&json!("privacy")));
        app
    })
    .await;
}
