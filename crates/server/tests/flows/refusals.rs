//! Refusals at the authorization and token endpoints, named after the security tests they
//! cover (shared/design/security-tests.md).

use crate::helpers::{
    CHALLENGE, REDIRECT, VERIFIER, authorize_url, confidential, each_backend, http, json,
    obtain_code, query_param, redeem, urlencode,
};

#[tokio::test]
async fn s01_s03_unknown_client_or_unregistered_redirect_shows_a_page_and_never_redirects() {
    each_backend(|app| async move {
        app.create_client(confidential("rp")).await;
        for url in [
            authorize_url(&app, "nobody", ""),
            format!("{}/authorize?response_type=code&scope=openid", app.base_url),
            authorize_url(&app, "rp", "").replace(
                &urlencode(REDIRECT),
                &urlencode("https://rp.example.com/cb/"),
            ),
            authorize_url(&app, "rp", "").replace(
                &urlencode(REDIRECT),
                &urlencode("https://rp.example.com@evil.com/cb"),
            ),
            authorize_url(&app, "rp", "").replace(&urlencode(REDIRECT), "javascript%3Aalert(1)"),
        ] {
            let response = http().get(&url).send().await.unwrap();
            assert_eq!(response.status(), 400, "{url}");
            assert!(response.headers().get("location").is_none(), "{url}");
            assert!(response.text().await.unwrap().contains("<h1"));
        }
        app
    })
    .await;
}

#[tokio::test]
async fn s03_s06_errors_after_a_trusted_redirect_go_back_to_the_client() {
    each_backend(|app| async move {
        app.create_client(confidential("rp")).await;
        let cases = [
            (
                "code_challenge_method=S256",
                "code_challenge_method=plain",
                "invalid_request",
            ),
            (
                "response_type=code",
                "response_type=token",
                "unsupported_response_type",
            ),
        ];
        for (from, extra, expected) in cases {
            let url = authorize_url(&app, "rp", "").replace(from, extra);
            let response = http().get(&url).send().await.unwrap();
            assert_eq!(response.status(), 302, "{extra}");
            let location = response.headers()["location"].to_str().unwrap().to_owned();
            assert!(location.starts_with(REDIRECT));
            assert_eq!(
                query_param(&location, "error").as_deref(),
                Some(expected),
                "{extra}"
            );
            assert_eq!(query_param(&location, "state").as_deref(), Some("st"));
            assert_eq!(
                query_param(&location, "iss").as_deref(),
                Some(app.base_url.as_str())
            );
            assert!(query_param(&location, "code").is_none());
        }
        let url =
            authorize_url(&app, "rp", "").replace("scope=openid%20email", "scope=does_not_exist");
        let location = http().get(&url).send().await.unwrap().headers()["location"]
            .to_str()
            .unwrap()
            .to_owned();
        assert_eq!(
            query_param(&location, "error").as_deref(),
            Some("invalid_scope")
        );
        let short = authorize_url(&app, "rp", "").replace(CHALLENGE, &"a".repeat(42));
        let location = http().get(&short).send().await.unwrap().headers()["location"]
            .to_str()
            .unwrap()
            .to_owned();
        assert_eq!(
            query_param(&location, "error").as_deref(),
            Some("invalid_request")
        );
        app
    })
    .await;
}

#[tokio::test]
async fn s07_wrong_verifier_burns_the_code_and_s08_replay_revokes_its_tokens() {
    each_backend(|app| async move {
        app.create_user("a@example.com").await;
        let secret = app.create_client(confidential("rp")).await.unwrap();
        let code = obtain_code(&app, "rp", "a@example.com").await;
        let wrong = "x".repeat(43);
        let (status, body) = json(redeem(&app, "rp", &secret, &code, &wrong).await).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant"))
        );
        let (status, _) = json(redeem(&app, "rp", &secret, &code, VERIFIER).await).await;
        assert_eq!(
            status, 400,
            "the right verifier can not revive a burned code"
        );

        let code = obtain_code(&app, "rp", "a@example.com").await;
        let (status, tokens) = json(redeem(&app, "rp", &secret, &code, VERIFIER).await).await;
        assert_eq!(status, 200);
        let (status, body) = json(redeem(&app, "rp", &secret, &code, VERIFIER).await).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant"))
        );
        let refresh = tokens["refresh_token"].as_str().unwrap();
        let response = http()
            .post(app.url("/token"))
            .basic_auth("rp", Some(&secret))
            .form(&[("grant_type", "refresh_token"), ("refresh_token", refresh)])
            .send()
            .await
            .unwrap();
        assert_eq!(json(response).await.1["error"], "invalid_grant");
        let introspection = http()
            .post(app.url("/introspect"))
            .basic_auth("rp", Some(&secret))
            .form(&[("token", tokens["access_token"].as_str().unwrap())])
            .send()
            .await
            .unwrap();
        assert_eq!(
            json(introspection).await.1,
            serde_json::json!({"active": false})
        );
        app
    })
    .await;
}

#[tokio::test]
async fn s10_expired_code_and_another_clients_code_are_refused() {
    each_backend(|app| async move {
        app.create_user("a@example.com").await;
        let secret = app.create_client(confidential("rp")).await.unwrap();
        let other_secret = app.create_client(confidential("other")).await.unwrap();
        let code = obtain_code(&app, "rp", "a@example.com").await;
        let (status, body) =
            json(redeem(&app, "other", &other_secret, &code, VERIFIER).await).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant"))
        );
        let code = obtain_code(&app, "rp", "a@example.com").await;
        app.clock.advance(61);
        let (status, body) = json(redeem(&app, "rp", &secret, &code, VERIFIER).await).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant"))
        );
        let response = http()
            .post(app.url("/token"))
            .basic_auth("rp", Some("lyd_cs_wrong"))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401);
        assert!(
            response.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Basic")
        );
        assert_eq!(response.headers()["cache-control"], "no-store");
        app
    })
    .await;
}

#[tokio::test]
async fn s13_reuse_of_a_rotated_refresh_token_revokes_the_family() {
    each_backend(|app| async move {
        app.create_user("a@example.com").await;
        let secret = app.create_client(confidential("rp")).await.unwrap();
        let code = obtain_code(&app, "rp", "a@example.com").await;
        let (_, tokens) = json(redeem(&app, "rp", &secret, &code, VERIFIER).await).await;
        let refresh = |rt: String| {
            let secret = secret.clone();
            let url = app.url("/token");
            async move {
                json(
                    http()
                        .post(url)
                        .basic_auth("rp", Some(secret))
                        .form(&[
                            ("grant_type", "refresh_token"),
                            ("refresh_token", rt.as_str()),
                        ])
                        .send()
                        .await
                        .unwrap(),
                )
                .await
            }
        };
        let rt1 = tokens["refresh_token"].as_str().unwrap().to_owned();
        let (s, t2) = refresh(rt1.clone()).await;
        assert_eq!(s, 200);
        let rt2 = t2["refresh_token"].as_str().unwrap().to_owned();
        let (s, t3) = refresh(rt2).await;
        assert_eq!(s, 200);
        let rt3 = t3["refresh_token"].as_str().unwrap().to_owned();
        let (s, body) = refresh(rt1).await;
        assert_eq!((s, body["error"].as_str()), (400, Some("invalid_grant")));
        let (s, _) = refresh(rt3).await;
        assert_eq!(s, 400, "the newest token of a revoked family is dead too");
        let userinfo = http()
            .get(app.url("/userinfo"))
            .bearer_auth(t3["access_token"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(userinfo.status(), 401);
        app
    })
    .await;
}

#[tokio::test]
async fn s51_s52_malformed_duplicated_and_misplaced_parameters_are_refused() {
    each_backend(|app| async move {
        let secret = app.create_client(confidential("rp")).await.unwrap();
        let dup = format!("{}&client_id=evil", authorize_url(&app, "rp", ""));
        let response = http().get(&dup).send().await.unwrap();
        assert_eq!(response.status(), 400);
        assert!(response.headers().get("location").is_none());
        let bad_utf8 = format!(
            "{}&state=%C0%AE",
            authorize_url(&app, "rp", "").replace("&state=st", "")
        );
        assert_eq!(http().get(&bad_utf8).send().await.unwrap().status(), 400);

        let token = app.url("/token");
        let cases: Vec<(reqwest::RequestBuilder, u16)> = vec![
            (
                http()
                    .post(&token)
                    .basic_auth("rp", Some(&secret))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body("grant_type=client_credentials&grant_type=client_credentials"),
                400,
            ),
            (
                http()
                    .post(&token)
                    .basic_auth("rp", Some(&secret))
                    .json(&serde_json::json!({"grant_type": "client_credentials"})),
                400,
            ),
            (
                http()
                    .post(format!("{token}?client_secret={secret}"))
                    .form(&[("grant_type", "client_credentials"), ("client_id", "rp")]),
                400,
            ),
            (
                http()
                    .post(&token)
                    .basic_auth("rp", Some(&secret))
                    .form(&[("grant_type", "client_credentials"), ("client_id", "other")]),
                400,
            ),
            (
                http()
                    .post(&token)
                    .basic_auth("rp", Some(&secret))
                    .form(&[("grant_type", "password")]),
                400,
            ),
            (
                http()
                    .post(&token)
                    .basic_auth("rp", Some(&secret))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(vec![b'a'; 200 * 1024]),
                413,
            ),
            (http().get(&token), 405),
        ];
        for (request, expected) in cases {
            let response = request.send().await.unwrap();
            assert_eq!(response.status().as_u16(), expected);
        }
        let response = http()
            .post(&token)
            .basic_auth("rp", Some(&secret))
            .form(&[("grant_type", "password")])
            .send()
            .await
            .unwrap();
        assert_eq!(json(response).await.1["error"], "unsupported_grant_type");
        app
    })
    .await;
}

#[tokio::test]
async fn s09_twenty_parallel_redemptions_of_one_code_succeed_once() {
    each_backend(|app| async move {
        app.create_user("a@example.com").await;
        let secret = app.create_client(confidential("rp")).await.unwrap();
        let code = obtain_code(&app, "rp", "a@example.com").await;
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(20));
        let url = app.url("/token");
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let (barrier, url, secret, code) =
                    (barrier.clone(), url.clone(), secret.clone(), code.clone());
                tokio::spawn(async move {
                    let request = http().post(url).basic_auth("rp", Some(secret)).form(&[
                        ("grant_type", "authorization_code"),
                        ("code", code.as_str()),
                        ("redirect_uri", REDIRECT),
                        ("code_verifier", VERIFIER),
                    ]);
                    barrier.wait().await;
                    json(request.send().await.unwrap()).await
                })
            })
            .collect();
        let mut winners = Vec::new();
        for task in tasks {
            let (status, body) = task.await.unwrap();
            match status {
                200 => winners.push(body),
                400 => assert_eq!(body["error"], "invalid_grant"),
                other => panic!("unexpected status {other}: {body}"),
            }
        }
        assert_eq!(winners.len(), 1);
        // The 19 others were replays, however they interleaved with the winner: its grant
        // is revoked (S08), even when a replay came before the grant existed.
        let winner = &winners[0];
        let (status, body) = json(
            http()
                .post(app.url("/token"))
                .basic_auth("rp", Some(&secret))
                .form(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", winner["refresh_token"].as_str().unwrap()),
                ])
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant"))
        );
        let (_, introspection) = json(
            http()
                .post(app.url("/introspect"))
                .basic_auth("rp", Some(&secret))
                .form(&[("token", winner["access_token"].as_str().unwrap())])
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(introspection["active"], false);
        app
    })
    .await;
}
