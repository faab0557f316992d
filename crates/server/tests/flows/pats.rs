//! Personal access tokens over HTTP (S24–S27): creation behind step-up, display once, keyed
//! hash only; the RFC 8693 exchange and every refusal; revocation reaching new exchanges and
//! introspection; throttling; PATs never accepted as bearer tokens or in URLs; lifecycle.

use std::sync::Arc;

use lanyard_core::ids::random_uuid;
use lanyard_core::model::{ClientAuthMethod, GrantType, PatId};
use lanyard_core::model::{ResourceServer, Resources};
use lanyard_core::{Clock, Origin, OsRng};
use lanyard_server::NewClient;
use lanyard_server::config::Config;
use lanyard_testkit::{Browser, PASSWORD, TestApp};
use reqwest::cookie::Jar;
use serde_json::{Value, json};

use crate::helpers::{
    database_snapshot, each_backend_with, ephemeral_snapshot, json as body_json, jwt_claims,
    side_connection,
};

const EMAIL: &str = "pat-owner@example.com";
const TOOL: &str = "desktop-tool";
const SERVICE: &str = "api-service";
const EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const PAT_TYPE: &str = "urn:lanyard:token-type:pat";
const AT_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
const API: &str = "api.example.com";
const FILES: &str = "files.example.com";

fn configure(c: &mut Config) {
    c.resources = Resources(vec![
        ResourceServer {
            identifier: API.to_owned(),
            scopes: vec!["repo:read".to_owned(), "repo:write".to_owned()],
            name: Some("Example API".to_owned()),
            description: Some("Repositories and their issues.".to_owned()),
            scope_descriptions: [("repo:read", "Read your repositories")]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        },
        ResourceServer {
            identifier: FILES.to_owned(),
            scopes: vec!["files:read".to_owned()],
            ..Default::default()
        },
    ]);
    c.pats.exchange_failures_per_ip = 8;
}

fn client(id: &str, auth: ClientAuthMethod, grants: Vec<GrantType>) -> NewClient {
    NewClient {
        id: id.to_owned(),
        name: format!("Client {id}"),
        redirect_uris: vec![],
        post_logout_redirect_uris: vec![],
        grant_types: grants,
        auth_method: auth,
        jwks: None,
        first_party: true,
        allowed_scopes: vec![],
        exchange_audiences: vec![],
        backchannel_logout_uri: None,
        backchannel_logout_session_required: false,
    }
}

struct Owner {
    browser: Browser,
}

/// The user, a public desktop tool allowed to exchange, and a confidential service (which
/// may introspect); then the owner signs in through the pages, second step included.
async fn setup(app: &TestApp) -> (Owner, Option<String>) {
    app.create_user(EMAIL).await;
    app.create_client(client(
        TOOL,
        ClientAuthMethod::None,
        vec![GrantType::TokenExchange],
    ))
    .await;
    let secret = app
        .create_client(client(
            SERVICE,
            ClientAuthMethod::ClientSecretBasic,
            vec![GrantType::TokenExchange, GrantType::ClientCredentials],
        ))
        .await;
    let jar = Arc::new(Jar::default());
    let browser = Browser::with_cookie_jar(jar);
    let base = &app.base_url;
    let (_, _, page) = browser.get(&app.url("/account/pats"), base).await;
    let (_, _, page) = browser.submit(&page, base, &[("email", EMAIL)]).await;
    let sent = app.mail.messages_to(EMAIL).len();
    let (_, _, page) = browser.submit(&page, base, &[("password", PASSWORD)]).await;
    let (_, page) = browser
        .second_step(page, base, &app.mail, EMAIL, sent)
        .await;
    assert!(page.contains("<h1>Personal access tokens</h1>"), "{page}");
    (Owner { browser }, secret)
}

impl Owner {
    async fn csrf(&self, app: &TestApp) -> String {
        self.browser.csrf_token(&app.base_url).await
    }

    async fn create(&self, app: &TestApp, body: Value) -> (u16, Value) {
        let response = self
            .browser
            .http
            .post(app.url("/account/pats"))
            .header("accept", "application/json")
            .header("x-csrf-token", self.csrf(app).await)
            .json(&body)
            .send()
            .await
            .unwrap();
        body_json(response).await
    }

    async fn token(&self, app: &TestApp, scopes: &[&str]) -> (String, String) {
        let (status, body) = self
            .create(app, json!({ "name": "ci", "scopes": scopes }))
            .await;
        assert_eq!(status, 201, "{body}");
        (
            body["token"].as_str().unwrap().to_owned(),
            body["id"].as_str().unwrap().to_owned(),
        )
    }

    async fn get(&self, app: &TestApp, path: &str) -> (u16, Value) {
        let response = self
            .browser
            .http
            .get(app.url(path))
            .header("accept", "application/json")
            .send()
            .await
            .unwrap();
        body_json(response).await
    }

    async fn revoke(&self, app: &TestApp, id: &str) -> u16 {
        self.browser
            .http
            .delete(app.url(&format!("/account/pats/{id}")))
            .header("x-csrf-token", self.csrf(app).await)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }
}

async fn exchange(app: &TestApp, fields: &[(&str, &str)]) -> (u16, Value) {
    let mut form = vec![("grant_type", EXCHANGE), ("client_id", TOOL)];
    form.extend_from_slice(fields);
    let response = reqwest::Client::new()
        .post(app.url("/token"))
        .form(&form)
        .send()
        .await
        .unwrap();
    body_json(response).await
}

async fn exchange_pat(app: &TestApp, pat: &str, extra: &[(&str, &str)]) -> (u16, Value) {
    let mut fields = vec![("subject_token", pat), ("subject_token_type", PAT_TYPE)];
    fields.extend_from_slice(extra);
    exchange(app, &fields).await
}

fn assert_refused(status: u16, body: &Value) {
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body,
        &json!({"error": "invalid_grant", "error_description": "the subject token is not valid"})
    );
}

async fn introspect(app: &TestApp, secret: &str, token: &str) -> Value {
    let response = reqwest::Client::new()
        .post(app.url("/introspect"))
        .basic_auth(SERVICE, Some(secret))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    body_json(response).await.1
}

#[tokio::test]
async fn s24_a_pat_is_shown_once_and_stored_as_a_keyed_hash() {
    each_backend_with(configure, |app| async move {
        let (owner, _) = setup(&app).await;
        let (token, id) = owner.token(&app, &["repo:read"]).await;
        // lyd_pat_ + 43 base62 + _ + 6 base62 checksum.
        assert_eq!(token.len(), 58);
        assert!(token.starts_with("lyd_pat_") && lanyard_core::pat_token::is_well_formed(&token));

        let (status, list) = owner.get(&app, "/account/pats").await;
        assert_eq!(status, 200);
        let listed = &list.as_array().unwrap()[0];
        assert_eq!(listed["id"], id.as_str());
        assert_eq!(listed["scopes"], json!(["repo:read"]));
        assert_eq!(
            listed["display"],
            format!("{}…{}", &token[..12], &token[54..]).as_str()
        );
        assert!(listed.get("token").is_none());
        let (status, one) = owner.get(&app, &format!("/account/pats/{id}")).await;
        assert_eq!(status, 200);
        assert!(one.get("token").is_none() && !one.to_string().contains(&token[8..51]));

        // Only the keyed hash is stored; the plaintext is nowhere in the stores.
        let db = side_connection(&app).await;
        let dump = format!("{:?}", database_snapshot(&db).await);
        assert!(!dump.contains(&token[8..51]));
        let hash = app.app.hasher.hash(&token);
        assert!(dump.contains(&hash));
        let keys = ephemeral_snapshot(&app).await.join("\n");
        assert!(!keys.contains(&token[8..51]));
        let created = app
            .app
            .stores
            .durable
            .list_audit(Some("pat.created"), 10)
            .await
            .unwrap();
        assert_eq!(created.len(), 1);
        assert!(!format!("{created:?}").contains(&token[8..51]));
        app
    })
    .await;
}

#[tokio::test]
async fn s24_creation_needs_a_fresh_session_and_the_csrf_header() {
    each_backend_with(configure, |app| async move {
        let (owner, _) = setup(&app).await;
        // No CSRF header: refused, nothing created.
        let response = owner
            .browser
            .http
            .post(app.url("/account/pats"))
            .json(&json!({"name": "ci", "scopes": ["repo:read"]}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 403);
        // Not signed in at all.
        let response = reqwest::Client::new()
            .post(app.url("/account/pats"))
            .header("accept", "application/json")
            .json(&json!({"name": "ci", "scopes": ["repo:read"]}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 403);
        // Eleven minutes later the session is no longer fresh (B8).
        app.clock.advance(11 * 60);
        let (status, body) = owner
            .create(&app, json!({"name": "ci", "scopes": ["repo:read"]}))
            .await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["error"], "insufficient_user_authentication");
        let (_, list) = owner.get(&app, "/account/pats").await;
        assert_eq!(list, json!([]));
        app
    })
    .await;
}

#[tokio::test]
async fn s24_bad_creation_requests_are_refused_and_create_nothing() {
    each_backend_with(configure, |app| async move {
        let (owner, _) = setup(&app).await;
        for body in [
            json!({"name": "ci", "scopes": ["repo:read"], "expires_in_days": 367}),
            json!({"name": "ci", "scopes": ["repo:read"], "expires_in_days": 0}),
            json!({"name": "ci", "scopes": ["repo:read"], "no_expiry": true}),
            json!({"name": "ci", "scopes": ["admin"]}),
            json!({"name": "ci", "scopes": []}),
            json!({"name": "", "scopes": ["repo:read"]}),
            json!({"name": "x".repeat(101), "scopes": ["repo:read"]}),
            json!({"name": "ci", "scopes": ["repo:read"], "audiences": ["evil.example.com"]}),
            json!({"name": "ci", "scopes": ["repo:read"], "extra": 1}),
            json!({"name": "ci"}),
            json!(["not", "an", "object"]),
            json!({"name": "ci", "scopes": ["repo:read"], "padding": "x".repeat(10_000)}),
        ] {
            let (status, reply) = owner.create(&app, body.clone()).await;
            assert!(status == 400 || status == 413, "{body} → {status} {reply}");
            assert_eq!(reply["error"], "invalid_request", "{body}");
        }
        let (_, list) = owner.get(&app, "/account/pats").await;
        assert_eq!(list, json!([]));
        app
    })
    .await;
}

#[tokio::test]
async fn s25_a_pat_exchanges_for_a_short_lived_jwt() {
    each_backend_with(configure, |app| async move {
        let (owner, _) = setup(&app).await;
        let (token, id) = owner
            .token(&app, &["repo:read", "repo:write", "files:read"])
            .await;
        let (status, body) = exchange_pat(
            &app,
            &token,
            &[
                ("audience", API),
                ("scope", "repo:read"),
                ("requested_token_type", AT_TYPE),
            ],
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["issued_token_type"], AT_TYPE);
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], 300);
        assert_eq!(body["scope"], "repo:read");
        assert!(body.get("refresh_token").is_none() && body.get("id_token").is_none());
        let jwt = body["access_token"].as_str().unwrap();
        let header: Value = serde_json::from_slice(
            &base64::Engine::decode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                jwt.split('.').next().unwrap(),
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(header["typ"], "at+jwt");
        let claims = jwt_claims(jwt);
        let account = app
            .app
            .state
            .accounts
            .find_by_email(EMAIL)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(claims["sub"], account.id.to_string().as_str());
        assert_eq!(claims["aud"], API);
        assert_eq!(claims["client_id"], TOOL);
        assert_eq!(claims["scope"], "repo:read");
        assert_eq!(claims["pat_id"], id.as_str());
        assert_eq!(claims["amr"], json!(["pat"]));
        assert_eq!(claims["acr"], "urn:lanyard:loa:1");
        assert!(claims["jti"].as_str().is_some_and(|j| j.len() >= 16));
        let now = app.clock.now().seconds();
        assert!(claims["exp"].as_i64().unwrap() <= now + 15 * 60);

        // Without scope: every PAT scope the API understands; `resource` works like audience.
        let (status, body) = exchange_pat(&app, &token, &[("resource", FILES)]).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["scope"], "files:read");
        // Never longer than the PAT itself.
        app.clock.advance(90 * 86_400 - 60);
        let (status, body) = exchange_pat(&app, &token, &[("audience", API)]).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["expires_in"], 60);
        app
    })
    .await;
}

#[tokio::test]
async fn s25_policy_refusals() {
    each_backend_with(configure, |app| async move {
        let (owner, _) = setup(&app).await;
        let (token, _) = owner.token(&app, &["repo:read"]).await;
        let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
            (
                vec![("audience", API), ("scope", "repo:write")],
                "invalid_scope",
            ),
            (vec![("audience", FILES)], "invalid_scope"),
            (vec![("audience", "evil.example.com")], "invalid_target"),
            (
                vec![("audience", API), ("resource", FILES)],
                "invalid_target",
            ),
            (vec![], "invalid_request"),
            (
                vec![
                    ("audience", API),
                    (
                        "requested_token_type",
                        "urn:ietf:params:oauth:token-type:refresh_token",
                    ),
                ],
                "invalid_request",
            ),
            (
                vec![
                    ("audience", API),
                    ("actor_token", "x"),
                    ("actor_token_type", AT_TYPE),
                ],
                "invalid_request",
            ),
        ];
        for (extra, error) in cases {
            let (status, body) = exchange_pat(&app, &token, &extra).await;
            assert_eq!(
                (status, body["error"].as_str()),
                (400, Some(error)),
                "{extra:?}: {body}"
            );
        }
        let (status, body) = exchange(
            &app,
            &[
                ("subject_token", token.as_str()),
                ("subject_token_type", AT_TYPE),
                ("audience", API),
            ],
        )
        .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_request"))
        );
        let (status, body) = exchange(&app, &[("subject_token_type", PAT_TYPE)]).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_request"))
        );
        // A client not registered for token exchange.
        app.create_client(client(
            "other",
            ClientAuthMethod::None,
            vec![GrantType::DeviceCode],
        ))
        .await;
        let response = reqwest::Client::new()
            .post(app.url("/token"))
            .form(&[
                ("grant_type", EXCHANGE),
                ("client_id", "other"),
                ("subject_token", &token),
                ("subject_token_type", PAT_TYPE),
                ("audience", API),
            ])
            .send()
            .await
            .unwrap();
        let (status, body) = body_json(response).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("unauthorized_client"))
        );
        app
    })
    .await;
}

#[tokio::test]
async fn s25_s26_every_bad_subject_token_gets_the_same_answer() {
    each_backend_with(configure, |app| async move {
        let (owner, _) = setup(&app).await;
        let (revoked, revoked_id) = owner.token(&app, &["repo:read"]).await;
        assert_eq!(owner.revoke(&app, &revoked_id).await, 204);
        let (good, _) = owner.token(&app, &["repo:read"]).await;
        // A well-formed token (valid checksum) nobody holds.
        let unknown = lanyard_core::pat_token::mint(&lanyard_core::OsRng).token;
        let mut bad_checksum = good.clone();
        bad_checksum.replace_range(57..58, if good.ends_with('A') { "B" } else { "A" });
        let oversized = format!("lyd_pat_{}", "a".repeat(10_000));
        for bad in [
            unknown.expose(),
            revoked.as_str(),
            bad_checksum.as_str(),
            "lyd_pat_short",
            "not-a-token",
            oversized.as_str(),
            "lyd_pat_ÄÖÜ",
        ] {
            let (status, body) = exchange_pat(&app, bad, &[("audience", API)]).await;
            assert_refused(status, &body);
        }
        // Not UTF-8 at all: the form is refused before anything else.
        let response = reqwest::Client::new()
            .post(app.url("/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(b"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange&client_id=desktop-tool&subject_token=%FF%FE".to_vec())
            .send()
            .await
            .unwrap();
        let (status, body) = body_json(response).await;
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_request")));
        // The good token still works: nothing above throttled this address yet (7 < 8).
        let (status, body) = exchange_pat(&app, &good, &[("audience", API)]).await;
        assert_eq!(status, 200, "{body}");
        app
    })
    .await;
}

/// Regression: 58 bytes whose two-byte character straddles the end of the body made the
/// format check slice through it and panic — a crash of the whole server in release builds
/// (`panic = "abort"`), reachable with a public client id. Found by the `pat_token` fuzz
/// target.
#[tokio::test]
async fn s25_a_multibyte_character_across_the_body_end_is_refused_not_a_crash() {
    each_backend_with(configure, |app| async move {
        app.create_client(client(
            TOOL,
            ClientAuthMethod::None,
            vec![GrantType::TokenExchange],
        ))
        .await;
        for straddling in [
            format!("lyd_pat_{}é{}", "a".repeat(42), "a".repeat(6)),
            format!("lyd_pat_{}€{}", "a".repeat(41), "a".repeat(6)),
            format!("lyd_pat_{}😀{}", "a".repeat(40), "a".repeat(6)),
        ] {
            assert_eq!(straddling.len(), 58);
            let (status, body) = exchange_pat(&app, &straddling, &[("audience", API)]).await;
            assert_refused(status, &body);
        }
        app
    })
    .await;
}

#[tokio::test]
async fn s26_failures_are_throttled_per_address_and_audited_once() {
    each_backend_with(configure, |app| async move {
        let (owner, _) = setup(&app).await;
        let (good, _) = owner.token(&app, &["repo:read"]).await;
        let unknown = lanyard_core::pat_token::mint(&lanyard_core::OsRng).token;
        for _ in 0..7 {
            let (status, body) = exchange_pat(&app, unknown.expose(), &[("audience", API)]).await;
            assert_refused(status, &body);
        }
        // The eighth failure reaches the limit: 429 with Retry-After, for every token.
        for token in [unknown.expose(), good.as_str()] {
            let response = reqwest::Client::new()
                .post(app.url("/token"))
                .form(&[
                    ("grant_type", EXCHANGE),
                    ("client_id", TOOL),
                    ("subject_token", token),
                    ("subject_token_type", PAT_TYPE),
                    ("audience", API),
                ])
                .send()
                .await
                .unwrap();
            assert_eq!(response.status().as_u16(), 429);
            let retry: u64 = response.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((1..=900).contains(&retry));
        }
        let throttled = app
            .app
            .stores
            .durable
            .list_audit(Some("pat.exchange_throttled"), 10)
            .await
            .unwrap();
        assert_eq!(throttled.len(), 1, "{throttled:?}");
        // The window ends; the owner's token works again.
        app.clock.advance(901);
        let (status, body) = exchange_pat(&app, &good, &[("audience", API)]).await;
        assert_eq!(status, 200, "{body}");
        app
    })
    .await;
}

#[tokio::test]
async fn s25_s27_revocation_stops_exchanges_and_deactivates_minted_tokens() {
    each_backend_with(configure, |app| async move {
        let (owner, secret) = setup(&app).await;
        let secret = secret.unwrap();
        let (token, id) = owner.token(&app, &["repo:read"]).await;
        let (_, body) = exchange_pat(&app, &token, &[("audience", API)]).await;
        let jwt = body["access_token"].as_str().unwrap().to_owned();
        // The API (a registered client named like the audience would do too) introspects.
        let (_, service_body) = exchange_pat(&app, &token, &[("audience", API)]).await;
        assert!(service_body["access_token"].is_string());
        // Introspection by the service that is neither the token's client nor audience: inactive.
        assert_eq!(
            introspect(&app, &secret, &jwt).await,
            json!({"active": false})
        );

        // Issued to the tool, so the tool may not introspect (public); check liveness via a
        // token minted for the service client instead.
        let response = reqwest::Client::new()
            .post(app.url("/token"))
            .basic_auth(SERVICE, Some(&secret))
            .form(&[
                ("grant_type", EXCHANGE),
                ("subject_token", token.as_str()),
                ("subject_token_type", PAT_TYPE),
                ("audience", API),
            ])
            .send()
            .await
            .unwrap();
        let (status, body) = body_json(response).await;
        assert_eq!(status, 200, "{body}");
        let service_jwt = body["access_token"].as_str().unwrap().to_owned();
        let active = introspect(&app, &secret, &service_jwt).await;
        assert_eq!(active["active"], true, "{active}");
        assert_eq!(active["aud"], API);

        // Revoked by its owner: the next exchange fails at once, minted tokens go inactive.
        assert_eq!(owner.revoke(&app, &id).await, 204);
        let (status, body) = exchange_pat(&app, &token, &[("audience", API)]).await;
        assert_refused(status, &body);
        assert_eq!(
            introspect(&app, &secret, &service_jwt).await,
            json!({"active": false})
        );
        // Revoking again, or someone else's id, says nothing useful.
        assert_eq!(owner.revoke(&app, &id).await, 204);
        assert_eq!(
            owner
                .revoke(&app, &PatId(random_uuid(&OsRng)).to_string())
                .await,
            404
        );
        assert_eq!(owner.revoke(&app, "not-an-id").await, 404);
        let (_, list) = owner.get(&app, "/account/pats").await;
        assert_eq!(list, json!([]));

        // The operator revokes, and disabling the account revokes everything.
        let (second, second_id) = owner.token(&app, &["repo:read"]).await;
        assert_eq!(
            exchange_pat(&app, &second, &[("audience", API)]).await.0,
            200
        );
        let revoked = app
            .app
            .state
            .pats
            .revoke(None, PatId::parse(&second_id).unwrap(), &Origin::cli())
            .await
            .unwrap();
        assert!(revoked);
        let (status, body) = exchange_pat(&app, &second, &[("audience", API)]).await;
        assert_refused(status, &body);
        let (third, _) = owner.token(&app, &["repo:read"]).await;
        assert_eq!(
            exchange_pat(&app, &third, &[("audience", API)]).await.0,
            200
        );
        app.app
            .state
            .accounts
            .disable(EMAIL, &Origin::cli())
            .await
            .unwrap();
        let (status, body) = exchange_pat(&app, &third, &[("audience", API)]).await;
        assert_refused(status, &body);
        app
    })
    .await;
}

#[tokio::test]
async fn s27_a_pat_is_never_a_bearer_token_nor_part_of_a_url() {
    each_backend_with(configure, |app| async move {
        let (owner, _) = setup(&app).await;
        let (token, _) = owner.token(&app, &["repo:read"]).await;
        let http = reqwest::Client::new();
        let userinfo = http
            .get(app.url("/userinfo"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(userinfo.status().as_u16(), 401);
        for url in [
            format!("/userinfo?access_token={token}"),
            format!("/token?subject_token={token}"),
            format!("/account/pats?x={}", token.replace('_', "%5F")),
        ] {
            let response = http.get(app.url(&url)).send().await.unwrap();
            assert_eq!(response.status().as_u16(), 400, "{url}");
            assert!(!response.text().await.unwrap().contains(&token[8..51]));
        }
        // A JWT minted from the PAT can't reach userinfo (it has no grant: RFC 6750's
        // invalid_token) or create PATs.
        let (_, body) = exchange_pat(&app, &token, &[("audience", API)]).await;
        let jwt = body["access_token"].as_str().unwrap();
        let response = http
            .get(app.url("/userinfo"))
            .bearer_auth(jwt)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 401);
        let challenge = response.headers()["www-authenticate"].to_str().unwrap();
        assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
        let response = http
            .post(app.url("/account/pats"))
            .bearer_auth(jwt)
            .header("accept", "application/json")
            .json(&json!({"name": "ci", "scopes": ["repo:read"]}))
            .send()
            .await
            .unwrap();
        assert!(matches!(response.status().as_u16(), 401 | 403));
        app
    })
    .await;
}

#[tokio::test]
async fn s27_expiry_and_coalesced_last_use() {
    each_backend_with(configure, |app| async move {
        let (owner, _) = setup(&app).await;
        let (status, body) = owner
            .create(
                &app,
                json!({"name": "short", "scopes": ["repo:read"], "expires_in_days": 1}),
            )
            .await;
        assert_eq!(status, 201);
        let token = body["token"].as_str().unwrap().to_owned();
        let id = PatId::parse(body["id"].as_str().unwrap()).unwrap();
        let start = app.clock.now();
        for _ in 0..5 {
            assert_eq!(
                exchange_pat(&app, &token, &[("audience", API)]).await.0,
                200
            );
        }
        let repo = app.app.stores.durable.clone();
        let last_used = || async { repo.get_pat(id).await.unwrap().unwrap().last_used_at };
        wait_until(|| async { last_used().await == Some(start) }).await;
        // Within the minute: no further write.
        app.clock.advance(30);
        assert_eq!(
            exchange_pat(&app, &token, &[("audience", API)]).await.0,
            200
        );
        app.clock.advance(31);
        let later = app.clock.now();
        assert_eq!(
            exchange_pat(&app, &token, &[("audience", API)]).await.0,
            200
        );
        wait_until(|| async { last_used().await == Some(later) }).await;
        let uses = || async { repo.list_audit(Some("pat.used"), 10).await.unwrap().len() };
        wait_until(|| async { uses().await == 2 }).await;
        // A day later it has expired.
        app.clock.advance(86_400);
        let (status, body) = exchange_pat(&app, &token, &[("audience", API)]).await;
        assert_refused(status, &body);
        let stored = repo.get_pat(id).await.unwrap().unwrap();
        assert!(!stored.is_live(app.clock.now()) && stored.revoked_at.is_none());
        app
    })
    .await;
}

/// The text of the read-only field holding a new token on the page that shows it once.
fn shown_token(page: &str) -> String {
    let from = page.find("id=\"token\"").expect("the token field");
    let value = page[from..].find('>').unwrap() + from + 1;
    let end = page[value..].find("</textarea>").unwrap() + value;
    page[value..end].to_owned()
}

/// The page: create with the form (refusals keep what was typed and create nothing), the
/// token shown once, revoke with the list's form; every form needs its CSRF token.
#[tokio::test]
async fn s24_the_page_creates_shows_once_and_revokes() {
    each_backend_with(configure, |app| async move {
        let (owner, _) = setup(&app).await;
        let base = &app.base_url;
        let (status, _, page) = owner.browser.get(&app.url("/account/pats"), base).await;
        assert_eq!(status, 200);
        assert!(page.contains("You have no tokens.") && page.contains("repo:read"));

        // No scope, a tampered expiry, a tampered scope: the form again, nothing created.
        for (fields, message) in [
            (vec![("name", "laptop")], "Choose at least one scope"),
            (
                vec![
                    ("name", "laptop"),
                    ("scope_0", "repo:read"),
                    ("expires", "999"),
                ],
                "Choose when the token expires",
            ),
            (
                vec![("name", "laptop"), ("scope_0", "admin")],
                "Choose at least one scope",
            ),
            (vec![("name", ""), ("scope_0", "repo:read")], "Enter a name"),
        ] {
            let (status, _, again) = owner.browser.submit(&page, base, &fields).await;
            assert_eq!(status, 400, "{fields:?}");
            assert!(again.contains(message), "{fields:?}: {again}");
            assert!(again.contains("aria-invalid=\"true\"") || again.contains("scope-error"));
        }
        // Without the CSRF token.
        let response = owner
            .browser
            .http
            .post(app.url("/account/pats"))
            .form(&[
                ("name", "laptop"),
                ("scope_0", "repo:read"),
                ("expires", "30"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 403);
        let (_, list) = owner.get(&app, "/account/pats").await;
        assert_eq!(list, json!([]));

        let (status, _, shown) = owner
            .browser
            .submit(
                &page,
                base,
                &[
                    ("name", "laptop"),
                    ("scope_0", "repo:read"),
                    ("expires", "30"),
                ],
            )
            .await;
        assert_eq!(status, 200);
        let token = shown_token(&shown);
        assert!(lanyard_core::pat_token::is_well_formed(&token));
        assert!(
            shown.contains(&format!(
                "href=\"data:text/plain;charset=utf-8,{token}%0A\" download=\"token-laptop.txt\""
            )),
            "{shown}"
        );
        let (_, list) = owner.get(&app, "/account/pats").await;
        assert_eq!(list[0]["name"], "laptop");
        let thirty_days = app.clock.now().seconds() + 30 * 86_400;
        assert_eq!(list[0]["expires_at"], thirty_days);
        let (_, _, listed) = owner.browser.get(&app.url("/account/pats"), base).await;
        assert!(!listed.contains(&token[8..51]) && listed.contains(&token[..12]));
        assert_eq!(
            exchange_pat(&app, &token, &[("audience", API)]).await.0,
            200
        );

        // Revoke asks first (issue 12 item 8); its form without CSRF fails.
        let id = list[0]["id"].as_str().unwrap().to_owned();
        let confirm_path = format!("/account/pats/{id}/revoke");
        assert!(
            listed.contains(&format!("href=\"{confirm_path}\"")),
            "{listed}"
        );
        let (status, _, confirm) = owner.browser.get(&app.url(&confirm_path), base).await;
        assert_eq!(status, 200);
        assert!(
            confirm.contains("Revoke \u{2018}laptop\u{2019}?"),
            "{confirm}"
        );
        assert!(
            confirm.contains("no longer be able to sign in"),
            "{confirm}"
        );
        assert!(
            confirm.contains("href=\"/account/pats\">Cancel</a>"),
            "{confirm}"
        );
        let action = lanyard_testkit::form_action(&confirm).unwrap();
        assert_eq!(action, confirm_path);
        let response = owner
            .browser
            .http
            .post(app.url(&action))
            .form(&[("csrf_token", "forged")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 403);
        let (_, at, after) = owner.browser.submit(&confirm, base, &[]).await;
        assert!(at.ends_with("/account/pats"), "{at}");
        assert!(
            after.contains("Token \u{2018}laptop\u{2019} revoked")
                && after.contains("You have no tokens."),
            "{after}"
        );
        // The notice is shown once; a replayed revoke changes nothing and says so.
        let (_, _, again) = owner.browser.get(&app.url("/account/pats"), base).await;
        assert!(!again.contains("revoked."), "{again}");
        let (_, _, replayed) = owner.browser.submit(&confirm, base, &[]).await;
        assert!(
            replayed.contains("That token was already revoked"),
            "{replayed}"
        );
        let (status, body) = exchange_pat(&app, &token, &[("audience", API)]).await;
        assert_refused(status, &body);

        // After the step-up window, creating sends the browser to reconfirm first.
        app.clock.advance(11 * 60);
        let (_, _, page) = owner.browser.get(&app.url("/account/pats"), base).await;
        let (_, at, _) = owner
            .browser
            .submit(&page, base, &[("name", "late"), ("scope_0", "repo:read")])
            .await;
        assert!(at.contains("/account/reconfirm"), "{at}");
        let (_, list) = owner.get(&app, "/account/pats").await;
        assert_eq!(list, json!([]));
        app
    })
    .await;
}

/// The APIs of [`configure`], as the CLI's configuration file.
const CLI_CONFIG: &str = r#"
[[resources]]
identifier = "api.example.com"
scopes = ["repo:read", "repo:write"]

[[resources]]
identifier = "files.example.com"
scopes = ["files:read"]
"#;

/// `lanyard pat …` beside the running server: bad input fails with a message and creates
/// nothing; the token is printed once and exchanges; a revocation by the CLI process stops
/// the server's next exchange although the server had the token cached.
#[tokio::test]
async fn s24_s27_lanyard_pat_commands() {
    each_backend_with(configure, |app| async move {
        app.create_user(EMAIL).await;
        app.create_client(client(
            TOOL,
            ClientAuthMethod::None,
            vec![GrantType::TokenExchange],
        ))
        .await;
        for (args, says) in [
            (
                vec![
                    "pat",
                    "create",
                    "--user",
                    "nobody@example.com",
                    "--name",
                    "x",
                    "--scope",
                    "repo:read",
                ],
                "no such account",
            ),
            (
                vec![
                    "pat", "create", "--user", EMAIL, "--name", "x", "--scope", "admin",
                ],
                "scope",
            ),
            (
                vec!["pat", "create", "--user", EMAIL, "--name", "x"],
                "scopes",
            ),
            (
                vec![
                    "pat",
                    "create",
                    "--user",
                    EMAIL,
                    "--name",
                    "x",
                    "--scope",
                    "repo:read",
                    "--expires-in",
                    "1y",
                ],
                "--expires-in",
            ),
            (
                vec![
                    "pat",
                    "create",
                    "--user",
                    EMAIL,
                    "--name",
                    "x",
                    "--scope",
                    "repo:read",
                    "--expires-in",
                    "367d",
                ],
                "expiry",
            ),
            (
                vec![
                    "pat",
                    "create",
                    "--user",
                    EMAIL,
                    "--name",
                    "x",
                    "--scope",
                    "repo:read",
                    "--site",
                    "acme",
                ],
                "no such site",
            ),
            (
                vec!["pat", "revoke", "01a2032a-7093-7338-a3bd-53a65fb2e40b"],
                "no such token",
            ),
            (vec!["pat", "revoke", "not-an-id"], "no such token"),
        ] {
            let out = pat_cli(&app, &args).await;
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(!out.status.success(), "{args:?}");
            assert!(stderr.contains(says), "{args:?}: {stderr}");
        }
        let out = pat_cli(&app, &["pat", "list", "--json"]).await;
        assert_eq!(
            serde_json::from_slice::<Value>(&out.stdout).unwrap(),
            json!([])
        );

        let out = pat_cli(
            &app,
            &[
                "pat",
                "create",
                "--user",
                EMAIL,
                "--name",
                "ci",
                "--scope",
                "repo:read",
                "--expires-in",
                "30d",
                "--json",
            ],
        )
        .await;
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let created: Value = serde_json::from_slice(&out.stdout).unwrap();
        let token = created["token"].as_str().unwrap().to_owned();
        assert!(!String::from_utf8_lossy(&out.stderr).contains(&token[8..51]));
        let id = created["id"].as_str().unwrap().to_owned();
        // The CLI runs on the real clock; the test server's clock started at it moments ago.
        let late =
            created["expires_at"].as_i64().unwrap() - (app.clock.now().seconds() + 30 * 86_400);
        assert!((0..=120).contains(&late), "{created}");
        let listed = pat_cli(&app, &["pat", "list", "--json"]).await;
        let listed: Value = serde_json::from_slice(&listed.stdout).unwrap();
        assert_eq!(listed[0]["id"], id.as_str());
        assert!(listed[0].get("token").is_none());

        // Twice: the second exchange is served from the server's cache.
        for _ in 0..2 {
            assert_eq!(
                exchange_pat(&app, &token, &[("audience", API)]).await.0,
                200
            );
        }
        let out = pat_cli(
            &app,
            &["pat", "revoke", Box::leak(id.clone().into_boxed_str())],
        )
        .await;
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let (status, body) = exchange_pat(&app, &token, &[("audience", API)]).await;
        assert_refused(status, &body);
        app
    })
    .await;
}

async fn pat_cli(app: &TestApp, args: &[&str]) -> std::process::Output {
    crate::helpers::lanyard_cli(app, args, CLI_CONFIG).await
}

/// Revoking on one node stops the next exchange on another that had the PAT cached: on
/// PostgreSQL + Redis through pub/sub, on the embedded default through the file in the
/// shared data folder (the CLI beside a running server).
#[tokio::test]
async fn s25_revocation_reaches_every_node_before_it_returns() {
    each_backend_with(configure, |a| async move {
        let embedded = a.config.ephemeral.redis_url.is_empty();
        let data_dir = a.config.server.data_dir.clone();
        let b = crate::helpers::second_node(&a, |c| {
            configure(c);
            if embedded {
                c.server.data_dir = data_dir.clone();
            }
        })
        .await;
        b.clock.set(a.clock.now());
        let (owner, _) = setup(&a).await;
        let (token, id) = owner.token(&a, &["repo:read"]).await;
        for node in [&a, &b, &b] {
            let (status, body) = exchange_pat(node, &token, &[("audience", API)]).await;
            assert_eq!(status, 200, "{body}");
        }
        assert_eq!(owner.revoke(&a, &id).await, 204);
        let (status, body) = exchange_pat(&b, &token, &[("audience", API)]).await;
        assert_refused(status, &body);
        b.cleanup().await;
        a
    })
    .await;
}

/// `pats.cache = false`: every exchange reads the store and no invalidation is consulted, so
/// a revocation by the CLI (another process) stops the next exchange, and so does disabling
/// the account.
#[tokio::test]
async fn s25_s27_without_the_cache_every_exchange_reads_the_store() {
    let uncached = |c: &mut Config| {
        configure(c);
        c.pats.cache = false;
    };
    each_backend_with(uncached, |app| async move {
        let (owner, _) = setup(&app).await;
        let (token, id) = owner.token(&app, &["repo:read"]).await;
        for _ in 0..2 {
            let (status, body) = exchange_pat(&app, &token, &[("audience", API)]).await;
            assert_eq!(status, 200, "{body}");
        }
        let out = pat_cli(&app, &["pat", "revoke", id.as_str()]).await;
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let (status, body) = exchange_pat(&app, &token, &[("audience", API)]).await;
        assert_refused(status, &body);

        let (second, _) = owner.token(&app, &["repo:read"]).await;
        let (status, body) = exchange_pat(&app, &second, &[("audience", API)]).await;
        assert_eq!(status, 200, "{body}");
        app.app
            .state
            .accounts
            .disable(EMAIL, &Origin::cli())
            .await
            .unwrap();
        let (status, body) = exchange_pat(&app, &second, &[("audience", API)]).await;
        assert_refused(status, &body);
        app
    })
    .await;
}

/// Waits (bounded) for a write the server makes off the request path.
async fn wait_until<F, Fut>(condition: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..200 {
        if condition().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the condition did not become true within 2 s");
}

/// Issue 11 item 13 (S26): the per-client failure limit is counted per client *and*
/// address, so one address hammering a shared public tool's client id locks out only
/// itself; every other user of the tool keeps exchanging.
#[tokio::test]
async fn s26_a_clients_failures_from_one_address_do_not_block_another() {
    let tweak = |c: &mut Config| {
        configure(c);
        c.server.trust_forwarded_for = true;
        c.pats.exchange_failures_per_client = 4;
    };
    each_backend_with(tweak, |app| async move {
        let (owner, _) = setup(&app).await;
        let (good, _) = owner.token(&app, &["repo:read"]).await;
        let unknown = lanyard_core::pat_token::mint(&lanyard_core::OsRng).token;
        let from = |address: &'static str, token: String| {
            let url = app.url("/token");
            async move {
                let response = reqwest::Client::new()
                    .post(url)
                    .header("x-forwarded-for", address)
                    .form(&[
                        ("grant_type", EXCHANGE),
                        ("client_id", TOOL),
                        ("subject_token", token.as_str()),
                        ("subject_token_type", PAT_TYPE),
                        ("audience", API),
                    ])
                    .send()
                    .await
                    .unwrap();
                body_json(response).await
            }
        };
        let attacker = "192.0.2.1";
        for _ in 0..3 {
            let (status, body) = from(attacker, unknown.expose().to_owned()).await;
            assert_refused(status, &body);
        }
        // The fourth failure reaches the client's limit for this address.
        let (status, _) = from(attacker, unknown.expose().to_owned()).await;
        assert_eq!(status, 429);
        let (status, _) = from(attacker, good.clone()).await;
        assert_eq!(
            status, 429,
            "the attacker's address is throttled for the tool"
        );
        // Another user of the same tool, elsewhere: unaffected.
        let (status, body) = from("198.51.100.7", good.clone()).await;
        assert_eq!(status, 200, "{body}");
        let (status, body) = from("198.51.100.7", unknown.expose().to_owned()).await;
        assert_refused(status, &body);
        app
    })
    .await;
}

/// A one-time page and its id, after the create form's POST (no redirect followed).
async fn create_with_form(app: &TestApp, owner: &Owner, name: &str) -> (String, u16) {
    let response = owner
        .browser
        .http
        .post(app.url("/account/pats"))
        .form(&[
            ("csrf_token", owner.csrf(app).await.as_str()),
            ("name", name),
            ("scope_0", "repo:read"),
            ("expires", "30"),
        ])
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (location, status)
}

/// Issue 12 item 6: the create form answers 303 to a one-time, no-store page; reloading it
/// (or going Back to it) shows no token and creates none; another session, an unknown id
/// and no session get nothing, and leave the page for its own session untouched.
#[tokio::test]
async fn issue12_refresh_after_creating_a_token_creates_none() {
    each_backend_with(configure, |app| async move {
        let (owner, _) = setup(&app).await;
        let (intruder, _) = {
            // The same user in another browser: a session of its own.
            let jar = Arc::new(Jar::default());
            let browser = Browser::with_cookie_jar(jar);
            let base = &app.base_url;
            let (_, _, page) = browser.get(&app.url("/account/pats"), base).await;
            let (_, _, page) = browser.submit(&page, base, &[("email", EMAIL)]).await;
            let sent = app.mail.messages_to(EMAIL).len();
            let (_, _, page) = browser.submit(&page, base, &[("password", PASSWORD)]).await;
            browser
                .second_step(page, base, &app.mail, EMAIL, sent)
                .await;
            (Owner { browser }, ())
        };
        let (location, status) = create_with_form(&app, &owner, "laptop").await;
        assert_eq!(status, 303);
        assert!(location.starts_with("/account/pats/shown/"), "{location}");
        let (_, list) = owner.get(&app, "/account/pats").await;
        assert_eq!(list.as_array().unwrap().len(), 1);

        // Another session, a malformed and an unknown id: 404, nothing shown.
        let unknown = format!("/account/pats/shown/{}", "A".repeat(43));
        for (who, path) in [
            (&intruder, location.as_str()),
            (&owner, "/account/pats/shown/not-an-id"),
            (&owner, unknown.as_str()),
        ] {
            let response = who.browser.http.get(app.url(path)).send().await.unwrap();
            assert_eq!(response.status().as_u16(), 404, "{path}");
            let body = response.text().await.unwrap();
            assert!(body.contains("There is no token to show here"), "{body}");
        }
        // No session: sent to sign in.
        let response = Browser::new()
            .http
            .get(app.url(&location))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 303);

        // The owner's first load shows it, never cached.
        let response = owner
            .browser
            .http
            .get(app.url(&location))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(response.headers()["cache-control"], "no-store");
        let page = response.text().await.unwrap();
        let token = shown_token(&page);
        assert!(lanyard_core::pat_token::is_well_formed(&token));
        assert!(page.contains("class=\"token-field\""), "{page}");

        // Reload and Back: the name, no token, no new token.
        for _ in 0..2 {
            let response = owner
                .browser
                .http
                .get(app.url(&location))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status().as_u16(), 200);
            assert_eq!(response.headers()["cache-control"], "no-store");
            let again = response.text().await.unwrap();
            assert!(again.contains("This token was shown once"), "{again}");
            assert!(
                again.contains("listed as \u{2018}laptop\u{2019}"),
                "{again}"
            );
            assert!(!again.contains(&token[8..]), "{again}");
        }
        let (_, list) = owner.get(&app, "/account/pats").await;
        assert_eq!(list.as_array().unwrap().len(), 1, "no second token");

        // The entry expires within minutes.
        let (later, _) = create_with_form(&app, &owner, "ci").await;
        app.clock.advance(6 * 60);
        let response = owner
            .browser
            .http
            .get(app.url(&later))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 404);

        // The create form's wrong CSRF token: 403, nothing created.
        let response = owner
            .browser
            .http
            .post(app.url("/account/pats"))
            .form(&[
                ("csrf_token", "forged"),
                ("name", "x"),
                ("scope_0", "repo:read"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 403);
        let (_, list) = owner.get(&app, "/account/pats").await;
        assert_eq!(list.as_array().unwrap().len(), 2);
        app
    })
    .await;
}

/// Issue 12 item 9: scopes under their API's name with descriptions, expiry choices in
/// order with the day each ends, every field's error at once.
#[tokio::test]
async fn issue12_the_pat_form_names_apis_orders_expiries_and_shows_every_error() {
    each_backend_with(configure, |app| async move {
        let (owner, _) = setup(&app).await;
        let base = &app.base_url;
        let (_, _, page) = owner.browser.get(&app.url("/account/pats"), base).await;
        assert!(
            page.contains("<p class=\"scope-group-title\">Example API</p>"),
            "{page}"
        );
        assert!(page.contains("Repositories and their issues."), "{page}");
        assert!(
            page.contains("Read your repositories <code>repo:read</code>"),
            "{page}"
        );
        assert!(page.contains("<p class=\"scope-group-title\">files.example.com</p>"));
        let options: Vec<&str> = page
            .match_indices("<option value=\"")
            .map(|(i, _)| {
                let rest = &page[i + 15..];
                &rest[..rest.find('"').unwrap()]
            })
            .collect();
        assert_eq!(options, ["7", "30", "60", "90", "180", "366"]);
        let in_30 = lanyard_mfa::when::date(app.clock.now().plus_secs(30 * 86_400));
        assert!(page.contains(&format!("30 days (until {in_30})")), "{page}");
        assert!(
            page.contains("<option value=\"90\" selected>"),
            "the default: {page}"
        );

        let (status, _, again) = owner
            .browser
            .submit(&page, base, &[("name", ""), ("expires", "999")])
            .await;
        assert_eq!(status, 400);
        let summary = &again[again.find("error-summary-list").unwrap()..];
        let summary = &summary[..summary.find("</ul>").unwrap()];
        for (field, message) in [
            ("name", "Enter a name"),
            ("scope_0", "Choose at least one scope"),
            ("expires", "Choose when the token expires"),
        ] {
            assert!(
                summary.contains(&format!("href=\"#{field}\">{message}")),
                "{summary}"
            );
        }
        let (_, list) = owner.get(&app, "/account/pats").await;
        assert_eq!(list, json!([]));
        app
    })
    .await;
}
