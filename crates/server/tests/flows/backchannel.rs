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

use crate::helpers::{each_backend, http, json as body_json};

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
