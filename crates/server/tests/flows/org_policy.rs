//! S54: an organization requires an authenticator app of its members. A member without one
//! is forced to set it up at the next sign-in and gets no session, code or token before
//! that; a session from before the policy no longer counts; refresh tokens from before the
//! policy need a new sign-in; PATs of members without an app are revoked and none can be
//! created. Only an admin of the organization (or the operator) changes the policy, with
//! step-up, and every change is audited.

use std::sync::Arc;

use lanyard_core::model::{AccountStatus, OrgRole};
use lanyard_core::model::{ResourceServer, Resources};
use lanyard_core::ports::AuditRepo;
use lanyard_core::{Clock as _, Origin};
use lanyard_identity::IdentityError;
use lanyard_identity::orgs::Actor;
use lanyard_identity::pats::{Expiry, PatRequest};
use lanyard_mfa::totp;
use lanyard_server::config::Config;
use lanyard_testkit::{Browser, PASSWORD, TestApp};
use reqwest::cookie::Jar;
use serde_json::{Value, json};

use crate::helpers::{
    REDIRECT, VERIFIER, authorize_url, confidential, each_backend_with, field, json as body_json,
    lanyard_cli, query_param, redeem, refresh, sign_in_tokens, totp_secret_from,
};

const ORG: &str = "acme";
const MEMBER: &str = "member@acme.example";
const ADMIN: &str = "admin@acme.example";
const OUTSIDER: &str = "outsider@example.com";
const RP: &str = "rp";
const TOOL: &str = "desktop-tool";
const API: &str = "api.example.com";
const ENROLL_TEXT: &str = "Your organization requires an authenticator app";

fn configure(c: &mut Config) {
    c.resources = Resources(vec![ResourceServer {
        identifier: API.to_owned(),
        scopes: vec!["repo:read".to_owned()],
        ..Default::default()
    }]);
}

/// The org with a member and an admin (neither has an authenticator app), an outsider, an
/// app and a desktop tool. Returns the app's client secret.
async fn setup(app: &TestApp) -> String {
    for email in [MEMBER, ADMIN, OUTSIDER] {
        app.create_user(email).await;
    }
    let orgs = &app.app.state.orgs;
    orgs.create(ORG, "Acme", &Origin::cli()).await.unwrap();
    orgs.put_member(ORG, MEMBER, OrgRole::Member, &Origin::cli())
        .await
        .unwrap();
    orgs.put_member(ORG, ADMIN, OrgRole::Admin, &Origin::cli())
        .await
        .unwrap();
    app.create_client(crate::helpers::pat_tool(TOOL, "Tool"))
        .await;
    app.create_client(confidential(RP)).await.unwrap()
}

async fn require(app: &TestApp, on: bool) {
    let change = app
        .app
        .state
        .orgs
        .set_authenticator_required(ORG, Actor::Operator, on, &Origin::cli())
        .await
        .unwrap();
    assert!(change.changed);
}

async fn mint_pat(app: &TestApp, email: &str) -> Result<String, IdentityError> {
    let account = app
        .app
        .state
        .accounts
        .find_by_email(email)
        .await
        .unwrap()
        .unwrap();
    let request = PatRequest {
        name: "ci".to_owned(),
        scopes: vec!["repo:read".to_owned()],
        audiences: vec![],
        expiry: Expiry::Default,
        site: None,
    };
    let (_, token) = app
        .app
        .state
        .pats
        .create(&account, request, &Origin::cli())
        .await?;
    Ok(token.expose().to_owned())
}

async fn exchange(app: &TestApp, pat: &str) -> (u16, Value) {
    crate::helpers::exchange_pat(app, TOOL, pat).await
}

fn code_now(app: &TestApp, secret: &[u8]) -> String {
    totp::code_at_step(secret, totp::step_at(app.clock.now().seconds())).unwrap()
}

/// Email, password and the emailed code from `start` (an authorization URL or a page that
/// leads to sign-in): returns where the browser is and the page there.
async fn password_and_code(
    app: &TestApp,
    browser: &Browser,
    start: &str,
    email: &str,
) -> (String, String) {
    let base = &app.base_url;
    let (_, at, page) = browser.get(start, base).await;
    assert!(at.starts_with(base), "left for {at} before signing in");
    let (_, _, page) = browser.submit(&page, base, &[("email", email)]).await;
    let sent = app.mail.messages_to(email).len();
    let (_, _, page) = browser.submit(&page, base, &[("password", PASSWORD)]).await;
    browser
        .second_step(page, base, &app.mail, email, sent)
        .await
}

/// The forced set-up page, answered with a correct code: where the sign-in went on to.
async fn enroll(app: &TestApp, browser: &Browser, page: &str) -> (String, String) {
    assert!(page.contains(ENROLL_TEXT), "{page}");
    let secret = totp_secret_from(page);
    let (_, at, page) = browser
        .submit(page, &app.base_url, &[("code", &code_now(app, &secret))])
        .await;
    (at, page)
}

pub(crate) async fn audits(app: &TestApp, kind: &str) -> Vec<lanyard_core::model::AuditEvent> {
    app.app
        .stores
        .sql
        .list_audit(Some(kind), 100)
        .await
        .unwrap()
}

pub(crate) fn browser_with_jar() -> (Browser, Arc<Jar>) {
    let jar = Arc::new(Jar::default());
    (Browser::with_cookie_jar(jar.clone()), jar)
}

#[tokio::test]
async fn s54_sign_in_is_forced_into_enrollment_and_gets_no_code_until_it_is_done() {
    each_backend_with(configure, |app| async move {
        let secret = setup(&app).await;
        require(&app, true).await;
        let (browser, _jar) = browser_with_jar();
        let start = authorize_url(&app, RP, "");
        let (at, page) = password_and_code(&app, &browser, &start, MEMBER).await;
        assert!(at.contains("/login/authenticator"), "{at}");
        assert!(page.contains(ENROLL_TEXT), "{page}");
        assert!(
            !page.contains("name=\"trust\""),
            "no trust offer before the set-up"
        );

        // Without finishing the set-up there is no session: the app's next request asks
        // for a sign-in, the account pages too, and no code reaches the redirect URI.
        let (_, at_again, again) = browser.get(&start, &app.base_url).await;
        assert!(at_again.starts_with(&app.base_url), "{at_again}");
        assert!(again.contains("name=\"email\""), "{again}");
        let (_, at_pats, pats_page) = browser.get(&app.url("/account/pats"), &app.base_url).await;
        assert!(
            !pats_page.contains("Personal access tokens</h1>"),
            "{at_pats}"
        );

        // A wrong code is refused on the page; a forged flow id finds nothing.
        let totp_secret = totp_secret_from(&page);
        let good = code_now(&app, &totp_secret);
        let wrong = if good == "000000" { "111111" } else { "000000" };
        let (status, _, wrong_page) = browser
            .submit(&page, &app.base_url, &[("code", wrong)])
            .await;
        assert_eq!(status, 400);
        assert!(wrong_page.contains("The code is not right"), "{wrong_page}");
        assert_eq!(
            totp_secret_from(&wrong_page),
            totp_secret,
            "the secret shown stays the same"
        );
        let flow = field(&wrong_page, "flow");
        let forged = wrong_page.replace(&flow, "forged-flow-id");
        let (status, _, _) = browser
            .submit(&forged, &app.base_url, &[("code", &good)])
            .await;
        assert_eq!(status, 400);

        // The right code turns the app on and the sign-in ends at the app with a code,
        // whose tokens refresh normally: the policy is met.
        let (at, _) = enroll(&app, &browser, &wrong_page).await;
        assert!(at.starts_with(REDIRECT), "{at}");
        assert_eq!(audits(&app, "mfa.totp.enabled").await.len(), 1);
        let code = query_param(&at, "code").unwrap();
        let (status, tokens) = body_json(redeem(&app, RP, &secret, &code, VERIFIER).await).await;
        assert_eq!(status, 200, "{tokens}");
        let rt = tokens["refresh_token"].as_str().unwrap();
        let (status, body) = refresh(&app, RP, &secret, rt, None).await;
        assert_eq!(status, 200, "{body}");
        // The finished flow can not be replayed into a second session (its form's CSRF token
        // died with the sign-in, S44).
        let (status, _, _) = browser
            .submit(&wrong_page, &app.base_url, &[("code", &good)])
            .await;
        assert_eq!(status, 403);

        // The member may not turn the required app off (API and page form).
        let csrf = browser.csrf_token(&app.base_url).await;
        let response = browser
            .http
            .delete(app.url("/account/mfa/totp"))
            .header("x-csrf-token", &csrf)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 409);
        let response = browser
            .http
            .post(app.url("/account/mfa/totp/turn-off"))
            .form(&[("csrf_token", csrf.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 409);
        let account = app
            .app
            .state
            .accounts
            .find_by_email(MEMBER)
            .await
            .unwrap()
            .unwrap();
        assert!(app.app.state.mfa.has_totp(account.id).await.unwrap());
        app
    })
    .await;
}

#[tokio::test]
async fn s54_a_session_from_before_the_policy_is_sent_through_the_set_up() {
    each_backend_with(configure, |app| async move {
        setup(&app).await;
        let (browser, _) = browser_with_jar();
        let start = authorize_url(&app, RP, "");
        let back = browser
            .sign_in(&start, &app.base_url, &app.mail, MEMBER, PASSWORD)
            .await;
        assert!(back.starts_with(REDIRECT), "{back}");
        // Single sign-on works before the policy...
        let (_, at, _) = browser.get(&start, &app.base_url).await;
        assert!(at.starts_with(REDIRECT), "{at}");

        require(&app, true).await;
        // ...and after it, the same session gets no code: a new sign-in, forced through
        // the set-up, and only then the code.
        let (_, at, page) = browser.get(&start, &app.base_url).await;
        assert!(at.starts_with(&app.base_url), "a code was issued: {at}");
        assert!(page.contains("name=\"email\""), "{page}");
        let (at, page) = password_and_code(&app, &browser, &start, MEMBER).await;
        assert!(at.contains("/login/authenticator"), "{at}");
        let (at, _) = enroll(&app, &browser, &page).await;
        assert!(at.starts_with(REDIRECT), "{at}");
        assert!(query_param(&at, "code").is_some());
        app
    })
    .await;
}

#[tokio::test]
async fn s54_refresh_tokens_from_before_the_policy_need_a_new_sign_in() {
    each_backend_with(configure, |app| async move {
        let secret = setup(&app).await;
        let member = sign_in_tokens(&app, RP, &secret, MEMBER).await;
        let outsider = sign_in_tokens(&app, RP, &secret, OUTSIDER).await;
        let rt = member["refresh_token"].as_str().unwrap().to_owned();
        let (status, body) = refresh(&app, RP, &secret, &rt, None).await;
        assert_eq!(status, 200, "{body}");
        let rt = body["refresh_token"].as_str().unwrap().to_owned();

        app.clock.advance(5);
        require(&app, true).await;
        let (status, body) = refresh(&app, RP, &secret, &rt, None).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error"], "invalid_grant");
        assert_eq!(audits(&app, "token.refresh_refused").await.len(), 1);
        // The grant is gone: its access token is inactive and the refresh token stays dead.
        let (status, _) = refresh(&app, RP, &secret, &rt, None).await;
        assert_eq!(status, 400);
        // Someone outside the organization is not affected.
        let (status, body) = refresh(
            &app,
            RP,
            &secret,
            outsider["refresh_token"].as_str().unwrap(),
            None,
        )
        .await;
        assert_eq!(status, 200, "{body}");
        app
    })
    .await;
}

#[tokio::test]
async fn s54_pats_of_members_without_an_app_are_revoked_and_none_are_created() {
    each_backend_with(configure, |app| async move {
        setup(&app).await;
        let member_pat = mint_pat(&app, MEMBER).await.unwrap();
        let outsider_pat = mint_pat(&app, OUTSIDER).await.unwrap();
        assert_eq!(exchange(&app, &member_pat).await.0, 200);

        require(&app, true).await;
        let (status, body) = exchange(&app, &member_pat).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error"], "invalid_grant");
        assert_eq!(exchange(&app, &outsider_pat).await.0, 200);
        assert!(matches!(
            mint_pat(&app, MEMBER).await,
            Err(IdentityError::AuthenticatorRequired)
        ));
        let cli = lanyard_cli(
            &app,
            &[
                "pat",
                "create",
                "--user",
                MEMBER,
                "--name",
                "x",
                "--scope",
                "repo:read",
            ],
            &resources_toml(),
        )
        .await;
        assert!(!cli.status.success());
        assert!(String::from_utf8_lossy(&cli.stderr).contains("authenticator app"));

        // After the set-up the member creates PATs again; turning the policy off and on
        // keeps them, since the member now has an app.
        let (browser, _) = browser_with_jar();
        let (_, page) = password_and_code(&app, &browser, &app.url("/account/pats"), MEMBER).await;
        let (_, page) = enroll(&app, &browser, &page).await;
        assert!(page.contains("Personal access tokens</h1>"), "{page}");
        let fresh_pat = mint_pat(&app, MEMBER).await.unwrap();
        require(&app, false).await;
        require(&app, true).await;
        assert_eq!(exchange(&app, &fresh_pat).await.0, 200);

        // Joining an organization that requires an app, without one, revokes PATs too.
        app.app
            .state
            .orgs
            .put_member(ORG, OUTSIDER, OrgRole::Member, &Origin::cli())
            .await
            .unwrap();
        assert_eq!(exchange(&app, &outsider_pat).await.0, 400);
        app
    })
    .await;
}

fn resources_toml() -> String {
    format!("[[resources]]\nidentifier = \"{API}\"\nscopes = [\"repo:read\"]\n")
}

/// The admin API as a browser's script calls it: session cookie, CSRF header, JSON.
async fn put_policy(
    app: &TestApp,
    browser: &Browser,
    _jar: &Jar,
    slug: &str,
    body: &str,
    with_csrf: bool,
) -> (u16, Value, String) {
    let mut request = browser
        .http
        .put(app.url(&format!("/orgs/{slug}/policy")))
        .header("content-type", "application/json")
        .header("accept", "application/json")
        .body(body.to_owned());
    if with_csrf {
        let csrf = browser.csrf_token(&app.base_url).await;
        request = request.header("x-csrf-token", csrf);
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
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
        challenge,
    )
}

pub(crate) async fn signed_in(app: &TestApp, email: &str) -> (Browser, Arc<Jar>) {
    let (browser, jar) = browser_with_jar();
    let (_, page) = password_and_code(app, &browser, &app.url("/account/security"), email).await;
    assert!(!page.contains(ENROLL_TEXT), "{page}");
    (browser, jar)
}

async fn policy_is_on(app: &TestApp) -> bool {
    app.app
        .state
        .orgs
        .get(ORG)
        .await
        .unwrap()
        .authenticator_required_since
        .is_some()
}

#[tokio::test]
async fn s54_only_an_admin_changes_the_policy_with_step_up_and_every_change_is_audited() {
    each_backend_with(configure, |app| async move {
        setup(&app).await;
        let on = r#"{"authenticator_required": true}"#;

        // No session: 401.
        let anonymous = Browser::new();
        let response = anonymous
            .http
            .put(app.url(&format!("/orgs/{ORG}/policy")))
            .header("content-type", "application/json")
            .body(on)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 403, "no CSRF cookie either");
        let response = anonymous
            .http
            .get(app.url(&format!("/orgs/{ORG}/policy")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 401, "reading needs a session");

        // A member and an outsider: 403, nothing changes, the refusal is audited.
        for email in [MEMBER, OUTSIDER] {
            let (browser, jar) = signed_in(&app, email).await;
            let (status, body, _) = put_policy(&app, &browser, &jar, ORG, on, true).await;
            assert_eq!(status, 403, "{email}: {body}");
            assert_eq!(body["error"], "forbidden");
            let response = browser
                .http
                .get(app.url(&format!("/orgs/{ORG}/policy")))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status().as_u16(), 403);
        }
        assert!(!policy_is_on(&app).await);
        assert_eq!(audits(&app, "org.admin_refused").await.len(), 4);

        let (admin, jar) = signed_in(&app, ADMIN).await;
        // Without the CSRF header, malformed, oversized or unknown fields: refused.
        let (status, _, _) = put_policy(&app, &admin, &jar, ORG, on, false).await;
        assert_eq!(status, 403);
        for bad in [
            "",
            "{",
            "[]",
            r#"{"authenticator_required": "yes"}"#,
            r#"{"authenticator_required": true, "extra": 1}"#,
            "{\"authenticator_required\": tru\u{e9}}",
        ] {
            let (status, body, _) = put_policy(&app, &admin, &jar, ORG, bad, true).await;
            assert_eq!(status, 400, "{bad}: {body}");
        }
        let big = format!(
            r#"{{"authenticator_required": true, "x": "{}"}}"#,
            "a".repeat(9000)
        );
        let (status, _, _) = put_policy(&app, &admin, &jar, ORG, &big, true).await;
        assert_eq!(status, 413);
        let (status, _, _) = put_policy(&app, &admin, &jar, "no-such-org", on, true).await;
        assert_eq!(status, 404);
        let (status, _, _) = put_policy(&app, &admin, &jar, "../x", on, true).await;
        assert!(status == 404 || status == 400, "{status}");
        assert!(!policy_is_on(&app).await);

        // A stale session must reconfirm first (RFC 9470).
        app.clock.advance(11 * 60);
        let (status, body, challenge) = put_policy(&app, &admin, &jar, ORG, on, true).await;
        assert_eq!(status, 401, "{body}");
        assert!(
            challenge.contains("insufficient_user_authentication"),
            "{challenge}"
        );
        assert!(!policy_is_on(&app).await);

        // Fresh: the change is made once and audited once, with the admin as actor.
        let (admin, jar) = signed_in(&app, ADMIN).await;
        let response = admin
            .http
            .get(app.url(&format!("/orgs/{ORG}/policy")))
            .send()
            .await
            .unwrap();
        let (status, body) = body_json(response).await;
        assert_eq!(
            (status, &body["authenticator_required"]),
            (200, &json!(false))
        );
        let (status, body, _) = put_policy(&app, &admin, &jar, ORG, on, true).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["changed"], true);
        assert_eq!(body["authenticator_required"], true);
        assert!(policy_is_on(&app).await);
        let changes = audits(&app, "org.policy_changed").await;
        assert_eq!(changes.len(), 1);
        let admin_id = app
            .app
            .state
            .accounts
            .find_by_email(ADMIN)
            .await
            .unwrap()
            .unwrap()
            .id;
        assert_eq!(
            changes[0].actor.as_deref(),
            Some(admin_id.to_string().as_str())
        );
        // The admin has no app either: their own session now counts for nothing.
        let (status, _, _) = put_policy(&app, &admin, &jar, ORG, on, true).await;
        assert_eq!(status, 401);
        assert_eq!(audits(&app, "org.policy_changed").await.len(), 1);
        let account = app
            .app
            .state
            .accounts
            .find_by_email(ADMIN)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(account.status, AccountStatus::Active);
        app
    })
    .await;
}

#[tokio::test]
async fn s54_the_org_commands_refuse_bad_input_and_change_nothing() {
    each_backend_with(configure, |app| async move {
        setup(&app).await;
        let run = |args: Vec<&'static str>| {
            let app = &app;
            async move { lanyard_cli(app, &args, "").await }
        };
        for (args, says) in [
            (
                vec!["org", "create", "--slug", "Bad Slug", "--name", "x"],
                "slug",
            ),
            (
                vec!["org", "create", "--slug", "acme", "--name", "again"],
                "already exists",
            ),
            (
                vec!["org", "create", "--slug", "new-org", "--name", " "],
                "name",
            ),
            (
                vec![
                    "org",
                    "add-member",
                    "--org",
                    ORG,
                    "--user",
                    "nobody@example.com",
                ],
                "no such",
            ),
            (
                vec![
                    "org",
                    "add-member",
                    "--org",
                    ORG,
                    "--user",
                    MEMBER,
                    "--role",
                    "owner",
                ],
                "member or admin",
            ),
            (
                vec!["org", "add-member", "--org", "nope", "--user", MEMBER],
                "no such",
            ),
            (
                vec!["org", "require-authenticator", ORG, "maybe"],
                "on or off",
            ),
            (
                vec!["org", "require-authenticator", "nope", "on"],
                "no such",
            ),
            (vec!["org", "show", "nope"], "no such"),
            (
                vec!["org", "remove-member", "--org", "nope", "--user", MEMBER],
                "no such",
            ),
            (
                vec![
                    "org",
                    "remove-member",
                    "--org",
                    ORG,
                    "--user",
                    "nobody@example.com",
                ],
                "no such",
            ),
        ] {
            let out = run(args.clone()).await;
            assert!(!out.status.success(), "{args:?}");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(stderr.contains(says), "{args:?}: {stderr}");
        }
        assert!(!policy_is_on(&app).await);
        assert!(app.app.state.orgs.get("new-org").await.is_err());

        let out = run(vec![
            "org",
            "require-authenticator",
            ORG,
            "on",
            "--yes",
            "--json",
        ])
        .await;
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let body: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(body["changed"], true);
        assert!(policy_is_on(&app).await);
        let changes = audits(&app, "org.policy_changed").await;
        assert_eq!(changes[0].actor.as_deref(), Some("operator"));
        let out = run(vec!["org", "show", ORG, "--json"]).await;
        let body: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(body["members"].as_array().unwrap().len(), 2);

        // Removing twice: the second finds nothing to remove and says so.
        let remove = vec![
            "org",
            "remove-member",
            "--org",
            ORG,
            "--user",
            MEMBER,
            "--json",
        ];
        let out = run(remove.clone()).await;
        let body: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(body["removed"], true);
        let out = run(remove).await;
        let body: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(body["removed"], false);
        assert_eq!(audits(&app, "org.member_removed").await.len(), 1);
        app
    })
    .await;
}
