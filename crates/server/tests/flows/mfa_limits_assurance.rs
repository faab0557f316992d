//! S53 — limits on the password step (per source address, per account, one counter shared
//! with the second step, lockout resistance, refusals that reveal nothing) — and assurance
//! requests (`acr_values`, `prompt=login`, `max_age`), driven over HTTP on every backend.

use std::sync::Arc;

use lanyard_core::model::authenticated::acr;
use lanyard_core::ports::AuditRepo;
use lanyard_core::{Clock, Origin};
use lanyard_mfa::{Lock, MfaSettings};
use lanyard_testkit::recording::{cookie_value, hidden_field};
use lanyard_testkit::{Browser, PASSWORD, TestApp};

use crate::helpers::{
    REDIRECT, VERIFIER, authorize_url, confidential, each_backend, each_backend_with, http, json,
    jwt_claims, query_param, redeem, urlencode,
};

const WRONG: &str = "definitely not the password";
const BAD_CREDENTIALS: &str =
    "The email address or password is not right. Check them and try again.";
const DEVICE_COOKIE: &str = "lanyard_device";

// ---------------------------------------------------------------------------------------
// Helpers (this file only)
// ---------------------------------------------------------------------------------------

/// A scripted browser with its own cookies, optionally claiming (through a trusted proxy's
/// `X-Forwarded-For`) to come from `ip`, optionally keeping its cookies in `jar`.
fn browser(ip: Option<&str>, jar: Option<Arc<reqwest::cookie::Jar>>) -> Browser {
    let mut headers = reqwest::header::HeaderMap::new();
    if let Some(ip) = ip {
        headers.insert("x-forwarded-for", ip.parse().unwrap());
    }
    let builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers);
    let builder = match jar {
        Some(jar) => builder.cookie_provider(jar),
        None => builder.cookie_store(true),
    };
    Browser {
        http: builder.build().unwrap(),
    }
}

/// A browser with no session that holds only the trusted-device cookie `device` (the owner's
/// browser after the session ended).
fn device_browser(app: &TestApp, ip: Option<&str>, device: &str) -> Browser {
    let jar = Arc::new(reqwest::cookie::Jar::default());
    let url = url::Url::parse(&app.base_url).unwrap();
    jar.add_cookie_str(&format!("{DEVICE_COOKIE}={device}; Path=/"), &url);
    browser(ip, Some(jar))
}

/// The `n`-th distinct attacker address (TEST-NET / benchmarking ranges).
fn address(n: u32) -> String {
    format!("198.18.{}.{}", n / 250, n % 250 + 1)
}

/// One response, read completely.
#[derive(Debug)]
struct Reply {
    status: u16,
    location: Option<String>,
    retry_after: Option<String>,
    header_names: Vec<String>,
    body: String,
}

async fn read_reply(response: reqwest::Response) -> Reply {
    let status = response.status().as_u16();
    let header = |name: reqwest::header::HeaderName| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let location = header(reqwest::header::LOCATION);
    let retry_after = header(reqwest::header::RETRY_AFTER);
    let mut header_names: Vec<String> = response
        .headers()
        .keys()
        .map(|k| k.as_str().to_owned())
        .collect();
    header_names.sort();
    header_names.dedup();
    let body = response.text().await.unwrap();
    Reply {
        status,
        location,
        retry_after,
        header_names,
        body,
    }
}

async fn post_form(browser: &Browser, url: &str, fields: &[(&str, &str)]) -> Reply {
    read_reply(browser.http.post(url).form(fields).send().await.unwrap()).await
}

fn hidden(page: &str, name: &str) -> String {
    hidden_field(page, name).unwrap_or_else(|| panic!("no hidden {name} on page: {page}"))
}

/// Opens a sign-in at /authorize (with `extra` parameters) and types `email`: the password
/// page.
async fn password_page(app: &TestApp, browser: &Browser, email: &str, extra: &str) -> String {
    let (status, at, page) = browser
        .get(&authorize_url(app, "rp", extra), &app.base_url)
        .await;
    assert_eq!(status, 200, "{at}: {page}");
    assert!(
        at.contains("/login?flow="),
        "expected the email page, at {at}"
    );
    let (status, at, page) = browser
        .submit(&page, &app.base_url, &[("email", email)])
        .await;
    assert_eq!(status, 200, "{page}");
    assert!(
        at.contains("/login/password?flow="),
        "expected the password page, at {at}"
    );
    page
}

/// Posts `password` on a password page; redirects are not followed.
async fn post_password(app: &TestApp, browser: &Browser, page: &str, password: &str) -> Reply {
    post_form(
        browser,
        &app.url("/login/password"),
        &[
            ("flow", &hidden(page, "flow")),
            ("csrf_token", &hidden(page, "csrf_token")),
            ("password", password),
        ],
    )
    .await
}

/// A whole password attempt in a new sign-in: authorize, email, password.
async fn attempt(app: &TestApp, browser: &Browser, email: &str, password: &str) -> Reply {
    let page = password_page(app, browser, email, "").await;
    post_password(app, browser, &page, password).await
}

/// Answers the code page's first form (its own `method`) with `code`; not following redirects.
async fn post_code(app: &TestApp, browser: &Browser, page: &str, code: &str) -> Reply {
    post_form(
        browser,
        &app.url("/login/code"),
        &[
            ("flow", &hidden(page, "flow")),
            ("csrf_token", &hidden(page, "csrf_token")),
            ("method", &hidden(page, "method")),
            ("code", code),
        ],
    )
    .await
}

fn strip_tags(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

/// The visible message of the first field error on a page ("Error: " prefix removed).
fn error_message(page: &str) -> Option<String> {
    let marker = "class=\"error-message\">";
    let start = page.find(marker)? + marker.len();
    let end = page[start..].find("</p>")? + start;
    let text = strip_tags(&page[start..end]);
    Some(text.trim().trim_start_matches("Error:").trim().to_owned())
}

/// A page with everything that differs per request or per account removed: the flow id,
/// the CSRF token, and `email` as typed.
fn normalized(page: &str, email: &str) -> String {
    let mut page = page.to_owned();
    if let Some(flow) = hidden_field(&page, "flow") {
        page = page.replace(&flow, "FLOW");
    }
    if let Some(csrf) = hidden_field(&page, "csrf_token") {
        page = page.replace(&csrf, "CSRF");
    }
    page.replace(email, "EMAIL")
}

/// A code that is not `code` (same shape).
fn other_code(code: &str) -> String {
    let n: u32 = code.parse().unwrap();
    format!("{:06}", (n + 1) % 1_000_000)
}

/// The backup code shown on a backup-code page.
fn backup_code_in(page: &str) -> String {
    let block = page.find("secret-block").expect("backup code block");
    let start = page[block..].find("<code>").unwrap() + block + "<code>".len();
    let end = page[start..].find("</code>").unwrap() + start;
    crate::helpers::code_text(page[start..end].trim())
}

/// Where a finished sign-in left the browser, and the backup code it was shown (if any).
struct SignedIn {
    redirect: String,
    backup_code: Option<String>,
}

/// From the page after a correct code: ticks "I saved my backup code" if asked (keeping the
/// code), answers "Trust this device?" with `trust` if asked; must end at the client.
async fn after_code(
    app: &TestApp,
    browser: &Browser,
    mut at: String,
    mut page: String,
    trust: bool,
) -> SignedIn {
    let base = &app.base_url;
    let mut backup_code = None;
    if page.contains("name=\"saved\"") {
        backup_code = Some(backup_code_in(&page));
        (_, at, page) = browser.submit(&page, base, &[("saved", "yes")]).await;
    }
    if page.contains("name=\"trust\"") {
        let answer = if trust { "yes" } else { "no" };
        (_, at, page) = browser.submit(&page, base, &[("trust", answer)]).await;
    } else if page.contains("name=\"stay\"") {
        (_, at, page) = browser.submit(&page, base, &[("stay", "no")]).await;
    }
    assert!(
        at.starts_with(REDIRECT),
        "expected the client, at {at}: {page}"
    );
    SignedIn {
        redirect: at,
        backup_code,
    }
}

/// A whole sign-in with the emailed code (authorize with `extra`, email, password, code,
/// backup page, trust page).
async fn sign_in(
    app: &TestApp,
    browser: &Browser,
    email: &str,
    extra: &str,
    trust: bool,
) -> SignedIn {
    let page = password_page(app, browser, email, extra).await;
    code_after_password(app, browser, &page, email, trust).await
}

/// From a password page: the right password, then the newest emailed code.
async fn code_after_password(
    app: &TestApp,
    browser: &Browser,
    password_page: &str,
    email: &str,
    trust: bool,
) -> SignedIn {
    let sent = app.mail.messages_to(email).len();
    let (status, at, page) = browser
        .submit(password_page, &app.base_url, &[("password", PASSWORD)])
        .await;
    assert_eq!(status, 200, "{page}");
    assert!(
        at.contains("/login/code?flow="),
        "expected the code page, at {at}"
    );
    let code = app.email_code(email, sent + 1).await;
    let (_, at, page) = browser
        .submit(&page, &app.base_url, &[("code", &code)])
        .await;
    after_code(app, browser, at, page, trust).await
}

/// The ID token claims for the authorization code in `redirect`.
async fn id_claims(app: &TestApp, secret: &str, redirect: &str) -> serde_json::Value {
    let code = query_param(redirect, "code").unwrap_or_else(|| panic!("no code: {redirect}"));
    let (status, tokens) = json(redeem(app, "rp", secret, &code, VERIFIER).await).await;
    assert_eq!(status, 200, "{tokens}");
    jwt_claims(tokens["id_token"].as_str().unwrap())
}

fn amr(claims: &serde_json::Value) -> Vec<String> {
    claims["amr"]
        .as_array()
        .map(|a| a.iter().map(|v| v.as_str().unwrap().to_owned()).collect())
        .unwrap_or_default()
}

/// Follows redirects within the server, recording every URL visited (the first included).
async fn follow(browser: &Browser, url: &str, base: &str) -> (Vec<String>, u16, String) {
    let mut visited = vec![url.to_owned()];
    let mut url = url.to_owned();
    for _ in 0..10 {
        let response = browser.http.get(&url).send().await.unwrap();
        let status = response.status().as_u16();
        if let Some(location) = response.headers().get(reqwest::header::LOCATION) {
            let location = location.to_str().unwrap();
            let location = if location.starts_with('/') {
                format!("{base}{location}")
            } else {
                location.to_owned()
            };
            visited.push(location.clone());
            if !location.starts_with(base) {
                return (visited, status, String::new());
            }
            url = location;
            continue;
        }
        return (visited, status, response.text().await.unwrap());
    }
    panic!("too many redirects: {visited:?}");
}

fn path_of(url: &str) -> String {
    url::Url::parse(url).unwrap().path().to_owned()
}

async fn failures(app: &TestApp, account: lanyard_core::AccountId) -> u32 {
    app.app.state.mfa.state(account).await.unwrap().failures
}

async fn lock(app: &TestApp, account: lanyard_core::AccountId) -> Lock {
    app.app.state.mfa.lock(account).await.unwrap()
}

async fn audit_count(app: &TestApp, kind: &str, subject: &str) -> usize {
    app.app
        .stores
        .sql
        .list_audit(Some(kind), 1000)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.subject.as_deref() == Some(subject))
        .count()
}

fn acr_param(value: &str) -> String {
    format!("&acr_values={}", urlencode(value))
}

/// Asserts a refused password attempt looks exactly like a wrong password.
fn assert_bad_credentials(reply: &Reply, what: &str) {
    assert_eq!(reply.status, 400, "{what}: {}", reply.body);
    assert!(reply.location.is_none(), "{what}: {:?}", reply.location);
    assert!(reply.retry_after.is_none(), "{what}");
    assert_eq!(
        error_message(&reply.body).as_deref(),
        Some(BAD_CREDENTIALS),
        "{what}"
    );
}

/// Wrong passwords for `email`, each in a new sign-in, waiting out every backoff on the
/// manual clock, until `account` has `target` failures. With `from`, the attempts come from
/// `address(from)`, `address(from + 1)`, ...; returns the next unused address number.
async fn fail_until(
    app: &TestApp,
    account: lanyard_core::AccountId,
    email: &str,
    target: u32,
    from: Option<u32>,
) -> Option<u32> {
    let mut next = from;
    for _ in 0..(4 * target + 10) {
        if failures(app, account).await >= target {
            return next;
        }
        match lock(app, account).await {
            Lock::Until(until) => app.clock.set(until),
            Lock::Hard => panic!("hard limit before {target} failures"),
            Lock::Open => {
                let ip = next.map(address);
                next = next.map(|n| n + 1);
                let reply = attempt(app, &browser(ip.as_deref(), None), email, WRONG).await;
                assert_bad_credentials(&reply, "wrong password");
            }
        }
    }
    panic!("{target} failures not reached");
}

// ---------------------------------------------------------------------------------------
// S53 — password-step limits
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn s53_a_spraying_from_one_address_is_throttled_with_retry_after_for_every_account() {
    each_backend_with(
        |config| config.mfa.password_failures_per_ip = 10,
        |app| async move {
            app.create_client(confidential("rp")).await;
            let mut accounts = Vec::new();
            for i in 0..12 {
                accounts.push(app.create_user(&format!("user{i}@example.com")).await);
            }
            // Nine accounts and one address nobody owns: one wrong password each. Every
            // one of them counts for the address; each account has just one failure.
            let mut targets: Vec<String> = (0..9).map(|i| format!("user{i}@example.com")).collect();
            targets.push("nobody@example.com".to_owned());
            for email in &targets {
                let reply = attempt(&app, &browser(None, None), email, WRONG).await;
                assert_bad_credentials(&reply, email);
            }
            for account in &accounts[..9] {
                assert_eq!(failures(&app, account.id).await, 1);
                assert_eq!(lock(&app, account.id).await, Lock::Open);
            }
            // The limit is reached: every further password post from this address is refused
            // with 429 and Retry-After, whatever the account, right password or wrong.
            let sent_before = app.mail.messages().len();
            let cases = [
                ("user10@example.com", WRONG),
                ("user11@example.com", PASSWORD),
                ("user0@example.com", PASSWORD),
                ("nobody@example.com", WRONG),
            ];
            for (email, password) in cases {
                let reply = attempt(&app, &browser(None, None), email, password).await;
                assert_eq!(reply.status, 429, "{email}: {}", reply.body);
                assert!(reply.location.is_none());
                let wait: i64 = reply
                    .retry_after
                    .as_deref()
                    .unwrap_or_else(|| panic!("no Retry-After for {email}"))
                    .parse()
                    .unwrap();
                assert!((1..=900).contains(&wait), "Retry-After {wait}");
                assert!(reply.body.contains("Too many attempts"), "{}", reply.body);
                // The refusal is about the address, never about an account.
                assert!(!reply.body.contains(email), "{}", reply.body);
            }
            // Throttled attempts neither count for the accounts nor send a code.
            assert_eq!(failures(&app, accounts[10].id).await, 0);
            assert_eq!(failures(&app, accounts[11].id).await, 0);
            assert_eq!(failures(&app, accounts[0].id).await, 1);
            assert_eq!(app.mail.messages().len(), sent_before);
            // X-Forwarded-For is not trusted by default: claiming another address changes
            // nothing.
            let spoofed = browser(Some("203.0.113.99"), None);
            let reply = attempt(&app, &spoofed, "user11@example.com", PASSWORD).await;
            assert_eq!(reply.status, 429, "{}", reply.body);
            app
        },
    )
    .await;
}

#[tokio::test]
async fn s53_b_distributed_failures_for_one_account_back_off_after_five_and_stop_at_the_hard_limit()
{
    each_backend_with(
        |config| config.server.trust_forwarded_for = true,
        |app| async move {
            app.create_client(confidential("rp")).await;
            let email = "victim@example.com";
            let victim = app.create_user(email).await;
            let mut n = 0u32;
            let mut next_browser = || {
                n += 1;
                browser(Some(&address(n)), None)
            };

            // Four wrong passwords from four addresses: counted, not yet a wait.
            for i in 1..=4 {
                let reply = attempt(&app, &next_browser(), email, WRONG).await;
                assert_bad_credentials(&reply, "wrong password");
                assert_eq!(failures(&app, victim.id).await, i);
                assert_eq!(lock(&app, victim.id).await, Lock::Open);
            }
            let wrong = attempt(&app, &next_browser(), email, WRONG).await;
            assert_bad_credentials(&wrong, "fifth wrong password");
            assert_eq!(failures(&app, victim.id).await, 5);
            let now = app.clock.now();
            assert_eq!(
                lock(&app, victim.id).await,
                Lock::Until(now.plus_secs(60)),
                "the backoff engages after 5 failures with a one-minute wait"
            );
            assert_eq!(
                audit_count(&app, "signin.account_throttled", &victim.id.to_string()).await,
                1
            );

            // While it waits, the right password gets exactly the wrong password's answer and
            // no code is sent; further wrong passwords do not add to the count.
            let mails = app.mail.messages_to(email).len();
            let right = attempt(&app, &next_browser(), email, PASSWORD).await;
            assert_bad_credentials(&right, "right password while locked");
            assert_eq!(right.status, wrong.status);
            assert_eq!(error_message(&right.body), error_message(&wrong.body));
            assert_eq!(app.mail.messages_to(email).len(), mails, "no code mail");
            let reply = attempt(&app, &next_browser(), email, WRONG).await;
            assert_bad_credentials(&reply, "wrong password while locked");
            assert_eq!(failures(&app, victim.id).await, 5);

            // Drive the count on, waiting out each backoff on the manual clock: the waits
            // double and are capped at an hour, and the count stops at the hard limit.
            let mut waits = Vec::new();
            for _ in 0..400 {
                match lock(&app, victim.id).await {
                    Lock::Hard => break,
                    Lock::Until(until) => {
                        let wait = until.seconds() - app.clock.now().seconds();
                        waits.push((failures(&app, victim.id).await, wait));
                        app.clock.set(until);
                    }
                    Lock::Open => {
                        let reply = attempt(&app, &next_browser(), email, WRONG).await;
                        assert_bad_credentials(&reply, "wrong password");
                    }
                }
            }
            let count = failures(&app, victim.id).await;
            assert!(count <= 100, "hard limit at most 100, got {count}");
            assert_eq!(count, 100);
            assert_eq!(lock(&app, victim.id).await, Lock::Hard);
            assert_eq!(waits.first(), Some(&(5, 60)), "{waits:?}");
            assert!(waits.contains(&(10, 120)), "{waits:?}");
            assert!(waits.iter().all(|(_, w)| *w <= 3600), "{waits:?}");
            assert!(waits.contains(&(95, 3600)), "{waits:?}");

            // The hard limit does not open by itself: a week later the count has not moved,
            // and the right password is still answered like a wrong one.
            app.clock.advance(7 * 24 * 3600);
            let reply = attempt(&app, &next_browser(), email, WRONG).await;
            assert_bad_credentials(&reply, "wrong password at the hard limit");
            assert_eq!(failures(&app, victim.id).await, 100);
            let mails = app.mail.messages_to(email).len();
            let reply = attempt(&app, &next_browser(), email, PASSWORD).await;
            assert_bad_credentials(&reply, "right password at the hard limit");
            assert_eq!(app.mail.messages_to(email).len(), mails, "no code mail");
            assert_eq!(lock(&app, victim.id).await, Lock::Hard);
            app
        },
    )
    .await;
}

#[tokio::test]
async fn s53_b_parallel_wrong_passwords_do_not_outrun_the_hard_limit() {
    // Wrong passwords from many addresses, released together by a barrier, when the account
    // is one failure short of its hard limit: at most one of them may count, so the account
    // never records more than `hard_limit` consecutive failures. A race shows only when the
    // requests interleave, so the batch is repeated from the same starting point.
    const PARALLEL: usize = 12;
    const ROUNDS: u32 = 8;
    each_backend_with(
        |config| {
            config.server.trust_forwarded_for = true;
            config.mfa.hard_limit = 10;
        },
        |app| async move {
            use lanyard_core::ports::MfaRepo;
            app.create_client(confidential("rp")).await;
            let email = "race@example.com";
            let account = app.create_user(email).await;
            // Reached over HTTP once, to be sure the start state is the real one...
            let mut next = fail_until(&app, account.id, email, 9, Some(1))
                .await
                .unwrap();
            for round in 0..ROUNDS {
                if round > 0 {
                    // ...and set directly for the repeats: 9 failures, the last an hour ago.
                    let sql = &app.app.stores.sql;
                    sql.clear_mfa_failures(account.id).await.unwrap();
                    let earlier = lanyard_core::Timestamp(app.clock.now().seconds() - 3600);
                    for _ in 0..9 {
                        sql.record_mfa_failure(account.id, earlier).await.unwrap();
                    }
                }
                if let Lock::Until(until) = lock(&app, account.id).await {
                    app.clock.set(until);
                }
                assert_eq!(failures(&app, account.id).await, 9);
                assert_eq!(lock(&app, account.id).await, Lock::Open);

                let barrier = Arc::new(tokio::sync::Barrier::new(PARALLEL));
                let mut tasks = tokio::task::JoinSet::new();
                for _ in 0..PARALLEL {
                    let b = browser(Some(&address(next)), None);
                    next += 1;
                    let page = password_page(&app, &b, email, "").await;
                    let url = app.url("/login/password");
                    let fields = [
                        ("flow".to_owned(), hidden(&page, "flow")),
                        ("csrf_token".to_owned(), hidden(&page, "csrf_token")),
                        ("password".to_owned(), WRONG.to_owned()),
                    ];
                    let barrier = barrier.clone();
                    tasks.spawn(async move {
                        barrier.wait().await;
                        let response = b.http.post(&url).form(&fields).send().await.unwrap();
                        read_reply(response).await
                    });
                }
                while let Some(reply) = tasks.join_next().await {
                    assert_bad_credentials(&reply.unwrap(), "parallel wrong password");
                }
                let count = failures(&app, account.id).await;
                assert_eq!(
                    count, 10,
                    "round {round}: {PARALLEL} parallel wrong passwords at 9 failures left \
                     {count} failures (hard limit 10)"
                );
                assert_eq!(lock(&app, account.id).await, Lock::Hard);
            }
            app
        },
    )
    .await;
}

#[tokio::test]
async fn s53_c_email_case_variants_share_one_failure_counter() {
    each_backend(|app| async move {
        app.create_client(confidential("rp")).await;
        let alice = app.create_user("alice@example.com").await;
        let variants = [
            "Alice@Example.com",
            "alice@example.com",
            "ALICE@EXAMPLE.COM",
            " alice@example.com ",
            "aLiCe@eXaMpLe.CoM",
        ];
        for (i, email) in variants.iter().enumerate() {
            let reply = attempt(&app, &browser(None, None), email, WRONG).await;
            assert_bad_credentials(&reply, email);
            assert_eq!(failures(&app, alice.id).await, i as u32 + 1, "{email}");
        }
        assert!(matches!(lock(&app, alice.id).await, Lock::Until(_)));
        // Locked under every spelling.
        for email in ["alice@example.com", "Alice@Example.com"] {
            let reply = attempt(&app, &browser(None, None), email, PASSWORD).await;
            assert_bad_credentials(&reply, email);
        }

        // An account created with capitals is counted under its lower-case spelling too.
        let bob = app.create_user("Bob@Example.org").await;
        for (i, email) in ["bob@example.org", "BOB@example.ORG", "Bob@Example.org"]
            .iter()
            .enumerate()
        {
            let reply = attempt(&app, &browser(None, None), email, WRONG).await;
            assert_bad_credentials(&reply, email);
            assert_eq!(failures(&app, bob.id).await, i as u32 + 1, "{email}");
        }
        assert_eq!(failures(&app, alice.id).await, 5);
        app
    })
    .await;
}

#[tokio::test]
async fn s53_d_wrong_passwords_and_wrong_codes_feed_one_counter() {
    each_backend(|app| async move {
        app.create_client(confidential("rp")).await;
        let email = "dana@example.com";
        let dana = app.create_user(email).await;

        // Three wrong passwords, then the right one: the correct password does not clear
        // the count.
        for _ in 0..3 {
            let reply = attempt(&app, &browser(None, None), email, WRONG).await;
            assert_bad_credentials(&reply, "wrong password");
        }
        assert_eq!(failures(&app, dana.id).await, 3);
        let b = browser(None, None);
        let page = password_page(&app, &b, email, "").await;
        let (status, at, code_page) = b
            .submit(&page, &app.base_url, &[("password", PASSWORD)])
            .await;
        assert_eq!(status, 200);
        assert!(at.contains("/login/code?flow="), "{at}");
        assert_eq!(failures(&app, dana.id).await, 3);
        let code = app.email_code(email, 1).await;

        // Two wrong codes: the fifth failure starts the wait.
        let reply = post_code(&app, &b, &code_page, &other_code(&code)).await;
        assert_eq!(reply.status, 400, "{}", reply.body);
        assert_eq!(failures(&app, dana.id).await, 4);
        assert_eq!(lock(&app, dana.id).await, Lock::Open);
        let reply = post_code(&app, &b, &code_page, &other_code(&code)).await;
        assert_eq!(reply.status, 400, "{}", reply.body);
        assert_eq!(failures(&app, dana.id).await, 5);
        assert!(matches!(lock(&app, dana.id).await, Lock::Until(_)));
        // The wait starts with a notice by mail.
        let mails = app.mail.wait_for(email, 2).await;
        assert!(
            mails[1].subject.contains("Too many wrong sign-in codes"),
            "{}",
            mails[1].subject
        );

        // Now even the right code waits, with Retry-After...
        let reply = post_code(&app, &b, &code_page, &code).await;
        assert_eq!(reply.status, 429, "{}", reply.body);
        assert!(reply.body.contains("Too many attempts"));
        let wait: i64 = reply.retry_after.as_deref().unwrap().parse().unwrap();
        assert!((1..=60).contains(&wait), "Retry-After {wait}");
        // ...and the right password is answered like a wrong one, without a code mail.
        let reply = attempt(&app, &browser(None, None), email, PASSWORD).await;
        assert_bad_credentials(&reply, "right password while locked");
        assert_eq!(app.mail.messages_to(email).len(), 2);
        assert_eq!(failures(&app, dana.id).await, 5);

        // After the wait a full sign-in succeeds and clears the count.
        app.clock.advance(61);
        sign_in(&app, &browser(None, None), email, "", false).await;
        assert_eq!(failures(&app, dana.id).await, 0);

        // The other order: two wrong codes, then three wrong passwords.
        let b = browser(None, None);
        let page = password_page(&app, &b, email, "").await;
        let sent = app.mail.messages_to(email).len();
        let (_, at, code_page) = b
            .submit(&page, &app.base_url, &[("password", PASSWORD)])
            .await;
        assert!(at.contains("/login/code?flow="), "{at}");
        let code = app.email_code(email, sent + 1).await;
        for _ in 0..2 {
            let reply = post_code(&app, &b, &code_page, &other_code(&code)).await;
            assert_eq!(reply.status, 400, "{}", reply.body);
        }
        assert_eq!(failures(&app, dana.id).await, 2);
        for _ in 0..3 {
            let reply = attempt(&app, &browser(None, None), email, WRONG).await;
            assert_bad_credentials(&reply, "wrong password");
        }
        assert_eq!(failures(&app, dana.id).await, 5);
        assert!(matches!(lock(&app, dana.id).await, Lock::Until(_)));
        let reply = post_code(&app, &b, &code_page, &code).await;
        assert_eq!(
            reply.status, 429,
            "the open challenge is locked too: {}",
            reply.body
        );
        assert!(reply.retry_after.is_some());
        let reply = attempt(&app, &browser(None, None), email, PASSWORD).await;
        assert_bad_credentials(&reply, "right password while locked");
        app
    })
    .await;
}

/// What one wrong password got: the reply's status, its Retry-After, and the account's
/// durable failure count after it.
type Outcome = (u16, Option<String>, u32);

/// `n` wrong passwords posted on one password page (one flow), nothing else in between.
async fn wrong_passwords_at_sign_in(
    app: &TestApp,
    account: lanyard_core::AccountId,
    email: &str,
    ip: &str,
    n: usize,
) -> Vec<Outcome> {
    let b = browser(Some(ip), None);
    let page = password_page(app, &b, email, "").await;
    let mut outcomes = Vec::with_capacity(n);
    for _ in 0..n {
        let reply = post_password(app, &b, &page, WRONG).await;
        outcomes.push((
            reply.status,
            reply.retry_after,
            failures(app, account).await,
        ));
    }
    outcomes
}

/// `n` wrong passwords posted on one reconfirm page, from one signed-in session.
async fn wrong_passwords_at_reconfirm(
    app: &TestApp,
    account: lanyard_core::AccountId,
    email: &str,
    ip: &str,
    n: usize,
) -> Vec<Outcome> {
    let b = browser(Some(ip), None);
    sign_in(app, &b, email, "", false).await;
    let url = app.url("/account/reconfirm?return_to=%2Faccount%2Fsecurity");
    let response = b.http.get(&url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let page = response.text().await.unwrap();
    let fields = [
        ("flow", hidden(&page, "flow")),
        ("csrf_token", hidden(&page, "csrf_token")),
        ("password", WRONG.to_owned()),
    ];
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut outcomes = Vec::with_capacity(n);
    for _ in 0..n {
        let reply = post_form(&b, &app.url("/account/reconfirm"), &fields).await;
        outcomes.push((
            reply.status,
            reply.retry_after,
            failures(app, account).await,
        ));
    }
    outcomes
}

/// S53(d): the reconfirm page checks passwords through the same gate as the sign-in page. A
/// stolen session cookie guessing the password there meets the per-address and per-account
/// limits at exactly the same counts, and every guess counts in the durable failure count.
#[tokio::test]
async fn s53_d_reconfirm_page_guessing_is_limited_exactly_like_the_sign_in_page() {
    // Each run from its own address (a trusted proxy's X-Forwarded-For), so the two runs do
    // not share the per-address counter.
    each_backend_with(
        |config| config.server.trust_forwarded_for = true,
        |app| async move {
            const TRIES: usize = 60;
            app.create_client(confidential("rp")).await;
            let at_sign_in = app.create_user("sina@example.com").await;
            let at_reconfirm = app.create_user("rena@example.com").await;
            let sign_in_run = wrong_passwords_at_sign_in(
                &app,
                at_sign_in.id,
                &at_sign_in.email,
                &address(1),
                TRIES,
            )
            .await;
            let reconfirm_run = wrong_passwords_at_reconfirm(
                &app,
                at_reconfirm.id,
                &at_reconfirm.email,
                &address(2),
                TRIES,
            )
            .await;
            assert_eq!(
                reconfirm_run, sign_in_run,
                "the same answers at the same counts"
            );

            // What those answers are: the account backs off after five (answered like a wrong
            // password, S53f), the address is throttled with Retry-After after fifty.
            let per_ip = MfaSettings::default().password_failures_per_ip as usize;
            let backoff = MfaSettings::default().backoff_after;
            for (i, (status, retry_after, count)) in reconfirm_run.iter().enumerate() {
                if i < per_ip {
                    assert_eq!(*status, 400, "attempt {}", i + 1);
                    assert!(retry_after.is_none(), "attempt {}", i + 1);
                } else {
                    assert_eq!(*status, 429, "attempt {}", i + 1);
                    assert!(retry_after.is_some(), "attempt {}", i + 1);
                }
                assert_eq!(*count, (i as u32 + 1).min(backoff), "attempt {}", i + 1);
            }
            assert!(matches!(lock(&app, at_reconfirm.id).await, Lock::Until(_)));
            assert_eq!(
                audit_count(
                    &app,
                    "signin.account_throttled",
                    &at_reconfirm.id.to_string()
                )
                .await,
                1
            );
            app
        },
    )
    .await;
}

#[tokio::test]
async fn s53_e_the_owners_trusted_device_signs_in_while_attackers_lock_the_account_and_unlock_opens_it()
 {
    each_backend_with(
        |config| {
            config.server.trust_forwarded_for = true;
            config.mfa.hard_limit = 10;
        },
        |app| async move {
            let secret = app.create_client(confidential("rp")).await.unwrap();
            let email = "owner@example.com";
            let owner = app.create_user(email).await;
            let owner_ip = "192.0.2.10";

            // Earlier, the owner signed in on their laptop and chose "Trust this device".
            let laptop_jar = Arc::new(reqwest::cookie::Jar::default());
            let laptop = browser(Some(owner_ip), Some(laptop_jar.clone()));
            sign_in(&app, &laptop, email, "", true).await;
            let device = cookie_value(&laptop_jar, &app.base_url, DEVICE_COOKIE)
                .expect("a trusted-device cookie");

            // Attackers from ten addresses push the account into backoff, then to the hard
            // limit.
            let next = fail_until(&app, owner.id, email, 10, Some(1))
                .await
                .unwrap();
            assert_eq!(failures(&app, owner.id).await, 10);
            assert_eq!(lock(&app, owner.id).await, Lock::Hard);
            let reply = attempt(&app, &browser(Some(&address(next)), None), email, PASSWORD).await;
            assert_bad_credentials(&reply, "attacker with the right password");
            // The owner on a device they never trusted is refused the same way.
            let reply = attempt(&app, &browser(Some(owner_ip), None), email, PASSWORD).await;
            assert_bad_credentials(&reply, "owner on an untrusted device");

            // The owner's laptop (session long gone, device cookie kept) signs in with the
            // right password and skips the code: no mail.
            let returning = device_browser(&app, Some(owner_ip), &device);
            let mails = app.mail.messages_to(email).len();
            let page = password_page(&app, &returning, email, "").await;
            let reply = post_password(&app, &returning, &page, PASSWORD).await;
            assert_eq!(reply.status, 303, "{}", reply.body);
            let location = reply.location.unwrap();
            let (_, at, _) = returning
                .get(&format!("{}{location}", app.base_url), &app.base_url)
                .await;
            assert!(at.starts_with(REDIRECT), "{at}");
            assert_eq!(app.mail.messages_to(email).len(), mails, "no code mail");
            let claims = id_claims(&app, &secret, &at).await;
            assert_eq!(claims["sub"], owner.id.to_string());
            assert_eq!(claims["acr"], acr::LOA2);
            assert_eq!(amr(&claims), ["pwd", "mfa"]);
            // A wrong password from the trusted device is still just wrong.
            let reply = attempt(
                &app,
                &device_browser(&app, Some(owner_ip), &device),
                email,
                WRONG,
            )
            .await;
            assert_bad_credentials(&reply, "wrong password on the trusted device");

            // The documented unlock path opens the account for everyone again.
            app.app
                .state
                .mfa
                .unlock(owner.id, &Origin::cli())
                .await
                .unwrap();
            assert_eq!(failures(&app, owner.id).await, 0);
            assert_eq!(lock(&app, owner.id).await, Lock::Open);
            assert_eq!(
                audit_count(&app, "mfa.unlocked", &owner.id.to_string()).await,
                1
            );
            let phone = browser(Some("192.0.2.20"), None);
            let signed_in = sign_in(&app, &phone, email, "", false).await;
            let claims = id_claims(&app, &secret, &signed_in.redirect).await;
            assert_eq!(claims["acr"], acr::LOA2);
            assert_eq!(amr(&claims), ["pwd", "otp", "mfa"]);
            app
        },
    )
    .await;
}

/// `lanyard user unlock --email E --json` run as the real binary against the test server's
/// database (and Redis prefix), as an operator would.
async fn run_unlock_cli(app: &TestApp, email: &str) -> serde_json::Value {
    let out =
        crate::helpers::lanyard_cli(app, &["user", "unlock", "--email", email, "--json"], "").await;
    assert!(
        out.status.success(),
        "lanyard user unlock failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

#[tokio::test]
async fn s53_e_lanyard_user_unlock_opens_a_hard_locked_account() {
    each_backend_with(
        |config| config.mfa.hard_limit = 10,
        |app| async move {
            let secret = app.create_client(confidential("rp")).await.unwrap();
            let email = "locked@example.com";
            let account = app.create_user(email).await;
            fail_until(&app, account.id, email, 10, None).await;
            assert_eq!(lock(&app, account.id).await, Lock::Hard);
            let reply = attempt(&app, &browser(None, None), email, PASSWORD).await;
            assert_bad_credentials(&reply, "right password at the hard limit");

            // The operator types the address as the user wrote it.
            let printed = run_unlock_cli(&app, "Locked@Example.com").await;
            assert_eq!(printed["email"], email, "{printed}");
            assert_eq!(printed["id"], account.id.to_string(), "{printed}");
            assert_eq!(failures(&app, account.id).await, 0);
            assert_eq!(lock(&app, account.id).await, Lock::Open);
            assert_eq!(
                audit_count(&app, "mfa.unlocked", &account.id.to_string()).await,
                1
            );
            let signed_in = sign_in(&app, &browser(None, None), email, "", false).await;
            let claims = id_claims(&app, &secret, &signed_in.redirect).await;
            assert_eq!(claims["sub"], account.id.to_string());
            app
        },
    )
    .await;
}

#[tokio::test]
async fn s53_f_locked_password_step_is_indistinguishable_from_bad_credentials() {
    each_backend_with(
        |config| config.mfa.hard_limit = 10,
        |app| async move {
            app.create_client(confidential("rp")).await;
            let email = "target@example.com";
            let target = app.create_user(email).await;
            let other = "other@example.com";
            app.create_user(other).await;
            let nobody = "nobody@example.com";

            // Compares the four answers an unauthenticated caller can get while `email` is
            // locked: its wrong and right password, another account's wrong password, and
            // an unknown address.
            let compare = |stage: &'static str| {
                let app = &app;
                async move {
                    let mails = app.mail.messages().len();
                    let wrong = attempt(app, &browser(None, None), email, WRONG).await;
                    let right = attempt(app, &browser(None, None), email, PASSWORD).await;
                    let unlocked = attempt(app, &browser(None, None), other, WRONG).await;
                    let unknown = attempt(app, &browser(None, None), nobody, WRONG).await;
                    assert_eq!(app.mail.messages().len(), mails, "{stage}: no mail");
                    for (name, reply) in [
                        ("wrong", &wrong),
                        ("right", &right),
                        ("unlocked", &unlocked),
                        ("unknown", &unknown),
                    ] {
                        assert_bad_credentials(reply, &format!("{stage}: {name}"));
                    }
                    assert_eq!(right.header_names, wrong.header_names, "{stage}");
                    let expected = normalized(&wrong.body, email);
                    assert_eq!(normalized(&right.body, email), expected, "{stage}: right");
                    assert_eq!(
                        normalized(&unlocked.body, other),
                        expected,
                        "{stage}: another account"
                    );
                    assert_eq!(
                        normalized(&unknown.body, nobody),
                        expected,
                        "{stage}: unknown address"
                    );
                }
            };

            fail_until(&app, target.id, email, 5, None).await;
            assert!(matches!(lock(&app, target.id).await, Lock::Until(_)));
            compare("backoff").await;

            fail_until(&app, target.id, email, 10, None).await;
            assert_eq!(lock(&app, target.id).await, Lock::Hard);
            compare("hard limit").await;
            app
        },
    )
    .await;
}

// ---------------------------------------------------------------------------------------
// Assurance requests
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn acr_loa3_on_a_fresh_sign_in_asks_for_the_backup_code_sends_no_mail_and_yields_loa3() {
    each_backend(|app| async move {
        let secret = app.create_client(confidential("rp")).await.unwrap();
        let email = "erin@example.com";
        let erin = app.create_user(email).await;
        // An earlier ordinary sign-in (trusting the device) gave Erin her backup code.
        let first_jar = Arc::new(reqwest::cookie::Jar::default());
        let first = browser(None, Some(first_jar.clone()));
        let signed_in = sign_in(&app, &first, email, "", true).await;
        let backup = signed_in
            .backup_code
            .expect("first sign-in shows a backup code");
        let device = cookie_value(&first_jar, &app.base_url, DEVICE_COOKIE).unwrap();

        // The same device (no session, trusted-device cookie kept) asked for loa:3: the device
        // does not skip, no code is mailed, the page asks for the backup code.
        let b = device_browser(&app, None, &device);
        let mails = app.mail.messages_to(email).len();
        let page = password_page(&app, &b, email, &acr_param(acr::LOA3)).await;
        let (status, at, page) = b
            .submit(&page, &app.base_url, &[("password", PASSWORD)])
            .await;
        assert_eq!(status, 200, "{page}");
        assert!(at.contains("/login/code?flow="), "{at}");
        assert_eq!(hidden(&page, "method"), "backup");
        assert!(page.contains("Enter your backup code"));
        assert_eq!(app.mail.messages_to(email).len(), mails, "no code mail");

        // Asking for the email question does not switch to it, and no code can be requested.
        let flow = hidden(&page, "flow");
        let (status, _, switched) = b
            .get(
                &app.url(&format!("/login/code?flow={flow}&method=email")),
                &app.base_url,
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(hidden(&switched, "method"), "backup");
        let reply = post_form(
            &b,
            &app.url("/login/code/email"),
            &[
                ("flow", &flow),
                ("csrf_token", &hidden(&page, "csrf_token")),
            ],
        )
        .await;
        assert!(reply.status >= 400, "{}: {}", reply.status, reply.body);
        assert_eq!(app.mail.messages_to(email).len(), mails, "no code mail");

        // The backup code answers it; its replacement is shown; no trust question; loa:3.
        let (_, at, page) = b.submit(&page, &app.base_url, &[("code", &backup)]).await;
        assert!(
            page.contains("You used your backup code"),
            "expected the replacement code page, at {at}: {page}"
        );
        let done = after_code(&app, &b, at, page, true).await;
        let replacement = done.backup_code.unwrap();
        assert_ne!(replacement, backup);
        assert_eq!(app.mail.messages_to(email).len(), mails, "no code mail");
        let claims = id_claims(&app, &secret, &done.redirect).await;
        assert_eq!(claims["sub"], erin.id.to_string());
        assert_eq!(claims["acr"], acr::LOA3);
        assert_eq!(amr(&claims), ["pwd", "otp", "mfa"]);
        app
    })
    .await;
}

#[tokio::test]
async fn acr_loa3_on_a_loa2_session_asks_only_for_the_stronger_step() {
    each_backend(|app| async move {
        let secret = app.create_client(confidential("rp")).await.unwrap();
        let email = "finn@example.com";
        let finn = app.create_user(email).await;
        let b = browser(None, None);
        let first = sign_in(&app, &b, email, "", false).await;
        let backup = first.backup_code.unwrap();
        let claims = id_claims(&app, &secret, &first.redirect).await;
        assert_eq!(claims["acr"], acr::LOA2);
        let first_auth_time = claims["auth_time"].as_i64().unwrap();
        app.clock.advance(5);

        // The signed-in browser lands on the code page directly: no email or password page,
        // no mail.
        let mails = app.mail.messages_to(email).len();
        let url = authorize_url(&app, "rp", &acr_param(acr::LOA3));
        let (visited, status, page) = follow(&b, &url, &app.base_url).await;
        assert_eq!(status, 200, "{visited:?}");
        let paths: Vec<String> = visited.iter().map(|u| path_of(u)).collect();
        assert_eq!(paths, ["/authorize", "/login/code"], "{visited:?}");
        assert_eq!(hidden(&page, "method"), "backup");
        assert_eq!(app.mail.messages_to(email).len(), mails, "no code mail");

        // The backup code raises the session to loa:3.
        let (_, at, page) = b.submit(&page, &app.base_url, &[("code", &backup)]).await;
        let done = after_code(&app, &b, at, page, false).await;
        let claims = id_claims(&app, &secret, &done.redirect).await;
        assert_eq!(claims["sub"], finn.id.to_string());
        assert_eq!(claims["acr"], acr::LOA3);
        assert!(claims["auth_time"].as_i64().unwrap() >= first_auth_time);
        assert_eq!(app.mail.messages_to(email).len(), mails, "no code mail");

        // Now loa:3 is satisfied without interaction.
        let url = authorize_url(&app, "rp", &format!("{}&prompt=none", acr_param(acr::LOA3)));
        let (_, at, _) = b.get(&url, &app.base_url).await;
        assert!(at.starts_with(REDIRECT), "{at}");
        assert!(query_param(&at, "error").is_none(), "{at}");
        let claims = id_claims(&app, &secret, &at).await;
        assert_eq!(claims["acr"], acr::LOA3);
        app
    })
    .await;
}

#[tokio::test]
async fn acr_loa3_with_prompt_none_on_a_loa2_session_is_interaction_required() {
    each_backend(|app| async move {
        let secret = app.create_client(confidential("rp")).await.unwrap();
        let email = "gail@example.com";
        app.create_user(email).await;
        let b = browser(None, None);
        let first = sign_in(&app, &b, email, "", false).await;
        assert_eq!(
            id_claims(&app, &secret, &first.redirect).await["acr"],
            acr::LOA2
        );

        let mails = app.mail.messages_to(email).len();
        let url = authorize_url(&app, "rp", &format!("{}&prompt=none", acr_param(acr::LOA3)));
        let response = b.http.get(&url).send().await.unwrap();
        assert_eq!(response.status(), 302);
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        assert!(location.starts_with(REDIRECT), "{location}");
        assert_eq!(
            query_param(&location, "error").as_deref(),
            Some("interaction_required")
        );
        assert_eq!(query_param(&location, "state").as_deref(), Some("st"));
        assert!(query_param(&location, "code").is_none());
        assert_eq!(app.mail.messages_to(email).len(), mails, "no code mail");
        app
    })
    .await;
}

#[tokio::test]
async fn unknown_acr_values_are_ignored() {
    each_backend(|app| async move {
        let secret = app.create_client(confidential("rp")).await.unwrap();
        let email = "hugo@example.com";
        app.create_user(email).await;
        let b = browser(None, None);
        // A fresh sign-in: the ordinary emailed code, loa:2.
        let unknown = acr_param("urn:example:gold urn:lanyard:loa:9");
        let done = sign_in(&app, &b, email, &unknown, false).await;
        assert_eq!(app.mail.messages_to(email).len(), 1);
        let claims = id_claims(&app, &secret, &done.redirect).await;
        assert_eq!(claims["acr"], acr::LOA2);

        // With the loa:2 session, unknown values ask for nothing more.
        let url = authorize_url(&app, "rp", &format!("{unknown}&prompt=none"));
        let (_, at, _) = b.get(&url, &app.base_url).await;
        assert!(at.starts_with(REDIRECT), "{at}");
        assert!(query_param(&at, "error").is_none(), "{at}");
        assert_eq!(id_claims(&app, &secret, &at).await["acr"], acr::LOA2);
        assert_eq!(app.mail.messages_to(email).len(), 1);
        app
    })
    .await;
}

#[tokio::test]
async fn prompt_login_and_max_age_zero_ask_for_the_password_again_with_a_new_auth_time() {
    each_backend(|app| async move {
        let secret = app.create_client(confidential("rp")).await.unwrap();
        let email = "iris@example.com";
        app.create_user(email).await;
        let b = browser(None, None);
        let first = sign_in(&app, &b, email, "", false).await;
        let t1 = id_claims(&app, &secret, &first.redirect).await["auth_time"]
            .as_i64()
            .unwrap();

        // Without either, the session answers at once with the same auth_time.
        app.clock.advance(30);
        let (_, at, _) = b.get(&authorize_url(&app, "rp", ""), &app.base_url).await;
        assert!(at.starts_with(REDIRECT), "{at}");
        assert_eq!(id_claims(&app, &secret, &at).await["auth_time"], t1);

        let mut last = t1;
        for extra in ["&prompt=login", "&max_age=0"] {
            app.clock.advance(30);
            // The signed-in browser is sent to the sign-in pages again...
            let page = password_page(&app, &b, email, extra).await;
            assert!(page.contains("name=\"password\""), "{extra}");
            // ...and after the password and code the token has a new auth_time.
            let done = code_after_password(&app, &b, &page, email, false).await;
            let claims = id_claims(&app, &secret, &done.redirect).await;
            let auth_time = claims["auth_time"].as_i64().unwrap();
            assert_eq!(auth_time, app.clock.now().seconds(), "{extra}");
            assert!(auth_time > last, "{extra}: {auth_time} after {last}");
            assert_eq!(claims["acr"], acr::LOA2);
            last = auth_time;
        }

        // max_age=0 with prompt=none can not be satisfied silently.
        app.clock.advance(5);
        let url = authorize_url(&app, "rp", "&max_age=0&prompt=none");
        let response = b.http.get(&url).send().await.unwrap();
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        assert_eq!(
            query_param(&location, "error").as_deref(),
            Some("login_required"),
            "{location}"
        );
        app
    })
    .await;
}

#[tokio::test]
async fn discovery_lists_the_three_acr_values() {
    each_backend(|app| async move {
        let response = http()
            .get(app.url("/.well-known/openid-configuration"))
            .send()
            .await
            .unwrap();
        let (status, doc) = json(response).await;
        assert_eq!(status, 200);
        assert_eq!(
            doc["acr_values_supported"],
            serde_json::json!([
                "urn:lanyard:loa:1",
                "urn:lanyard:loa:2",
                "urn:lanyard:loa:3"
            ])
        );
        app
    })
    .await;
}
