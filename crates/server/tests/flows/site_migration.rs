//! The migration test (C1–C6): a site of imported users — 1,000 on PostgreSQL + Redis,
//! 50 on SQLite — from legacy to identity, through the pages, as its users live it:
//!
//! 1. the import (hashes made by the PyPI reference implementations: bcrypt, passlib
//!    PBKDF2-SHA256, argon2-cffi; crates/sites/tests/fixtures), all-or-nothing and idempotent;
//! 2. `legacy` with site 2FA: a licensed user sets up the app ("Verify and Save"), gets ten
//!    backup codes and later signs in with one; an imported app works at once; a client user
//!    is exempt;
//! 3. `dual`: the site's page offers both sign-ins; invitations for every user, read from the
//!    SMTP sink; an `access` invitation links an existing account, a `create_account` one
//!    creates it; a verified account with a matching email links itself at sign-in;
//! 4. `identity`: the legacy login is refused and its credentials erased; the identity
//!    accounts keep signing in — with the same `sub` the site user had under the legacy login.

use lanyard_core::Clock as _;
use lanyard_core::model::{MigrationState, SiteRole};
use lanyard_core::{ClientId, Origin};
use lanyard_mfa::totp;
use lanyard_sites::invitations::Selection;
use lanyard_testkit::{Backend, Browser, PASSWORD, TestApp};
use serde_json::Value;

use crate::helpers::{
    REDIRECT, VERIFIER, authorize_url, confidential, field, json, jwt_claims, query_param, redeem,
    totp_secret_from,
};
use crate::site_login::{APP, Legacy, identity_sign_in_at_site, legacy_sign_in, repo, site_user};
use crate::sites_support::finish_sign_in;

const SLUG: &str = "acme";
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../sites/tests/fixtures/");

/// The fixture's users (CSV or JSON), with the fixture's one password.
fn fixture(file: &str) -> (Vec<u8>, Vec<Legacy>) {
    let bytes = std::fs::read(format!("{FIXTURES}{file}")).unwrap();
    let password = std::fs::read_to_string(format!("{FIXTURES}{file}.password"))
        .unwrap()
        .trim_end_matches(['\n', '\r'])
        .to_owned();
    let rows: Vec<[String; 5]> = if file.ends_with(".json") {
        let rows: Vec<Value> = serde_json::from_slice(&bytes).unwrap();
        rows.iter()
            .map(|r| {
                ["login", "email", "role", "password_hash", "totp_secret"]
                    .map(|k| r[k].as_str().unwrap_or_default().to_owned())
            })
            .collect()
    } else {
        let text = std::str::from_utf8(&bytes).unwrap();
        text.lines()
            .skip(1)
            .map(|line| {
                let cells = csv_cells(line);
                std::array::from_fn(|i| cells.get(i).cloned().unwrap_or_default())
            })
            .collect()
    };
    let users = rows
        .into_iter()
        .map(|[login, email, role, hash, totp]| Legacy {
            login,
            email,
            role: SiteRole::parse(&role).unwrap(),
            hash,
            password: password.clone(),
            totp: (!totp.is_empty()).then_some(totp),
        })
        .collect();
    (bytes, users)
}

/// One CSV line's cells (quoted cells may hold commas: argon2's parameters).
fn csv_cells(line: &str) -> Vec<String> {
    let mut cells = vec![String::new()];
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => cells.push(String::new()),
            c => cells.last_mut().unwrap().push(c),
        }
    }
    cells
}

fn code_now(app: &TestApp, secret: &[u8]) -> String {
    totp::code_at_step(secret, totp::step_at(app.clock.now().seconds())).unwrap()
}

/// Redeems the code in `back` (the redirect to the app): the ID token's claims.
async fn id_claims(app: &TestApp, secret: &str, back: &str) -> Value {
    assert!(back.starts_with(REDIRECT), "{back}");
    let code = query_param(back, "code").unwrap_or_else(|| panic!("{back}"));
    let (status, tokens) = json(redeem(app, APP, secret, &code, VERIFIER).await).await;
    assert_eq!(status, 200, "{tokens}");
    jwt_claims(tokens["id_token"].as_str().unwrap())
}

async fn assert_names(app: &TestApp, claims: &Value, user: &Legacy) {
    let site = repo(app).site_by_slug(SLUG).await.unwrap().unwrap();
    let su = site_user(app, &site, &user.login).await;
    assert_eq!(claims["sub"], su.id.to_string(), "{claims}");
    assert_eq!(claims["site"], SLUG);
    assert_eq!(claims["site_login"], user.login);
    assert_eq!(claims["site_role"], user.role.as_str());
}

/// Where a site login with the app's code ends (past "stay signed in?" if asked).
async fn past_stay(app: &TestApp, browser: &Browser, at: String, page: String) -> String {
    if page.contains("name=\"stay\"") {
        let (_, at, _) = browser
            .submit(&page, &app.base_url, &[("stay", "no")])
            .await;
        return at;
    }
    at
}

/// The backup codes on the first-codes page.
fn codes_on(page: &str) -> Vec<String> {
    let open = "<ol class=\"secret-block code-list\">";
    let start = page
        .find(open)
        .unwrap_or_else(|| panic!("no codes: {page}"))
        + open.len();
    let end = page[start..].find("</ol>").unwrap() + start;
    page[start..end]
        .split("<li")
        .skip(1)
        .map(|item| {
            crate::helpers::code_text(&format!("<li{item}"))
                .trim()
                .to_owned()
        })
        .collect()
}

/// The invitation link in `email`'s newest mail.
fn link_in(app: &TestApp, email: &str) -> String {
    let mails = app.mail.messages_to(email);
    let mail = mails.last().unwrap_or_else(|| panic!("no mail to {email}"));
    mail.text
        .split_whitespace()
        .find(|w| w.contains("/migrate/claim?token="))
        .unwrap_or_else(|| panic!("no link: {}", mail.text))
        .to_owned()
}

#[tokio::test]
async fn c5_a_full_migration_from_legacy_to_identity() {
    for backend in Backend::available() {
        let file = match backend {
            Backend::Production => "migration_1000.csv",
            Backend::Embedded => "migration_50.json",
        };
        let app = TestApp::spawn(backend).await;
        let app = full_migration(app, file).await;
        app.cleanup().await;
    }
}

async fn full_migration(app: TestApp, file: &str) -> TestApp {
    let (bytes, users) = fixture(file);
    let total = users.len() as u64;
    let origin = Origin::cli();
    let secret = app.create_client(confidential(APP)).await.unwrap();
    let sites = &app.app.sites;

    // 1. The import: all rows, then nothing new the second time.
    sites
        .create(SLUG, "Acme Studio", &[APP.to_owned()], &origin)
        .await
        .unwrap();
    let first = sites.import(SLUG, file, &bytes, &origin).await.unwrap();
    assert_eq!(first.added, total);
    let again = sites.import(SLUG, file, &bytes, &origin).await.unwrap();
    assert_eq!((again.added, again.unchanged), (0, total));
    let progress = sites.progress(SLUG).await.unwrap();
    assert_eq!((progress.total, progress.not_invited), (total, total));
    let site = repo(&app).site_by_slug(SLUG).await.unwrap().unwrap();
    assert_eq!(site.clients, [ClientId::parse(APP).unwrap()]);
    let user = |i: usize| users[i].clone();
    assert!(user(3).hash.starts_with("$2a$") && user(3).role == SiteRole::LicensedUser);
    assert!(user(0).totp.is_some() && user(2).role == SiteRole::ClientUser);

    // 2. Legacy, with site 2FA.
    let now = app.clock.now();
    repo(&app)
        .set_two_factor_required(site.id, Some(now), now)
        .await
        .unwrap();
    let start = authorize_url(&app, APP, "");
    // A licensed user without an app sets one up, keeps the ten codes, reaches the app.
    let browser = Browser::new();
    let (at, page) = legacy_sign_in(&app, &browser, &start, &user(3)).await;
    assert!(at.contains("/login/authenticator"), "{at}");
    assert!(page.contains("Verify and Save"));
    let app_secret = totp_secret_from(&page);
    let (_, at, page) = browser
        .submit(
            &page,
            &app.base_url,
            &[("code", &code_now(&app, &app_secret))],
        )
        .await;
    assert!(at.contains("/sites/acme/two-factor/codes/"), "{at}");
    let codes = codes_on(&page);
    assert_eq!(codes.len(), 10);
    let (_, back, _) = browser
        .submit(&page, &app.base_url, &[("saved", "yes")])
        .await;
    let legacy_claims = id_claims(&app, &secret, &back).await;
    assert_names(&app, &legacy_claims, &user(3)).await;
    let legacy_sub = legacy_claims["sub"].clone();
    // Later, without the phone: a backup code instead of the app's code.
    let browser = Browser::new();
    let (_, _, page) = browser.get(&start, &app.base_url).await;
    let (_, at, page) = browser
        .submit(
            &page,
            &app.base_url,
            &[("login", &user(3).login), ("password", &user(3).password)],
        )
        .await;
    assert!(at.contains("/login/code?flow="), "{at}");
    let flow = field(&page, "flow");
    let (_, _, page) = browser
        .get(
            &app.url(&format!("/login/code?flow={flow}&method=backup")),
            &app.base_url,
        )
        .await;
    let (_, at, page) = browser
        .submit(&page, &app.base_url, &[("code", &codes[0])])
        .await;
    let back = past_stay(&app, &browser, at, page).await;
    assert_eq!(id_claims(&app, &secret, &back).await["sub"], legacy_sub);
    // An imported app works at once.
    let imported = data_encoding::BASE32_NOPAD
        .decode(user(0).totp.as_deref().unwrap().as_bytes())
        .unwrap();
    let browser = Browser::new();
    let (_, _, page) = browser.get(&start, &app.base_url).await;
    let (_, at, page) = browser
        .submit(
            &page,
            &app.base_url,
            &[("login", &user(0).login), ("password", &user(0).password)],
        )
        .await;
    assert!(page.contains("value=\"totp\""), "{at}: {page}");
    let (_, at, page) = browser
        .submit(
            &page,
            &app.base_url,
            &[("code", &code_now(&app, &imported))],
        )
        .await;
    let back = past_stay(&app, &browser, at, page).await;
    assert_names(&app, &id_claims(&app, &secret, &back).await, &user(0)).await;
    // A client user is exempt: the usual emailed code, no app.
    let (back, _) = legacy_sign_in(&app, &Browser::new(), &start, &user(2)).await;
    assert_names(&app, &id_claims(&app, &secret, &back).await, &user(2)).await;

    // 3. Dual. The admin stops requiring 2FA for the move (identity accounts bring their own
    // second step).
    repo(&app)
        .set_two_factor_required(site.id, None, app.clock.now())
        .await
        .unwrap();
    sites
        .migrate(SLUG, MigrationState::Dual, &origin)
        .await
        .unwrap();
    let (_, at, page) = Browser::new().get(&start, &app.base_url).await;
    assert!(at.contains("/sites/acme/login"), "{at}");
    assert!(
        page.contains("name=\"password\"") && page.contains("Sign in with your Lanyard account")
    );
    let (back, _) = legacy_sign_in(&app, &Browser::new(), &start, &user(12)).await;
    assert_names(&app, &id_claims(&app, &secret, &back).await, &user(12)).await;

    // Invitations for everyone: `access` where a verified account has the email.
    app.create_user(&user(4).email).await;
    let report = app
        .app
        .state
        .invitations
        .invite(&site, &Selection::NotYetInvited, &origin)
        .await
        .unwrap();
    assert_eq!(report.sent.len() as u64, total);
    assert!(report.failed.is_empty());
    let invitation_mails = app
        .mail
        .messages()
        .iter()
        .filter(|m| m.text.contains("/migrate/claim?token="))
        .count();
    assert_eq!(
        invitation_mails as u64, total,
        "every invitation is in the sink"
    );
    let progress = sites.progress(SLUG).await.unwrap();
    assert_eq!(progress.invited, total);

    // `access`: sign in with the existing account, then link it.
    let browser = Browser::new();
    let (_, _, page) = browser
        .get(&link_in(&app, &user(4).email), &app.base_url)
        .await;
    assert!(page.contains("Sign in to accept"), "{page}");
    let (_, _, page) = browser.submit(&page, &app.base_url, &[]).await;
    let (_, page) = finish_sign_in(&app, &browser, page, &user(4).email).await;
    let (_, at, _) = browser.submit(&page, &app.base_url, &[]).await;
    assert!(at.ends_with("/migrate/claim/done"), "{at}");
    let back = identity_sign_in_at_site(&app, &Browser::new(), &user(4).email).await;
    assert_names(&app, &id_claims(&app, &secret, &back).await, &user(4)).await;

    // `create_account`, for the user who signed in with the legacy login and the app.
    let browser = Browser::new();
    let (_, _, page) = browser
        .get(&link_in(&app, &user(3).email), &app.base_url)
        .await;
    assert!(page.contains("Complete your account creation"), "{page}");
    let (_, at, _) = browser
        .submit(
            &page,
            &app.base_url,
            &[("name", "User Three"), ("password", PASSWORD)],
        )
        .await;
    assert!(at.ends_with("/migrate/claim/done?created=1"), "{at}");
    let back = identity_sign_in_at_site(&app, &Browser::new(), &user(3).email).await;
    let identity_claims = id_claims(&app, &secret, &back).await;
    assert_eq!(
        identity_claims["sub"], legacy_sub,
        "one sub before and after"
    );
    assert_names(&app, &identity_claims, &user(3)).await;

    // A verified account with a matching email links itself at sign-in.
    app.create_user(&user(7).email).await;
    let back = identity_sign_in_at_site(&app, &Browser::new(), &user(7).email).await;
    assert_names(&app, &id_claims(&app, &secret, &back).await, &user(7)).await;
    let progress = sites.progress(SLUG).await.unwrap();
    assert_eq!(progress.linked, 3);
    assert_eq!(progress.invited, total - 3);

    // 4. Identity: a legacy login page opened before the move is refused after it.
    let late = Browser::new();
    let (_, _, late_page) = late.get(&start, &app.base_url).await;
    let step = sites
        .migrate(SLUG, MigrationState::Identity, &origin)
        .await
        .unwrap();
    assert_eq!(step.disabled_principals.len() as u64, total);
    for principal in &step.disabled_principals {
        app.app
            .state
            .signin
            .sessions()
            .end_all(*principal, &origin)
            .await
            .unwrap();
    }
    let (status, _, refused) = late
        .submit(
            &late_page,
            &app.base_url,
            &[("login", &user(12).login), ("password", &user(12).password)],
        )
        .await;
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused.contains("Sign in with your Lanyard account"),
        "{refused}"
    );
    for i in [0, 2, 3, 12] {
        let su = site_user(&app, &site, &user(i).login).await;
        assert!(su.legacy_password_hash.is_none(), "legacy hash erased");
    }
    // The identity accounts go on, with the same sub.
    let back = identity_sign_in_at_site(&app, &Browser::new(), &user(3).email).await;
    assert_eq!(id_claims(&app, &secret, &back).await["sub"], legacy_sub);
    app
}
