//! G1, G4 through the admin API: an organization's admin claims email domains, proves them
//! with a DNS TXT record (never with the operator's override), and sets the OpenID Connect
//! connection, whose client secret is write-only. The gate is the policy API's: a session to
//! read; a fresh session and the CSRF header to change; 403 (audited) for anyone who is not
//! an admin; 404 for an unknown organization.
//!
//! DNS: the domains are under `.invalid` (RFC 6761), which hickory answers NXDOMAIN itself
//! without asking a server, so "no record" is deterministic here: 409 `not_verified`.

use lanyard_core::Origin;
use lanyard_core::model::OrgRole;
use lanyard_core::ports::AuditRepo;
use lanyard_testkit::{Browser, TestApp};
use reqwest::Method;
use reqwest::cookie::Jar;
use serde_json::{Value, json};

use crate::helpers::each_backend;
use crate::org_policy::{audits, browser_with_jar, signed_in};

const ORG: &str = "acme";
const OTHER_ORG: &str = "globex";
const ADMIN: &str = "admin@acme.example";
const MEMBER: &str = "member@acme.example";
const DOMAIN: &str = "acme.invalid";
const OTHER_DOMAIN: &str = "globex.invalid";
const ISSUER: &str = "https://idp.acme.invalid";
const SECRET: &str = "write-only-client-secret-6f1c9e2a7b";

async fn setup(app: &TestApp) -> String {
    for email in [ADMIN, MEMBER] {
        app.create_user(email).await;
    }
    let orgs = &app.app.state.orgs;
    let cli = Origin::cli();
    orgs.create(ORG, "Acme", &cli).await.unwrap();
    orgs.create(OTHER_ORG, "Globex", &cli).await.unwrap();
    orgs.put_member(ORG, MEMBER, OrgRole::Member, &cli)
        .await
        .unwrap();
    orgs.put_member(ORG, ADMIN, OrgRole::Admin, &cli)
        .await
        .unwrap();
    let federation = app.app.state.signin.federation();
    federation
        .add_domain(OTHER_ORG, OTHER_DOMAIN, &cli)
        .await
        .unwrap();
    app.app
        .state
        .accounts
        .find_by_email(ADMIN)
        .await
        .unwrap()
        .unwrap()
        .id
        .to_string()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Csrf {
    Right,
    Wrong,
    Missing,
}

struct Reply {
    status: u16,
    body: Value,
    text: String,
    challenge: String,
}

/// The admin API as a browser's script calls it: session cookie, CSRF header, JSON.
async fn call(
    app: &TestApp,
    (browser, _jar): (&Browser, &Jar),
    method: Method,
    path: &str,
    body: Option<&str>,
    csrf: Csrf,
) -> Reply {
    let token = match csrf {
        Csrf::Right => Some(browser.csrf_token(&app.base_url).await),
        _ => None,
    };
    let mut request = browser
        .http
        .request(method, app.url(path))
        .header("accept", "application/json");
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_owned());
    }
    match csrf {
        Csrf::Right => request = request.header("x-csrf-token", token.expect("a CSRF token")),
        Csrf::Wrong => request = request.header("x-csrf-token", "A".repeat(43)),
        Csrf::Missing => {}
    }
    let response = request.send().await.unwrap();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    Reply {
        status,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
        text,
        challenge,
    }
}

fn sso_body(issuer: &str) -> String {
    json!({
        "issuer": issuer,
        "client_id": "lanyard",
        "client_secret": SECRET,
        "groups_claim": "groups",
        "admin_groups": ["acme-admins"],
        "acr": [{"upstream": "phr", "ours": "urn:lanyard:loa:2"}],
        "require_sso": false,
        "end_upstream_session": true,
    })
    .to_string()
}

fn path(slug: &str, rest: &str) -> String {
    format!("/orgs/{slug}{rest}")
}

/// Every change: method, path, a valid body.
fn changes(slug: &str) -> Vec<(Method, String, Option<String>)> {
    vec![
        (
            Method::POST,
            path(slug, "/domains"),
            Some(r#"{"domain": "new.invalid"}"#.to_owned()),
        ),
        (
            Method::POST,
            path(slug, &format!("/domains/{DOMAIN}/verify")),
            None,
        ),
        (Method::PUT, path(slug, "/sso"), Some(sso_body(ISSUER))),
        (
            Method::PUT,
            path(slug, "/sso/enabled"),
            Some(r#"{"enabled": false}"#.to_owned()),
        ),
    ]
}

fn reads(slug: &str) -> Vec<String> {
    vec![path(slug, "/domains"), path(slug, "/sso")]
}

async fn unchanged(app: &TestApp) {
    let federation = app.app.state.signin.federation();
    assert!(federation.domains(ORG).await.unwrap().is_empty());
    assert!(federation.connection(ORG).await.unwrap().is_none());
}

#[tokio::test]
async fn g1_an_admin_claims_lists_and_verifies_domains_through_the_api() {
    each_backend(|app| async move {
        let admin_id = setup(&app).await;
        let (browser, jar) = signed_in(&app, ADMIN).await;
        let admin = (&browser, &*jar);
        let domains = path(ORG, "/domains");

        let r = call(&app, admin, Method::GET, &domains, None, Csrf::Missing).await;
        assert_eq!((r.status, &r.body), (200, &json!([])), "{}", r.text);

        // Claimed in any spelling, kept in canonical form, with the record to publish.
        let claim = r#"{"domain": "Acme.Invalid."}"#;
        let r = call(
            &app,
            admin,
            Method::POST,
            &domains,
            Some(claim),
            Csrf::Right,
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.text);
        assert_eq!(r.body["domain"], DOMAIN);
        assert_eq!(r.body["verified"], false);
        assert_eq!(r.body["verified_by"], Value::Null);
        assert_eq!(r.body["record"]["name"], "_lanyard-verify.acme.invalid");
        assert_eq!(r.body["record"]["type"], "TXT");
        let value = r.body["record"]["value"].as_str().unwrap().to_owned();
        assert!(value.starts_with("lanyard-domain-verification="), "{value}");
        let r = call(&app, admin, Method::GET, &domains, None, Csrf::Missing).await;
        assert_eq!(r.body.as_array().unwrap().len(), 1, "{}", r.text);
        assert_eq!(r.body[0]["record"]["value"], value.as_str());

        // Taken (by this organization or another), or not a domain name.
        for taken in [DOMAIN, OTHER_DOMAIN] {
            let body = json!({ "domain": taken }).to_string();
            let r = call(
                &app,
                admin,
                Method::POST,
                &domains,
                Some(&body),
                Csrf::Right,
            )
            .await;
            assert_eq!(r.status, 409, "{taken}: {}", r.text);
            assert_eq!(r.body["error"], "domain_taken");
        }
        for bad in [
            "localhost",
            "127.0.0.1",
            "*.acme.invalid",
            "acme.invalid:443",
        ] {
            let body = json!({ "domain": bad }).to_string();
            let r = call(
                &app,
                admin,
                Method::POST,
                &domains,
                Some(&body),
                Csrf::Right,
            )
            .await;
            assert_eq!(r.status, 400, "{bad}: {}", r.text);
            assert_eq!(r.body["error"], "invalid_domain");
        }

        // No TXT record (NXDOMAIN): 409 with what to publish. No override through the API.
        let verify = path(ORG, &format!("/domains/{DOMAIN}/verify"));
        for body in [None, Some(r#"{"override_dns": true}"#)] {
            let r = call(&app, admin, Method::POST, &verify, body, Csrf::Right).await;
            assert_eq!(r.status, 409, "{}", r.text);
            assert_eq!(r.body["error"], "not_verified");
            assert_eq!(r.body["verified"], false);
            assert_eq!(r.body["record"]["name"], "_lanyard-verify.acme.invalid");
            assert_eq!(r.body["record"]["value"], value.as_str());
        }
        let other = path(ORG, &format!("/domains/{OTHER_DOMAIN}/verify"));
        let r = call(&app, admin, Method::POST, &other, None, Csrf::Right).await;
        assert_eq!(
            (r.status, &r.body["error"]),
            (404, &json!("unknown_domain"))
        );
        let federation = app.app.state.signin.federation();
        assert!(federation.domains(ORG).await.unwrap()[0].verified.is_none());

        // Verified by the operator (CLI): the API says so, and shows no record any more.
        federation
            .override_domain(ORG, DOMAIN, &Origin::cli())
            .await
            .unwrap();
        let r = call(&app, admin, Method::POST, &verify, None, Csrf::Right).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["verified"], true);
        let r = call(&app, admin, Method::GET, &domains, None, Csrf::Missing).await;
        assert_eq!(r.body[0]["verified"], true);
        assert_eq!(r.body[0]["verified_by"], "operator");
        assert!(r.body[0]["verified_at"].is_i64(), "{}", r.text);
        assert_eq!(r.body[0]["record"], Value::Null);

        // Audited by the federation service, with the admin as actor.
        let added = audits(&app, "org.domain_added").await;
        let ours: Vec<_> = added
            .iter()
            .filter(|e| e.subject.as_deref() == Some("acme:acme.invalid"))
            .collect();
        assert_eq!(ours.len(), 1);
        assert_eq!(ours[0].actor.as_deref(), Some(admin_id.as_str()));
        app
    })
    .await;
}

#[tokio::test]
async fn g1_an_admin_sets_reads_and_turns_off_the_connection_and_never_sees_the_secret() {
    each_backend(|app| async move {
        let admin_id = setup(&app).await;
        let (browser, jar) = signed_in(&app, ADMIN).await;
        let admin = (&browser, &*jar);
        let sso = path(ORG, "/sso");
        let enabled = path(ORG, "/sso/enabled");
        let mut seen = Vec::new();

        let r = call(&app, admin, Method::GET, &sso, None, Csrf::Missing).await;
        assert_eq!((r.status, &r.body["error"]), (404, &json!("no_connection")));
        let off = r#"{"enabled": false}"#;
        let r = call(&app, admin, Method::PUT, &enabled, Some(off), Csrf::Right).await;
        assert_eq!((r.status, &r.body["error"]), (404, &json!("no_connection")));

        let r = call(
            &app,
            admin,
            Method::PUT,
            &sso,
            Some(&sso_body(ISSUER)),
            Csrf::Right,
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text);
        seen.push(r.text);
        let r = call(&app, admin, Method::GET, &sso, None, Csrf::Missing).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let discovery = reqwest::get(app.url("/.well-known/openid-configuration"))
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap();
        let our_issuer = discovery["issuer"].as_str().unwrap().trim_end_matches('/');
        let expected = json!({
            "protocol": "oidc",
            "issuer": ISSUER,
            "client_id": "lanyard",
            "scopes": ["email", "profile"],
            "claims": {
                "email": "email",
                "name": "name",
                "groups": "groups",
                "admin_groups": ["acme-admins"],
                "acr": [{"upstream": "phr", "ours": "urn:lanyard:loa:2"}],
            },
            "require_sso": false,
            "end_upstream_session": true,
            "enabled": true,
            "redirect_uri": format!("{our_issuer}/federation/{ORG}/callback"),
            "backchannel_logout_uri": format!("{our_issuer}/federation/{ORG}/backchannel-logout"),
        });
        assert_eq!(r.body, expected);
        seen.push(r.text);

        // Refused settings change nothing; the reason is said, the value is not.
        for (body, says) in [
            (sso_body("http://127.0.0.1:9/"), "allow_http_loopback"),
            (sso_body("http://idp.acme.invalid"), "https"),
            (sso_body("https://idp.acme.invalid/?tenant=1"), "query"),
            (
                sso_body(ISSUER).replace("urn:lanyard:loa:2", "gold"),
                "acr mapping",
            ),
            (
                sso_body(ISSUER).replace("\"client_secret\":\"", "\"client_secret\":\"\\u0007"),
                "client secret",
            ),
        ] {
            let r = call(&app, admin, Method::PUT, &sso, Some(&body), Csrf::Right).await;
            assert_eq!(r.status, 400, "{body}: {}", r.text);
            assert_eq!(r.body["error"], "invalid_setting");
            let why = r.body["error_description"].as_str().unwrap();
            assert!(why.contains(says), "{why}");
            seen.push(r.text);
        }
        let r = call(&app, admin, Method::GET, &sso, None, Csrf::Missing).await;
        assert_eq!(r.body, expected);

        // Turned off, then set again with other scopes and the requirement.
        let r = call(&app, admin, Method::PUT, &enabled, Some(off), Csrf::Right).await;
        assert_eq!(
            (r.status, &r.body["enabled"]),
            (200, &json!(false)),
            "{}",
            r.text
        );
        seen.push(r.text);
        let r = call(&app, admin, Method::GET, &sso, None, Csrf::Missing).await;
        assert_eq!(r.body["enabled"], false);
        let mut body: Value = serde_json::from_str(&sso_body(ISSUER)).unwrap();
        body["scopes"] = json!(["email"]);
        body["require_sso"] = json!(true);
        let r = call(
            &app,
            admin,
            Method::PUT,
            &sso,
            Some(&body.to_string()),
            Csrf::Right,
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["scopes"], json!(["email"]));
        assert_eq!(r.body["require_sso"], true);
        seen.push(r.text);
        let r = call(
            &app,
            admin,
            Method::GET,
            &path(ORG, "/domains"),
            None,
            Csrf::Missing,
        )
        .await;
        seen.push(r.text);

        // The secret is write-only: in no answer and nowhere in the audit trail.
        for text in &seen {
            assert!(!text.contains(SECRET), "{text}");
            assert!(!text.contains("client_secret"), "{text}");
        }
        let everything = app.app.stores.sql.list_audit(None, 1000).await.unwrap();
        assert!(!format!("{everything:?}").contains(SECRET));
        let set = audits(&app, "org.sso_set").await;
        assert_eq!(set.len(), 3, "{set:?}");
        assert!(
            set.iter()
                .all(|e| e.actor.as_deref() == Some(admin_id.as_str())),
            "{set:?}"
        );
        // Stored sealed: the connection's record does not hold it in clear.
        let stored = app
            .app
            .state
            .signin
            .federation()
            .connection(ORG)
            .await
            .unwrap()
            .unwrap();
        assert!(!format!("{:?}", stored.connection).contains(SECRET));
        app
    })
    .await;
}

#[tokio::test]
async fn g1_only_an_admin_with_a_fresh_session_and_the_csrf_header_changes_anything() {
    each_backend(|app| async move {
        setup(&app).await;

        // No session: 401 (a change needs the CSRF cookie first, else it is refused as such).
        let (anonymous, anonymous_jar) = browser_with_jar();
        let _ = anonymous
            .get(&app.url("/account/security"), &app.base_url)
            .await;
        let nobody = (&anonymous, &*anonymous_jar);
        for read in reads(ORG) {
            let r = call(&app, nobody, Method::GET, &read, None, Csrf::Missing).await;
            assert_eq!(r.status, 401, "{read}: {}", r.text);
        }
        for (method, to, body) in changes(ORG) {
            let r = call(
                &app,
                nobody,
                method.clone(),
                &to,
                body.as_deref(),
                Csrf::Right,
            )
            .await;
            assert_eq!(r.status, 401, "{to}: {}", r.text);
            let r = call(&app, nobody, method, &to, body.as_deref(), Csrf::Missing).await;
            assert_eq!(r.status, 403, "{to}: {}", r.text);
        }

        // A member who is not an admin: 403 everywhere, each refusal audited.
        let (browser, jar) = signed_in(&app, MEMBER).await;
        let member = (&browser, &*jar);
        for read in reads(ORG) {
            let r = call(&app, member, Method::GET, &read, None, Csrf::Missing).await;
            assert_eq!(
                (r.status, &r.body["error"]),
                (403, &json!("forbidden")),
                "{read}"
            );
        }
        for (method, to, body) in changes(ORG) {
            let r = call(&app, member, method, &to, body.as_deref(), Csrf::Right).await;
            assert_eq!(
                (r.status, &r.body["error"]),
                (403, &json!("forbidden")),
                "{to}"
            );
        }
        assert_eq!(audits(&app, "org.admin_refused").await.len(), 6);

        let (browser, jar) = signed_in(&app, ADMIN).await;
        let admin = (&browser, &*jar);
        // An unknown organization: 404.
        for read in reads("no-such-org") {
            let r = call(&app, admin, Method::GET, &read, None, Csrf::Missing).await;
            assert_eq!(
                (r.status, &r.body["error"]),
                (404, &json!("not_found")),
                "{read}"
            );
        }
        for (method, to, body) in changes("no-such-org") {
            let r = call(&app, admin, method, &to, body.as_deref(), Csrf::Right).await;
            assert_eq!(
                (r.status, &r.body["error"]),
                (404, &json!("not_found")),
                "{to}"
            );
        }
        // Without the CSRF header, or with a wrong one: refused.
        for (method, to, body) in changes(ORG) {
            for csrf in [Csrf::Missing, Csrf::Wrong] {
                let r = call(&app, admin, method.clone(), &to, body.as_deref(), csrf).await;
                assert_eq!(r.status, 403, "{to} {csrf:?}: {}", r.text);
            }
        }
        // Malformed, mistyped, incomplete or unknown fields: 400; too large: 413.
        let sso_with = |key: &str, value: Value| {
            let mut body: Value = serde_json::from_str(&sso_body(ISSUER)).unwrap();
            body[key] = value;
            body.to_string()
        };
        let mut sso_missing: Value = serde_json::from_str(&sso_body(ISSUER)).unwrap();
        sso_missing.as_object_mut().unwrap().remove("require_sso");
        let bad_bodies = [
            (
                path(ORG, "/domains"),
                vec![
                    r#"{"domain": 1}"#.to_owned(),
                    r#"{"domain": "x.invalid", "verified": true}"#.to_owned(),
                    "{}".to_owned(),
                ],
            ),
            (
                path(ORG, "/sso"),
                vec![
                    sso_with("client_secret_sealed", json!("x")),
                    sso_with("acr", json!([{"upstream": "a", "ours": "b", "x": 1}])),
                    sso_with("require_sso", json!("yes")),
                    sso_missing.to_string(),
                ],
            ),
            (
                path(ORG, "/sso/enabled"),
                vec![
                    r#"{"enabled": "no"}"#.to_owned(),
                    r#"{"enabled": true, "x": 1}"#.to_owned(),
                ],
            ),
        ];
        for (to, bodies) in bad_bodies {
            let method = if to.ends_with("/domains") {
                Method::POST
            } else {
                Method::PUT
            };
            let common = ["", "{", "[]", "nul"].map(str::to_owned);
            for body in common.iter().chain(&bodies) {
                let r = call(&app, admin, method.clone(), &to, Some(body), Csrf::Right).await;
                assert_eq!(r.status, 400, "{to} {body}: {}", r.text);
                assert_eq!(r.body["error"], "invalid_request");
            }
            let big = format!(r#"{{"enabled": true, "x": "{}"}}"#, "a".repeat(9000));
            let r = call(&app, admin, method, &to, Some(&big), Csrf::Right).await;
            assert_eq!(r.status, 413, "{to}: {}", r.text);
        }
        unchanged(&app).await;

        // A session that is no longer fresh reads but must step up to change (RFC 9470).
        app.clock.advance(11 * 60);
        let r = call(
            &app,
            admin,
            Method::GET,
            &path(ORG, "/domains"),
            None,
            Csrf::Missing,
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text);
        for (method, to, body) in changes(ORG) {
            let r = call(&app, admin, method, &to, body.as_deref(), Csrf::Right).await;
            assert_eq!(r.status, 401, "{to}: {}", r.text);
            assert_eq!(r.body["error"], "insufficient_user_authentication");
            assert!(
                r.challenge.contains("insufficient_user_authentication"),
                "{}",
                r.challenge
            );
        }
        unchanged(&app).await;
        app
    })
    .await;
}
