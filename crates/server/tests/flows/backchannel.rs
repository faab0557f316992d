//! The back-channel endpoints over HTTP: `private_key_jwt` (RFC 7523) — a good assertion
//! works once; expired, replayed, unsigned and HMAC-with-the-public-key assertions get 401
//! `invalid_client` — and introspection of rotated refresh tokens (RFC 7662).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use lanyard_core::model::{ClientAuthMethod, GrantType, SigningAlg};
use lanyard_core::{Clock, OsRng};
use lanyard_crypto::Kek;
use lanyard_crypto::keys::{KeyRing, generate_signing_key};
use lanyard_server::NewClient;
use serde_json::json;

use crate::helpers::{
    assertion, each_backend, each_backend_with, http, json as body_json, key_client,
};

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

async fn token_with(app: &lanyard_testkit::TestApp, assertion: &str) -> (u16, serde_json::Value) {
    let response = http()
        .post(app.url("/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", assertion),
        ])
        .send()
        .await
        .unwrap();
    body_json(response).await
}

#[tokio::test]
async fn s09_s17_s18_private_key_jwt_works_once_and_refuses_expired_replayed_none_and_hs256() {
    each_backend(|app| async move {
        let kek = Kek::generate(&OsRng);
        let now = app.clock.now();
        let record =
            generate_signing_key(SigningAlg::ES256, "client-key".into(), &kek, now, now).unwrap();
        let ring = KeyRing::load(std::slice::from_ref(&record), &kek, now).unwrap();
        let signer = ring.signer(SigningAlg::ES256).unwrap();
        let public_jwk: serde_json::Value = serde_json::from_str(&record.public_jwk).unwrap();
        app.create_client(NewClient {
            id: "svc".into(),
            name: "Service".into(),
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            grant_types: vec![GrantType::ClientCredentials],
            auth_method: ClientAuthMethod::PrivateKeyJwt,
            jwks: Some(json!({ "keys": [public_jwk.clone()] })),
            first_party: true,
            allowed_scopes: vec!["api".into()],
            exchange_audiences: vec![],
            backchannel_logout_uri: None,
            backchannel_logout_session_required: false,
        })
        .await;
        let claims = |jti: &str, exp: i64| {
            json!({
                "iss": "svc", "sub": "svc", "aud": app.url("/token"),
                "jti": jti, "iat": now.seconds(), "exp": exp,
            })
        };

        let good = signer
            .sign("JWT", &claims("one", now.seconds() + 60))
            .unwrap();
        let (status, body) = token_with(&app, &good).await;
        assert_eq!(status, 200, "{body}");
        assert!(body["access_token"].is_string());

        let (status, body) = token_with(&app, &good).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid_client")),
            "replayed"
        );

        let expired = signer
            .sign("JWT", &claims("two", now.seconds() - 120))
            .unwrap();
        let (status, _) = token_with(&app, &expired).await;
        assert_eq!(status, 401, "expired");

        let too_long = signer
            .sign("JWT", &claims("three", now.seconds() + 86_400))
            .unwrap();
        let (status, _) = token_with(&app, &too_long).await;
        assert_eq!(status, 401, "lives too long");

        let payload = URL_SAFE_NO_PAD.encode(claims("four", now.seconds() + 60).to_string());
        for alg in ["none", "None", "NONE"] {
            let header =
                URL_SAFE_NO_PAD.encode(json!({"alg": alg, "kid": "client-key"}).to_string());
            let (status, _) = token_with(&app, &format!("{header}.{payload}.")).await;
            assert_eq!(status, 401, "alg {alg}");
        }

        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        header.kid = Some("client-key".into());
        let hs256 = jsonwebtoken::encode(
            &header,
            &claims("five", now.seconds() + 60),
            &jsonwebtoken::EncodingKey::from_secret(public_jwk.to_string().as_bytes()),
        )
        .unwrap();
        let (status, _) = token_with(&app, &hs256).await;
        assert_eq!(status, 401, "HS256 with the public key");

        // Another client's name in iss/sub does not borrow this client's keys.
        let mut forged = claims("six", now.seconds() + 60);
        forged["sub"] = json!("other");
        let (status, _) = token_with(&app, &signer.sign("JWT", &forged).unwrap()).await;
        assert_eq!(status, 401, "sub is not the client");
        app
    })
    .await;
}

#[tokio::test]
async fn s16_a_rotated_out_refresh_token_introspects_as_inactive() {
    each_backend(|app| async move {
        app.create_user("a@example.com").await;
        let secret = app
            .create_client(crate::helpers::confidential("rp"))
            .await
            .unwrap();
        let code = crate::helpers::obtain_code(&app, "rp", "a@example.com").await;
        let (_, tokens) = body_json(
            crate::helpers::redeem(&app, "rp", &secret, &code, crate::helpers::VERIFIER).await,
        )
        .await;
        let first = tokens["refresh_token"].as_str().unwrap().to_owned();
        let introspect = |token: String| {
            let secret = secret.clone();
            let url = app.url("/introspect");
            async move {
                let response = http()
                    .post(url)
                    .basic_auth("rp", Some(secret))
                    .form(&[("token", token.as_str())])
                    .send()
                    .await
                    .unwrap();
                body_json(response).await.1["active"].clone()
            }
        };
        assert_eq!(introspect(first.clone()).await, json!(true));
        let (status, _) = body_json(
            http()
                .post(app.url("/token"))
                .basic_auth("rp", Some(&secret))
                .form(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", first.as_str()),
                ])
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(introspect(first).await, json!(false));
        app
    })
    .await;
}

/// RFC 7662 §2.2: `token_type` is the OAuth token type of an access token (Bearer); an
/// active refresh token is introspected without one, never as `refresh_token`.
#[tokio::test]
async fn rfc7662_2_2_a_refresh_token_introspects_without_a_token_type() {
    each_backend(|app| async move {
        app.create_user("a@example.com").await;
        let secret = app
            .create_client(crate::helpers::confidential("rp"))
            .await
            .unwrap();
        let tokens = crate::helpers::sign_in_tokens(&app, "rp", &secret, "a@example.com").await;
        let introspect = |token: String| {
            let secret = secret.clone();
            let url = app.url("/introspect");
            async move {
                let response = http()
                    .post(url)
                    .basic_auth("rp", Some(secret))
                    .form(&[("token", token.as_str())])
                    .send()
                    .await
                    .unwrap();
                body_json(response).await.1
            }
        };
        let refresh = introspect(tokens["refresh_token"].as_str().unwrap().to_owned()).await;
        assert_eq!(refresh["active"], json!(true), "{refresh}");
        assert!(refresh.get("token_type").is_none(), "{refresh}");
        let access = introspect(tokens["access_token"].as_str().unwrap().to_owned()).await;
        assert_eq!(access["token_type"], json!("Bearer"), "{access}");
        app
    })
    .await;
}

/// POSTs `form` to `path` authenticated by `assertion`.
async fn post_with(
    app: &lanyard_testkit::TestApp,
    path: &str,
    assertion: &str,
    form: &[(&str, &str)],
) -> (u16, serde_json::Value) {
    let mut fields = vec![
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_assertion", assertion),
    ];
    fields.extend_from_slice(form);
    let response = http()
        .post(app.url(path))
        .form(&fields)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(serde_json::Value::Null);
    (status, body)
}

/// Issue 11 item 16, RFC 7523 §3: an assertion living an hour (`exp = iat + 3600`, what
/// common libraries sign) is accepted by default, one a second longer is not; a client
/// whose clock runs 30 s ahead and signs exactly 600 s is accepted; the `jti` is kept until
/// the assertion's `exp`, so a replay late in its life is still refused.
#[tokio::test]
async fn rfc7523_3_assertion_lifetime_leeway_and_replay() {
    each_backend(|app| async move {
        let ring = key_client(&app, "svc").await;
        let now = app.clock.now().seconds();
        let claims = |jti: &str, iat: i64, exp: i64| {
            json!({"iss": "svc", "sub": "svc", "aud": app.url("/token"),
                   "jti": jti, "iat": iat, "exp": exp})
        };
        let hour = assertion(&ring, &claims("hour", now, now + 3600));
        let (status, body) = token_with(&app, &hour).await;
        assert_eq!(status, 200, "an hour: {body}");

        let skewed = assertion(&ring, &claims("skewed", now + 30, now + 630));
        let (status, body) = token_with(&app, &skewed).await;
        assert_eq!(status, 200, "600 s from a clock 30 s ahead: {body}");

        for (jti, iat, exp, why) in [
            ("longer", now, now + 3601, "3601 s"),
            (
                "no-iat-long",
                0,
                now + 3661,
                "exp beyond max + leeway without iat",
            ),
            ("future", now + 61, now + 600, "issued beyond the leeway"),
            ("expired", now - 700, now - 61, "expired beyond the leeway"),
        ] {
            let mut c = claims(jti, iat, exp);
            if iat == 0 {
                c.as_object_mut().unwrap().remove("iat");
            }
            let (status, body) = token_with(&app, &assertion(&ring, &c)).await;
            assert_eq!(
                (status, body["error"].as_str()),
                (401, Some("invalid_client")),
                "{why}"
            );
        }

        // Late in its life the hour-long assertion is still remembered.
        app.clock.advance(3000);
        let (status, body) = token_with(&app, &hour).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid_client")),
            "replay"
        );
        app
    })
    .await;
}

/// RFC 7523 §3: at /introspect and /revoke the assertion may name the URL being called (as
/// well as the issuer and the token endpoint); that URL is not an audience at /token, and
/// an unrelated audience is refused everywhere.
#[tokio::test]
async fn rfc7523_3_the_called_endpoint_is_an_audience_only_there() {
    each_backend(|app| async move {
        let ring = key_client(&app, "svc").await;
        let now = app.clock.now().seconds();
        let claims = |jti: &str, aud: String| {
            json!({"iss": "svc", "sub": "svc", "aud": aud,
                   "jti": jti, "iat": now, "exp": now + 300})
        };
        let (status, body) =
            token_with(&app, &assertion(&ring, &claims("t", app.url("/token")))).await;
        assert_eq!(status, 200, "{body}");
        let access = body["access_token"].as_str().unwrap().to_owned();
        let token_form = [("token", access.as_str())];

        let at_introspect = assertion(&ring, &claims("i1", app.url("/introspect")));
        let (status, body) = post_with(&app, "/introspect", &at_introspect, &token_form).await;
        assert_eq!(
            (status, body["active"].clone()),
            (200, json!(true)),
            "{body}"
        );
        let other = assertion(&ring, &claims("i2", app.url("/introspect")));
        let (status, _) = token_with(&app, &other).await;
        assert_eq!(
            status, 401,
            "the introspection URL is no audience at /token"
        );
        let (status, _) = post_with(
            &app,
            "/revoke",
            &assertion(&ring, &claims("i3", app.url("/introspect"))),
            &token_form,
        )
        .await;
        assert_eq!(status, 401, "nor at /revoke");

        for aud in [app.config.server.issuer.clone(), app.url("/token")] {
            let (status, _) = post_with(
                &app,
                "/introspect",
                &assertion(&ring, &claims(&format!("x{aud}"), aud.clone())),
                &token_form,
            )
            .await;
            assert_eq!(status, 200, "{aud}");
        }
        for (aud, why) in [
            (
                "https://elsewhere.example.com/introspect".to_owned(),
                "another server",
            ),
            (
                format!("{}/introspectx", app.config.server.issuer),
                "a longer path",
            ),
            (app.url("/userinfo"), "another endpoint"),
        ] {
            let (status, body) = post_with(
                &app,
                "/introspect",
                &assertion(&ring, &claims(why, aud)),
                &token_form,
            )
            .await;
            assert_eq!(
                (status, body["error"].as_str()),
                (401, Some("invalid_client")),
                "{why}"
            );
        }
        // Replayed at the endpoint it names: refused.
        let (status, _) = post_with(&app, "/introspect", &at_introspect, &token_form).await;
        assert_eq!(status, 401, "replay");

        let at_revoke = assertion(&ring, &claims("r1", app.url("/revoke")));
        let (status, _) = post_with(&app, "/revoke", &at_revoke, &token_form).await;
        assert_eq!(status, 200);
        app
    })
    .await;
}

/// Issue 11 item 15, RFC 8414 §2: both metadata documents list the signing algorithms of
/// every endpoint that lists `private_key_jwt`, so a strict metadata validator accepts them.
#[tokio::test]
async fn rfc8414_2_auth_signing_algs_are_listed_for_introspection_and_revocation() {
    each_backend(|app| async move {
        for path in [
            "/.well-known/openid-configuration",
            "/.well-known/oauth-authorization-server",
        ] {
            let (status, doc) = body_json(http().get(app.url(path)).send().await.unwrap()).await;
            assert_eq!(status, 200);
            for endpoint in ["token", "introspection", "revocation"] {
                let methods = doc[format!("{endpoint}_endpoint_auth_methods_supported")]
                    .as_array()
                    .unwrap()
                    .clone();
                assert!(
                    methods.contains(&json!("private_key_jwt")),
                    "{path} {endpoint}"
                );
                assert_eq!(
                    doc[format!("{endpoint}_endpoint_auth_signing_alg_values_supported")],
                    json!(["RS256", "ES256", "EdDSA"]),
                    "{path} {endpoint}"
                );
            }
        }
        app
    })
    .await;
}

/// Issue 11 item 16 with the maximum configured to 600 s: a client signing exactly 600 s
/// with its clock 30 s ahead is accepted (the leeway applies), 601 s is refused.
#[tokio::test]
async fn rfc7523_3_a_configured_maximum_applies_with_the_leeway() {
    let tweak = |c: &mut lanyard_server::config::Config| {
        c.tokens.client_assertion_max_lifetime_secs = 600;
        c.tokens.client_assertion_leeway_secs = 30;
    };
    each_backend_with(tweak, |app| async move {
        let ring = key_client(&app, "svc").await;
        let now = app.clock.now().seconds();
        let claims = |jti: &str, iat: i64, exp: i64| {
            json!({"iss": "svc", "sub": "svc", "aud": app.config.server.issuer.clone(),
                   "jti": jti, "iat": iat, "exp": exp})
        };
        let (status, body) =
            token_with(&app, &assertion(&ring, &claims("a", now + 30, now + 630))).await;
        assert_eq!(status, 200, "600 s from a clock 30 s ahead: {body}");
        for (jti, iat, exp, why) in [
            ("b", now, now + 601, "601 s"),
            ("c", now + 31, now + 631, "issued beyond the 30 s leeway"),
        ] {
            let (status, _) = token_with(&app, &assertion(&ring, &claims(jti, iat, exp))).await;
            assert_eq!(status, 401, "{why}");
        }
        app
    })
    .await;
}
