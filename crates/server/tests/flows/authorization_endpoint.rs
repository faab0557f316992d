//! The authorization endpoint as OIDC Core §3.1.2.1 has it: GET and form-encoded POST, with
//! the same validation, pages and errors (D2), and `max_age` (B9), over HTTP on every
//! backend.

use lanyard_core::Clock;
use lanyard_testkit::{Browser, PASSWORD, TestApp};
use reqwest::header::{CONTENT_TYPE, LOCATION};

use crate::helpers::{
    CHALLENGE, REDIRECT, VERIFIER, authorize_url, confidential, each_backend, json, jwt_claims,
    query_param, redeem,
};

const EMAIL: &str = "poppy@example.com";

/// The parameters of [`authorize_url`] as a form, with `extra` pairs added.
fn form<'a>(client_id: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", REDIRECT),
        ("scope", "openid email"),
        ("state", "st"),
        ("nonce", "nn"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    form.extend_from_slice(extra);
    form
}

/// POSTs the form to /authorize (no CSRF token: it comes from the client's site).
async fn post(browser: &Browser, app: &TestApp, fields: &[(&str, &str)]) -> reqwest::Response {
    browser
        .http
        .post(app.url("/authorize"))
        .form(fields)
        .send()
        .await
        .unwrap()
}

fn location(response: &reqwest::Response) -> String {
    response.headers()[LOCATION].to_str().unwrap().to_owned()
}

/// A POST that validated: 303 to the GET that continues it.
async fn continued(browser: &Browser, app: &TestApp, fields: &[(&str, &str)]) -> String {
    let response = post(browser, app, fields).await;
    assert_eq!(response.status(), 303);
    let at = location(&response);
    assert!(at.starts_with("/authorize/continue?flow="), "{at}");
    app.url(&at)
}

#[tokio::test]
async fn oidc_3_1_2_1_post_authorize_signs_in_and_returns_a_code_like_get() {
    each_backend(|app| async move {
        let secret = app.create_client(confidential("rp")).await.unwrap();
        app.create_user(EMAIL).await;
        let browser = Browser::new();
        let next = continued(&browser, &app, &form("rp", &[])).await;
        let back = browser
            .sign_in(&next, &app.base_url, &app.mail, EMAIL, PASSWORD)
            .await;
        assert!(back.starts_with(REDIRECT), "{back}");
        assert_eq!(query_param(&back, "state").as_deref(), Some("st"));
        assert_eq!(
            query_param(&back, "iss").as_deref(),
            Some(app.base_url.as_str())
        );
        let code = query_param(&back, "code").unwrap();
        let (status, tokens) = json(redeem(&app, "rp", &secret, &code, VERIFIER).await).await;
        assert_eq!(status, 200, "{tokens}");
        assert_eq!(
            jwt_claims(tokens["id_token"].as_str().unwrap())["nonce"],
            "nn"
        );

        // Signed in, a second POST comes straight back with a code, as a GET would.
        let next = continued(&browser, &app, &form("rp", &[])).await;
        let (status, at, _) = browser.get(&next, &app.base_url).await;
        assert_eq!(status, 302);
        assert!(query_param(&at, "code").is_some(), "{at}");
        // The same request by GET answers the same way.
        let (status, at, _) = browser
            .get(&authorize_url(&app, "rp", ""), &app.base_url)
            .await;
        assert_eq!(status, 302);
        assert!(query_param(&at, "code").is_some(), "{at}");
        app
    })
    .await;
}

#[tokio::test]
async fn oidc_3_1_2_1_post_authorize_refuses_like_get_s01_s03_s51_s52() {
    each_backend(|app| async move {
        app.create_client(confidential("rp")).await.unwrap();
        let browser = Browser::new();
        // Before the client and redirect URI are trusted: a page, never a redirect.
        for (what, fields) in [
            ("unknown client", form("nobody", &[])),
            (
                "unregistered redirect",
                form("rp", &[])
                    .into_iter()
                    .map(|(k, v)| {
                        if k == "redirect_uri" {
                            (k, "https://evil.example/cb")
                        } else {
                            (k, v)
                        }
                    })
                    .collect(),
            ),
            ("no client", vec![("response_type", "code")]),
        ] {
            let response = post(&browser, &app, &fields).await;
            assert_eq!(response.status(), 400, "{what}");
            assert!(response.headers().get(LOCATION).is_none(), "{what}");
            assert!(
                response.headers()[CONTENT_TYPE]
                    .to_str()
                    .unwrap()
                    .starts_with("text/html"),
                "{what}"
            );
        }
        // After: the error goes back to the client, with its state, by GET (303).
        let response = post(&browser, &app, &form("rp", &[("prompt", "sideways")])).await;
        assert_eq!(response.status(), 303);
        let at = location(&response);
        assert!(at.starts_with(REDIRECT), "{at}");
        assert_eq!(
            query_param(&at, "error").as_deref(),
            Some("invalid_request")
        );
        assert_eq!(query_param(&at, "state").as_deref(), Some("st"));
        let mut bad_scope = form("rp", &[]);
        bad_scope.retain(|(k, _)| *k != "scope");
        bad_scope.push(("scope", "openid admin"));
        let response = post(&browser, &app, &bad_scope).await;
        assert_eq!(response.status(), 303);
        assert_eq!(
            query_param(&location(&response), "error").as_deref(),
            Some("invalid_scope")
        );

        // Malformed, repeated, misplaced and oversized input.
        let raw = |body: String, content_type: &'static str, path: &'static str| {
            let http = browser.http.clone();
            let url = app.url(path);
            async move {
                http.post(url)
                    .header(CONTENT_TYPE, content_type)
                    .body(body)
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }
        };
        let form_type = "application/x-www-form-urlencoded";
        assert_eq!(
            raw("client_id=rp&client_id=rp".into(), form_type, "/authorize").await,
            400
        );
        assert_eq!(
            raw("client_id=%ZZ".into(), form_type, "/authorize").await,
            400
        );
        assert_eq!(
            raw(
                "{\"client_id\":\"rp\"}".into(),
                "application/json",
                "/authorize"
            )
            .await,
            400
        );
        assert_eq!(
            raw("client_id=rp".into(), form_type, "/authorize?client_id=rp").await,
            400,
            "parameters in the query and the body"
        );
        let huge = format!("client_id=rp&state={}", "a".repeat(80 * 1024));
        assert_eq!(raw(huge, form_type, "/authorize").await, 413);
        // Other methods are still refused.
        let response = browser
            .http
            .put(app.url("/authorize"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 405);
        app
    })
    .await;
}

#[tokio::test]
async fn oidc_3_1_2_1_post_authorize_needs_no_csrf_token_but_consent_still_does() {
    each_backend(|app| async move {
        app.create_client(confidential("rp")).await.unwrap();
        let mut third = confidential("third");
        third.first_party = false;
        app.create_client(third).await.unwrap();
        app.create_user(EMAIL).await;
        let browser = Browser::new();
        let next = continued(&browser, &app, &form("rp", &[])).await;
        let back = browser
            .sign_in(&next, &app.base_url, &app.mail, EMAIL, PASSWORD)
            .await;
        assert!(back.starts_with(REDIRECT), "{back}");

        // A third-party app's POST reaches the consent page of the signed-in browser.
        let next = continued(&browser, &app, &form("third", &[])).await;
        let (status, at, page) = browser.get(&next, &app.base_url).await;
        assert_eq!(status, 200, "{at}");
        assert!(page.contains("name=\"decision\""), "{page}");
        let flow = lanyard_testkit::recording::hidden_field(&page, "flow").unwrap();
        // The consent form without its CSRF token is refused and changes nothing.
        let response = browser
            .http
            .post(app.url("/consent"))
            .form(&[("flow", flow.as_str()), ("decision", "allow")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403);
        let (_, at, _) = browser
            .submit(&page, &app.base_url, &[("decision", "allow")])
            .await;
        assert!(at.starts_with(REDIRECT), "{at}");
        assert!(query_param(&at, "code").is_some(), "{at}");
        app
    })
    .await;
}

#[tokio::test]
async fn b9_max_age_zero_asks_again_within_the_second_of_the_sign_in() {
    each_backend(|app| async move {
        let secret = app.create_client(confidential("rp")).await.unwrap();
        app.create_user(EMAIL).await;
        let browser = Browser::new();
        let back = browser
            .sign_in(
                &authorize_url(&app, "rp", ""),
                &app.base_url,
                &app.mail,
                EMAIL,
                PASSWORD,
            )
            .await;
        let code = query_param(&back, "code").unwrap();
        let (_, tokens) = json(redeem(&app, "rp", &secret, &code, VERIFIER).await).await;
        let signed_in_at = jwt_claims(tokens["id_token"].as_str().unwrap())["auth_time"]
            .as_i64()
            .unwrap();
        // The clock has not moved: the sign-in happened in this very second.
        assert_eq!(signed_in_at, app.clock.now().seconds());
        let (_, at, _) = browser
            .get(&authorize_url(&app, "rp", "&max_age=60"), &app.base_url)
            .await;
        assert!(
            query_param(&at, "code").is_some(),
            "a recent sign-in is enough: {at}"
        );
        for extra in ["&max_age=0", "&max_age=0&prompt=login"] {
            let (status, at, page) = browser
                .get(&authorize_url(&app, "rp", extra), &app.base_url)
                .await;
            assert_eq!(status, 200, "{extra}: {at}");
            assert!(at.contains("/login"), "{extra}: sign in again, at {at}");
            assert!(page.contains("name=\"email\"") || page.contains("name=\"password\""));
        }
        // Also by POST, and with prompt=none it can not be met silently.
        let next = continued(&browser, &app, &form("rp", &[("max_age", "0")])).await;
        let (_, at, _) = browser.get(&next, &app.base_url).await;
        assert!(at.contains("/login"), "{at}");
        let (_, at, _) = browser
            .get(
                &authorize_url(&app, "rp", "&max_age=0&prompt=none"),
                &app.base_url,
            )
            .await;
        assert_eq!(
            query_param(&at, "error").as_deref(),
            Some("login_required"),
            "{at}"
        );
        // Signing in again (still the same second) gives a code.
        let back = browser
            .sign_in(
                &authorize_url(&app, "rp", "&max_age=0"),
                &app.base_url,
                &app.mail,
                EMAIL,
                PASSWORD,
            )
            .await;
        assert!(query_param(&back, "code").is_some(), "{back}");
        // Negative and non-numbers are refused back to the client.
        for bad in ["&max_age=-1", "&max_age=soon"] {
            let (_, at, _) = browser
                .get(&authorize_url(&app, "rp", bad), &app.base_url)
                .await;
            assert_eq!(
                query_param(&at, "error").as_deref(),
                Some("invalid_request"),
                "{bad}"
            );
        }
        app
    })
    .await;
}
