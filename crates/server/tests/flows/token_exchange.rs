//! RFC 8693 token exchange of access tokens this server issued, over HTTP on every backend:
//! a live token whose `aud` the client may exchange becomes a short-lived token for another
//! registered API, with a scope that only narrows and `act` for an actor token; every
//! refusal per §2.2.2; registration of the allow-list from the CLI. Also issue 11 item 9:
//! a retired signing key stays in the JWKS as long as a PAT-derived token it signed.

use lanyard_core::Clock;
use lanyard_core::model::{ClientAuthMethod, GrantType};
use lanyard_core::model::{ResourceServer, Resources};
use lanyard_server::NewClient;
use lanyard_server::config::Config;
use lanyard_testkit::TestApp;
use serde_json::{Value, json};

use crate::helpers::{
    confidential, each_backend_with, http, json as body_json, jwt_claims, sign_in_tokens,
};

const EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const AT_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
const ORDERS: &str = "https://orders.example.com/";
const BILLING: &str = "https://billing.example.com/";
/// A service that calls the orders API with its own client credentials.
const CALLER: &str = "caller";
/// The orders API: it may exchange tokens for itself (its allow-list names ORDERS).
const ORDERS_API: &str = "orders-api";
/// The billing API: it may exchange tokens for BILLING.
const BILLING_API: &str = "billing-api";
/// Allowed to exchange, but no token names it.
const STRANGER: &str = "stranger";

fn configure(c: &mut Config) {
    c.resources = Resources(vec![
        ResourceServer {
            identifier: ORDERS.to_owned(),
            scopes: vec!["read".to_owned(), "write".to_owned()],
            ..Default::default()
        },
        ResourceServer {
            identifier: BILLING.to_owned(),
            scopes: vec!["read".to_owned(), "write".to_owned()],
            ..Default::default()
        },
    ]);
    c.tokens.access_token_ttl_secs = 600;
    c.pats.exchange_ttl_secs = 120;
}

fn service(id: &str, grants: Vec<GrantType>, exchange_audiences: &[&str]) -> NewClient {
    NewClient {
        grant_types: grants,
        redirect_uris: vec![],
        post_logout_redirect_uris: vec![],
        allowed_scopes: vec!["read".to_owned(), "write".to_owned()],
        exchange_audiences: exchange_audiences.iter().map(|a| (*a).to_owned()).collect(),
        ..confidential(id)
    }
}

struct Secrets {
    caller: String,
    orders: String,
    billing: String,
    stranger: String,
}

async fn setup(app: &TestApp) -> Secrets {
    let both = vec![GrantType::ClientCredentials, GrantType::TokenExchange];
    Secrets {
        caller: registered(
            app,
            service(CALLER, vec![GrantType::ClientCredentials], &[]),
        )
        .await,
        orders: registered(app, service(ORDERS_API, both.clone(), &[ORDERS])).await,
        billing: registered(app, service(BILLING_API, both.clone(), &[BILLING])).await,
        stranger: registered(app, service(STRANGER, both, &[])).await,
    }
}

async fn registered(app: &TestApp, new: NewClient) -> String {
    app.create_client(new).await.unwrap()
}

async fn token(app: &TestApp, client: &str, secret: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let response = http()
        .post(app.url("/token"))
        .basic_auth(client, Some(secret))
        .form(form)
        .send()
        .await
        .unwrap();
    body_json(response).await
}

/// A client credentials token of CALLER for ORDERS with `read write`.
async fn orders_token(app: &TestApp, s: &Secrets) -> String {
    let (status, body) = token(
        app,
        CALLER,
        &s.caller,
        &[
            ("grant_type", "client_credentials"),
            ("resource", ORDERS),
            ("scope", "read write"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

async fn exchange(
    app: &TestApp,
    client: &str,
    secret: &str,
    subject: &str,
    extra: &[(&str, &str)],
) -> (u16, Value) {
    let mut form = vec![
        ("grant_type", EXCHANGE),
        ("subject_token", subject),
        ("subject_token_type", AT_TYPE),
    ];
    form.extend_from_slice(extra);
    token(app, client, secret, &form).await
}

async fn introspect(app: &TestApp, client: &str, secret: &str, token: &str) -> Value {
    let response = http()
        .post(app.url("/introspect"))
        .basic_auth(client, Some(secret))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    body_json(response).await.1
}

#[tokio::test]
async fn rfc8693_2_an_access_token_exchanges_for_a_narrower_short_lived_token() {
    each_backend_with(configure, |app| async move {
        let s = setup(&app).await;
        let subject = orders_token(&app, &s).await;
        let (status, body) = exchange(
            &app,
            ORDERS_API,
            &s.orders,
            &subject,
            &[("audience", BILLING), ("scope", "read")],
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["issued_token_type"], AT_TYPE);
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["scope"], "read");
        assert_eq!(body["expires_in"], 120, "pats.exchange_ttl_secs");
        assert!(body.get("refresh_token").is_none());
        let minted = body["access_token"].as_str().unwrap();
        let claims = jwt_claims(minted);
        assert_eq!(claims["aud"], BILLING);
        assert_eq!(claims["sub"], CALLER);
        assert_eq!(claims["client_id"], ORDERS_API);
        assert_eq!(claims["scope"], "read");
        assert!(claims.get("act").is_none(), "{claims}");
        assert_eq!(
            claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
            120
        );
        // The new token is live and ours: the exchanging client may introspect it.
        let seen = introspect(&app, ORDERS_API, &s.orders, minted).await;
        assert_eq!(seen["active"], true, "{seen}");

        // No scope asked: the same scope. `resource` (an absolute URI) works like audience.
        let (status, body) = exchange(
            &app,
            ORDERS_API,
            &s.orders,
            &subject,
            &[("resource", BILLING)],
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["scope"], "read write");

        // Exchanging the same live token again is allowed: it is a bearer token, not a code.
        let (status, _) = exchange(
            &app,
            ORDERS_API,
            &s.orders,
            &subject,
            &[("audience", BILLING)],
        )
        .await;
        assert_eq!(status, 200);

        // A token close to its end gives a token that ends with it.
        app.clock.advance(550);
        let (status, body) = exchange(
            &app,
            ORDERS_API,
            &s.orders,
            &subject,
            &[("audience", BILLING)],
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["expires_in"], 50);

        // Discovery lists the token type.
        let (_, doc) = body_json(
            http()
                .get(app.url("/.well-known/oauth-authorization-server"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        for member in [
            "subject_token_types_supported",
            "token_exchange_subject_token_types_supported",
        ] {
            let types = doc[member].as_array().unwrap();
            assert!(types.contains(&json!(AT_TYPE)), "{member}: {doc}");
            assert!(
                types.contains(&json!("urn:lanyard:token-type:pat")),
                "{member}"
            );
        }
        app
    })
    .await;
}

#[tokio::test]
async fn rfc8693_4_1_an_actor_token_adds_act_and_nests_earlier_actors() {
    each_backend_with(configure, |app| async move {
        let s = setup(&app).await;
        let subject = orders_token(&app, &s).await;
        let actor = |client: &'static str, secret: String| {
            let app = &app;
            async move {
                let (status, body) = token(
                    app,
                    client,
                    &secret,
                    &[("grant_type", "client_credentials")],
                )
                .await;
                assert_eq!(status, 200, "{body}");
                body["access_token"].as_str().unwrap().to_owned()
            }
        };
        let orders_actor = actor(ORDERS_API, s.orders.clone()).await;
        let (status, body) = exchange(
            &app,
            ORDERS_API,
            &s.orders,
            &subject,
            &[
                ("audience", BILLING),
                ("actor_token", &orders_actor),
                ("actor_token_type", AT_TYPE),
            ],
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let first = body["access_token"].as_str().unwrap().to_owned();
        assert_eq!(
            jwt_claims(&first)["act"],
            json!({"sub": ORDERS_API, "client_id": ORDERS_API})
        );

        // The billing API exchanges that token on: the orders API's act nests in its own.
        let billing_actor = actor(BILLING_API, s.billing.clone()).await;
        let (status, body) = exchange(
            &app,
            BILLING_API,
            &s.billing,
            &first,
            &[
                ("audience", ORDERS),
                ("actor_token", &billing_actor),
                ("actor_token_type", AT_TYPE),
            ],
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let claims = jwt_claims(body["access_token"].as_str().unwrap());
        assert_eq!(claims["sub"], CALLER);
        assert_eq!(
            claims["act"],
            json!({"sub": BILLING_API, "client_id": BILLING_API,
                   "act": {"sub": ORDERS_API, "client_id": ORDERS_API}})
        );
        // Without a new actor the earlier one stays.
        let (status, body) = exchange(
            &app,
            BILLING_API,
            &s.billing,
            &first,
            &[("audience", ORDERS)],
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            jwt_claims(body["access_token"].as_str().unwrap())["act"],
            json!({"sub": ORDERS_API, "client_id": ORDERS_API})
        );
        app
    })
    .await;
}

#[tokio::test]
async fn rfc8693_2_2_2_refusals() {
    each_backend_with(configure, |app| async move {
        let s = setup(&app).await;
        let subject = orders_token(&app, &s).await;
        let orders = |extra: Vec<(&'static str, String)>, subject: String| {
            let app = &app;
            let secret = s.orders.clone();
            async move {
                let extra: Vec<(&str, &str)> =
                    extra.iter().map(|(k, v)| (*k, v.as_str())).collect();
                exchange(app, ORDERS_API, &secret, &subject, &extra).await
            }
        };
        let to_billing = || vec![("audience", BILLING.to_owned())];
        let expect = |got: (u16, Value), error: &str, why: &str| {
            assert_eq!(
                (got.0, got.1["error"].as_str()),
                (400, Some(error)),
                "{why}: {}",
                got.1
            );
        };

        // Invalid subject tokens: §2.2.2 invalid_request.
        let mut tampered = subject.clone();
        tampered.pop();
        let id_token = sign_in_id_token(&app).await;
        for (bad, why) in [
            ("garbage".to_owned(), "garbage"),
            (tampered, "bad signature"),
            (id_token, "an ID token is not an access token"),
            ("lyd_pat_x".to_owned(), "a PAT under the access token type"),
        ] {
            expect(orders(to_billing(), bad).await, "invalid_request", why);
        }
        let (status, _) = orders(to_billing(), "x".repeat(20_000)).await;
        assert_eq!(status, 400, "oversized");

        // Targets: registered, absolute for resource, agreeing.
        for (extra, why) in [
            (
                vec![("audience", "https://unknown.example.com/".to_owned())],
                "unknown",
            ),
            (vec![("resource", "billing".to_owned())], "not absolute"),
            (vec![("resource", format!("{BILLING}#x"))], "fragment"),
            (
                vec![
                    ("audience", ORDERS.to_owned()),
                    ("resource", BILLING.to_owned()),
                ],
                "disagree",
            ),
        ] {
            expect(orders(extra, subject.clone()).await, "invalid_target", why);
        }
        expect(
            orders(vec![], subject.clone()).await,
            "invalid_request",
            "no target",
        );

        // Scope only narrows.
        let mut wider = to_billing();
        wider.push(("scope", "read admin".to_owned()));
        expect(
            orders(wider, subject.clone()).await,
            "invalid_scope",
            "wider scope",
        );

        // Types.
        let mut id_type = to_billing();
        id_type.push((
            "requested_token_type",
            "urn:ietf:params:oauth:token-type:id_token".into(),
        ));
        expect(
            orders(id_type, subject.clone()).await,
            "invalid_request",
            "requested type",
        );
        let (status, body) = token(
            &app,
            ORDERS_API,
            &s.orders,
            &[
                ("grant_type", EXCHANGE),
                ("subject_token", &subject),
                (
                    "subject_token_type",
                    "urn:ietf:params:oauth:token-type:saml2",
                ),
                ("audience", BILLING),
            ],
        )
        .await;
        expect((status, body), "invalid_request", "subject type");

        // Actor tokens.
        let mut no_type = to_billing();
        no_type.push(("actor_token", subject.clone()));
        expect(
            orders(no_type, subject.clone()).await,
            "invalid_request",
            "actor without type",
        );
        let mut no_token = to_billing();
        no_token.push(("actor_token_type", AT_TYPE.to_owned()));
        expect(
            orders(no_token, subject.clone()).await,
            "invalid_request",
            "type without actor",
        );
        let mut bad_actor = to_billing();
        bad_actor.extend([
            ("actor_token", "garbage".to_owned()),
            ("actor_token_type", AT_TYPE.to_owned()),
        ]);
        expect(
            orders(bad_actor, subject.clone()).await,
            "invalid_request",
            "invalid actor",
        );
        // CALLER's token names ORDERS, not the orders API's client id, and was not issued
        // to it: the orders API can not claim to be that actor.
        let mut foreign_actor = to_billing();
        foreign_actor.extend([
            ("actor_token", subject.clone()),
            ("actor_token_type", AT_TYPE.to_owned()),
        ]);
        expect(
            orders(foreign_actor, subject.clone()).await,
            "invalid_grant",
            "foreign actor",
        );

        // Unauthorised clients: not allowed by registration, or without the grant.
        let (status, body) = exchange(
            &app,
            STRANGER,
            &s.stranger,
            &subject,
            &[("audience", BILLING)],
        )
        .await;
        expect((status, body), "invalid_grant", "not in aud nor allow-list");
        let (status, body) =
            exchange(&app, CALLER, &s.caller, &subject, &[("audience", BILLING)]).await;
        expect(
            (status, body),
            "unauthorized_client",
            "no token-exchange grant",
        );
        let (status, _) = exchange(
            &app,
            ORDERS_API,
            "wrong",
            &subject,
            &[("audience", BILLING)],
        )
        .await;
        assert_eq!(status, 401);

        // Revoked, then expired: refused although the signature is good.
        let (status, _) = exchange(
            &app,
            ORDERS_API,
            &s.orders,
            &subject,
            &[("audience", BILLING)],
        )
        .await;
        assert_eq!(status, 200, "still good before revocation");
        let response = http()
            .post(app.url("/revoke"))
            .basic_auth(CALLER, Some(&s.caller))
            .form(&[("token", subject.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        expect(
            orders(to_billing(), subject.clone()).await,
            "invalid_request",
            "revoked",
        );
        let fresh = orders_token(&app, &s).await;
        app.clock.advance(601);
        expect(
            orders(to_billing(), fresh).await,
            "invalid_request",
            "expired",
        );
        app
    })
    .await;
}

/// An ID token of a signed-in user (signed by us, but `typ` JWT, not at+jwt).
async fn sign_in_id_token(app: &TestApp) -> String {
    app.create_user("someone@example.com").await;
    let secret = app.create_client(confidential("rp")).await.unwrap();
    let tokens = sign_in_tokens(app, "rp", &secret, "someone@example.com").await;
    tokens["id_token"].as_str().unwrap().to_owned()
}

/// A user's token exchanged by a gateway registered for the issuer audience carries the
/// user's grant: when the user's app revokes the grant, the derived token is inactive too;
/// revoking the derived token does not touch the app's grant.
#[tokio::test]
async fn rfc8693_a_derived_token_ends_with_the_subjects_grant() {
    each_backend_with(configure, |app| async move {
        app.create_user("u@example.com").await;
        let rp = app.create_client(confidential("rp")).await.unwrap();
        let issuer = app.config.server.issuer.clone();
        let gateway = app
            .create_client(service(
                "gateway",
                vec![GrantType::TokenExchange],
                &[issuer.as_str()],
            ))
            .await
            .unwrap();
        let tokens = sign_in_tokens(&app, "rp", &rp, "u@example.com").await;
        let user_at = tokens["access_token"].as_str().unwrap();
        let user_rt = tokens["refresh_token"].as_str().unwrap();
        let (status, body) = exchange(
            &app,
            "gateway",
            &gateway,
            user_at,
            &[("audience", ORDERS), ("scope", "email")],
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let derived = body["access_token"].as_str().unwrap().to_owned();
        let claims = jwt_claims(&derived);
        assert_eq!(claims["sub"], jwt_claims(user_at)["sub"]);
        assert_eq!(claims["gid"], jwt_claims(user_at)["gid"]);
        assert_eq!(
            introspect(&app, "gateway", &gateway, &derived).await["active"],
            true
        );

        // The gateway revokes its derived token: the app's grant lives on.
        let response = http()
            .post(app.url("/revoke"))
            .basic_auth("gateway", Some(&gateway))
            .form(&[("token", derived.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(
            introspect(&app, "gateway", &gateway, &derived).await["active"],
            false
        );
        assert_eq!(introspect(&app, "rp", &rp, user_at).await["active"], true);

        // The app revokes the grant: a token derived before is inactive.
        let (_, body) = exchange(&app, "gateway", &gateway, user_at, &[("audience", ORDERS)]).await;
        let derived = body["access_token"].as_str().unwrap().to_owned();
        let response = http()
            .post(app.url("/revoke"))
            .basic_auth("rp", Some(&rp))
            .form(&[("token", user_rt)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(
            introspect(&app, "gateway", &gateway, &derived).await["active"],
            false
        );
        app
    })
    .await;
}

/// The allow-list is registered from the CLI, stored, and shown.
#[tokio::test]
async fn rfc8693_the_cli_registers_exchange_audiences() {
    each_backend_with(configure, |app| async move {
        let created = crate::helpers::lanyard_cli(
            &app,
            &[
                "client",
                "create",
                "--id",
                "cli-gateway",
                "--grant",
                "client_credentials,urn:ietf:params:oauth:grant-type:token-exchange",
                "--exchange-audience",
                ORDERS,
                "--exchange-audience",
                BILLING,
                "--json",
            ],
            "",
        )
        .await;
        assert!(created.status.success(), "{created:?}");
        let doc: Value = serde_json::from_slice(&created.stdout).unwrap();
        assert_eq!(doc["exchange_audiences"], json!([ORDERS, BILLING]));
        let stored = app
            .app
            .state
            .issuer
            .clients()
            .find("cli-gateway")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            stored.exchange_audiences,
            vec![ORDERS.to_owned(), BILLING.to_owned()]
        );

        // Without the grant the list is refused.
        let refused = crate::helpers::lanyard_cli(
            &app,
            &[
                "client",
                "create",
                "--id",
                "no-grant",
                "--grant",
                "client_credentials",
                "--exchange-audience",
                ORDERS,
            ],
            "",
        )
        .await;
        assert!(!refused.status.success());
        assert!(
            String::from_utf8_lossy(&refused.stderr).contains("token-exchange"),
            "{refused:?}"
        );
        app
    })
    .await;
}

/// Issue 11 item 9: with `pats.exchange_ttl_secs` above the access and ID token lifetimes,
/// a PAT-derived token still verifies after its signing key was retired and pruning ran
/// past what those two lifetimes alone would keep.
#[tokio::test]
async fn r05_a_retired_key_stays_published_while_an_exchange_minted_token_lives() {
    let tweak = |c: &mut Config| {
        configure(c);
        c.tokens.access_token_ttl_secs = 60;
        c.tokens.id_token_ttl_secs = 60;
        c.pats.exchange_ttl_secs = 3600;
    };
    each_backend_with(tweak, |app| async move {
        app.create_user("pat@example.com").await;
        app.create_client(NewClient {
            auth_method: ClientAuthMethod::None,
            grant_types: vec![GrantType::TokenExchange],
            ..service("tool", vec![], &[])
        })
        .await;
        let cli_config = format!(
            "[[resources]]\nidentifier = \"{ORDERS}\"\nscopes = [\"read\", \"write\"]\n\n[[resources]]\nidentifier = \"{BILLING}\"\nscopes = [\"read\", \"write\"]\n"
        );
        let created = crate::helpers::lanyard_cli(
            &app,
            &[
                "pat", "create", "--user", "pat@example.com", "--name", "ci", "--scope", "read",
                "--json",
            ],
            &cli_config,
        )
        .await;
        assert!(created.status.success(), "{created:?}");
        let doc: Value = serde_json::from_slice(&created.stdout).unwrap();
        let pat = doc["token"].as_str().unwrap().to_owned();
        let response = http()
            .post(app.url("/token"))
            .form(&[
                ("grant_type", EXCHANGE),
                ("client_id", "tool"),
                ("subject_token", pat.as_str()),
                ("subject_token_type", "urn:lanyard:token-type:pat"),
                ("audience", ORDERS),
            ])
            .send()
            .await
            .unwrap();
        let (status, body) = body_json(response).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["expires_in"], 3600);
        let minted = body["access_token"].as_str().unwrap().to_owned();
        let kid = jwt_header_kid(&minted);

        // Rotate; the new key takes over; then well past access/ID lifetime + leeway +
        // reload, prune and reload as the maintenance task does.
        let keys = &app.app.keys;
        keys.rotate(None).await.unwrap();
        app.clock.advance(keys.policy().propagation_delay_secs + 1);
        let reload = app.config.keys.reload_every_secs as i64;
        app.clock.advance(60 + 60 + reload + 600);
        keys.prune().await.unwrap();
        app.app.key_ring.replace(keys.load_ring().await.unwrap());
        let (_, jwks) = body_json(http().get(app.url("/jwks")).send().await.unwrap()).await;
        let kids: Vec<&str> = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|k| k["kid"].as_str())
            .collect();
        assert!(kids.contains(&kid.as_str()), "{kid} pruned too early: {kids:?}");
        // A resource server verifies the token with the published key, as a JOSE library does.
        let jwk = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kid"] == kid.as_str())
            .unwrap();
        let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(jwk.clone()).unwrap();
        let key = jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap();
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
        validation.set_audience(&[ORDERS]);
        validation.validate_exp = false;
        jsonwebtoken::decode::<Value>(&minted, &key, &validation).expect("verifies");
        assert!(app.clock.now().seconds() < jwt_claims(&minted)["exp"].as_i64().unwrap());
        app
    })
    .await;
}

fn jwt_header_kid(jwt: &str) -> String {
    use base64::Engine;
    let header = jwt.split('.').next().unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .unwrap();
    let header: Value = serde_json::from_slice(&bytes).unwrap();
    header["kid"].as_str().unwrap().to_owned()
}
