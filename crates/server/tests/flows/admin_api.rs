//! The admin REST API (issue 15, H4) on every backend: each route's happy path with the
//! audit events it leaves, ETag / If-Match, the admin role from the CLI, and the audit log's
//! append-only table and retention purge. Refusals: `admin_api_refusals.rs`.

use lanyard_core::Clock;
use lanyard_core::model::{ADMIN_SCOPE, ClientAuthMethod, GrantType, admin_api_audience};
use lanyard_server::NewClient;
use lanyard_testkit::TestApp;
use serde_json::{Value, json};

use crate::helpers::{each_backend, http, lanyard_cli, side_connection};

pub const OPS: &str = "ops-bot";
pub const API: &str = "/admin/api/v1";

/// A service allowed the admin scope by client credentials.
pub fn ops_client(id: &str, scopes: &[&str]) -> NewClient {
    NewClient {
        id: id.to_owned(),
        name: "Operations bot".to_owned(),
        redirect_uris: vec![],
        post_logout_redirect_uris: vec![],
        grant_types: vec![GrantType::ClientCredentials],
        auth_method: ClientAuthMethod::ClientSecretBasic,
        jwks: None,
        first_party: true,
        allowed_scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        exchange_audiences: vec![],
        backchannel_logout_uri: None,
        backchannel_logout_session_required: false,
    }
}

/// A client-credentials token for `audience` (none: the issuer's own).
pub async fn client_token(
    app: &TestApp,
    id: &str,
    secret: &str,
    audience: Option<&str>,
) -> (u16, Value) {
    let mut form = vec![("grant_type", "client_credentials".to_owned())];
    if let Some(audience) = audience {
        form.push(("audience", audience.to_owned()));
    }
    let response = http()
        .post(app.url("/token"))
        .basic_auth(id, Some(secret))
        .form(&form)
        .send()
        .await
        .unwrap();
    crate::helpers::json(response).await
}

/// The admin client `OPS` registered and its admin API token.
pub async fn admin_token(app: &TestApp) -> String {
    let secret = admin_secret(app).await;
    ops_token(app, &secret).await
}

/// Registers the admin client `OPS`: its secret.
pub async fn admin_secret(app: &TestApp) -> String {
    app.create_client(ops_client(OPS, &[ADMIN_SCOPE]))
        .await
        .unwrap()
}

/// A new admin API token for `OPS`.
pub async fn ops_token(app: &TestApp, secret: &str) -> String {
    let audience = admin_api_audience(&app.base_url);
    let (status, body) = client_token(app, OPS, secret, Some(&audience)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scope"], ADMIN_SCOPE);
    body["access_token"].as_str().unwrap().to_owned()
}

/// One admin API call: status, headers and the JSON body (`Null` when there is none).
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn etag(&self) -> String {
        self.headers["etag"].to_str().unwrap().to_owned()
    }

    pub fn content_type(&self) -> &str {
        self.headers
            .get("content-type")
            .map(|v| v.to_str().unwrap())
            .unwrap_or("")
    }

    /// An RFC 9457 problem with this status.
    pub fn assert_problem(&self, status: u16) {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(self.content_type(), "application/problem+json");
        assert_eq!(self.body["status"], status);
        assert!(
            self.body["type"]
                .as_str()
                .unwrap()
                .starts_with("urn:lanyard:problem:")
        );
        assert!(self.body["title"].is_string() && self.body["detail"].is_string());
    }
}

pub async fn call(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
    if_match: Option<&str>,
) -> Answer {
    let mut request = http().request(method, app.url(&format!("{API}{path}")));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    if let Some(tag) = if_match {
        request = request.header("If-Match", tag);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        body,
    }
}

pub async fn get(app: &TestApp, path: &str, token: &str) -> Answer {
    call(app, reqwest::Method::GET, path, Some(token), None, None).await
}

/// The kinds and actors of the audit events of `kind`, newest first, through the API.
async fn audited(app: &TestApp, token: &str, kind: &str) -> Vec<Value> {
    let answer = get(app, &format!("/audit?kind={kind}"), token).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.body["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn h4_every_admin_route_works_for_an_admin_client_and_audits_its_actions() {
    each_backend(|app| async move {
        let token = admin_token(&app).await;
        let actor = format!("client:{OPS}");
        use reqwest::Method;

        // Clients: register (secret shown once), list, read with its ETag, delete.
        let created = call(
            &app,
            Method::POST,
            "/clients",
            Some(&token),
            Some(json!({
                "id": "shop",
                "redirect_uris": ["https://shop.example/cb"],
                "allowed_scopes": ["openid"],
            })),
            None,
        )
        .await;
        assert_eq!(created.status, 201, "{}", created.body);
        assert!(
            created.body["client_secret"]
                .as_str()
                .unwrap()
                .starts_with("lyd_cs_")
        );
        let listed = get(&app, "/clients?limit=1", &token).await;
        assert_eq!(listed.status, 200);
        assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
        let cursor = listed.body["next_cursor"].as_str().unwrap().to_owned();
        let second = get(&app, &format!("/clients?cursor={cursor}"), &token).await;
        let ids: Vec<&str> = [&listed.body, &second.body]
            .iter()
            .flat_map(|b| b["items"].as_array().unwrap())
            .map(|c| c["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, [OPS, "shop"]);
        let read = get(&app, "/clients/shop", &token).await;
        assert_eq!(read.status, 200);
        assert!(read.body.get("client_secret").is_none());
        assert_eq!(read.etag(), created.etag());
        let tag = read.etag();
        let deleted = call(&app, Method::DELETE, "/clients/shop", Some(&token), None, Some(&tag)).await;
        assert_eq!(deleted.status, 204);
        get(&app, "/clients/shop", &token).await.assert_problem(404);

        // Accounts: create, search, read, disable and enable (If-Match), unlock, sessions.
        let created = call(
            &app,
            Method::POST,
            "/accounts",
            Some(&token),
            Some(json!({"email": "Kim@Example.com", "name": "Kim", "password": lanyard_testkit::PASSWORD})),
            None,
        )
        .await;
        assert_eq!(created.status, 201, "{}", created.body);
        assert!(created.body.get("password").is_none());
        let id = created.body["id"].as_str().unwrap().to_owned();
        let found = get(&app, "/accounts?email_prefix=KIM&status=active", &token).await;
        assert_eq!(found.body["items"][0]["id"], id.as_str());
        let read = get(&app, &format!("/accounts/{id}"), &token).await;
        assert_eq!(read.body["status"], "active");
        let disabled = call(
            &app,
            Method::POST,
            &format!("/accounts/{id}/disable"),
            Some(&token),
            None,
            Some(&read.etag()),
        )
        .await;
        assert_eq!(disabled.status, 200, "{}", disabled.body);
        assert_eq!(disabled.body["status"], "disabled");
        let enabled = call(
            &app,
            Method::POST,
            &format!("/accounts/{id}/enable"),
            Some(&token),
            None,
            Some(&disabled.etag()),
        )
        .await;
        assert_eq!(enabled.status, 200, "{}", enabled.body);
        assert_eq!(enabled.body["status"], "active");
        let unlocked = call(&app, Method::POST, &format!("/accounts/{id}/unlock"), Some(&token), None, None).await;
        assert_eq!(unlocked.status, 204);
        let ended = call(&app, Method::DELETE, &format!("/accounts/{id}/sessions"), Some(&token), None, None).await;
        assert_eq!(ended.status, 204);

        // Keys: list (public halves only), rotate one algorithm, retire a key.
        let keys = get(&app, "/keys", &token).await;
        assert_eq!(keys.status, 200);
        let before = keys.body["items"].as_array().unwrap().len();
        assert!(keys.body.to_string().contains("\"kty\""));
        assert!(!keys.body.to_string().contains("private"));
        let rotated = call(&app, Method::POST, "/keys/rotate?alg=ES256", Some(&token), None, None).await;
        assert_eq!(rotated.status, 201, "{}", rotated.body);
        let kid = rotated.body["items"][0]["kid"].as_str().unwrap().to_owned();
        assert_eq!(get(&app, "/keys", &token).await.body["items"].as_array().unwrap().len(), before + 1);
        let retired = call(&app, Method::POST, &format!("/keys/{kid}/retire"), Some(&token), None, None).await;
        assert_eq!(retired.status, 204);
        call(&app, Method::POST, &format!("/keys/{kid}/retire"), Some(&token), None, None)
            .await
            .assert_problem(404);

        // Every action is in the audit log with the client as actor.
        for kind in [
            "client.created",
            "client.deleted",
            "account.created",
            "account.disabled",
            "account.enabled",
            "session.ended_all",
            "key.rotated",
            "key.retired",
        ] {
            let events = audited(&app, &token, kind).await;
            assert!(
                events.iter().any(|e| e["actor"] == actor.as_str()),
                "{kind}: {events:?}"
            );
        }
        // The audit log's own pages: by account, newest first, with a working cursor.
        let page = get(&app, &format!("/audit?account={id}&limit=1"), &token).await;
        assert_eq!(page.body["items"][0]["kind"], "session.ended_all");
        let next = page.body["next_cursor"].as_str().unwrap();
        let page2 = get(&app, &format!("/audit?account={id}&limit=1&cursor={next}"), &token).await;
        assert_eq!(page2.status, 200);
        assert_ne!(page2.body["items"][0]["id"], page.body["items"][0]["id"]);
        app
    })
    .await;
}

#[tokio::test]
async fn h4_if_match_is_required_and_a_stale_tag_is_refused_without_a_change() {
    each_backend(|app| async move {
        use reqwest::Method;
        let token = admin_token(&app).await;
        let account = app.create_user("lee@example.com").await;
        let path = format!("/accounts/{}", account.id);
        let tag = get(&app, &path, &token).await.etag();
        call(
            &app,
            Method::POST,
            &format!("{path}/disable"),
            Some(&token),
            None,
            None,
        )
        .await
        .assert_problem(428);
        call(
            &app,
            Method::POST,
            &format!("{path}/disable"),
            Some(&token),
            None,
            Some("\"stale\""),
        )
        .await
        .assert_problem(412);
        assert_eq!(get(&app, &path, &token).await.body["status"], "active");
        // A tag read before a change is stale after it.
        let disabled = call(
            &app,
            Method::POST,
            &format!("{path}/disable"),
            Some(&token),
            None,
            Some(&tag),
        )
        .await;
        assert_eq!(disabled.status, 200);
        call(
            &app,
            Method::POST,
            &format!("{path}/enable"),
            Some(&token),
            None,
            Some(&tag),
        )
        .await
        .assert_problem(412);
        assert_eq!(get(&app, &path, &token).await.body["status"], "disabled");
        call(
            &app,
            Method::DELETE,
            &format!("/clients/{OPS}"),
            Some(&token),
            None,
            None,
        )
        .await
        .assert_problem(428);
        call(
            &app,
            Method::DELETE,
            &format!("/clients/{OPS}"),
            Some(&token),
            None,
            Some("\"x\""),
        )
        .await
        .assert_problem(412);
        assert_eq!(
            get(&app, &format!("/clients/{OPS}"), &token).await.status,
            200
        );
        app
    })
    .await;
}

#[tokio::test]
async fn a5_audit_rows_refuse_updates_and_the_cli_purges_past_the_retention() {
    each_backend(|app| async move {
        // Events written three days ago (by the test clock)...
        let now = app.clock.now();
        app.clock.set(now.minus_secs(3 * 86_400));
        let secret = admin_secret(&app).await;
        app.create_user("old@example.com").await;
        app.clock.set(now);
        let token = ops_token(&app, &secret).await;
        let db = side_connection(&app).await;
        // Append-only: the database itself refuses to change an event.
        use sea_orm::ConnectionTrait;
        let update = db
            .execute_unprepared("UPDATE audit_events SET kind = 'forged'")
            .await;
        assert!(update.is_err(), "an audit event was updated");
        assert_eq!(audited(&app, &token, "forged").await.len(), 0);
        assert_eq!(audited(&app, &token, "account.created").await.len(), 1);

        // ...are past a one-day retention: the CLI's purge deletes them, and says so.
        let output = lanyard_cli(
            &app,
            &["audit", "purge", "--json"],
            "[audit]\nretention_days = 1\n",
        )
        .await;
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let purged: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert!(purged["purged"].as_u64().unwrap() >= 2, "{purged}");
        assert!(audited(&app, &token, "account.created").await.is_empty());
        assert_eq!(audited(&app, &token, "audit.purged").await.len(), 1);
        app
    })
    .await;
}

#[tokio::test]
async fn a5_the_servers_purge_follows_the_injected_clock() {
    each_backend(|app| async move {
        let secret = admin_secret(&app).await;
        app.create_user("kept@example.com").await;
        let config = lanyard_server::audit_retention::AuditConfig {
            retention_days: 30,
            ..Default::default()
        };
        let state = &app.app.state;
        let purge = || async {
            lanyard_server::audit_retention::purge_once(
                state.admin.audit_log.as_ref(),
                &state.audit,
                app.clock.as_ref(),
                &config,
                &lanyard_core::Origin::cli(),
            )
            .await
            .unwrap()
        };
        app.clock.advance(29 * 86_400);
        assert_eq!(purge().await, 0);
        let token = ops_token(&app, &secret).await;
        assert_eq!(audited(&app, &token, "account.created").await.len(), 1);
        app.clock.advance(2 * 86_400);
        assert!(purge().await >= 1);
        let token = ops_token(&app, &secret).await;
        assert!(audited(&app, &token, "account.created").await.is_empty());
        app
    })
    .await;
}
