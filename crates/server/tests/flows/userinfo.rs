//! UserInfo's bearer token (RFC 6750) over HTTP on every backend: in the header or a
//! form-encoded POST body (§2.1, §2.2), never both, never the query; a request with no token
//! is told how to authenticate without an error code (§3.1).

use lanyard_testkit::TestApp;
use reqwest::header::{CONTENT_TYPE, WWW_AUTHENTICATE};

use crate::helpers::{confidential, each_backend, http, sign_in_tokens};

const FORM: &str = "application/x-www-form-urlencoded";

async fn access_token(app: &TestApp) -> (String, String) {
    let secret = app.create_client(confidential("rp")).await.unwrap();
    app.create_user("uma@example.com").await;
    let tokens = sign_in_tokens(app, "rp", &secret, "uma@example.com").await;
    (tokens["access_token"].as_str().unwrap().to_owned(), secret)
}

fn challenge(response: &reqwest::Response) -> String {
    response.headers()[WWW_AUTHENTICATE]
        .to_str()
        .unwrap()
        .to_owned()
}

async fn post_body(app: &TestApp, body: String, content_type: &str) -> reqwest::Response {
    http()
        .post(app.url("/userinfo"))
        .header(CONTENT_TYPE, content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn rfc6750_2_2_the_token_may_come_in_a_form_body() {
    each_backend(|app| async move {
        let (token, _) = access_token(&app).await;
        let response = http()
            .post(app.url("/userinfo"))
            .form(&[("access_token", token.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["cache-control"], "no-store");
        let info: serde_json::Value = response.json().await.unwrap();
        assert_eq!(info["email"], "uma@example.com");
        // The header still works, by GET and POST.
        for request in [
            http().get(app.url("/userinfo")),
            http().post(app.url("/userinfo")),
        ] {
            let response = request.bearer_auth(&token).send().await.unwrap();
            assert_eq!(response.status(), 200);
        }
        app
    })
    .await;
}

#[tokio::test]
async fn rfc6750_3_1_no_token_gets_a_bare_challenge() {
    each_backend(|app| async move {
        let (_, secret) = access_token(&app).await;
        let bare = "Bearer realm=\"lanyard\"";
        let requests = [
            http().get(app.url("/userinfo")),
            http().post(app.url("/userinfo")),
            http().post(app.url("/userinfo")).form(&[("other", "x")]),
            http()
                .post(app.url("/userinfo"))
                .form(&[("access_token", "")]),
            // Another scheme is no bearer token either.
            http()
                .get(app.url("/userinfo"))
                .basic_auth("rp", Some(&secret)),
        ];
        for (i, request) in requests.into_iter().enumerate() {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 401, "case {i}");
            assert_eq!(challenge(&response), bare, "case {i}");
        }
        app
    })
    .await;
}

#[tokio::test]
async fn rfc6750_2_one_place_only_and_malformed_or_revoked_tokens_are_refused() {
    each_backend(|app| async move {
        let (token, secret) = access_token(&app).await;
        // Header and body at once.
        let response = http()
            .post(app.url("/userinfo"))
            .bearer_auth(&token)
            .form(&[("access_token", token.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400);
        assert!(challenge(&response).contains("error=\"invalid_request\""));
        // The query string (RFC 6750 §2.3 is not supported).
        let response = http()
            .get(app.url(&format!("/userinfo?access_token={token}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400);
        // Not a form, repeated, malformed, oversized.
        let json = format!("{{\"access_token\":\"{token}\"}}");
        assert_eq!(
            post_body(&app, json, "application/json").await.status(),
            400
        );
        let twice = format!("access_token={token}&access_token={token}");
        assert_eq!(post_body(&app, twice, FORM).await.status(), 400);
        assert_eq!(
            post_body(&app, "access_token=%ZZ".into(), FORM)
                .await
                .status(),
            400
        );
        let huge = format!("access_token={token}&pad={}", "a".repeat(70 * 1024));
        assert_eq!(post_body(&app, huge, FORM).await.status(), 413);
        let response = http()
            .get(app.url("/userinfo"))
            .header("authorization", "Bearer ")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400);
        // A wrong token, in either place, is invalid_token.
        let response = post_body(&app, "access_token=not.a.jwt".into(), FORM).await;
        assert_eq!(response.status(), 401);
        assert!(challenge(&response).contains("error=\"invalid_token\""));
        // Revoked: refused in the body as in the header.
        let revoked = http()
            .post(app.url("/revoke"))
            .basic_auth("rp", Some(&secret))
            .form(&[("token", token.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(revoked.status(), 200);
        let response = post_body(&app, format!("access_token={token}"), FORM).await;
        assert_eq!(response.status(), 401);
        assert!(challenge(&response).contains("error=\"invalid_token\""));
        app
    })
    .await;
}

/// Tokens without a grant (`gid`) name no user, so UserInfo has nobody to describe: a
/// client_credentials token is `invalid_token` (§3.1) even when it carries `openid` (the
/// client's allowed scopes, granted whole when none is asked). A PAT's exchanged token gets the
/// same answer (`pats.rs`, `s27_a_pat_is_never_a_bearer_token_nor_part_of_a_url`).
#[tokio::test]
async fn rfc6750_3_1_a_client_credentials_token_is_an_invalid_token() {
    each_backend(|app| async move {
        let secret = app.create_client(confidential("svc")).await.unwrap();
        let response = http()
            .post(app.url("/token"))
            .basic_auth("svc", Some(&secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let tokens: serde_json::Value = response.json().await.unwrap();
        let scope = tokens["scope"].as_str().unwrap();
        assert!(scope.split(' ').any(|s| s == "openid"), "{scope}");
        let token = tokens["access_token"].as_str().unwrap();
        for request in [
            http().get(app.url("/userinfo")).bearer_auth(token),
            http()
                .post(app.url("/userinfo"))
                .form(&[("access_token", token)]),
        ] {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 401);
            assert!(
                challenge(&response).contains("error=\"invalid_token\""),
                "{}",
                challenge(&response)
            );
        }
        app
    })
    .await;
}

/// A disabled account's token: its grant is revoked with it, so `invalid_token` (§3.1).
#[tokio::test]
async fn rfc6750_3_1_a_disabled_accounts_token_is_an_invalid_token() {
    each_backend(|app| async move {
        let (token, _) = access_token(&app).await;
        let status = |response: reqwest::Response| response.status();
        let ask = || http().get(app.url("/userinfo")).bearer_auth(&token).send();
        assert_eq!(status(ask().await.unwrap()), 200);
        app.app
            .state
            .accounts
            .disable("uma@example.com", &lanyard_core::Origin::cli())
            .await
            .unwrap();
        let response = ask().await.unwrap();
        assert_eq!(response.status(), 401);
        assert!(challenge(&response).contains("error=\"invalid_token\""));
        app
    })
    .await;
}
