//! Browser protections (F4): CSRF tokens bound to the session and the Origin rule on every
//! state-changing route (S44), the headers of every page (S45), consent and scope (S48), and
//! `Host` / forwarding-header injection (S49). Sessions: `session_fixation.rs` (S46); logout
//! redirects: `logout.rs` (S47).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use lanyard_server::NewClient;
use lanyard_testkit::recording::cookie_value;
use lanyard_testkit::{Browser, TestApp, csrf_field};
use reqwest::Method;
use reqwest::cookie::Jar;

use crate::helpers::{
    REDIRECT, VERIFIER, authorize_url, confidential, database_snapshot, each_backend,
    each_backend_with, ephemeral_snapshot, json, jwt_claims, query_param, redeem, side_connection,
};

const ADA: &str = "ada@example.com";
const BOB: &str = "bob@example.com";
const EVIL: &str = "https://evil.example";

/// A browser signed in as `email` through the pages (password and emailed code), with its
/// cookie jar.
async fn signed_in(app: &TestApp, email: &str) -> (Browser, Arc<Jar>) {
    let jar = Arc::new(Jar::default());
    let browser = Browser::with_cookie_jar(jar.clone());
    let base = app.base_url.as_str();
    let (_, _, page) = browser.get(&app.url("/account"), base).await;
    let (_, _, page) = browser.submit(&page, base, &[("email", email)]).await;
    let sent = app.mail.messages_to(email).len();
    let (_, _, page) = browser
        .submit(&page, base, &[("password", lanyard_testkit::PASSWORD)])
        .await;
    let (_, page) = browser
        .second_step(page, base, &app.mail, email, sent)
        .await;
    assert!(page.contains("<h1>Your account</h1>"), "{page}");
    (browser, jar)
}

// ---- The state-changing routes, read from the router's source ----

/// One state-changing route: its method and a concrete path (`{slug}` → `acme`, …).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Route {
    method: Method,
    path: String,
}

fn web_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `const NAME: &str = "value";` (pub or not) in `source`; a value naming another constant
/// (`= module::OTHER;`) is kept as that name, resolved later.
fn string_consts(source: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in source.lines() {
        let line = line.trim().trim_start_matches("pub ");
        let Some(rest) = line.strip_prefix("const ") else {
            continue;
        };
        let Some((name, value)) = rest.split_once(": &str = ") else {
            continue;
        };
        let value = value.trim_end_matches(';').trim();
        out.insert(name.trim().to_owned(), value.trim_matches('"').to_owned());
    }
    out
}

/// The text inside the parentheses that open at `open` (balanced).
fn balanced(text: &str, open: usize) -> &str {
    let mut depth = 0;
    for (i, c) in text[open..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return &text[open + 1..open + i];
                }
            }
            _ => {}
        }
    }
    &text[open + 1..]
}

/// Every `POST`, `PUT`, `PATCH` and `DELETE` route the web crate registers, so a new form
/// can not be left out of the sweep below.
fn state_changing_routes() -> Vec<Route> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let paths = string_consts(&std::fs::read_to_string(web_src().join("kit/paths.rs")).unwrap());
    let endpoints =
        string_consts(&std::fs::read_to_string(root.join("issuer/src/endpoints.rs")).unwrap());
    let mut sites = BTreeMap::new();
    let mut site_files = Vec::new();
    // Paths other crates own: the sites' pages and the account links (sign-up, reset).
    rust_files(&root.join("sites/src"), &mut site_files);
    rust_files(&root.join("signin/src"), &mut site_files);
    for file in site_files {
        sites.extend(string_consts(&std::fs::read_to_string(file).unwrap()));
    }
    let resolve = |arg: &str, local: &BTreeMap<String, String>| -> String {
        if let Some(literal) = arg.strip_prefix('"') {
            return literal.trim_end_matches('"').to_owned();
        }
        let (module, name) = arg.rsplit_once("::").unwrap_or(("", arg));
        let table = match module {
            "paths" => &paths,
            "endpoints" => &endpoints,
            _ => local,
        };
        let value = table
            .get(name)
            .unwrap_or_else(|| panic!("no string constant {arg}"));
        if value.starts_with('/') {
            value.clone()
        } else {
            let name = value.rsplit("::").next().unwrap();
            sites
                .get(name)
                .or_else(|| paths.get(name))
                .unwrap_or_else(|| panic!("{arg} = {value}: not resolved"))
                .clone()
        }
    };
    let mut files = Vec::new();
    rust_files(&web_src(), &mut files);
    let mut routes = Vec::new();
    for file in files {
        if file.to_string_lossy().contains("tests") {
            continue;
        }
        let source = std::fs::read_to_string(&file).unwrap();
        let local = string_consts(&source);
        for (at, _) in source.match_indices(".route(") {
            let inner = balanced(&source, at + ".route".len());
            let (arg, methods) = inner.split_once(',').unwrap();
            let path = resolve(arg.trim(), &local)
                .replace("{slug}", "acme")
                .replace("{domain}", "corp.example")
                .replace("{id}", "x");
            for (name, method) in [
                ("post(", Method::POST),
                ("put(", Method::PUT),
                ("patch(", Method::PATCH),
                ("delete(", Method::DELETE),
            ] {
                let called = methods
                    .match_indices(name)
                    .any(|(i, _)| i == 0 || !methods.as_bytes()[i - 1].is_ascii_alphanumeric());
                if called {
                    routes.push(Route {
                        method: method.clone(),
                        path: path.clone(),
                    });
                }
            }
        }
    }
    routes.sort();
    routes.dedup();
    routes
}

/// Routes other sites call by design, with their own proof rather than our cookies
/// (`web::middleware::same_origin`): neither the Origin rule nor a CSRF token applies.
fn cross_origin_by_design(route: &Route) -> bool {
    [
        "/authorize",
        "/token",
        "/introspect",
        "/revoke",
        "/device_authorization",
        "/userinfo",
        "/federation/acme/backchannel-logout",
    ]
    .contains(&route.path.as_str())
}

/// One refused variant: what it is, the CSRF token sent, the extra headers.
type Attempt<'a> = (&'a str, Option<&'a str>, Vec<(&'a str, &'a str)>);

/// Sends `route` from `browser` with `token` (in the form body, or as `x-csrf-token` with a
/// JSON body for the JSON APIs) and the extra `headers`; returns the status and body.
async fn send(
    app: &TestApp,
    browser: &Browser,
    route: &Route,
    token: Option<&str>,
    headers: &[(&str, &str)],
) -> (u16, String) {
    let mut request = browser
        .http
        .request(route.method.clone(), app.url(&route.path));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(token) = token {
        request = request.header("x-csrf-token", token);
    }
    let json_api = route.path.starts_with("/orgs/") || route.method == Method::DELETE;
    request = if json_api {
        request
            .header("accept", "application/json")
            .header("content-type", "application/json")
            .body("{}")
    } else {
        let mut form = vec![("flow", "x".to_owned()), ("decision", "allow".to_owned())];
        if let Some(token) = token {
            form.push(("csrf_token", token.to_owned()));
        }
        request.form(&form)
    };
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

#[tokio::test]
async fn s44_the_route_list_is_read_from_the_router() {
    let routes = state_changing_routes();
    for expected in [
        (Method::POST, "/login"),
        (Method::POST, "/login/password"),
        (Method::POST, "/login/code"),
        (Method::POST, "/consent"),
        (Method::POST, "/logout"),
        (Method::POST, "/account/time-zone"),
        (Method::POST, "/account/password"),
        (Method::DELETE, "/account/mfa/totp"),
        (Method::POST, "/sites/acme/admin/mode"),
        (Method::PUT, "/orgs/acme/policy"),
        (Method::POST, "/migrate/claim"),
        (Method::POST, "/token"),
    ] {
        assert!(
            routes.contains(&Route {
                method: expected.0.clone(),
                path: expected.1.to_owned()
            }),
            "{expected:?} not found in {routes:?}"
        );
    }
    assert!(routes.len() >= 40, "{}: {routes:?}", routes.len());
}

#[tokio::test]
async fn s44_every_state_changing_route_refuses_a_missing_foreign_or_cross_site_token() {
    each_backend(|app| async move {
        app.create_user(ADA).await;
        app.create_user(BOB).await;
        let (ada, _) = signed_in(&app, ADA).await;
        let (bob, _) = signed_in(&app, BOB).await;
        let ada_token = ada.csrf_token(&app.base_url).await;
        let bob_token = bob.csrf_token(&app.base_url).await;
        assert_ne!(ada_token, bob_token);
        let ours = app.base_url.clone();

        let db = side_connection(&app).await;
        let before = database_snapshot(&db).await;
        let ephemeral_before = ephemeral_snapshot(&app).await;
        let routes = state_changing_routes();
        for route in &routes {
            if cross_origin_by_design(route) {
                // Not judged by origin: whatever it answers, it is not the cross-site page.
                let (_, body) = send(&app, &ada, route, None, &[("origin", EVIL)]).await;
                assert!(!body.contains("another site"), "{route:?}: {body}");
                continue;
            }
            let attempts: [Attempt; 6] = [
                ("no token", None, vec![]),
                ("another session's token", Some(&bob_token), vec![]),
                (
                    "another session's token from our origin",
                    Some(&bob_token),
                    vec![("origin", ours.as_str())],
                ),
                ("Origin: evil", Some(&ada_token), vec![("origin", EVIL)]),
                (
                    "Origin: null from a cross-site frame",
                    Some(&ada_token),
                    vec![("origin", "null"), ("sec-fetch-site", "cross-site")],
                ),
                (
                    "a cross-site form post",
                    Some(&ada_token),
                    vec![
                        ("sec-fetch-site", "cross-site"),
                        ("sec-fetch-mode", "navigate"),
                    ],
                ),
            ];
            for (what, token, headers) in attempts {
                let (status, body) = send(&app, &ada, route, token, &headers).await;
                assert_eq!(status, 403, "{route:?} with {what}: {body}");
            }
        }
        assert_eq!(database_snapshot(&db).await, before, "nothing persisted");
        assert_eq!(ephemeral_snapshot(&app).await, ephemeral_before);

        // The same browser with its own token, from our own page, is served: a browser
        // says `Origin: null` there (our pages' Referrer-Policy is no-referrer) and
        // `Sec-Fetch-Site: same-origin`.
        let response = ada
            .http
            .post(app.url("/account/time-zone"))
            .header("origin", "null")
            .header("sec-fetch-site", "same-origin")
            .form(&[
                ("csrf_token", ada_token.as_str()),
                ("time_zone", "Europe/Paris"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303);
        assert_ne!(
            database_snapshot(&db).await,
            before,
            "the control changed the zone"
        );
        app
    })
    .await;
}

#[tokio::test]
async fn s44_a_refused_cross_site_form_is_a_page_and_api_callers_get_json() {
    each_backend(|app| async move {
        let http = crate::helpers::http();
        let response = http
            .post(app.url("/login"))
            .header("origin", EVIL)
            .form(&[("email", ADA)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403);
        let page = response.text().await.unwrap();
        assert!(page.contains("This form came from another site"), "{page}");
        assert!(page.contains("<title>"), "a themed page: {page}");
        let response = http
            .put(app.url("/orgs/acme/policy"))
            .header("origin", EVIL)
            .header("accept", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403);
        let (_, body) = json(response).await;
        assert_eq!(body["error"], "invalid_request", "{body}");
        app
    })
    .await;
}

#[tokio::test]
async fn s44_login_csrf_a_login_form_token_from_another_browser_fails() {
    each_backend(|app| async move {
        app.create_user(ADA).await;
        app.create_client(confidential("rp")).await.unwrap();
        let base = app.base_url.as_str();
        // The attacker's browser opens a sign-in and keeps its flow and form token.
        let attacker_jar = Arc::new(Jar::default());
        let attacker = Browser::with_cookie_jar(attacker_jar.clone());
        let (_, at, page) = attacker.get(&authorize_url(&app, "rp", ""), base).await;
        let flow = query_param(&at, "flow").unwrap();
        let token = csrf_field(&page).unwrap();
        let binder = cookie_value(&attacker_jar, base, "__Host-lanyard_csrf")
            .expect("the __Host- binder cookie on loopback http");
        assert_ne!(token, binder, "the cookie is no token");
        // The victim's browser, with its own binder, posts the attacker's form.
        let victim = Browser::new();
        let _ = victim.get(&app.url("/account"), base).await;
        let db = side_connection(&app).await;
        let before = database_snapshot(&db).await;
        for (what, csrf) in [
            ("the attacker's token", token.as_str()),
            ("the attacker's cookie value", binder.as_str()),
            ("nothing", ""),
        ] {
            let response = victim
                .http
                .post(app.url("/login"))
                .form(&[
                    ("flow", flow.as_str()),
                    ("csrf_token", csrf),
                    ("email", ADA),
                ])
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 403, "{what}");
        }
        // Even a browser without any binder cookie.
        let response = crate::helpers::http()
            .post(app.url("/login"))
            .form(&[
                ("flow", flow.as_str()),
                ("csrf_token", token.as_str()),
                ("email", ADA),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403);
        assert_eq!(database_snapshot(&db).await, before);
        // The attacker's own browser still can (the token works where it was issued).
        let (status, _, page) = attacker.submit(&page, base, &[("email", ADA)]).await;
        assert_eq!(status, 200);
        assert!(page.contains("name=\"password\""), "{page}");
        app
    })
    .await;
}

#[tokio::test]
async fn s44_a_token_dies_with_the_session_it_was_made_for() {
    each_backend(|app| async move {
        app.create_user(ADA).await;
        let (ada, jar) = signed_in(&app, ADA).await;
        let token = ada.csrf_token(&app.base_url).await;
        // Signed out: the token of the old session is refused (the logout form first).
        let (_, _, page) = ada.get(&app.url("/logout"), &app.base_url).await;
        let (status, _, _) = ada.submit(&page, &app.base_url, &[]).await;
        assert_eq!(status, 200);
        assert!(cookie_value(&jar, &app.base_url, "lanyard_session").is_none());
        let response = ada
            .http
            .post(app.url("/login"))
            .form(&[("flow", "x"), ("csrf_token", token.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403);
        // Consent can not be given by GET: the route takes POST only.
        let response = ada
            .http
            .get(app.url("/consent?decision=allow&flow=x"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 405);
        app
    })
    .await;
}

// ---- S45: the headers of every page ----

fn assert_page_headers(what: &str, response: &reqwest::Response) {
    let h = response.headers();
    let get = |name: &str| {
        h.get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("{what}: no {name}"))
            .to_owned()
    };
    let csp = get("content-security-policy");
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert!(csp.contains("default-src 'none'"), "{what}: {csp}");
    assert!(!csp.contains("unsafe-inline"), "{what}: {csp}");
    assert!(
        !csp.contains("script-src"),
        "{what}: no script allowed: {csp}"
    );
    assert_eq!(get("x-frame-options"), "DENY", "{what}");
    assert_eq!(get("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(get("referrer-policy"), "no-referrer", "{what}");
    assert!(
        h.get("strict-transport-security").is_none(),
        "{what}: no HSTS on loopback http (flows/http_edges.rs tests https)"
    );
}

#[tokio::test]
async fn s45_every_html_page_and_the_token_and_userinfo_responses_carry_the_headers() {
    each_backend(|app| async move {
        app.create_user(ADA).await;
        let secret = app
            .create_client(NewClient {
                first_party: false,
                ..confidential("rp")
            })
            .await
            .unwrap();
        let http = crate::helpers::http();
        // Signed out: the landing page, a sign-in page (its URL carries the flow), the 404.
        for path in ["/", "/nowhere", "/logout", "/device"] {
            let response = http.get(app.url(path)).send().await.unwrap();
            assert_page_headers(path, &response);
        }
        let browser = Browser::new();
        let base = app.base_url.as_str();
        let (_, at, page) = browser.get(&authorize_url(&app, "rp", ""), base).await;
        let response = browser.http.get(&at).send().await.unwrap();
        assert_page_headers("the email page", &response);
        let (_, _, page) = browser.submit(&page, base, &[("email", ADA)]).await;
        let sent = app.mail.messages_to(ADA).len();
        let (_, _, page) = browser
            .submit(&page, base, &[("password", lanyard_testkit::PASSWORD)])
            .await;
        assert!(page.contains("name=\"code\""), "{page}");
        let (_, consent) = browser.second_step(page, base, &app.mail, ADA, sent).await;
        assert!(consent.contains("name=\"decision\""), "{consent}");
        // Consent (its URL carries the request) and the signed-in pages.
        let response = browser
            .http
            .get(authorize_url(&app, "rp", ""))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_page_headers("consent", &response);
        for path in [
            "/account",
            "/account/security",
            "/account/pats",
            "/account/password",
            "/device",
            "/logout",
        ] {
            let response = browser.http.get(app.url(path)).send().await.unwrap();
            assert!(response.status().as_u16() < 500, "{path}");
            assert_page_headers(path, &response);
        }
        // The token and userinfo responses: no-store too.
        let (_, at, page) = browser.get(&authorize_url(&app, "rp", ""), base).await;
        let at = if at.starts_with(REDIRECT) {
            at
        } else {
            browser
                .submit(&page, base, &[("decision", "allow")])
                .await
                .1
        };
        let code = query_param(&at, "code").unwrap();
        let response = redeem(&app, "rp", &secret, &code, VERIFIER).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["cache-control"], "no-store");
        let (_, tokens) = json(response).await;
        let response = http
            .get(app.url("/userinfo"))
            .bearer_auth(tokens["access_token"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["cache-control"], "no-store");
        app
    })
    .await;
}

// ---- S48: consent and scope ----

#[tokio::test]
async fn s48_scopes_consent_per_scope_set_prompt_none_and_cross_site_consent() {
    each_backend(|app| async move {
        app.create_user(ADA).await;
        let third_party = |id: &str| NewClient {
            first_party: false,
            allowed_scopes: ["openid", "email", "profile"].map(str::to_owned).to_vec(),
            ..confidential(id)
        };
        app.create_client(third_party("rp")).await.unwrap();
        app.create_client(third_party("other")).await.unwrap();
        let base = app.base_url.as_str();
        let url = |client: &str, scope: &str, extra: &str| {
            authorize_url(&app, client, extra)
                .replace("scope=openid%20email", &format!("scope={scope}"))
        };

        // A scope beyond the client's allow-list: invalid_scope, back at the client.
        let browser = Browser::new();
        let (_, at, _) = browser.get(&url("rp", "openid%20api", ""), base).await;
        assert!(at.starts_with(REDIRECT), "{at}");
        assert_eq!(
            query_param(&at, "error").as_deref(),
            Some("invalid_scope"),
            "{at}"
        );

        // First sign-in: consent for openid email.
        let at = browser
            .sign_in(
                &url("rp", "openid%20email", ""),
                base,
                &app.mail,
                ADA,
                lanyard_testkit::PASSWORD,
            )
            .await;
        assert!(query_param(&at, "code").is_some(), "{at}");
        // The same scopes again: no prompt.
        let (_, at, _) = browser.get(&url("rp", "openid%20email", ""), base).await;
        assert!(query_param(&at, "code").is_some(), "remembered: {at}");
        // A subset: no prompt either.
        let (_, at, _) = browser.get(&url("rp", "openid", ""), base).await;
        assert!(query_param(&at, "code").is_some(), "a subset: {at}");
        // A new scope: asked again; with prompt=none, consent_required.
        let (_, at, page) = browser
            .get(&url("rp", "openid%20email%20profile", ""), base)
            .await;
        assert!(at.starts_with(base), "{at}");
        assert!(page.contains("name=\"decision\""), "{page}");
        let (_, at, _) = browser
            .get(&url("rp", "openid%20email%20profile", "&prompt=none"), base)
            .await;
        assert_eq!(
            query_param(&at, "error").as_deref(),
            Some("consent_required"),
            "{at}"
        );
        // Another client, never consented to: prompt=none → consent_required.
        let (_, at, _) = browser
            .get(&url("other", "openid", "&prompt=none"), base)
            .await;
        assert_eq!(
            query_param(&at, "error").as_deref(),
            Some("consent_required"),
            "{at}"
        );

        // The consent form posted cross-site (or from a frame of another site) is refused and
        // records nothing; the page itself can not be framed.
        let response = browser
            .http
            .get(url("other", "openid", ""))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["x-frame-options"], "DENY");
        let page = response.text().await.unwrap();
        assert!(page.contains("name=\"decision\""), "{page}");
        let flow = lanyard_testkit::hidden_inputs(&page)
            .into_iter()
            .find(|(n, _)| n == "flow")
            .unwrap()
            .1;
        let token = csrf_field(&page).unwrap();
        let db = side_connection(&app).await;
        let before = database_snapshot(&db).await;
        for headers in [
            vec![("origin", EVIL)],
            vec![
                ("sec-fetch-site", "cross-site"),
                ("sec-fetch-dest", "iframe"),
            ],
        ] {
            let mut request = browser.http.post(app.url("/consent"));
            for (name, value) in &headers {
                request = request.header(*name, *value);
            }
            let response = request
                .form(&[
                    ("flow", flow.as_str()),
                    ("csrf_token", token.as_str()),
                    ("decision", "allow"),
                ])
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 403, "{headers:?}");
            assert!(response.headers().get("location").is_none());
        }
        assert_eq!(database_snapshot(&db).await, before, "no consent recorded");
        let (_, at, _) = browser
            .get(&url("other", "openid", "&prompt=none"), base)
            .await;
        assert_eq!(
            query_param(&at, "error").as_deref(),
            Some("consent_required"),
            "{at}"
        );
        app
    })
    .await;
}

// ---- S49: Host and forwarding headers ----

const SPOOFS: [(&str, &str); 5] = [
    ("host", "evil.example"),
    ("x-forwarded-host", "evil.example"),
    ("x-forwarded-proto", "http"),
    ("forwarded", "host=evil.example;proto=http"),
    ("x-forwarded-for", "203.0.113.9"),
];

fn spoofing_client() -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    for (name, value) in SPOOFS {
        headers.insert(name, value.parse().unwrap());
    }
    reqwest::Client::builder()
        .default_headers(headers)
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn s49_host_and_forwarding_headers_change_no_issuer_token_redirect_or_mail() {
    each_backend(|app| async move {
        app.create_user(ADA).await;
        let secret = app.create_client(confidential("rp")).await.unwrap();
        let issuer = app.config.server.issuer.clone();
        let http = spoofing_client();

        let discovery: serde_json::Value = http
            .get(app.url("/.well-known/openid-configuration"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(discovery["issuer"], issuer.as_str());
        let text = discovery.to_string();
        assert!(!text.contains("evil"), "{text}");
        assert!(
            discovery["token_endpoint"]
                .as_str()
                .unwrap()
                .starts_with(&issuer)
        );

        // Redirects we build: relative paths to our pages, or the client's registered URI.
        let response = http.get(app.url("/account")).send().await.unwrap();
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        assert!(location.starts_with("/login?flow="), "{location}");

        // The whole sign-in through the spoofing client: the emailed code's mail names no
        // other host, the redirect goes to the registered URI, the tokens name our issuer.
        let browser = Browser { http };
        let at = browser
            .sign_in(
                &authorize_url(&app, "rp", ""),
                &app.base_url,
                &app.mail,
                ADA,
                lanyard_testkit::PASSWORD,
            )
            .await;
        assert!(at.starts_with(REDIRECT), "{at}");
        for mail in app.mail.messages_to(ADA) {
            assert!(!mail.text.contains("evil"), "{}", mail.text);
            for link in mail.text.split_whitespace().filter(|w| w.contains("://")) {
                assert!(link.starts_with(&issuer), "{link}");
            }
        }
        let code = query_param(&at, "code").unwrap();
        let mut request = browser
            .http
            .post(app.url("/token"))
            .basic_auth("rp", Some(&secret));
        request = request.form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ]);
        let (status, tokens) = json(request.send().await.unwrap()).await;
        assert_eq!(status, 200, "{tokens}");
        for jwt in ["access_token", "id_token"] {
            assert_eq!(
                jwt_claims(tokens[jwt].as_str().unwrap())["iss"],
                issuer.as_str(),
                "{jwt}"
            );
        }
        app
    })
    .await;
}

/// Failed password posts from `forwarded_for` until the per-address limit answers.
async fn password_failures_until_refused(app: &TestApp, forwarded_for: &[&str]) -> usize {
    let browser = Browser::new();
    let base = app.base_url.as_str();
    for (n, spoof) in forwarded_for.iter().enumerate() {
        let (_, _, page) = browser.get(&app.url("/account"), base).await;
        let email = format!("nobody{n}@example.com");
        let (_, _, page) = browser.submit(&page, base, &[("email", &email)]).await;
        let action = lanyard_testkit::form_action(&page).unwrap();
        let mut form = lanyard_testkit::hidden_inputs(lanyard_testkit::first_form(&page));
        form.push(("password".to_owned(), "wrong password".to_owned()));
        let response = browser
            .http
            .post(format!("{base}{action}"))
            .header("x-forwarded-for", *spoof)
            .form(&form)
            .send()
            .await
            .unwrap();
        if response.status() == 429 {
            return n;
        }
    }
    forwarded_for.len()
}

#[tokio::test]
async fn s49_unparsable_forwarded_for_does_not_escape_the_per_address_limit() {
    // Behind one proxy (hops = 1): garbage where the proxy's entry should be falls back to
    // the peer, so every attempt counts against 127.0.0.1.
    each_backend_with(
        |c| {
            c.server.trust_forwarded_for = true;
            c.mfa.password_failures_per_ip = 5;
        },
        |app| async move {
            let garbage: Vec<String> = (0..12).map(|n| format!("a{n}")).collect();
            let spoofs: Vec<&str> = garbage.iter().map(String::as_str).collect();
            let refused_after = password_failures_until_refused(&app, &spoofs).await;
            assert!(
                refused_after < spoofs.len(),
                "garbage X-Forwarded-For values escaped the per-address limit"
            );
            // Real addresses from the proxy do count per address: the same number of
            // attempts, each from its own address, are not refused.
            let addresses: Vec<String> = (0..refused_after + 1)
                .map(|n| format!("198.51.100.{}", n + 1))
                .collect();
            let spoofs: Vec<&str> = addresses.iter().map(String::as_str).collect();
            assert_eq!(
                password_failures_until_refused(&app, &spoofs).await,
                spoofs.len(),
                "one attempt per address is never refused"
            );
            app
        },
    )
    .await;
}
