//! The client credentials grant with RFC 8707 `resource` and `audience`, over HTTP on every
//! backend: the token's `aud` is the registered API asked for (the issuer without one);
//! unregistered, relative or fragment URIs are `invalid_target`.

use lanyard_core::model::{ResourceServer, Resources};
use lanyard_server::config::Config;
use lanyard_testkit::TestApp;
use serde_json::Value;

use crate::helpers::{confidential, each_backend_with, http, json as body_json, jwt_claims};

const ORDERS: &str = "https://orders.example.com/";
/// An API registered under a logical name: reachable by `audience`, never by `resource`.
const LEGACY: &str = "legacy-api";

fn configure(c: &mut Config) {
    c.resources = Resources(vec![
        ResourceServer {
            identifier: ORDERS.to_owned(),
            scopes: vec!["api".to_owned()],
            ..Default::default()
        },
        ResourceServer {
            identifier: LEGACY.to_owned(),
            scopes: vec!["legacy".to_owned()],
            ..Default::default()
        },
    ]);
}

async fn client_credentials(app: &TestApp, secret: &str, extra: &[(&str, &str)]) -> (u16, Value) {
    let mut form = vec![("grant_type", "client_credentials")];
    form.extend_from_slice(extra);
    let response = http()
        .post(app.url("/token"))
        .basic_auth("svc", Some(secret))
        .form(&form)
        .send()
        .await
        .unwrap();
    body_json(response).await
}

#[tokio::test]
async fn rfc8707_2_the_token_is_for_the_resource_asked_for() {
    each_backend_with(configure, |app| async move {
        let secret = app
            .create_client(lanyard_server::NewClient {
                allowed_scopes: vec!["api".to_owned(), "legacy".to_owned(), "openid".to_owned()],
                ..confidential("svc")
            })
            .await
            .unwrap();
        let aud_of =
            |body: &Value| jwt_claims(body["access_token"].as_str().unwrap())["aud"].clone();

        let (status, body) = client_credentials(&app, &secret, &[("resource", ORDERS)]).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(aud_of(&body), ORDERS);
        // Only the scopes that API understands.
        assert_eq!(body["scope"], "api");

        let (status, body) = client_credentials(&app, &secret, &[("audience", LEGACY)]).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(aud_of(&body), LEGACY);
        assert_eq!(body["scope"], "legacy");

        let (status, body) = client_credentials(
            &app,
            &secret,
            &[("resource", ORDERS), ("audience", ORDERS), ("scope", "api")],
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(aud_of(&body), ORDERS);

        // Neither: the issuer, as before.
        let (status, body) = client_credentials(&app, &secret, &[]).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(aud_of(&body), app.config.server.issuer.as_str());

        // The API-bound token introspects with its audience.
        let (_, body) = client_credentials(&app, &secret, &[("resource", ORDERS)]).await;
        let response = http()
            .post(app.url("/introspect"))
            .basic_auth("svc", Some(&secret))
            .form(&[("token", body["access_token"].as_str().unwrap())])
            .send()
            .await
            .unwrap();
        let (_, seen) = body_json(response).await;
        assert_eq!(
            (seen["active"].clone(), seen["aud"].clone()),
            (true.into(), ORDERS.into())
        );
        app
    })
    .await;
}

#[tokio::test]
async fn rfc8707_2_unregistered_or_malformed_targets_are_invalid_target() {
    each_backend_with(configure, |app| async move {
        let secret = app
            .create_client(lanyard_server::NewClient {
                allowed_scopes: vec!["api".to_owned(), "legacy".to_owned()],
                ..confidential("svc")
            })
            .await
            .unwrap();
        let long = format!("https://orders.example.com/{}", "a".repeat(10_000));
        for (extra, why) in [
            (vec![("resource", LEGACY)], "not an absolute URI"),
            (vec![("resource", "/orders")], "relative"),
            (
                vec![("resource", "https://orders.example.com/#x")],
                "fragment",
            ),
            (
                vec![("resource", "https://other.example.com/")],
                "not registered",
            ),
            (vec![("resource", long.as_str())], "long and not registered"),
            (vec![("audience", "nope")], "audience not registered"),
            (vec![("audience", LEGACY), ("resource", ORDERS)], "disagree"),
        ] {
            let (status, body) = client_credentials(&app, &secret, &extra).await;
            assert_eq!(
                (status, body["error"].as_str()),
                (400, Some("invalid_target")),
                "{why}: {body}"
            );
        }
        // A scope the API does not understand.
        let (status, body) =
            client_credentials(&app, &secret, &[("resource", ORDERS), ("scope", "legacy")]).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_scope")),
            "{body}"
        );
        // Repeated resource parameters are refused as a malformed request.
        let response = http()
            .post(app.url("/token"))
            .basic_auth("svc", Some(&secret))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!(
                "grant_type=client_credentials&resource={ORDERS}&resource={ORDERS}"
            ))
            .send()
            .await
            .unwrap();
        let (status, body) = body_json(response).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_request"))
        );
        // An unauthenticated caller learns nothing about targets.
        let (status, _) = client_credentials(&app, "wrong", &[("resource", ORDERS)]).await;
        assert_eq!(status, 401);
        app
    })
    .await;
}
