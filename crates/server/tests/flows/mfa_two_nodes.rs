//! S34 across two app instances (shared/design/security-tests.md): two servers share one
//! durable store (and, on the production backend, one Redis prefix), like two nodes behind a
//! load balancer. The same backup code, sent by sign-ins on both nodes at once, works once.

use std::sync::Arc;

use lanyard_core::model::{Account, AuditEvent};
use lanyard_core::ports::AuditRepo as _;
use lanyard_server::config::Config;
use lanyard_testkit::{Backend, Browser, PASSWORD, TestApp};

use crate::helpers::{
    Reply, authorize_url, confidential, field, post, query_strings, reply, side_connection,
};

const EMAIL: &str = "a@example.com";
const WRONG_BACKUP: &str = "The backup code is not right";
/// Sign-ins per node.
const PER_NODE: usize = 10;

// ---- Two nodes ----

/// The account counter would lock the account after five of the nineteen wrong answers and
/// the per-account send limit would stop the twenty sign-ins: both are raised so the test
/// measures single use.
fn room_for_twenty(config: &mut Config) {
    config.mfa.backoff_after = 50;
    config.mfa.hard_limit = 100;
    config.mfa.sends_per_hour = 100;
    config.mfa.sends_per_hour_per_ip = 100;
}

/// Node A as the backend gives it, and node B on A's database, keys and Redis prefix. B is
/// started as "embedded" so it owns no temporary database or Redis prefix of its own: A's
/// cleanup removes what both used.
async fn two_nodes(backend: Backend) -> (TestApp, TestApp) {
    let a = TestApp::spawn_with(backend, room_for_twenty).await;
    let b = crate::helpers::second_node(&a, room_for_twenty).await;
    // Both manual clocks start at the real time of their own start, so B's may be a second
    // ahead of A's; synchronized nodes show the same time. (A failure stamped by a node a
    // second ahead locks nothing below the backoff: see `lockout` unit tests.)
    b.clock.set(lanyard_core::Clock::now(&*a.clock));
    assert_eq!(b.config.database_url(), a.config.database_url());
    assert_eq!(b.config.ephemeral.redis_url, a.config.ephemeral.redis_url);
    (a, b)
}

// ---- Driving the pages ----

/// A sign-in of `email` in `browser` on `app`, past the password, to the code page: the page
/// and how many mails `email` had on that node before the password.
async fn to_code_page(app: &TestApp, browser: &Browser, email: &str) -> (String, usize) {
    let base = &app.base_url;
    let (_, _, page) = browser.get(&authorize_url(app, "rp", ""), base).await;
    let (status, at, page) = browser.submit(&page, base, &[("email", email)]).await;
    assert_eq!(status, 200, "{at}: {page}");
    assert!(at.contains("/login/password?flow="), "{at}");
    let before = app.mail.messages_to(email).len();
    let (csrf, flow) = (field(&page, "csrf_token"), field(&page, "flow"));
    let reply = post(
        app,
        browser,
        "/login/password",
        &[
            ("csrf_token", &csrf),
            ("flow", &flow),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(reply.status, 303, "{}", reply.body);
    assert!(
        reply.location.starts_with("/login/code?flow="),
        "{}",
        reply.location
    );
    let (status, _, page) = browser.get(&app.url(&reply.location), base).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("name=\"code\""), "{page}");
    (page, before)
}

/// The code page of the sign-in on `page`, switched to the backup code question.
async fn backup_question(app: &TestApp, browser: &Browser, page: &str) -> String {
    let flow = field(page, "flow");
    let (status, _, page) = browser
        .get(
            &app.url(&format!("/login/code?flow={flow}&method=backup")),
            &app.base_url,
        )
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(field(&page, "method"), "backup");
    assert!(page.contains("Enter your backup code"), "{page}");
    page
}

/// Answers the code page `page` (its flow and CSRF token) with `code`, as `method`.
async fn answer(app: &TestApp, browser: &Browser, page: &str, method: &str, code: &str) -> Reply {
    let (csrf, flow) = (field(page, "csrf_token"), field(page, "flow"));
    post(
        app,
        browser,
        "/login/code",
        &[
            ("csrf_token", &csrf),
            ("flow", &flow),
            ("method", method),
            ("code", code),
        ],
    )
    .await
}

/// The backup code shown on a backup code page.
fn backup_code_on(page: &str) -> String {
    let open = "<p class=\"secret-block\"><code>";
    let start = page
        .find(open)
        .unwrap_or_else(|| panic!("no code on: {page}"))
        + open.len();
    let end = page[start..].find("</code>").unwrap() + start;
    crate::helpers::code_text(&page[start..end])
}

/// The first sign-in of `email` on `app` with the emailed code, finished: the backup code
/// the page showed.
async fn first_sign_in(app: &TestApp, email: &str) -> String {
    let browser = Browser::new();
    let (page, before) = to_code_page(app, &browser, email).await;
    let code = app.email_code(email, before + 1).await;
    let reply = answer(app, &browser, &page, "email", &code).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(
        reply.body.contains("Save your backup code"),
        "{}",
        reply.body
    );
    let backup = backup_code_on(&reply.body);
    let (at, _) = browser
        .second_step(reply.body, &app.base_url, &app.mail, email, before + 1)
        .await;
    assert!(at.starts_with(crate::helpers::REDIRECT), "{at}");
    backup
}

async fn audits(app: &TestApp, kind: &str) -> Vec<AuditEvent> {
    app.app
        .stores
        .sql
        .list_audit(Some(kind), 1000)
        .await
        .unwrap()
}

async fn backup_created_at(app: &TestApp, account: &Account) -> Option<lanyard_core::Timestamp> {
    app.app
        .state
        .mfa
        .backup_code_info(account.id)
        .await
        .unwrap()
        .map(|info| info.created_at)
}

// ---- S34: one backup code, twenty sign-ins on two nodes at once ----

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn s34_one_backup_code_raced_across_two_app_instances_works_once() {
    for backend in Backend::available() {
        let (a, b) = two_nodes(backend).await;
        // Registered and created on A; B reads both from the shared database.
        a.create_client(confidential("rp")).await.unwrap();
        let account = a.create_user(EMAIL).await;
        let backup = first_sign_in(&a, EMAIL).await;
        let issued = backup_created_at(&a, &account).await.unwrap();
        assert_eq!(backup_created_at(&b, &account).await, Some(issued));
        a.clock.advance(10);
        b.clock.advance(10);

        // Ten sign-ins on each node, each past the password, waiting at the backup code
        // question; every browser stays on its node.
        let nodes = [&a, &b];
        let mut sign_ins = Vec::new();
        for (node, app) in nodes.iter().enumerate() {
            for _ in 0..PER_NODE {
                let browser = Browser::new();
                let (page, _) = to_code_page(app, &browser, EMAIL).await;
                let page = backup_question(app, &browser, &page).await;
                let fields: Vec<(String, String)> = vec![
                    ("csrf_token".to_owned(), field(&page, "csrf_token")),
                    ("flow".to_owned(), field(&page, "flow")),
                    ("method".to_owned(), "backup".to_owned()),
                    ("code".to_owned(), backup.clone()),
                ];
                sign_ins.push((node, app.url("/login/code"), browser, fields));
            }
        }

        let n = sign_ins.len();
        assert_eq!(n, 2 * PER_NODE);
        let barrier = Arc::new(tokio::sync::Barrier::new(n));
        let tasks: Vec<_> = sign_ins
            .into_iter()
            .map(|(node, url, browser, fields)| {
                let barrier = barrier.clone();
                tokio::spawn(async move {
                    barrier.wait().await;
                    let response = browser.http.post(&url).form(&fields).send().await.unwrap();
                    (node, reply(response).await)
                })
            })
            .collect();
        let mut replies = Vec::new();
        for task in tasks {
            replies.push(task.await.unwrap());
        }
        let statuses: Vec<(usize, u16)> = replies.iter().map(|(n, r)| (*n, r.status)).collect();
        let (won, lost): (Vec<_>, Vec<_>) = replies.into_iter().partition(|(_, r)| r.status == 200);
        assert_eq!(won.len(), 1, "{backend:?} (node, status): {statuses:?}");
        assert_eq!(
            lost.len(),
            n - 1,
            "{backend:?} (node, status): {statuses:?}"
        );
        let (winner, won) = &won[0];
        assert!(
            won.body.contains("You used your backup code"),
            "{}",
            won.body
        );
        let replacement = backup_code_on(&won.body);
        assert_ne!(replacement, backup);
        for (node, r) in &lost {
            assert_eq!(r.status, 400, "node {node}: {}", r.body);
            assert!(r.body.contains(WRONG_BACKUP), "node {node}: {}", r.body);
        }

        // One shared database: both nodes see the same single use.
        for app in nodes {
            assert_eq!(audits(app, "mfa.backup_code.verified").await.len(), 1);
            assert_eq!(audits(app, "mfa.backup_code.failed").await.len(), n - 1);
        }
        let replaced = backup_created_at(&a, &account).await.unwrap();
        assert_ne!(replaced, issued);
        assert_eq!(backup_created_at(&b, &account).await, Some(replaced));
        let db = side_connection(&a).await;
        let unused = query_strings(
            &db,
            "SELECT code_hash FROM backup_codes WHERE used_at IS NULL",
        )
        .await;
        assert_eq!(unused.len(), 1, "exactly one valid code");
        let _ = db.close().await;

        // On the node that did not win: the old code stays refused, the replacement works.
        let other = nodes[1 - *winner];
        let browser = Browser::new();
        let (page, _) = to_code_page(other, &browser, EMAIL).await;
        let page = backup_question(other, &browser, &page).await;
        let reply = answer(other, &browser, &page, "backup", &backup).await;
        assert_eq!(reply.status, 400, "{}", reply.body);
        assert!(reply.body.contains(WRONG_BACKUP), "{}", reply.body);
        let reply = answer(other, &browser, &page, "backup", &replacement).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert!(
            reply.body.contains("You used your backup code"),
            "{}",
            reply.body
        );
        assert_eq!(audits(&a, "mfa.backup_code.verified").await.len(), 2);

        // B owns nothing shared; A's cleanup drops the database and the Redis keys.
        b.cleanup().await;
        a.cleanup().await;
    }
}
