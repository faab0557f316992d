//! What the sign-up, reset and email-change flow tests share: driving the forms, reading
//! the emailed links, and the store's view of an account and its audit.

use lanyard_core::model::{Account, AccountLink};
use lanyard_core::ports::{AccountLinkRepo, AccountRepo, AuditRepo};
use lanyard_testkit::{Browser, TestApp};

use super::helpers::{Reply, field, get_reply, post};

pub const NEW_PASSWORD: &str = "tangerine submarine lantern orchard";

/// Waits until the mails and writes that requests started are done.
pub async fn settle(app: &TestApp) {
    app.app.state.account_links.settled().await;
}

/// Loads `path` in `browser` and posts its form with `fields` plus the CSRF token.
pub async fn submit(
    app: &TestApp,
    browser: &Browser,
    path: &str,
    fields: &[(&str, &str)],
) -> Reply {
    let page = get_reply(app, browser, path).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = field(&page.body, "csrf_token");
    let mut all = vec![("csrf_token", csrf.as_str())];
    all.extend_from_slice(fields);
    post(app, browser, path, &all).await
}

pub async fn register(app: &TestApp, browser: &Browser, email: &str, password: &str) -> Reply {
    submit(
        app,
        browser,
        "/register",
        &[
            ("email", email),
            ("name", "Robin Example"),
            ("password", password),
        ],
    )
    .await
}

pub async fn forgot(app: &TestApp, browser: &Browser, email: &str) -> Reply {
    submit(app, browser, "/password/forgot", &[("email", email)]).await
}

/// The link in mail number `nth` (from 1) to `to`, after the background work settled.
pub async fn link_in_mail(app: &TestApp, to: &str, nth: usize) -> String {
    settle(app).await;
    let mails = app.mail.wait_for(to, nth).await;
    let text = &mails[nth - 1].text;
    let start = text.find("http").expect("a link in the mail");
    text[start..].split_whitespace().next().unwrap().to_owned()
}

pub fn path_of(app: &TestApp, link: &str) -> String {
    link.strip_prefix(&app.base_url)
        .unwrap_or_else(|| panic!("{link} is not under {}", app.base_url))
        .to_owned()
}

pub fn token_of(link: &str) -> String {
    super::helpers::query_param(link, "token").unwrap()
}

/// Opens a link's page in `browser` and posts its form (the token comes from the page).
pub async fn follow(
    app: &TestApp,
    browser: &Browser,
    link: &str,
    fields: &[(&str, &str)],
) -> Reply {
    let path = path_of(app, link);
    let page = get_reply(app, browser, &path).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let action = path.split('?').next().unwrap().to_owned();
    let csrf = field(&page.body, "csrf_token");
    let token = field(&page.body, "token");
    let mut all = vec![("csrf_token", csrf.as_str()), ("token", token.as_str())];
    all.extend_from_slice(fields);
    post(app, browser, &action, &all).await
}

/// Posts a link's form with `token` directly (a replay, a guess), with a valid CSRF token.
pub async fn post_token(
    app: &TestApp,
    browser: &Browser,
    action: &str,
    token: &str,
    fields: &[(&str, &str)],
) -> Reply {
    let page = get_reply(app, browser, "/password/forgot").await;
    let csrf = field(&page.body, "csrf_token");
    let mut all = vec![("csrf_token", csrf.as_str()), ("token", token)];
    all.extend_from_slice(fields);
    post(app, browser, action, &all).await
}

pub async fn account(app: &TestApp, email: &str) -> Option<Account> {
    app.app
        .stores
        .sql
        .find_account_by_email(&email.to_lowercase())
        .await
        .unwrap()
}

pub async fn stored_link(app: &TestApp, link: &str) -> AccountLink {
    let hash = app
        .app
        .hasher
        .hash(&format!("account_link:{}", token_of(link)));
    app.app
        .stores
        .sql
        .find_account_link(&hash)
        .await
        .unwrap()
        .expect("the link is stored by its hash")
}

pub async fn audit_kinds(app: &TestApp) -> Vec<String> {
    app.app
        .stores
        .sql
        .list_audit(None, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect()
}
