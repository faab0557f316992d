//! The admin API's refusals on every backend: tokens that are missing, malformed, forged,
//! expired, for another audience or without the scope; a non-admin's PAT (refused at the
//! exchange) and an admin whose role is revoked or whose account is disabled (refused at
//! once); malformed, oversized and unknown-field bodies; S50 injection strings in search,
//! sort and cursor parameters — each a 4xx problem, never a 5xx, with nothing changed. And
//! the OpenAPI document against the router.

use lanyard_core::Origin;
use lanyard_core::model::{ADMIN_SCOPE, admin_api_audience};
use lanyard_identity::pats::{Expiry, PatRequest};
use lanyard_testkit::TestApp;
use reqwest::Method;
use serde_json::{Value, json};

use crate::admin_api::{
    API, OPS, admin_secret, admin_token, call, client_token, get, ops_client, ops_token,
};
use crate::helpers::{
    database_snapshot, each_backend, exchange_pat, http, lanyard_cli, pat_tool, side_connection,
};

#[tokio::test]
async fn h4_tokens_without_admin_rights_are_refused_with_problems() {
    each_backend(|app| async move {
        let secret = admin_secret(&app).await;
        let token = ops_token(&app, &secret).await;
        let bare = |auth: Option<&'static str>| {
            let app = &app;
            async move {
                let mut request = http().get(app.url(&format!("{API}/keys")));
                if let Some(auth) = auth {
                    request = request.header("Authorization", auth);
                }
                request.send().await.unwrap()
            }
        };
        // No token: RFC 6750's challenge, and a problem.
        let none = bare(None).await;
        assert_eq!(none.status(), 401);
        assert!(
            none.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Bearer")
        );
        assert_eq!(none.headers()["content-type"], "application/problem+json");
        for auth in [
            "Bearer not-a-token",
            "Bearer a b",
            "Basic b3BzOnNlY3JldA==",
            "Bearer ",
        ] {
            assert_eq!(bare(Some(auth)).await.status(), 401, "{auth}");
        }
        // Forged: the signature no longer matches.
        // A character well inside the signature (the last one may carry unused bits).
        let mut chars: Vec<char> = token.chars().collect();
        let at = chars.len() - 10;
        chars[at] = if chars[at] == 'A' { 'B' } else { 'A' };
        let forged: String = chars.into_iter().collect();
        get(&app, "/keys", &forged).await.assert_problem(401);
        // Another audience: the issuer's own token for the same client.
        let (_, body) = client_token(&app, OPS, &secret, None).await;
        get(&app, "/keys", body["access_token"].as_str().unwrap())
            .await
            .assert_problem(401);
        // The admin API's audience without its scope.
        let other = app
            .create_client(ops_client("reader", &["openid"]))
            .await
            .unwrap();
        let audience = admin_api_audience(&app.base_url);
        let (status, body) = client_token(&app, "reader", &other, Some(&audience)).await;
        assert_eq!(status, 200, "{body}");
        let answer = get(&app, "/keys", body["access_token"].as_str().unwrap()).await;
        answer.assert_problem(403);
        assert_eq!(
            answer.body["type"],
            "urn:lanyard:problem:insufficient-scope"
        );
        // Asking for the scope without being allowed it is refused at the token endpoint.
        let response = http()
            .post(app.url("/token"))
            .basic_auth("reader", Some(&other))
            .form(&[
                ("grant_type", "client_credentials"),
                ("audience", audience.as_str()),
                ("scope", ADMIN_SCOPE),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(
            crate::helpers::json(response).await.1["error"],
            "invalid_scope"
        );
        // Expired (test clock).
        assert_eq!(get(&app, "/keys", &token).await.status, 200);
        app.clock
            .advance(app.config.tokens.access_token_ttl_secs + 1);
        get(&app, "/keys", &token).await.assert_problem(401);
        // A deleted client's live token stops at once.
        let token = ops_token(&app, &secret).await;
        app.app
            .state
            .issuer
            .clients()
            .delete(OPS, &Origin::cli())
            .await
            .unwrap();
        let answer = get(&app, "/keys", &token).await;
        answer.assert_problem(403);
        assert_eq!(answer.body["type"], "urn:lanyard:problem:not-admin");
        app
    })
    .await;
}

const TOOL: &str = "admin-shell";
pub const PERSON: &str = "pat-admin@example.com";

pub async fn admin_pat(app: &TestApp) -> String {
    let account = app.create_user(PERSON).await;
    let request = PatRequest {
        name: "ops".to_owned(),
        scopes: vec![ADMIN_SCOPE.to_owned()],
        audiences: vec![admin_api_audience(&app.base_url)],
        expiry: Expiry::Default,
        site: None,
    };
    let (_, secret) = app
        .app
        .state
        .pats
        .create(&account, request, &Origin::cli())
        .await
        .unwrap();
    secret.expose().to_owned()
}

async fn cli_admin(app: &TestApp, flag: &str) {
    let output = lanyard_cli(app, &["user", "admin", "--email", PERSON, flag], "").await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
async fn h4_a_non_admins_pat_is_refused_and_a_revoked_or_disabled_admin_loses_access_at_once() {
    each_backend(|app| async move {
        app.create_client(pat_tool(TOOL, "Admin shell")).await;
        let pat = admin_pat(&app).await;
        // Not an admin: the exchange refuses the scope.
        let (status, body) = exchange_pat(&app, TOOL, &pat).await;
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_scope")), "{body}");

        cli_admin(&app, "--grant").await;
        let (status, body) = exchange_pat(&app, TOOL, &pat).await;
        assert_eq!(status, 200, "{body}");
        let token = body["access_token"].as_str().unwrap().to_owned();
        let account = app.app.state.accounts.find_by_email(PERSON).await.unwrap().unwrap();
        // The admin acts as themself: the audit log names the account.
        let created = call(
            &app,
            Method::POST,
            "/accounts",
            Some(&token),
            Some(json!({"email": "new@example.com", "name": "New", "password": lanyard_testkit::PASSWORD})),
            None,
        )
        .await;
        assert_eq!(created.status, 201, "{}", created.body);
        let events = get(&app, "/audit?kind=account.created&limit=1", &token).await;
        assert_eq!(events.body["items"][0]["actor"], account.id.to_string());
        let granted = get(&app, "/audit?kind=account.admin_granted", &token).await;
        assert_eq!(granted.body["items"][0]["actor"], "cli");

        // Revoked: the same live token is refused on its next request.
        cli_admin(&app, "--revoke").await;
        get(&app, "/keys", &token).await.assert_problem(403);
        cli_admin(&app, "--grant").await;
        assert_eq!(get(&app, "/keys", &token).await.status, 200);
        // Disabled: refused at once too.
        app.app
            .state
            .signin
            .disable_account(PERSON, &Origin::cli())
            .await
            .unwrap();
        let answer = get(&app, "/keys", &token).await;
        assert!(matches!(answer.status, 401 | 403), "{}", answer.body);
        app
    })
    .await;
}

/// S50's corpus.
const PAYLOADS: &[&str] = &[
    "' OR 1=1--",
    "'; SELECT pg_sleep(5)--",
    "randomblob(1000000000)",
    "1 UNION SELECT * FROM accounts--",
    "\u{0}",
    "{\"$gt\":\"\"}",
    "%",
    "_",
    "email DESC; DROP TABLE accounts",
];

fn encode(value: &str) -> String {
    crate::helpers::urlencode(value)
}

#[tokio::test]
async fn s50_injection_in_admin_search_sort_and_cursor_is_refused_and_changes_nothing() {
    each_backend(|app| async move {
        let token = admin_token(&app).await;
        app.create_user("victim@example.com").await;
        let db = side_connection(&app).await;
        let before = database_snapshot(&db).await;
        let mut queries = Vec::new();
        for payload in PAYLOADS {
            let p = encode(payload);
            for q in [
                format!("/accounts?email_prefix={p}"),
                format!("/accounts?status={p}"),
                format!("/accounts?sort={p}"),
                format!("/accounts?order={p}"),
                format!("/accounts?cursor={p}"),
                format!("/accounts?limit={p}"),
                format!("/accounts/{p}"),
                format!("/clients?cursor={p}"),
                format!("/clients/{p}"),
                format!("/audit?account={p}"),
                format!("/audit?kind={p}"),
                format!("/audit?site={p}&org={p}"),
                format!("/audit?since={p}"),
                format!("/audit?cursor={p}"),
                format!("/audit?sort={p}"),
            ] {
                queries.push(q);
            }
        }
        // A cursor sealed for another list, and one with its MAC changed, are refused too.
        let accounts = get(&app, "/accounts?limit=1", &token).await;
        let cursor = accounts.body["next_cursor"].as_str().unwrap().to_owned();
        queries.push(format!("/audit?cursor={cursor}"));
        queries.push(format!("/accounts?cursor={}0", &cursor));
        for q in &queries {
            let started = std::time::Instant::now();
            let answer = get(&app, q, &token).await;
            assert!(
                matches!(answer.status, 200 | 400 | 404),
                "{q}: {} {}",
                answer.status,
                answer.body
            );
            if answer.status != 200 {
                answer.assert_problem(answer.status);
            }
            let text = answer.body.to_string().to_lowercase();
            for leak in ["sql", "syntax", "sqlite", "postgres", "database"] {
                assert!(!text.contains(leak), "{q}: {text}");
            }
            assert!(started.elapsed() < std::time::Duration::from_secs(2), "{q}");
        }
        for q in [
            "/accounts?sort=email",
            "/audit?order=asc",
            "/accounts?cursor=forged.x.00",
        ] {
            get(&app, q, &token).await.assert_problem(400);
        }
        // Only the prefix's literal text matches.
        let found = get(&app, "/accounts?email_prefix=%25", &token).await;
        assert_eq!(found.body["items"].as_array().unwrap().len(), 0);
        assert_eq!(database_snapshot(&db).await, before);
        app
    })
    .await;
}

#[tokio::test]
async fn h4_malformed_oversized_and_unknown_field_bodies_are_refused_and_change_nothing() {
    each_backend(|app| async move {
        let token = admin_token(&app).await;
        let db = side_connection(&app).await;
        let before = database_snapshot(&db).await;
        let send = |content_type: &'static str, body: Vec<u8>| {
            let app = &app;
            let token = token.clone();
            async move {
                let response = http()
                    .post(app.url(&format!("{API}/accounts")))
                    .bearer_auth(token)
                    .header("Content-Type", content_type)
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                let status = response.status().as_u16();
                let kind = response.headers().get("content-type").cloned();
                let body: Value = response.json().await.unwrap_or(Value::Null);
                (status, kind, body)
            }
        };
        let good = |extra: Value| {
            let mut body = json!({"email": "x@example.com", "name": "X", "password": "correct horse battery staple"});
            if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
                b.extend(e.clone());
            }
            serde_json::to_vec(&body).unwrap()
        };
        let cases: Vec<(&str, Vec<u8>, u16)> = vec![
            ("application/json", good(json!({"admin": true})), 400),
            ("application/json", b"{\"email\": \"x@example.com\"".to_vec(), 400),
            ("application/json", b"{\"email\": 5, \"name\": \"X\", \"password\": \"p\"}".to_vec(), 400),
            ("application/json", b"{\"name\": \"X\", \"password\": \"p\"}".to_vec(), 400),
            ("application/json", b"[]".to_vec(), 400),
            ("text/plain", good(json!({})), 415),
            ("application/x-www-form-urlencoded", b"email=x%40example.com".to_vec(), 415),
            ("application/json", vec![b' '; 64 * 1024], 413),
        ];
        for (content_type, body, status) in cases {
            let (got, kind, problem) = send(content_type, body).await;
            assert_eq!(got, status, "{content_type}: {problem}");
            assert_eq!(kind.unwrap(), "application/problem+json");
            // The refused password is never echoed.
            assert!(!problem.to_string().contains("correct horse"));
        }
        // A client with an unknown grant or auth method, a duplicate id.
        for body in [
            json!({"id": "c1", "grant_types": ["password"]}),
            json!({"id": "c1", "auth_method": "tls"}),
            json!({"id": "bad id"}),
            json!({"id": "c1", "extra": 1}),
        ] {
            call(&app, Method::POST, "/clients", Some(&token), Some(body), None)
                .await
                .assert_problem(400);
        }
        let taken = json!({"id": OPS, "redirect_uris": ["https://ops.example/cb"]});
        call(&app, Method::POST, "/clients", Some(&token), Some(taken), None)
            .await
            .assert_problem(409);
        assert_eq!(database_snapshot(&db).await, before);
        app
    })
    .await;
}

/// Request paths for a documented template (`{id}` → `x`).
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|part| if part.starts_with('{') { "x" } else { part })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn h4_the_openapi_document_lists_every_admin_route_and_each_is_served() {
    each_backend(|app| async move {
        let response = http()
            .get(app.url("/admin/api/openapi.json"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let doc: Value = response.json().await.unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
        assert_eq!(
            doc["components"]["securitySchemes"]["bearer"]["scheme"],
            "bearer"
        );
        let paths = doc["paths"].as_object().unwrap();
        let methods = ["get", "post", "put", "patch", "delete"];
        let mut documented = Vec::new();
        for (path, item) in paths {
            assert!(path.starts_with("/admin/api/v1/"), "{path}");
            for method in methods {
                let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
                let url = app.url(&concrete(path));
                let status = http()
                    .request(m, url)
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16();
                if item.get(method).is_some() {
                    // Served, and behind authentication.
                    assert_eq!(status, 401, "{method} {path}");
                    documented.push(format!("{} {path}", method.to_uppercase()));
                } else {
                    // Not served: a route missing from the document would answer here.
                    assert_eq!(status, 405, "{method} {path} is served but not documented");
                }
            }
        }
        documented.sort();
        assert_eq!(documented.len(), 18, "{documented:#?}");
        app
    })
    .await;
}

/// Every admin route is added with `utoipa_axum::routes!`, which documents it; a plain
/// `.route(` (other than the document's own) would serve an undocumented path.
#[test]
fn h4_admin_routes_are_only_added_through_the_documented_router() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/src/api/admin");
    let mut plain = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        plain += text.matches(".route(").count();
    }
    assert_eq!(plain, 1, "only OPENAPI_PATH is added with .route(");
}
