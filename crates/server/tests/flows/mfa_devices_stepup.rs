//! Trusted devices (S36) and step-up before sensitive actions (S37), over HTTP: the device
//! cookie and what makes the server stop honouring it, the step-up guard in front of every
//! sensitive account action (browser and API forms), the reconfirm pages, flow steps posted
//! out of order, and the session lifetimes. Time only moves through the `ManualClock`.

use std::collections::BTreeMap;
use std::sync::Arc;

use lanyard_core::model::{AuditEvent, MfaMethod, TrustedDevice};
use lanyard_core::ports::AuditRepo;
use lanyard_core::rng::random_token;
use lanyard_core::{AccountId, Clock, OsRng};
use lanyard_mfa::totp::{code_at_step, step_at};
use lanyard_testkit::recording::{cookie_value, hidden_field};
use lanyard_testkit::{Browser, PASSWORD, TestApp};
use reqwest::cookie::Jar;
use reqwest::header::{ACCEPT, CACHE_CONTROL, LOCATION, SET_COOKIE, WWW_AUTHENTICATE};
use serde_json::json;

use crate::helpers::{
    REDIRECT, VERIFIER, authorize_url, confidential, database_snapshot, each_backend,
    ephemeral_snapshot, json as body_json, jwt_claims, query_param, redeem, side_connection,
    urlencode,
};

pub(crate) const A: &str = "a@example.com";
pub(crate) const B: &str = "b@example.com";
pub(crate) const FIREFOX_LINUX: &str =
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
pub(crate) const CHROME_WINDOWS: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 \
                              (KHTML, like Gecko) Chrome/130.0 Safari/537.36";
pub(crate) const HOUR: i64 = 3600;
const DAY: i64 = 24 * HOUR;
/// B6: a device is trusted for 30 days.
const TRUST_SECS: i64 = 30 * DAY;
/// B8: a second step keeps a session fresh for 10 minutes.
const WINDOW: i64 = 600;
pub(crate) const SECURITY: &str = "/account/security";
const TOTP_SETUP: &str = "/account/mfa/totp/setup";
const CHALLENGE_401: &str = "Bearer realm=\"lanyard\", error=\"insufficient_user_authentication\", \
     error_description=\"a fresh sign-in with a second step is required\", max_age=600";

// ---- A browser whose cookies and User-Agent the test controls ----

pub(crate) struct Tab {
    pub(crate) browser: Browser,
    pub(crate) jar: Arc<Jar>,
}

impl Tab {
    pub(crate) fn new(user_agent: &str) -> Self {
        Self::with_jar(user_agent, Arc::new(Jar::default()))
    }

    fn with_jar(user_agent: &str, jar: Arc<Jar>) -> Self {
        let http = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .user_agent(user_agent)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Tab {
            browser: Browser { http },
            jar,
        }
    }

    /// The same browser in a later visit that kept only its device cookie (session and
    /// CSRF cookies gone).
    pub(crate) fn with_device_cookie(app: &TestApp, user_agent: &str, token: &str) -> Self {
        let jar = Arc::new(Jar::default());
        jar.add_cookie_str(
            &format!("lanyard_device={token}; Path=/"),
            &url::Url::parse(&app.base_url).unwrap(),
        );
        Self::with_jar(user_agent, jar)
    }

    pub(crate) fn cookie(&self, app: &TestApp, name: &str) -> Option<String> {
        cookie_value(&self.jar, &app.base_url, name)
    }

    pub(crate) async fn csrf(&self, app: &TestApp) -> String {
        self.browser.csrf_token(&app.base_url).await
    }

    pub(crate) fn device_cookie(&self, app: &TestApp) -> String {
        self.cookie(app, "lanyard_device").expect("a device cookie")
    }

    /// GET, following redirects within the server.
    pub(crate) async fn get(&self, app: &TestApp, path_or_url: &str) -> (u16, String, String) {
        self.browser
            .get(&absolute(app, path_or_url), &app.base_url)
            .await
    }

    /// Submits the page's first form, following redirects within the server.
    pub(crate) async fn submit(
        &self,
        app: &TestApp,
        page: &str,
        fields: &[(&str, &str)],
    ) -> (u16, String, String) {
        self.browser.submit(page, &app.base_url, fields).await
    }

    /// One GET, no redirect followed.
    pub(crate) async fn get_raw(&self, app: &TestApp, path: &str) -> reqwest::Response {
        self.browser
            .http
            .get(absolute(app, path))
            .send()
            .await
            .unwrap()
    }

    /// One form POST, no redirect followed.
    pub(crate) async fn post(
        &self,
        app: &TestApp,
        path: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        self.browser
            .http
            .post(absolute(app, path))
            .form(fields)
            .send()
            .await
            .unwrap()
    }

    /// A form POST of a sensitive action with this browser's CSRF token.
    pub(crate) async fn post_action(&self, app: &TestApp, path: &str) -> reqwest::Response {
        let csrf = self.csrf(app).await;
        self.post(app, path, &[("csrf_token", &csrf)]).await
    }

    /// An API `DELETE` with the CSRF token in `x-csrf-token`.
    async fn delete(&self, app: &TestApp, path: &str) -> reqwest::Response {
        self.browser
            .http
            .delete(absolute(app, path))
            .header("x-csrf-token", self.csrf(app).await)
            .send()
            .await
            .unwrap()
    }
}

fn absolute(app: &TestApp, path_or_url: &str) -> String {
    if path_or_url.starts_with('/') {
        app.url(path_or_url)
    } else {
        path_or_url.to_owned()
    }
}

pub(crate) fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(LOCATION)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

fn set_cookies(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

pub(crate) fn between<'a>(page: &'a str, start: &str, end: &str) -> &'a str {
    let from = page
        .find(start)
        .unwrap_or_else(|| panic!("no {start:?} in: {page}"))
        + start.len();
    let to = page[from..].find(end).unwrap() + from;
    &page[from..to]
}

fn is_code_page(page: &str) -> bool {
    page.contains("name=\"code\"") && page.contains("name=\"method\"")
}

fn is_security_page(page: &str) -> bool {
    page.contains("<h1>Security</h1>")
}

// ---- Signing in ----

/// Opens `start` (an authorization URL or an account page), which leads to the sign-in
/// pages, and types the email and `password`. Returns the status, place and page the
/// password led to, and how many mails `email` had before the password was sent.
async fn password_step(
    app: &TestApp,
    tab: &Tab,
    start: &str,
    email: &str,
    password: &str,
) -> (u16, String, String, usize) {
    let (status, at, page) = tab.get(app, start).await;
    assert_eq!(status, 200, "{at}: {page}");
    assert!(at.contains("/login?flow="), "the sign-in page: {at}");
    let (_, _, page) = tab.submit(app, &page, &[("email", email)]).await;
    assert!(page.contains("name=\"password\""), "{page}");
    let before = app.mail.messages_to(email).len();
    let (status, at, page) = tab.submit(app, &page, &[("password", password)]).await;
    (status, at, page, before)
}

/// The code in the first sign-in code mail to `email` after its first `before` mails.
async fn emailed_code(app: &TestApp, email: &str, before: usize) -> String {
    let mails = app.mail.wait_for(email, before + 1).await;
    let mail = mails[before..]
        .iter()
        .find(|m| m.subject.contains("sign-in code"))
        .unwrap_or_else(|| panic!("no sign-in code mail to {email}"));
    lanyard_testkit::code_in(&mail.text)
}

struct Done {
    at: String,
    page: String,
    /// The backup code page's code, when it was shown.
    backup_code: Option<String>,
}

/// On the code page: types the emailed code, keeps and acknowledges the backup code if one
/// is shown, and answers "Trust this device?" with `trust` (`yes` / `no`).
async fn answer_code(
    app: &TestApp,
    tab: &Tab,
    page: &str,
    email: &str,
    before: usize,
    trust: &str,
) -> Done {
    assert!(is_code_page(page), "the code page: {page}");
    let code = emailed_code(app, email, before).await;
    let (_, mut at, mut page) = tab.submit(app, page, &[("code", &code)]).await;
    let mut backup_code = None;
    if page.contains("name=\"saved\"") {
        backup_code = Some(crate::helpers::code_after(&page, "secret-block"));
        (_, at, page) = tab.submit(app, &page, &[("saved", "yes")]).await;
    }
    if page.contains("name=\"trust\"") {
        (_, at, page) = tab.submit(app, &page, &[("trust", trust)]).await;
    } else if page.contains("name=\"stay\"") {
        (_, at, page) = tab.submit(app, &page, &[("stay", "no")]).await;
    }
    Done {
        at,
        page,
        backup_code,
    }
}

/// A whole sign-in with the emailed code, from `start`.
async fn sign_in_with_code(
    app: &TestApp,
    tab: &Tab,
    start: &str,
    email: &str,
    trust: &str,
) -> Done {
    let (status, at, page, before) = password_step(app, tab, start, email, PASSWORD).await;
    assert_eq!(status, 200, "{at}");
    answer_code(app, tab, &page, email, before, trust).await
}

/// Signs `email` in to the security page in a new browser that trusts itself at the end.
/// Returns the browser (signed in, fresh) and its device cookie.
pub(crate) async fn trusted_browser(app: &TestApp, email: &str, user_agent: &str) -> (Tab, String) {
    let tab = Tab::new(user_agent);
    let done = sign_in_with_code(app, &tab, SECURITY, email, "yes").await;
    assert_eq!(done.at, app.url(SECURITY));
    assert!(is_security_page(&done.page), "{}", done.page);
    let token = tab.device_cookie(app);
    (tab, token)
}

/// Signs `email` in to the security page in a new browser, not trusting it.
pub(crate) async fn signed_in_browser(app: &TestApp, email: &str, user_agent: &str) -> Tab {
    let tab = Tab::new(user_agent);
    let done = sign_in_with_code(app, &tab, SECURITY, email, "no").await;
    assert_eq!(done.at, app.url(SECURITY));
    assert!(tab.cookie(app, "lanyard_device").is_none());
    tab
}

/// The password led past the code page straight to the account page, and no mail was sent.
pub(crate) async fn assert_code_skipped(app: &TestApp, tab: &Tab, email: &str) {
    let (status, at, page, before) = password_step(app, tab, SECURITY, email, PASSWORD).await;
    assert_eq!(status, 200, "{at}");
    assert_eq!(at, app.url(SECURITY), "no code page: {page}");
    assert!(is_security_page(&page), "{page}");
    assert_eq!(app.mail.messages_to(email).len(), before, "no code mailed");
}

/// The password led to the code page, and a sign-in code was mailed (email-method accounts).
pub(crate) async fn assert_code_demanded(app: &TestApp, tab: &Tab, email: &str) {
    let (status, at, page, before) = password_step(app, tab, SECURITY, email, PASSWORD).await;
    assert_eq!(status, 200, "{at}");
    assert!(at.contains("/login/code?flow="), "{at}");
    assert!(is_code_page(&page), "the code is asked again: {page}");
    assert_eq!(
        hidden_field(&page, "method").as_deref(),
        Some("email"),
        "{page}"
    );
    emailed_code(app, email, before).await;
    assert!(tab.cookie(app, "lanyard_session").is_none(), "no session");
}

/// Signs out through the logout page.
async fn sign_out(app: &TestApp, tab: &Tab) {
    let (status, _, page) = tab.get(app, "/logout").await;
    assert_eq!(status, 200, "{page}");
    let (status, _, page) = tab.submit(app, &page, &[]).await;
    assert_eq!(status, 200, "{page}");
    assert_signed_out(app, tab).await;
}

/// The account page sends this browser to sign in.
async fn assert_signed_out(app: &TestApp, tab: &Tab) {
    let response = tab.get_raw(app, SECURITY).await;
    assert_eq!(response.status(), 303);
    assert!(
        location(&response).starts_with("/login?flow="),
        "{}",
        location(&response)
    );
}

/// The ID token of the sign-in that ended at `at` (the redirect back to the app).
async fn id_token_claims(app: &TestApp, secret: &str, at: &str) -> serde_json::Value {
    assert!(at.starts_with(REDIRECT), "back at the app: {at}");
    let code = query_param(at, "code").expect("a code");
    let (status, tokens) = body_json(redeem(app, "rp", secret, &code, VERIFIER).await).await;
    assert_eq!(status, 200, "{tokens}");
    jwt_claims(tokens["id_token"].as_str().unwrap())
}

// ---- Step-up ----

/// Reconfirms identity from `reconfirm` (a /account/reconfirm URL): password, then the emailed
/// code. Returns where it ended and that page.
pub(crate) async fn step_up(
    app: &TestApp,
    tab: &Tab,
    reconfirm: &str,
    email: &str,
) -> (String, String) {
    let (status, at, page) = tab.get(app, reconfirm).await;
    assert_eq!(status, 200, "{at}: {page}");
    assert!(page.contains("name=\"password\""), "{page}");
    let before = app.mail.messages_to(email).len();
    let (status, at, page) = tab.submit(app, &page, &[("password", PASSWORD)]).await;
    assert_eq!(status, 200, "{at}: {page}");
    assert!(is_code_page(&page), "a code is asked: {page}");
    assert!(
        page.contains("Before you change your security settings"),
        "{page}"
    );
    let code = emailed_code(app, email, before).await;
    let (_, at, page) = tab.submit(app, &page, &[("code", &code)]).await;
    (at, page)
}

pub(crate) fn reconfirm_location(return_to: &str) -> String {
    format!("/account/reconfirm?return_to={}", urlencode(return_to))
}

/// A browser form refused by the step-up guard: sent to reconfirm, and back to `return_to`.
pub(crate) fn assert_sent_to_reconfirm(response: &reqwest::Response, return_to: &str, what: &str) {
    assert_eq!(response.status(), 303, "{what}");
    assert_eq!(location(response), reconfirm_location(return_to), "{what}");
}

/// An API call refused by the step-up guard: RFC 9470's challenge and a JSON error.
async fn assert_step_up_challenge(response: reqwest::Response, what: &str) {
    assert_eq!(response.status(), 401, "{what}");
    assert!(response.headers().get(LOCATION).is_none(), "{what}");
    assert_eq!(
        response.headers()[WWW_AUTHENTICATE].to_str().unwrap(),
        CHALLENGE_401,
        "{what}"
    );
    assert_eq!(
        response.headers()[CACHE_CONTROL].to_str().unwrap(),
        "no-store",
        "{what}"
    );
    let (_, body) = body_json(response).await;
    assert_eq!(body["error"], "insufficient_user_authentication", "{what}");
}

/// The sensitive actions, as a browser form or an API call, and where a browser returns to.
#[derive(Debug)]
enum Sensitive {
    Form {
        path: String,
        return_to: &'static str,
    },
    Get {
        path: String,
        return_to: &'static str,
    },
    JsonPost {
        path: String,
    },
    Delete {
        path: String,
    },
}

fn sensitive_actions(device: &str) -> Vec<Sensitive> {
    let form = |path: &str, return_to| Sensitive::Form {
        path: path.to_owned(),
        return_to,
    };
    vec![
        form(TOTP_SETUP, TOTP_SETUP),
        Sensitive::Get {
            path: TOTP_SETUP.to_owned(),
            return_to: TOTP_SETUP,
        },
        form("/account/mfa/totp/turn-off", SECURITY),
        form("/account/backup-codes/regenerate", SECURITY),
        form(&format!("/account/devices/{device}/revoke"), SECURITY),
        form("/account/devices/revoke-all", SECURITY),
        Sensitive::Delete {
            path: "/account/mfa/totp".to_owned(),
        },
        Sensitive::Delete {
            path: format!("/account/devices/{device}"),
        },
        // A form endpoint called by a script: the API answer, too.
        Sensitive::JsonPost {
            path: "/account/devices/revoke-all".to_owned(),
        },
    ]
}

/// Calls `action` and checks it was refused for want of a fresh second step; returns the
/// return_to a browser was given.
async fn assert_refused(app: &TestApp, tab: &Tab, action: &Sensitive) -> &'static str {
    let what = format!("{action:?}");
    match action {
        Sensitive::Form { path, return_to } => {
            let csrf = tab.csrf(app).await;
            let mut fields = vec![("csrf_token", csrf.as_str())];
            if path == TOTP_SETUP {
                fields.push(("code", "123456"));
            }
            let response = tab.post(app, path, &fields).await;
            assert_sent_to_reconfirm(&response, return_to, &what);
            return_to
        }
        Sensitive::Get { path, return_to } => {
            let response = tab.get_raw(app, path).await;
            assert_sent_to_reconfirm(&response, return_to, &what);
            return_to
        }
        Sensitive::JsonPost { path } => {
            let response = tab
                .browser
                .http
                .post(app.url(path))
                .header(ACCEPT, "application/json")
                .form(&[("csrf_token", tab.csrf(app).await)])
                .send()
                .await
                .unwrap();
            assert_step_up_challenge(response, &what).await;
            SECURITY
        }
        Sensitive::Delete { path } => {
            assert_step_up_challenge(tab.delete(app, path).await, &what).await;
            SECURITY
        }
    }
}

// ---- State ----

async fn audits(app: &TestApp, kind: &str) -> Vec<AuditEvent> {
    app.app
        .stores
        .sql
        .list_audit(Some(kind), 1000)
        .await
        .unwrap()
}

pub(crate) async fn devices(app: &TestApp, account: AccountId) -> Vec<TrustedDevice> {
    app.app.state.mfa.trusted_devices(account).await.unwrap()
}

/// Every durable row except the audit trail (refusals are audited, which is the one change
/// they make).
async fn durable_state(app: &TestApp) -> BTreeMap<String, Vec<String>> {
    let db = side_connection(app).await;
    let mut snapshot = database_snapshot(&db).await;
    db.close().await.unwrap();
    assert!(snapshot.remove("audit_events").is_some());
    snapshot
}

/// The ephemeral store's keys (expired in-memory entries dropped first, so only what the
/// requests did shows).
async fn ephemeral_state(app: &TestApp) -> Vec<String> {
    if let Some(memory) = &app.app.memory {
        memory.purge_expired();
    }
    ephemeral_snapshot(app).await
}

fn base32_decode(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let (mut bits, mut held) = (0u32, 0u32);
    for c in text
        .bytes()
        .filter(|b| !b.is_ascii_whitespace() && *b != b'=')
    {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'2'..=b'7' => c - b'2' + 26,
            _ => panic!("not base32: {text}"),
        };
        bits = (bits << 5) | u32::from(value);
        held += 5;
        if held >= 8 {
            held -= 8;
            out.push((bits >> held) as u8);
            bits &= (1 << held) - 1;
        }
    }
    out
}

fn totp_now(app: &TestApp, secret: &[u8]) -> String {
    code_at_step(secret, step_at(app.clock.now().seconds())).unwrap()
}

/// Sets up and turns on the authenticator app from a fresh session; returns its secret.
async fn turn_on_totp(app: &TestApp, tab: &Tab) -> Vec<u8> {
    let (status, _, page) = tab.get(app, TOTP_SETUP).await;
    assert_eq!(status, 200, "{page}");
    let secret = base32_decode(&crate::helpers::code_after(&page, "secret-block"));
    assert_eq!(secret.len(), 20);
    let (_, at, _) = tab
        .submit(app, &page, &[("code", &totp_now(app, &secret))])
        .await;
    assert_eq!(at, app.url("/account/security?done=totp-on"));
    secret
}

// ================================ S36 ================================

#[tokio::test]
async fn s36_a_trusted_device_cookie_skips_only_the_emailed_code() {
    each_backend(|app| async move {
        let account = app.create_user(A).await;
        let secret = app.create_client(confidential("rp")).await.unwrap();
        let tab = Tab::new(FIREFOX_LINUX);
        let start = authorize_url(&app, "rp", "");

        // Password, emailed code, backup code page, then "Trust this device" — answered by
        // hand to read the response's Set-Cookie.
        let (status, _, page, before) = password_step(&app, &tab, &start, A, PASSWORD).await;
        assert_eq!(status, 200);
        assert!(is_code_page(&page), "{page}");
        let code = emailed_code(&app, A, before).await;
        let (_, _, page) = tab.submit(&app, &page, &[("code", &code)]).await;
        assert!(page.contains("name=\"saved\""), "first sign-in: {page}");
        let (_, _, page) = tab.submit(&app, &page, &[("saved", "yes")]).await;
        assert!(page.contains("name=\"trust\""), "{page}");
        assert!(audits(&app, "mfa.device.trusted").await.is_empty());
        let flow = hidden_field(&page, "flow").unwrap();
        let csrf = tab.csrf(&app).await;
        let response = tab
            .post(
                &app,
                "/login/trust",
                &[("csrf_token", &csrf), ("flow", &flow), ("trust", "yes")],
            )
            .await;
        assert_eq!(response.status(), 303);
        let cookies = set_cookies(&response);
        assert!(
            cookies.iter().any(|c| c.starts_with("lanyard_session=")),
            "{cookies:?}"
        );
        let device_cookie = cookies
            .iter()
            .find(|c| c.starts_with("lanyard_device="))
            .unwrap_or_else(|| panic!("a device cookie: {cookies:?}"));
        let attributes: Vec<&str> = device_cookie.split(';').map(str::trim).collect();
        let token = attributes[0]
            .trim_start_matches("lanyard_device=")
            .to_owned();
        assert_eq!(token.len(), 43, "256 random bits: {device_cookie}");
        assert!(
            token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        let has = |wanted: &str| attributes.iter().any(|a| a.eq_ignore_ascii_case(wanted));
        assert!(has("HttpOnly"), "{device_cookie}");
        assert!(has("SameSite=Lax"), "{device_cookie}");
        assert!(has("Path=/"), "{device_cookie}");
        assert!(
            !attributes
                .iter()
                .any(|a| a.to_ascii_lowercase().starts_with("domain")),
            "host-only: {device_cookie}"
        );
        let max_age: i64 = attributes
            .iter()
            .find_map(|a| a.strip_prefix("Max-Age="))
            .unwrap_or_else(|| panic!("a Max-Age: {device_cookie}"))
            .parse()
            .unwrap();
        assert!(
            (TRUST_SECS - 60..=TRUST_SECS).contains(&max_age),
            "about 30 days: {max_age}"
        );
        let (_, at, _) = tab.get(&app, &location(&response)).await;
        let claims = id_token_claims(&app, &secret, &at).await;
        assert_eq!(claims["acr"], "urn:lanyard:loa:2");
        assert_eq!(claims["amr"], json!(["pwd", "otp", "mfa"]));

        // Audited; the server keeps a keyed hash, bound to the account, for 30 days.
        let trusted = audits(&app, "mfa.device.trusted").await;
        assert_eq!(trusted.len(), 1);
        assert_eq!(trusted[0].subject, Some(account.id.to_string()));
        assert_eq!(trusted[0].outcome, "success");
        let rows = devices(&app, account.id).await;
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].label, "Firefox on Linux");
        assert_eq!(rows[0].account_id, account.id);
        assert!(!rows[0].token_hash.contains(&token));
        assert_eq!(
            rows[0].expires_at.seconds() - rows[0].created_at.seconds(),
            TRUST_SECS
        );
        assert_eq!(tab.device_cookie(&app), token);

        // A new session in the same browser: sign out, then sign in again.
        sign_out(&app, &tab).await;
        assert_eq!(
            tab.device_cookie(&app),
            token,
            "signing out keeps the device"
        );
        let (status, at, page) = tab.get(&app, &start).await;
        assert_eq!(status, 200, "the cookie alone signs nobody in: {at}");
        assert!(at.contains("/login?flow="), "{at}");
        let (_, _, page) = tab.submit(&app, &page, &[("email", A)]).await;
        let mails = app.mail.messages_to(A).len();
        // The password is still required: a wrong one is refused, and the code step can
        // not be reached around it.
        let (status, _, wrong) = tab
            .submit(&app, &page, &[("password", "not the password")])
            .await;
        assert_eq!(status, 400);
        assert!(wrong.contains("name=\"password\""), "{wrong}");
        let flow = hidden_field(&wrong, "flow").unwrap();
        let csrf = tab.csrf(&app).await;
        let response = tab
            .post(
                &app,
                "/login/code",
                &[
                    ("csrf_token", csrf.as_str()),
                    ("flow", flow.as_str()),
                    ("method", "email"),
                    ("code", code.as_str()),
                ],
            )
            .await;
        assert_eq!(response.status(), 400);
        assert!(set_cookies(&response).is_empty());
        assert_signed_out(&app, &tab).await;
        // The right password: straight back to the app, no code page, no mail.
        let (status, at, _) = tab.submit(&app, &wrong, &[("password", PASSWORD)]).await;
        assert_eq!(status, 302, "{at}");
        assert_eq!(app.mail.messages_to(A).len(), mails, "no code was mailed");
        let claims = id_token_claims(&app, &secret, &at).await;
        assert_eq!(claims["acr"], "urn:lanyard:loa:2");
        assert_eq!(
            claims["amr"],
            json!(["pwd", "mfa"]),
            "no one-time code used"
        );
        assert_eq!(audits(&app, "mfa.device.trusted").await.len(), 1);

        // The security page lists the device with its label, marked as this browser, and a
        // Remove link to its confirmation (issue 12 item 8).
        let (status, _, page) = tab.get(&app, SECURITY).await;
        assert_eq!(status, 200);
        assert!(
            page.contains(
                "<h3 class=\"device-label\">Firefox on Linux <span class=\"tag\">This \
                 device</span></h3>"
            ),
            "{page}"
        );
        let href = format!("href=\"/account/devices/{}/revoke\"", rows[0].id);
        let link = between(&page, &href, "</a>");
        assert!(link.contains(">Remove<"), "{link}");
        app
    })
    .await;
}

#[tokio::test]
async fn s36_a_forged_or_another_users_device_cookie_demands_the_code() {
    each_backend(|app| async move {
        app.create_user(A).await;
        let b = app.create_user(B).await;
        let (_, token) = trusted_browser(&app, A, FIREFOX_LINUX).await;
        // The genuine cookie, presented alone, skips the code (the control case).
        assert_code_skipped(
            &app,
            &Tab::with_device_cookie(&app, FIREFOX_LINUX, &token),
            A,
        )
        .await;

        // A random cookie of the right shape.
        let forged = random_token(&OsRng, 32);
        assert_eq!(forged.len(), 43);
        assert_code_demanded(
            &app,
            &Tab::with_device_cookie(&app, FIREFOX_LINUX, &forged),
            A,
        )
        .await;
        // The genuine cookie with one character changed.
        let mut edited = token.clone().into_bytes();
        edited[10] = if edited[10] == b'A' { b'B' } else { b'A' };
        let edited = String::from_utf8(edited).unwrap();
        assert_code_demanded(
            &app,
            &Tab::with_device_cookie(&app, FIREFOX_LINUX, &edited),
            A,
        )
        .await;
        // A's genuine cookie while signing in as B.
        assert_code_demanded(
            &app,
            &Tab::with_device_cookie(&app, FIREFOX_LINUX, &token),
            B,
        )
        .await;
        assert!(devices(&app, b.id).await.is_empty());
        assert_eq!(audits(&app, "mfa.device.trusted").await.len(), 1);
        app
    })
    .await;
}

#[tokio::test]
async fn s36_a_device_stops_counting_30_days_after_it_was_trusted() {
    each_backend(|app| async move {
        app.create_user(A).await;
        let (_, token) = trusted_browser(&app, A, FIREFOX_LINUX).await;
        app.clock.advance(TRUST_SECS - 1);
        assert_code_skipped(
            &app,
            &Tab::with_device_cookie(&app, FIREFOX_LINUX, &token),
            A,
        )
        .await;
        app.clock.advance(2);
        assert_code_demanded(
            &app,
            &Tab::with_device_cookie(&app, FIREFOX_LINUX, &token),
            A,
        )
        .await;
        app
    })
    .await;
}

#[tokio::test]
async fn s36_removing_a_device_on_the_security_page_demands_the_code_again() {
    each_backend(|app| async move {
        let a = app.create_user(A).await;
        let b = app.create_user(B).await;
        let (_, token) = trusted_browser(&app, A, FIREFOX_LINUX).await;
        let (_, b_token) = trusted_browser(&app, B, CHROME_WINDOWS).await;
        let a_device = devices(&app, a.id).await[0].id.to_string();
        let b_device = devices(&app, b.id).await[0].id.to_string();

        // A signs in afresh elsewhere and opens the security page.
        let other = signed_in_browser(&app, A, CHROME_WINDOWS).await;
        let (_, _, page) = other.get(&app, SECURITY).await;
        assert!(page.contains("Firefox on Linux"), "{page}");
        assert!(!page.contains(&b_device), "only A's own devices");

        // Another user's device id, or no device id at all: 404, nothing changed.
        let db_before = durable_state(&app).await;
        for id in [b_device.as_str(), "not-a-device"] {
            let response = other
                .post_action(&app, &format!("/account/devices/{id}/revoke"))
                .await;
            assert_eq!(response.status(), 404, "{id}");
            assert!(
                response
                    .text()
                    .await
                    .unwrap()
                    .contains("That device is not in your list")
            );
            let response = other.delete(&app, &format!("/account/devices/{id}")).await;
            assert_eq!(response.status(), 404, "{id}");
        }
        assert_eq!(durable_state(&app).await, db_before, "nothing changed");
        assert_eq!(devices(&app, b.id).await.len(), 1);
        assert_code_skipped(
            &app,
            &Tab::with_device_cookie(&app, CHROME_WINDOWS, &b_token),
            B,
        )
        .await;
        assert!(
            audits(&app, "mfa.device.revoked")
                .await
                .iter()
                .all(|e| e.outcome == "failure")
        );

        // The form without its CSRF token, or with a forged one: 403, still trusted.
        let forged = random_token(&OsRng, 32);
        for token in [forged.as_str(), ""] {
            let response = other
                .post(
                    &app,
                    &format!("/account/devices/{a_device}/revoke"),
                    &[("csrf_token", token)],
                )
                .await;
            assert_eq!(response.status(), 403);
        }
        assert_eq!(devices(&app, a.id).await.len(), 1);

        // A removes the device with the form on the page.
        let response = other
            .post_action(&app, &format!("/account/devices/{a_device}/revoke"))
            .await;
        assert_eq!(response.status(), 303);
        assert_eq!(location(&response), "/account/security");
        let (_, _, page) = other.get(&app, &location(&response)).await;
        assert!(
            page.contains("\u{2018}Firefox on Linux\u{2019} removed"),
            "{page}"
        );
        assert!(page.contains("You have no trusted devices"), "{page}");
        assert!(devices(&app, a.id).await.is_empty());
        let revoked: Vec<AuditEvent> = audits(&app, "mfa.device.revoked")
            .await
            .into_iter()
            .filter(|e| e.outcome == "success")
            .collect();
        assert_eq!(revoked.len(), 1);
        assert_eq!(revoked[0].subject, Some(a.id.to_string()));

        assert_code_demanded(
            &app,
            &Tab::with_device_cookie(&app, FIREFOX_LINUX, &token),
            A,
        )
        .await;
        // Removing it again finds nothing.
        let response = other
            .post_action(&app, &format!("/account/devices/{a_device}/revoke"))
            .await;
        assert_eq!(response.status(), 404);
        app
    })
    .await;
}

#[tokio::test]
async fn s36_removing_all_devices_demands_the_code_on_each() {
    each_backend(|app| async move {
        let a = app.create_user(A).await;
        let (first, first_token) = trusted_browser(&app, A, FIREFOX_LINUX).await;
        let (_, second_token) = trusted_browser(&app, A, CHROME_WINDOWS).await;
        assert_eq!(devices(&app, a.id).await.len(), 2);
        let epoch = app
            .app
            .state
            .mfa
            .state(a.id)
            .await
            .unwrap()
            .credential_epoch;

        // The first browser's session is fresh (it just passed the code).
        let (_, _, page) = first.get(&app, SECURITY).await;
        assert!(page.contains("Remove all trusted devices"), "{page}");
        let response = first.post_action(&app, "/account/devices/revoke-all").await;
        assert_eq!(response.status(), 303);
        assert_eq!(location(&response), "/account/security");
        assert!(devices(&app, a.id).await.is_empty());
        assert_eq!(
            app.app
                .state
                .mfa
                .state(a.id)
                .await
                .unwrap()
                .credential_epoch,
            epoch + 1
        );
        let all = audits(&app, "mfa.device.revoked_all").await;
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].subject, Some(a.id.to_string()));

        assert_code_demanded(
            &app,
            &Tab::with_device_cookie(&app, FIREFOX_LINUX, &first_token),
            A,
        )
        .await;
        assert_code_demanded(
            &app,
            &Tab::with_device_cookie(&app, CHROME_WINDOWS, &second_token),
            A,
        )
        .await;
        app
    })
    .await;
}

#[tokio::test]
async fn s36_turning_on_the_authenticator_app_distrusts_devices() {
    each_backend(|app| async move {
        let a = app.create_user(A).await;
        let (tab, token) = trusted_browser(&app, A, FIREFOX_LINUX).await;
        let epoch = app
            .app
            .state
            .mfa
            .state(a.id)
            .await
            .unwrap()
            .credential_epoch;

        turn_on_totp(&app, &tab).await;
        let state = app.app.state.mfa.state(a.id).await.unwrap();
        assert_eq!(state.method, MfaMethod::Totp);
        assert!(state.credential_epoch > epoch, "the epoch moved");
        assert!(devices(&app, a.id).await.is_empty());

        // The device cookie does not stand in for the app's code.
        let device = Tab::with_device_cookie(&app, FIREFOX_LINUX, &token);
        let (status, at, page, before) = password_step(&app, &device, SECURITY, A, PASSWORD).await;
        assert_eq!(status, 200, "{at}");
        assert!(is_code_page(&page), "{page}");
        assert_eq!(hidden_field(&page, "method").as_deref(), Some("totp"));
        assert_eq!(app.mail.messages_to(A).len(), before, "no code mailed");
        assert!(device.cookie(&app, "lanyard_session").is_none());

        // Back to emailed codes: the device stays distrusted.
        let response = tab.post_action(&app, "/account/mfa/totp/turn-off").await;
        assert_eq!(response.status(), 303);
        assert_eq!(location(&response), "/account/security");
        assert_eq!(
            app.app.state.mfa.state(a.id).await.unwrap().method,
            MfaMethod::Email
        );
        assert_code_demanded(
            &app,
            &Tab::with_device_cookie(&app, FIREFOX_LINUX, &token),
            A,
        )
        .await;
        app
    })
    .await;
}

// ================================ S37 ================================

#[tokio::test]
async fn s37_a_stale_session_is_refused_every_sensitive_action_and_nothing_changes() {
    each_backend(|app| async move {
        let a = app.create_user(A).await;
        let tab = Tab::new(FIREFOX_LINUX);
        let done = sign_in_with_code(&app, &tab, SECURITY, A, "yes").await;
        assert_eq!(done.at, app.url(SECURITY));
        let backup_code = done
            .backup_code
            .expect("the first sign-in shows a backup code");
        let device = devices(&app, a.id).await[0].id.to_string();
        let backup_before = app.app.state.mfa.backup_code_info(a.id).await.unwrap();
        let state_before = app.app.state.mfa.state(a.id).await.unwrap();

        app.clock.advance(2 * HOUR);
        let db_before = durable_state(&app).await;
        let ephemeral_before = ephemeral_state(&app).await;
        let actions = sensitive_actions(&device);
        let mut reconfirm = None;
        let mut expected: BTreeMap<&str, usize> = BTreeMap::new();
        for (n, action) in actions.iter().enumerate() {
            let return_to = assert_refused(&app, &tab, action).await;
            if reconfirm.is_none() && matches!(action, Sensitive::Form { .. }) {
                reconfirm = Some(reconfirm_location(return_to));
            }
            *expected.entry(return_to).or_insert(0) += 1;
            let required = audits(&app, "stepup.required").await;
            assert_eq!(required.len(), n + 1, "one audit per refusal: {action:?}");
            for event in &required {
                assert_eq!(event.subject, Some(a.id.to_string()));
                assert_eq!(event.outcome, "failure");
            }
            for (return_to, count) in &expected {
                let audited = required
                    .iter()
                    .filter(|e| e.reason.as_deref() == Some(*return_to))
                    .count();
                assert_eq!(audited, *count, "{return_to}");
            }
        }
        assert_eq!(durable_state(&app).await, db_before, "nothing changed");
        assert_eq!(ephemeral_state(&app).await, ephemeral_before);
        assert!(!app.app.state.mfa.has_totp(a.id).await.unwrap());
        assert_eq!(devices(&app, a.id).await.len(), 1);
        let state = app.app.state.mfa.state(a.id).await.unwrap();
        assert_eq!(state.credential_epoch, state_before.credential_epoch);
        assert_eq!(
            app.app
                .state
                .mfa
                .backup_code_info(a.id)
                .await
                .unwrap()
                .map(|b| b.created_at),
            backup_before.map(|b| b.created_at)
        );
        let (status, _, page) = tab.get(&app, SECURITY).await;
        assert_eq!(status, 200, "still signed in, just not fresh");
        assert!(page.contains("Firefox on Linux"), "{page}");

        // The backup code shown at the first sign-in still works (in another browser).
        let other = Tab::new(CHROME_WINDOWS);
        let (_, at, _, _) = password_step(&app, &other, SECURITY, A, PASSWORD).await;
        let flow = query_param(&at, "flow").unwrap();
        let (_, _, page) = other
            .get(&app, &format!("/login/code?flow={flow}&method=backup"))
            .await;
        assert_eq!(hidden_field(&page, "method").as_deref(), Some("backup"));
        let (status, _, page) = other.submit(&app, &page, &[("code", &backup_code)]).await;
        assert_eq!(status, 200, "{page}");
        assert!(page.contains("You used your backup code"), "{page}");

        // Step up through the reconfirm pages: back to the action, which now works.
        let (at, page) = step_up(&app, &tab, &reconfirm.unwrap(), A).await;
        assert_eq!(at, app.url(TOTP_SETUP));
        assert!(page.contains("secret-block"), "the set-up page: {page}");
        let secret = base32_decode(&crate::helpers::code_after(&page, "secret-block"));
        let (_, at, _) = tab
            .submit(&app, &page, &[("code", &totp_now(&app, &secret))])
            .await;
        assert_eq!(at, app.url("/account/security?done=totp-on"));
        assert!(app.app.state.mfa.has_totp(a.id).await.unwrap());
        let refusals = audits(&app, "stepup.required").await.len();
        assert_eq!(refusals, actions.len());

        // Fresh for exactly the window.
        app.clock.advance(WINDOW);
        let response = tab.get_raw(&app, TOTP_SETUP).await;
        assert_eq!(response.status(), 200, "600 s after the step-up");
        app.clock.advance(1);
        let response = tab.get_raw(&app, TOTP_SETUP).await;
        assert_sent_to_reconfirm(&response, TOTP_SETUP, "601 s after the step-up");
        let response = tab.delete(&app, "/account/mfa/totp").await;
        assert_step_up_challenge(response, "601 s after the step-up").await;
        assert!(app.app.state.mfa.has_totp(a.id).await.unwrap());
        assert_eq!(audits(&app, "stepup.required").await.len(), refusals + 2);
        app
    })
    .await;
}

#[tokio::test]
async fn s37_a_sign_in_that_skipped_the_code_on_a_trusted_device_is_not_fresh() {
    each_backend(|app| async move {
        let a = app.create_user(A).await;
        let (_, token) = trusted_browser(&app, A, FIREFOX_LINUX).await;
        let device = devices(&app, a.id).await[0].id.to_string();
        let backup_before = app.app.state.mfa.backup_code_info(a.id).await.unwrap();

        // A new session through the trusted device, at the same instant: not fresh.
        let tab = Tab::with_device_cookie(&app, FIREFOX_LINUX, &token);
        assert_code_skipped(&app, &tab, A).await;
        let response = tab
            .post_action(&app, "/account/backup-codes/regenerate")
            .await;
        assert_sent_to_reconfirm(&response, SECURITY, "regenerate");
        let reconfirm = location(&response);
        let response = tab
            .delete(&app, &format!("/account/devices/{device}"))
            .await;
        assert_step_up_challenge(response, "delete device").await;
        assert_eq!(audits(&app, "stepup.required").await.len(), 2);
        assert_eq!(devices(&app, a.id).await.len(), 1);
        assert_eq!(
            app.app
                .state
                .mfa
                .backup_code_info(a.id)
                .await
                .unwrap()
                .map(|b| b.created_at),
            backup_before.map(|b| b.created_at)
        );

        // Stepping up on the trusted device still asks for the emailed code.
        let (at, page) = step_up(&app, &tab, &reconfirm, A).await;
        assert_eq!(at, app.url(SECURITY));
        assert!(is_security_page(&page), "{page}");
        let response = tab
            .post_action(&app, "/account/backup-codes/regenerate")
            .await;
        assert_eq!(response.status(), 303);
        let (_, _, page) = tab.get(&app, &location(&response)).await;
        assert!(page.contains("Your new backup code"), "{page}");
        app
    })
    .await;
}

#[tokio::test]
async fn s37_the_step_up_proof_is_bound_to_its_session() {
    each_backend(|app| async move {
        let a = app.create_user(A).await;
        let first = signed_in_browser(&app, A, FIREFOX_LINUX).await;
        let second = signed_in_browser(&app, A, CHROME_WINDOWS).await;
        app.clock.advance(2 * HOUR);

        let response = first
            .post_action(&app, "/account/backup-codes/regenerate")
            .await;
        assert_sent_to_reconfirm(&response, SECURITY, "first, stale");
        // A wrong password on the reconfirm page goes no further (and mails no code).
        let (_, _, page) = first.get(&app, &location(&response)).await;
        let mails = app.mail.messages_to(A).len();
        let (status, _, page) = first
            .submit(&app, &page, &[("password", "not the password")])
            .await;
        assert_eq!(status, 400);
        assert!(page.contains("The password is not right"), "{page}");
        assert_eq!(app.mail.messages_to(A).len(), mails);
        let (at, _) = step_up(&app, &first, &location(&response), A).await;
        assert_eq!(at, app.url(SECURITY));
        let response = first
            .post_action(&app, "/account/backup-codes/regenerate")
            .await;
        assert_eq!(response.status(), 303, "the first browser stepped up");
        assert!(location(&response).starts_with("/account/backup-codes/shown/"));
        let regenerated = app.app.state.mfa.backup_code_info(a.id).await.unwrap();

        // The second browser, same user, did not.
        let response = second
            .post_action(&app, "/account/backup-codes/regenerate")
            .await;
        assert_sent_to_reconfirm(&response, SECURITY, "second, stale");
        let response = second.delete(&app, "/account/mfa/totp").await;
        assert_step_up_challenge(response, "second, stale").await;
        assert_eq!(audits(&app, "stepup.required").await.len(), 3);
        assert_eq!(
            app.app
                .state
                .mfa
                .backup_code_info(a.id)
                .await
                .unwrap()
                .map(|b| b.created_at),
            regenerated.map(|b| b.created_at)
        );
        app
    })
    .await;
}

/// The password of a step-up is typed in one session; its code page must not be finishable
/// from another session of the same user, or that session becomes fresh without ever having
/// seen the password.
#[tokio::test]
async fn s37_a_step_up_started_in_one_session_can_not_be_finished_in_another() {
    each_backend(|app| async move {
        app.create_user(A).await;
        let first = signed_in_browser(&app, A, FIREFOX_LINUX).await;
        let second = signed_in_browser(&app, A, CHROME_WINDOWS).await;
        app.clock.advance(2 * HOUR);

        // The first browser types its password on the reconfirm page.
        let (_, _, page) = first.get(&app, &reconfirm_location(SECURITY)).await;
        let before = app.mail.messages_to(A).len();
        let (_, at, page) = first.submit(&app, &page, &[("password", PASSWORD)]).await;
        assert!(is_code_page(&page), "{page}");
        let flow = query_param(&at, "flow").unwrap();
        let code = emailed_code(&app, A, before).await;

        // The second browser answers that code page.
        let csrf = second.csrf(&app).await;
        let response = second
            .post(
                &app,
                "/login/code",
                &[
                    ("csrf_token", csrf.as_str()),
                    ("flow", flow.as_str()),
                    ("method", "email"),
                    ("code", code.as_str()),
                ],
            )
            .await;
        let status = response.status();
        let response = second
            .post_action(&app, "/account/backup-codes/regenerate")
            .await;
        assert_sent_to_reconfirm(
            &response,
            SECURITY,
            &format!(
                "the second browser never typed the password, yet finishing the first one's \
                 step-up (answered {status}) made it fresh"
            ),
        );
        app
    })
    .await;
}

#[tokio::test]
async fn s37_an_authenticator_app_turned_on_in_this_session_can_not_step_it_up() {
    each_backend(|app| async move {
        let a = app.create_user(A).await;
        let tab = signed_in_browser(&app, A, FIREFOX_LINUX).await;
        let secret = turn_on_totp(&app, &tab).await;
        app.clock.advance(2 * HOUR);

        let response = tab.post_action(&app, "/account/mfa/totp/turn-off").await;
        assert_sent_to_reconfirm(&response, SECURITY, "turn off, stale");
        let (_, _, page) = tab.get(&app, &location(&response)).await;
        let before = app.mail.messages_to(A).len();
        let (status, at, page) = tab.submit(&app, &page, &[("password", PASSWORD)]).await;
        assert_eq!(status, 200, "{at}");
        assert!(is_code_page(&page), "{page}");
        assert_eq!(hidden_field(&page, "method").as_deref(), Some("totp"));
        assert_eq!(app.mail.messages_to(A).len(), before, "no code mailed");

        // A correct, unused code from the app set up in this very session: refused.
        let (status, _, page) = tab
            .submit(&app, &page, &[("code", &totp_now(&app, &secret))])
            .await;
        assert_eq!(status, 400, "{page}");
        assert!(page.contains("Use a code sent by email instead"), "{page}");
        let response = tab.post_action(&app, "/account/mfa/totp/turn-off").await;
        assert_sent_to_reconfirm(&response, SECURITY, "still stale");
        assert!(app.app.state.mfa.has_totp(a.id).await.unwrap());

        // An emailed code works.
        let flow = hidden_field(&page, "flow").unwrap();
        let csrf = tab.csrf(&app).await;
        let response = tab
            .post(
                &app,
                "/login/code/email",
                &[("csrf_token", csrf.as_str()), ("flow", flow.as_str())],
            )
            .await;
        assert_eq!(response.status(), 200);
        let page = response.text().await.unwrap();
        assert_eq!(hidden_field(&page, "method").as_deref(), Some("email"));
        let code = emailed_code(&app, A, before).await;
        let (_, at, _) = tab.submit(&app, &page, &[("code", &code)]).await;
        assert_eq!(at, app.url(SECURITY));
        let response = tab.post_action(&app, "/account/mfa/totp/turn-off").await;
        assert_eq!(location(&response), "/account/security");
        assert!(!app.app.state.mfa.has_totp(a.id).await.unwrap());
        app
    })
    .await;
}

#[tokio::test]
async fn s37_later_sign_in_steps_can_not_be_posted_directly() {
    each_backend(|app| async move {
        let a = app.create_user(A).await;
        let tab = Tab::new(FIREFOX_LINUX);
        let (_, at, page, before) = password_step(&app, &tab, SECURITY, A, PASSWORD).await;
        assert!(is_code_page(&page), "{page}");
        let flow = query_param(&at, "flow").unwrap();
        let code = emailed_code(&app, A, before).await;
        let csrf = tab.csrf(&app).await;
        let db_before = durable_state(&app).await;
        let audits_before = app.app.stores.sql.list_audit(None, 1000).await.unwrap();

        let refuse = |response: reqwest::Response, status: u16, text: &'static str| async move {
            assert_eq!(response.status(), status);
            let cookies = set_cookies(&response);
            assert!(
                !cookies
                    .iter()
                    .any(|c| c.starts_with("lanyard_session=") || c.starts_with("lanyard_device=")),
                "{cookies:?}"
            );
            assert!(response.headers().get(LOCATION).is_none());
            let page = response.text().await.unwrap();
            assert!(page.contains(text), "{page}");
        };
        // "Trust this device" and "I saved my backup code" before the code was answered.
        for (path, field) in [
            ("/login/trust", ("trust", "yes")),
            ("/login/backup-code", ("saved", "yes")),
        ] {
            let response = tab
                .post(
                    &app,
                    path,
                    &[
                        ("csrf_token", csrf.as_str()),
                        ("flow", flow.as_str()),
                        field,
                    ],
                )
                .await;
            refuse(response, 400, "Your sign-in has expired").await;
        }
        // A code for a flow that never saw a password (at the email step, at the password
        // step, or made up).
        let other = Tab::new(CHROME_WINDOWS);
        let (_, _, email_page) = other.get(&app, SECURITY).await;
        let fresh_flow = hidden_field(&email_page, "flow").unwrap();
        let other_csrf = other.csrf(&app).await;
        let made_up = random_token(&OsRng, 32);
        for id in [fresh_flow.as_str(), made_up.as_str()] {
            let response = other
                .post(
                    &app,
                    "/login/code",
                    &[
                        ("csrf_token", other_csrf.as_str()),
                        ("flow", id),
                        ("method", "email"),
                        ("code", code.as_str()),
                    ],
                )
                .await;
            refuse(response, 400, "Your sign-in has expired").await;
        }
        let (_, _, password_page) = other.submit(&app, &email_page, &[("email", A)]).await;
        assert!(password_page.contains("name=\"password\""));
        let response = other
            .post(
                &app,
                "/login/code",
                &[
                    ("csrf_token", other_csrf.as_str()),
                    ("flow", fresh_flow.as_str()),
                    ("method", "email"),
                    ("code", code.as_str()),
                ],
            )
            .await;
        refuse(response, 400, "Your sign-in has expired").await;
        // The right code with a forged (or no) CSRF token.
        let forged = random_token(&OsRng, 32);
        for token in [forged.as_str(), ""] {
            let response = tab
                .post(
                    &app,
                    "/login/code",
                    &[
                        ("csrf_token", token),
                        ("flow", flow.as_str()),
                        ("method", "email"),
                        ("code", code.as_str()),
                    ],
                )
                .await;
            refuse(response, 403, "This form has expired").await;
        }
        assert_signed_out(&app, &tab).await;
        assert_signed_out(&app, &other).await;
        assert_eq!(durable_state(&app).await, db_before, "nothing changed");
        assert_eq!(
            app.app
                .stores
                .sql
                .list_audit(None, 1000)
                .await
                .unwrap()
                .len(),
            audits_before.len(),
            "no code was checked"
        );
        assert!(devices(&app, a.id).await.is_empty());

        // None of that used up the challenge: the right code with the right token works.
        let done = answer_code(&app, &tab, &page, A, before, "no").await;
        assert_eq!(done.at, app.url(SECURITY));
        // And the finished flow's steps can not be replayed: the old form's token died with
        // the sign-in (it is bound to the session, S44), and with the signed-in browser's own
        // token the flow is over.
        let replay = |csrf: String| {
            let tab = &tab;
            let app = &app;
            let flow = flow.clone();
            async move {
                tab.post(
                    app,
                    "/login/trust",
                    &[
                        ("csrf_token", csrf.as_str()),
                        ("flow", flow.as_str()),
                        ("trust", "yes"),
                    ],
                )
                .await
            }
        };
        refuse(replay(csrf.clone()).await, 403, "This form has expired").await;
        let signed_in_csrf = tab.csrf(&app).await;
        assert_ne!(signed_in_csrf, csrf);
        refuse(
            replay(signed_in_csrf).await,
            400,
            "Your sign-in has expired",
        )
        .await;
        assert!(devices(&app, a.id).await.is_empty());
        app
    })
    .await;
}

#[tokio::test]
async fn s37_a_session_unused_for_24_hours_ends() {
    each_backend(|app| async move {
        app.create_user(A).await;
        let tab = signed_in_browser(&app, A, FIREFOX_LINUX).await;
        app.clock.advance(DAY - 1);
        let (status, at, _) = tab.get(&app, SECURITY).await;
        assert_eq!((status, at.as_str()), (200, app.url(SECURITY).as_str()));
        app.clock.advance(DAY + 1);
        assert_signed_out(&app, &tab).await;
        let response = tab.delete(&app, "/account/mfa/totp").await;
        assert_eq!(response.status(), 401);
        app
    })
    .await;
}

#[tokio::test]
async fn s37_a_session_used_every_23_hours_ends_30_days_after_sign_in() {
    each_backend(|app| async move {
        app.create_user(A).await;
        let tab = signed_in_browser(&app, A, FIREFOX_LINUX).await;
        let mut age = 0;
        while age + 23 * HOUR < 30 * DAY {
            app.clock.advance(23 * HOUR);
            age += 23 * HOUR;
            let response = tab.get_raw(&app, SECURITY).await;
            assert_eq!(response.status(), 200, "used after {age} s");
        }
        app.clock.advance(30 * DAY - age - 1);
        let response = tab.get_raw(&app, SECURITY).await;
        assert_eq!(response.status(), 200, "a second before 30 days");
        app.clock.advance(1);
        assert_signed_out(&app, &tab).await;
        app
    })
    .await;
}
