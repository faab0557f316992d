//! The legacy site login (C2, F2) and what it must share with every other sign-in (S42):
//! `/authorize` with a site's client sends a signed-out user to `/sites/{slug}/login` while the
//! site is `legacy` or `dual`; the imported bcrypt, PBKDF2 and argon2 hashes (made by the PyPI
//! reference implementations: crates/sites/tests/fixtures) verify once and move to argon2id;
//! the second step, site 2FA (C3) and the session are the usual ones; the principal's session
//! counts for its own site's client only (the principal boundary); `identity` refuses it.

use lanyard_core::model::{MigrationState, Site, SiteId, SiteRole, SiteUser, SiteUserId};
use lanyard_core::ports::{AccountRepo, ImportedSiteUser, MfaRepo, PatRepo, SiteRepo};
use lanyard_core::{AccountId, ClientId, Clock as _, OsRng};
use lanyard_mfa::totp;
use lanyard_testkit::{Browser, PASSWORD, TestApp};

use crate::helpers::{
    REDIRECT, VERIFIER, authorize_url, confidential, each_backend, field, json as body_json,
    query_param, redeem, refresh, totp_secret_from,
};

pub const SLUG: &str = "acme";
pub const SITE_NAME: &str = "Acme Studio";
/// The site's client.
pub const APP: &str = "acme-app";
/// The site's device client (a desktop tool).
pub const TOOL: &str = "acme-tool";
/// A client of no site, and a device client of no site.
pub const OTHER: &str = "other-app";
pub const OTHER_TOOL: &str = "other-tool";
const LOGIN_PAGE: &str = "/sites/acme/login";
const SET_UP_TEXT: &str = "Acme Studio requires two-factor authentication";

/// One imported user: login, email, role, the imported hash and its password.
#[derive(Clone)]
pub struct Legacy {
    pub login: String,
    pub email: String,
    pub role: SiteRole,
    pub hash: String,
    pub password: String,
    /// The authenticator app's secret the legacy site had (base32), if any.
    pub totp: Option<String>,
}

/// The users of the committed fixture (crates/sites/tests/fixtures/legacy_users.json: every
/// hash format and role; one password for all).
pub fn fixture_users() -> Vec<Legacy> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../sites/tests/fixtures/");
    let read = |name: &str| {
        std::fs::read_to_string(format!("{dir}{name}")).unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    let password = read("password.txt")
        .trim_end_matches(['\n', '\r'])
        .to_owned();
    let rows: Vec<serde_json::Value> = serde_json::from_str(&read("legacy_users.json")).unwrap();
    rows.iter()
        .map(|row| Legacy {
            login: row["login"].as_str().unwrap().to_owned(),
            email: row["email"].as_str().unwrap().to_owned(),
            role: SiteRole::parse(row["role"].as_str().unwrap()).unwrap(),
            hash: row["password_hash"].as_str().unwrap().to_owned(),
            password: password.clone(),
            totp: row["totp_secret"].as_str().map(str::to_owned),
        })
        .collect()
}

/// The fixture user whose hash starts with `prefix` (`$2b$`, `$pbkdf2-sha256$`, `$argon2`).
pub fn user_with(prefix: &str) -> Legacy {
    fixture_users()
        .into_iter()
        .find(|u| u.hash.starts_with(prefix))
        .unwrap_or_else(|| panic!("no fixture user with a {prefix} hash"))
}

pub struct Fixture {
    pub site: Site,
    pub secret: String,
}

pub fn repo(app: &TestApp) -> &dyn SiteRepo {
    &*app.app.stores.sql
}

/// The site `acme` in `state` with its client, a client of no site, and `users` imported.
pub async fn site_with(app: &TestApp, state: MigrationState, users: &[Legacy]) -> Fixture {
    let secret = app.create_client(confidential(APP)).await.unwrap();
    app.create_client(confidential(OTHER)).await.unwrap();
    app.create_client(crate::helpers::device_client(TOOL)).await;
    app.create_client(crate::helpers::device_client(OTHER_TOOL))
        .await;
    let now = app.clock.now();
    let site = Site {
        id: SiteId::new(&*app.clock, &OsRng),
        slug: SLUG.to_owned(),
        name: SITE_NAME.to_owned(),
        clients: vec![
            ClientId::parse(APP).unwrap(),
            ClientId::parse(TOOL).unwrap(),
        ],
        state: MigrationState::Legacy,
        two_factor_required_since: None,
        created_at: now,
        updated_at: now,
    };
    repo(app).insert_site(&site).await.unwrap();
    // An imported app secret is sealed like any other, to its principal (as the import does).
    let (kek, _) = lanyard_server::app::key_material(&app.config, &OsRng).unwrap();
    let rows: Vec<ImportedSiteUser> = users
        .iter()
        .map(|u| (u, AccountId::new(&*app.clock, &OsRng)))
        .map(|(u, principal)| ImportedSiteUser {
            user: SiteUser {
                id: SiteUserId::new(&*app.clock, &OsRng),
                site_id: site.id,
                login: u.login.clone(),
                login_normalized: u.login.to_lowercase(),
                email: u.email.clone(),
                email_normalized: u.email.to_lowercase(),
                role: u.role,
                legacy_password_hash: Some(u.hash.clone()),
                principal,
                account_id: None,
                linked_at: None,
                email_unverified_since: None,
                created_at: now,
                updated_at: now,
            },
            sealed_totp_secret: u.totp.as_ref().map(|text| {
                let secret = data_encoding::BASE32_NOPAD.decode(text.as_bytes()).unwrap();
                kek.encrypt(&secret, &totp::sealing_aad(principal)).unwrap()
            }),
        })
        .collect();
    repo(app)
        .import_site_users(site.id, &rows, now)
        .await
        .unwrap();
    move_to(app, &site, state).await;
    let site = repo(app).get_site(site.id).await.unwrap().unwrap();
    Fixture { site, secret }
}

/// Moves the site forward to `state` (legacy → dual → identity).
pub async fn move_to(app: &TestApp, site: &Site, to: MigrationState) {
    let mut at = repo(app).get_site(site.id).await.unwrap().unwrap().state;
    for next in [MigrationState::Dual, MigrationState::Identity] {
        if at == to {
            return;
        }
        assert!(
            repo(app)
                .set_migration_state(site.id, at, next, app.clock.now())
                .await
                .unwrap()
        );
        at = next;
    }
}

pub async fn site_user(app: &TestApp, site: &Site, login: &str) -> SiteUser {
    repo(app)
        .site_user_by_login(site.id, &login.to_lowercase())
        .await
        .unwrap()
        .unwrap()
}

/// The legacy login from `start` (an authorization URL, or the site's login page) through
/// the second step: where the browser went and the page there.
pub async fn legacy_sign_in(
    app: &TestApp,
    browser: &Browser,
    start: &str,
    user: &Legacy,
) -> (String, String) {
    let base = &app.base_url;
    let (status, at, page) = browser.get(start, base).await;
    assert_eq!(status, 200, "{at}: {page}");
    assert!(at.contains(LOGIN_PAGE), "{at}");
    let sent = app.mail.messages_to(&user.email).len();
    let (status, at, page) = browser
        .submit(
            &page,
            base,
            &[("login", &user.login), ("password", &user.password)],
        )
        .await;
    assert!(
        status == 200 || !at.starts_with(base),
        "{status} {at}: {page}"
    );
    browser
        .second_step(page, base, &app.mail, &user.email, sent)
        .await
}

/// The legacy login page of a new flow for the site's client, and the page's form posted with
/// `fields`: status and page.
async fn post_login(
    app: &TestApp,
    browser: &Browser,
    fields: &[(&str, &str)],
) -> (u16, String, String) {
    let (_, at, page) = browser
        .get(&authorize_url(app, APP, ""), &app.base_url)
        .await;
    assert!(at.contains(LOGIN_PAGE), "{at}");
    browser.submit(&page, &app.base_url, fields).await
}

fn code_now(app: &TestApp, secret: &[u8]) -> String {
    totp::code_at_step(secret, totp::step_at(app.clock.now().seconds())).unwrap()
}

async fn principal(app: &TestApp, user: &SiteUser) -> lanyard_core::model::Account {
    app.app
        .stores
        .sql
        .get_account(user.principal)
        .await
        .unwrap()
}

async fn failures(app: &TestApp, account: AccountId) -> u32 {
    app.app
        .stores
        .sql
        .mfa_state(account)
        .await
        .unwrap()
        .failures
}

#[tokio::test]
async fn c2_s42_bcrypt_pbkdf2_and_argon2_logins_reach_the_app_and_move_to_argon2id() {
    each_backend(|app| async move {
        // Without their apps, so every second step here is the emailed code.
        let users: Vec<Legacy> = fixture_users()
            .into_iter()
            .map(|u| Legacy { totp: None, ..u })
            .collect();
        let fx = site_with(&app, MigrationState::Legacy, &users).await;
        for prefix in ["$2a$", "$2b$", "$2y$", "$pbkdf2-sha256$", "$argon2id$"] {
            let user = user_with(prefix);
            let before = site_user(&app, &fx.site, &user.login).await;
            assert_eq!(
                before.legacy_password_hash.as_deref(),
                Some(user.hash.as_str())
            );
            assert!(principal(&app, &before).await.password_hash.is_none());

            let browser = Browser::new();
            let (at, _) =
                legacy_sign_in(&app, &browser, &authorize_url(&app, APP, ""), &user).await;
            assert!(at.starts_with(REDIRECT), "{prefix}: {at}");
            let code = query_param(&at, "code").unwrap();
            let (status, tokens) =
                body_json(redeem(&app, APP, &fx.secret, &code, VERIFIER).await).await;
            assert_eq!(status, 200, "{tokens}");

            // S42: the legacy hash is gone and the principal holds argon2id.
            let after = site_user(&app, &fx.site, &user.login).await;
            assert_eq!(after.legacy_password_hash, None, "{prefix}");
            let moved = principal(&app, &after).await.password_hash.unwrap();
            assert!(moved.starts_with("$argon2id$"), "{moved}");
            assert_ne!(moved, user.hash);

            // The next login checks the argon2id hash: same password, another browser.
            let again = Browser::new();
            let (at, _) = legacy_sign_in(&app, &again, &authorize_url(&app, APP, ""), &user).await;
            assert!(at.starts_with(REDIRECT), "{prefix} second login: {at}");
            assert_eq!(
                principal(&app, &after).await.password_hash.as_deref(),
                Some(moved.as_str()),
                "no second rehash"
            );
        }
        // The login is case-insensitive, as imported.
        let user = user_with("$2a$");
        let shouting = Legacy {
            login: user.login.to_uppercase(),
            ..user.clone()
        };
        let (at, _) = legacy_sign_in(
            &app,
            &Browser::new(),
            &authorize_url(&app, APP, ""),
            &shouting,
        )
        .await;
        assert!(at.starts_with(REDIRECT), "{at}");
        app
    })
    .await;
}

#[tokio::test]
async fn c2_the_legacy_login_has_the_mandatory_second_step_to_the_site_users_email() {
    each_backend(|app| async move {
        let user = user_with("$2a$");
        let fx = site_with(&app, MigrationState::Legacy, std::slice::from_ref(&user)).await;
        let browser = Browser::new();
        let sent = app.mail.messages_to(&user.email).len();
        let (status, at, page) = post_login(
            &app,
            &browser,
            &[("login", &user.login), ("password", &user.password)],
        )
        .await;
        assert_eq!(status, 200, "{at}");
        assert!(at.contains("/login/code"), "{at}");
        assert!(
            page.contains(&user.email),
            "the code page names the address"
        );
        // No code yet: the app has no answer until the code is typed.
        let mails = app.mail.wait_for(&user.email, sent + 1).await;
        assert_eq!(mails.len(), sent + 1);
        let su = site_user(&app, &fx.site, &user.login).await;
        // A principal gets no single identity-account backup code (its codes come as a set).
        assert!(
            app.app
                .stores
                .sql
                .backup_code(su.principal)
                .await
                .unwrap()
                .is_none()
        );
        let (at, page) = browser
            .second_step(page, &app.base_url, &app.mail, &user.email, sent)
            .await;
        assert!(at.starts_with(REDIRECT), "{at}: {page}");
        assert!(
            app.app
                .stores
                .sql
                .backup_code(su.principal)
                .await
                .unwrap()
                .is_none()
        );
        app
    })
    .await;
}

const WRONG: &str = "not the password at all";

/// A person signs in to the site's app with the identity login ("Sign in with your
/// account" on the site's page): where the browser ended.
pub async fn identity_sign_in_at_site(app: &TestApp, browser: &Browser, email: &str) -> String {
    let base = &app.base_url;
    let (_, at, _) = browser.get(&authorize_url(app, APP, ""), base).await;
    let flow = query_param(&at, "flow").expect("a flow on the site's page");
    let (_, _, page) = browser
        .get(&app.url(&format!("/login?flow={flow}")), base)
        .await;
    let (_, _, page) = browser.submit(&page, base, &[("email", email)]).await;
    let sent = app.mail.messages_to(email).len();
    let (_, _, page) = browser.submit(&page, base, &[("password", PASSWORD)]).await;
    let (at, _) = browser
        .second_step(page, base, &app.mail, email, sent)
        .await;
    at
}

/// The identity login (email, password) from `start` with `password`: status, where, page.
async fn identity_password(
    app: &TestApp,
    browser: &Browser,
    start: &str,
    email: &str,
    password: &str,
) -> (u16, String, String) {
    let base = &app.base_url;
    let (_, _, page) = browser.get(start, base).await;
    let (_, _, page) = browser.submit(&page, base, &[("email", email)]).await;
    browser.submit(&page, base, &[("password", password)]).await
}

#[tokio::test]
async fn s42_five_legacy_and_five_identity_failures_are_ten_on_the_linked_account() {
    each_backend(|app| async move {
        let user = user_with("$2a$");
        let fx = site_with(&app, MigrationState::Dual, std::slice::from_ref(&user)).await;
        let person = app.create_user(&user.email).await;
        let su = site_user(&app, &fx.site, &user.login).await;
        assert!(
            repo(&app)
                .link_site_user(su.id, person.id, app.clock.now())
                .await
                .unwrap()
        );
        let browser = Browser::new();
        for _ in 0..5 {
            let (status, _, page) = post_login(
                &app,
                &browser,
                &[("login", &user.login), ("password", WRONG)],
            )
            .await;
            assert_eq!(status, 400, "{page}");
            assert!(
                page.contains("The login or password is not right"),
                "{page}"
            );
        }
        assert_eq!(failures(&app, su.principal).await, 5);
        assert_eq!(
            failures(&app, person.id).await,
            5,
            "counted on the identity too"
        );

        // The identity account is in its wait: its right password gets the wrong-password
        // answer (S53f), and that attempt is not counted.
        let start = authorize_url(&app, OTHER, "");
        let (status, _, page) =
            identity_password(&app, &Browser::new(), &start, &user.email, PASSWORD).await;
        assert_eq!(status, 400, "{page}");
        assert!(page.contains("is not right"), "{page}");
        // So is the legacy password of the site user: both ways are shut.
        let (status, _, _) = post_login(
            &app,
            &Browser::new(),
            &[("login", &user.login), ("password", &user.password)],
        )
        .await;
        assert_eq!(status, 400);

        // Five more on the identity login, each after its wait: ten in all.
        for _ in 0..5 {
            app.clock.advance(61);
            let (status, _, _) =
                identity_password(&app, &Browser::new(), &start, &user.email, WRONG).await;
            assert_eq!(status, 400);
        }
        assert_eq!(failures(&app, person.id).await, 10);
        assert_eq!(failures(&app, su.principal).await, 5);
        app
    })
    .await;
}

#[tokio::test]
async fn s42_the_legacy_and_identity_logins_share_the_per_address_limit() {
    crate::helpers::each_backend_with(
        |config| config.mfa.password_failures_per_ip = 10,
        |app| async move {
            let users = fixture_users();
            site_with(&app, MigrationState::Dual, &users).await;
            let start = authorize_url(&app, OTHER, "");
            for i in 0..5 {
                let email = format!("person{i}@example.com");
                app.create_user(&email).await;
                let (status, _, _) =
                    identity_password(&app, &Browser::new(), &start, &email, WRONG).await;
                assert_eq!(status, 400);
            }
            // Logins that name nobody count for the address like any wrong password.
            for i in 0..5 {
                let login = format!("nobody{i}");
                let (status, _, _) = post_login(
                    &app,
                    &Browser::new(),
                    &[("login", &login), ("password", WRONG)],
                )
                .await;
                assert_eq!(status, 400);
            }
            // The eleventh, on either path and with a right password, is refused unchecked.
            let user = &users[0];
            let (status, _, page) = post_login(
                &app,
                &Browser::new(),
                &[("login", &user.login), ("password", &user.password)],
            )
            .await;
            assert_eq!(status, 429, "{page}");
            assert!(page.contains("Too many attempts"), "{page}");
            let (status, _, _) = identity_password(
                &app,
                &Browser::new(),
                &start,
                "person0@example.com",
                PASSWORD,
            )
            .await;
            assert_eq!(status, 429);
            // Nothing moved: the legacy hash is still there.
            let su = repo(&app)
                .site_user_by_login(
                    repo(&app).site_by_slug(SLUG).await.unwrap().unwrap().id,
                    &user.login.to_lowercase(),
                )
                .await
                .unwrap()
                .unwrap();
            assert!(su.legacy_password_hash.is_some());
            app
        },
    )
    .await;
}

#[tokio::test]
async fn s42_after_the_move_to_identity_the_legacy_login_is_refused_unchecked() {
    each_backend(|app| async move {
        let user = user_with("$2a$");
        let fx = site_with(&app, MigrationState::Dual, std::slice::from_ref(&user)).await;
        // A login page opened while the site was `dual`...
        let browser = Browser::new();
        let (_, at, page) = browser
            .get(&authorize_url(&app, APP, ""), &app.base_url)
            .await;
        assert!(at.contains(LOGIN_PAGE), "{at}");
        move_to(&app, &fx.site, MigrationState::Identity).await;
        let su = site_user(&app, &fx.site, &user.login).await;
        // ...posted after the move: refused with the way to the identity sign-in, nothing
        // checked or counted, no mail.
        let sent = app.mail.messages_to(&user.email).len();
        let (status, _, refused) = browser
            .submit(
                &page,
                &app.base_url,
                &[("login", &user.login), ("password", &user.password)],
            )
            .await;
        assert_eq!(status, 400, "{refused}");
        assert!(refused.contains("no longer work"), "{refused}");
        assert!(
            refused.contains("Sign in with your Lanyard account"),
            "{refused}"
        );
        assert!(!refused.contains("name=\"password\""), "no form: {refused}");
        assert_eq!(failures(&app, su.principal).await, 0);
        assert_eq!(app.mail.messages_to(&user.email).len(), sent);
        // The app's request now goes to the identity sign-in.
        let (_, at, page) = Browser::new()
            .get(&authorize_url(&app, APP, ""), &app.base_url)
            .await;
        assert!(at.contains("/login?flow="), "{at}");
        assert!(page.contains("name=\"email\""), "{page}");
        // The site's page itself says so.
        let flow = query_param(&at, "flow").unwrap();
        let (status, _, page) = Browser::new()
            .get(
                &app.url(&format!("{LOGIN_PAGE}?flow={flow}")),
                &app.base_url,
            )
            .await;
        assert_eq!(status, 200);
        assert!(page.contains("no longer work"), "{page}");
        app
    })
    .await;
}

#[tokio::test]
async fn f2_the_site_page_in_legacy_dual_and_identity() {
    each_backend(|app| async move {
        let user = user_with("$2a$");
        let fx = site_with(&app, MigrationState::Legacy, &[user]).await;
        let page_now = || async {
            let (status, at, page) = Browser::new()
                .get(&authorize_url(&app, APP, ""), &app.base_url)
                .await;
            (status, at, page)
        };
        let (status, at, page) = page_now().await;
        assert_eq!(status, 200);
        assert!(at.contains(LOGIN_PAGE), "{at}");
        assert!(page.contains("Sign in to Acme Studio"), "{page}");
        assert!(page.contains("name=\"login\""));
        assert!(page.contains("name=\"password\""));
        assert!(page.contains("autocomplete=\"username\""));
        assert!(page.contains("autocomplete=\"current-password\""));
        assert!(page.contains("csrf_token"));
        assert!(
            !page.contains("Sign in with your Lanyard account"),
            "{page}"
        );

        move_to(&app, &fx.site, MigrationState::Dual).await;
        let (status, at, page) = page_now().await;
        assert_eq!(status, 200);
        assert!(at.contains(LOGIN_PAGE), "{at}");
        assert!(page.contains("name=\"password\""), "{page}");
        // Both ways, the identity one for the same flow (same return to the app).
        let flow = query_param(&at, "flow").unwrap();
        assert!(
            page.contains(&format!("href=\"/login?flow={flow}\"")),
            "{page}"
        );
        assert!(page.contains("Sign in with your Lanyard account"));

        move_to(&app, &fx.site, MigrationState::Identity).await;
        let (_, at, _) = page_now().await;
        assert!(at.contains("/login?flow="), "{at}");
        app
    })
    .await;
}

#[tokio::test]
async fn c2_bad_input_is_refused_and_changes_nothing() {
    each_backend(|app| async move {
        let user = user_with("$2a$");
        let fx = site_with(&app, MigrationState::Legacy, std::slice::from_ref(&user)).await;
        let su = site_user(&app, &fx.site, &user.login).await;
        let browser = Browser::new();
        let long_login = "a".repeat(300);
        let long_password = "p".repeat(2000);
        let cases: [(&str, &str, &str); 6] = [
            ("", &user.password, "Enter your login"),
            ("   ", &user.password, "Enter your login"),
            (&long_login, &user.password, "Enter your login"),
            ("ada\u{7}", &user.password, "Enter your login"),
            (&user.login, "", "Enter your password"),
            (&user.login, &long_password, "Enter your password"),
        ];
        for (login, password, says) in cases {
            let (status, _, page) =
                post_login(&app, &browser, &[("login", login), ("password", password)]).await;
            assert_eq!(status, 400, "{login:?}");
            assert!(page.contains(says), "{login:?}: {page}");
            assert!(!page.contains(password) || password.is_empty());
        }
        assert_eq!(
            failures(&app, su.principal).await,
            0,
            "none of those counted"
        );

        // A wrong password and an unknown login get one answer; only the first counts for
        // an account.
        let mut answers = Vec::new();
        for login in [user.login.as_str(), "nobody-here"] {
            let (status, _, page) =
                post_login(&app, &browser, &[("login", login), ("password", WRONG)]).await;
            assert_eq!(status, 400);
            let summary = page[page.find("error-summary-list").unwrap()..]
                .split("</ul>")
                .next()
                .unwrap()
                .to_owned();
            answers.push(summary);
        }
        assert_eq!(answers[0], answers[1]);
        assert_eq!(failures(&app, su.principal).await, 1);
        assert!(
            site_user(&app, &fx.site, &user.login)
                .await
                .legacy_password_hash
                .is_some()
        );

        // Without the CSRF token: refused before anything is read.
        let (_, at, page) = browser
            .get(&authorize_url(&app, APP, ""), &app.base_url)
            .await;
        let flow = field(&page, "flow");
        let response = crate::helpers::http()
            .post(&at)
            .form(&[
                ("flow", flow.as_str()),
                ("login", user.login.as_str()),
                ("password", user.password.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 403);
        assert_eq!(failures(&app, su.principal).await, 1);

        // Unknown or malformed sites are not found; a flow of another app is not this
        // site's; no flow at all, or a return to anywhere else, is refused.
        for path in [
            format!("/sites/nope/login?flow={flow}"),
            format!("/sites/ACME/login?flow={flow}"),
            "/sites/a%2Fb/login".to_owned(),
        ] {
            let (status, _, _) = Browser::new().get(&app.url(&path), &app.base_url).await;
            assert_eq!(status, 404, "{path}");
        }
        let (_, at, _) = Browser::new()
            .get(&authorize_url(&app, OTHER, ""), &app.base_url)
            .await;
        let other_flow = query_param(&at, "flow").unwrap();
        let (status, _, page) = Browser::new()
            .get(
                &app.url(&format!("{LOGIN_PAGE}?flow={other_flow}")),
                &app.base_url,
            )
            .await;
        assert_eq!(status, 400);
        assert!(page.contains("Your sign-in has expired"), "{page}");
        for query in [
            "",
            "?flow=short",
            "?return_to=https%3A%2F%2Fevil.example%2F",
            "?return_to=%2Faccount%2Fsecurity",
            "?return_to=%2Fsites%2Fother%2Fadmin",
            "?return_to=%2F%2Fevil.example%2Fsites%2Facme%2Fx",
        ] {
            let (status, _, _) = Browser::new()
                .get(&app.url(&format!("{LOGIN_PAGE}{query}")), &app.base_url)
                .await;
            assert_eq!(status, 400, "{query}");
        }
        // A page of the site is a place to come back to.
        let response = crate::helpers::http()
            .get(app.url(&format!(
                "{LOGIN_PAGE}?return_to=%2Fsites%2Facme%2Faccount%2Ftwo-factor"
            )))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 303);
        let to = response.headers()["location"].to_str().unwrap().to_owned();
        assert!(to.starts_with(&format!("{LOGIN_PAGE}?flow=")), "{to}");

        // A finished sign-in's login form, posted again, finds nothing to continue.
        let (_, _, page) = browser
            .get(&authorize_url(&app, APP, ""), &app.base_url)
            .await;
        let sent = app.mail.messages_to(&user.email).len();
        let (_, _, code_page) = browser
            .submit(
                &page,
                &app.base_url,
                &[("login", &user.login), ("password", &user.password)],
            )
            .await;
        let (at, _) = browser
            .second_step(code_page, &app.base_url, &app.mail, &user.email, sent)
            .await;
        assert!(at.starts_with(REDIRECT), "{at}");
        // The replay's CSRF token was made before the session existed (S44): refused.
        let (status, _, _) = browser
            .submit(
                &page,
                &app.base_url,
                &[("login", &user.login), ("password", &user.password)],
            )
            .await;
        assert_eq!(status, 403);
        app
    })
    .await;
}

/// The principal boundary: a legacy login's session counts for its own site's client and
/// nowhere else.
#[tokio::test]
async fn the_principal_boundary_a_site_login_is_nobody_outside_its_site() {
    each_backend(|app| async move {
        let user = user_with("$2a$");
        let fx = site_with(&app, MigrationState::Legacy, std::slice::from_ref(&user)).await;
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        let browser = Browser::with_cookie_jar(jar.clone());
        let (at, _) = legacy_sign_in(&app, &browser, &authorize_url(&app, APP, ""), &user).await;
        assert!(at.starts_with(REDIRECT), "{at}");
        let csrf = browser.csrf_token(&app.base_url).await;
        // The site's client: single sign-on, even without a page.
        let (_, at, _) = browser
            .get(&authorize_url(&app, APP, "&prompt=none"), &app.base_url)
            .await;
        assert!(at.starts_with(REDIRECT), "{at}");
        assert!(query_param(&at, "code").is_some(), "{at}");

        // Account pages, the PAT page, step-up: the identity sign-in, as for nobody.
        for path in [
            "/account",
            "/account/security",
            "/account/pats",
            "/account/reconfirm?return_to=%2Faccount%2Fsecurity",
        ] {
            let (status, at, page) = browser.get(&app.url(path), &app.base_url).await;
            assert_eq!(status, 200, "{path}");
            assert!(at.contains("/login?flow="), "{path}: {at}");
            assert!(page.contains("name=\"email\""), "{path}");
        }
        // Another app: sign in first; with prompt=none, login_required.
        let (_, at, _) = browser
            .get(&authorize_url(&app, OTHER, ""), &app.base_url)
            .await;
        assert!(at.contains("/login?flow="), "{at}");
        let (_, at, _) = browser
            .get(&authorize_url(&app, OTHER, "&prompt=none"), &app.base_url)
            .await;
        assert_eq!(query_param(&at, "error").as_deref(), Some("login_required"));
        // The organization API and the account API: nobody signed in.
        let response = browser
            .http
            .get(app.url("/orgs/acme/policy"))
            .header("accept", "application/json")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 401);
        let response = browser
            .http
            .delete(app.url("/account/mfa/totp"))
            .header("x-csrf-token", &csrf)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 401);
        let response = browser
            .http
            .get(app.url("/account/pats"))
            .header("accept", "application/json")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 401);
        // A PAT form posted with a valid CSRF token: the sign-in page, no token.
        let response = browser
            .http
            .post(app.url("/account/pats"))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("name", "laptop"),
                ("scope", "openid"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 303);
        let to = response.headers()["location"].to_str().unwrap().to_owned();
        assert!(
            to.starts_with("/login?flow=") || to.starts_with("/account/reconfirm"),
            "{to}"
        );
        // Nothing was made for the principal meanwhile.
        let su = site_user(&app, &fx.site, &user.login).await;
        let pats = app
            .app
            .stores
            .sql
            .list_pats(Some(su.principal), 10)
            .await
            .unwrap();
        assert!(pats.is_empty());
        // The home page does not call it signed in either.
        let (_, _, home) = browser.get(&app.url("/"), &app.base_url).await;
        assert!(!home.contains(&user.email), "{home}");
        app
    })
    .await;
}

#[tokio::test]
async fn c5_the_identity_sign_in_reaches_a_site_only_through_a_linked_user() {
    each_backend(|app| async move {
        let user = user_with("$2a$");
        let fx = site_with(&app, MigrationState::Dual, std::slice::from_ref(&user)).await;
        let linked = app.create_user(&user.email).await;
        let su = site_user(&app, &fx.site, &user.login).await;
        repo(&app)
            .link_site_user(su.id, linked.id, app.clock.now())
            .await
            .unwrap();
        app.create_user("stranger@example.com").await;

        // "Sign in with your account" on the site's page, same flow: back to the app.
        let browser = Browser::new();
        let (_, at, page) = browser
            .get(&authorize_url(&app, APP, ""), &app.base_url)
            .await;
        let flow = query_param(&at, "flow").unwrap();
        assert!(page.contains(&format!("/login?flow={flow}")));
        let start = app.url(&format!("/login?flow={flow}"));
        let (_, _, page) = browser.get(&start, &app.base_url).await;
        let (_, _, page) = browser
            .submit(&page, &app.base_url, &[("email", &user.email)])
            .await;
        let sent = app.mail.messages_to(&user.email).len();
        let (_, _, page) = browser
            .submit(&page, &app.base_url, &[("password", PASSWORD)])
            .await;
        let (at, _) = browser
            .second_step(page, &app.base_url, &app.mail, &user.email, sent)
            .await;
        assert!(at.starts_with(REDIRECT), "{at}");

        // An identity account that is no user of the site: a page, no code.
        let stranger = Browser::new();
        let (status, at, page) = {
            let (_, _, page) = stranger
                .get(&authorize_url(&app, OTHER, ""), &app.base_url)
                .await;
            let (_, _, page) = stranger
                .submit(&page, &app.base_url, &[("email", "stranger@example.com")])
                .await;
            let sent = app.mail.messages_to("stranger@example.com").len();
            let (_, _, page) = stranger
                .submit(&page, &app.base_url, &[("password", PASSWORD)])
                .await;
            let (at, _) = stranger
                .second_step(page, &app.base_url, &app.mail, "stranger@example.com", sent)
                .await;
            assert!(at.starts_with(REDIRECT), "{at}");
            stranger
                .get(&authorize_url(&app, APP, ""), &app.base_url)
                .await
        };
        assert_eq!(status, 403, "{at}");
        assert!(
            page.contains("Your account has no access to Acme Studio"),
            "{page}"
        );
        assert!(page.contains("stranger@example.com"));
        assert!(
            page.contains(LOGIN_PAGE),
            "dual offers the site login: {page}"
        );
        let (_, at, _) = stranger
            .get(&authorize_url(&app, APP, "&prompt=none"), &app.base_url)
            .await;
        assert_eq!(query_param(&at, "error").as_deref(), Some("login_required"));

        // On a `legacy` site an identity session does not count at all: the site's login.
        let fx_site = fx.site.clone();
        assert!(
            repo(&app)
                .set_migration_state(
                    fx_site.id,
                    MigrationState::Dual,
                    MigrationState::Legacy,
                    app.clock.now()
                )
                .await
                .unwrap()
        );
        let (_, at, _) = browser
            .get(&authorize_url(&app, APP, ""), &app.base_url)
            .await;
        assert!(at.contains(LOGIN_PAGE), "{at}");
        app
    })
    .await;
}

pub async fn require_two_factor(app: &TestApp, site: &Site) {
    repo(app)
        .set_two_factor_required(site.id, Some(app.clock.now()), app.clock.now())
        .await
        .unwrap();
}

#[tokio::test]
async fn c3_s42_site_2fa_sets_up_an_app_before_any_session_or_code() {
    each_backend(|app| async move {
        let licensed = user_with("$2a$");
        let fx = site_with(&app, MigrationState::Legacy, &fixture_users()).await;
        require_two_factor(&app, &fx.site).await;
        let browser = Browser::new();
        let start = authorize_url(&app, APP, "");
        let (at, page) = legacy_sign_in(&app, &browser, &start, &licensed).await;
        assert!(at.contains("/login/authenticator"), "{at}");
        assert!(page.contains(SET_UP_TEXT), "{page}");
        assert!(page.contains("Verify and Save"), "{page}");
        assert!(page.contains("<svg"), "the QR code");
        assert!(page.contains("secret-block"), "the secret as text");
        assert!(!page.contains("name=\"trust\""));

        // No session before the app is set up: no code, even silently.
        let (_, at_silent, _) = browser
            .get(&authorize_url(&app, APP, "&prompt=none"), &app.base_url)
            .await;
        assert_eq!(
            query_param(&at_silent, "error").as_deref(),
            Some("login_required"),
            "{at_silent}"
        );

        // "Verify and Save" with a code from the new app: the first backup codes (helper M's
        // page, flows/site_backup_codes.rs), then the app.
        let secret = totp_secret_from(&page);
        let (_, at, page) = browser
            .submit(&page, &app.base_url, &[("code", &code_now(&app, &secret))])
            .await;
        assert!(at.contains("/sites/acme/two-factor/codes/"), "{at}");
        assert!(page.contains("Save your backup codes"), "{page}");
        let (_, at, _) = browser
            .submit(&page, &app.base_url, &[("saved", "yes")])
            .await;
        assert!(at.starts_with(REDIRECT), "{at}");
        assert!(query_param(&at, "code").is_some());
        let su = site_user(&app, &fx.site, &licensed.login).await;
        assert!(app.app.state.mfa.has_totp(su.principal).await.unwrap());

        // The next legacy login asks the app's code, not an emailed one.
        let next = Browser::new();
        let (_, _, page) = next.get(&start, &app.base_url).await;
        let (_, at, page) = next
            .submit(
                &page,
                &app.base_url,
                &[("login", &licensed.login), ("password", &licensed.password)],
            )
            .await;
        assert!(at.contains("/login/code"), "{at}");
        assert!(page.contains("value=\"totp\""), "{page}");
        app.clock.advance(30);
        let (_, at, page) = next
            .submit(&page, &app.base_url, &[("code", &code_now(&app, &secret))])
            .await;
        let (at, _) = if page.contains("name=\"stay\"") {
            let (_, at, page) = next.submit(&page, &app.base_url, &[("stay", "no")]).await;
            (at, page)
        } else {
            (at, page)
        };
        assert!(at.starts_with(REDIRECT), "{at}");
        app
    })
    .await;
}

#[tokio::test]
async fn c3_client_users_are_exempt_from_site_2fa() {
    each_backend(|app| async move {
        let users = fixture_users();
        let client_user = users
            .iter()
            .find(|u| u.role == SiteRole::ClientUser)
            .expect("a client user in the fixture")
            .clone();
        let fx = site_with(&app, MigrationState::Legacy, &users).await;
        require_two_factor(&app, &fx.site).await;
        let (at, _) = legacy_sign_in(
            &app,
            &Browser::new(),
            &authorize_url(&app, APP, ""),
            &client_user,
        )
        .await;
        assert!(at.starts_with(REDIRECT), "{at}");
        let su = site_user(&app, &fx.site, &client_user.login).await;
        assert!(!app.app.state.mfa.has_totp(su.principal).await.unwrap());
        app
    })
    .await;
}

#[tokio::test]
async fn c3_grants_and_sessions_from_before_the_preference_need_a_new_sign_in() {
    each_backend(|app| async move {
        let users = fixture_users();
        let licensed = user_with("$2a$");
        let client_user = users
            .iter()
            .find(|u| u.role == SiteRole::ClientUser)
            .unwrap()
            .clone();
        let fx = site_with(&app, MigrationState::Legacy, &users).await;
        let mut refresh_tokens = Vec::new();
        let licensed_browser = Browser::new();
        for (user, browser) in [
            (&licensed, &licensed_browser),
            (&client_user, &Browser::new()),
        ] {
            let (at, _) = legacy_sign_in(&app, browser, &authorize_url(&app, APP, ""), user).await;
            let code = query_param(&at, "code").unwrap();
            let (status, tokens) =
                body_json(redeem(&app, APP, &fx.secret, &code, VERIFIER).await).await;
            assert_eq!(status, 200, "{tokens}");
            refresh_tokens.push(tokens["refresh_token"].as_str().unwrap().to_owned());
        }
        app.clock.advance(5);
        require_two_factor(&app, &fx.site).await;
        // The licensed user's grant needs a new sign-in; the client user's does not.
        let (status, body) = refresh(&app, APP, &fx.secret, &refresh_tokens[0], None).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error"], "invalid_grant");
        let (status, body) = refresh(&app, APP, &fx.secret, &refresh_tokens[1], None).await;
        assert_eq!(status, 200, "{body}");
        // The licensed user's session counts for nothing: a new legacy login, forced through
        // the set-up.
        let (_, at, _) = licensed_browser
            .get(&authorize_url(&app, APP, ""), &app.base_url)
            .await;
        assert!(at.contains(LOGIN_PAGE), "{at}");
        // Nor does it open the device page (the device grant can not skip the set-up).
        let (_, at, _) = licensed_browser
            .get(&app.url("/device"), &app.base_url)
            .await;
        assert!(at.contains("/login?flow="), "{at}");
        app
    })
    .await;
}

/// A device request of `client`: (device code, user code).
async fn device_request(app: &TestApp, client: &str) -> (String, String) {
    let response = crate::helpers::http()
        .post(app.url("/device_authorization"))
        .form(&[("client_id", client), ("scope", "openid")])
        .send()
        .await
        .unwrap();
    let (status, body) = body_json(response).await;
    assert_eq!(status, 200, "{body}");
    (
        body["device_code"].as_str().unwrap().to_owned(),
        body["user_code"].as_str().unwrap().to_owned(),
    )
}

async fn device_poll(app: &TestApp, client: &str, device_code: &str) -> (u16, serde_json::Value) {
    let response = crate::helpers::http()
        .post(app.url("/token"))
        .form(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("client_id", client),
            ("device_code", device_code),
        ])
        .send()
        .await
        .unwrap();
    body_json(response).await
}

/// The principal boundary on the device page: a site user signs in with the site's login
/// (coming back to the device page) and approves the site's own device client; a device of
/// any other client is refused with the way to sign in instead.
#[tokio::test]
async fn the_principal_boundary_on_the_device_page() {
    each_backend(|app| async move {
        let user = user_with("$2a$");
        site_with(&app, MigrationState::Legacy, std::slice::from_ref(&user)).await;
        let (device_code, user_code) = device_request(&app, TOOL).await;
        let back = format!("/device?user_code={user_code}");
        let start = app.url(&format!(
            "{LOGIN_PAGE}?return_to={}",
            crate::helpers::urlencode(&back)
        ));
        let browser = Browser::new();
        let (at, page) = legacy_sign_in(&app, &browser, &start, &user).await;
        assert_eq!(at, app.url(&back), "back on the device page");
        assert!(page.contains(&user.email), "{page}");
        let (status, _, page) = browser
            .submit(&page, &app.base_url, &[("user_code", &user_code)])
            .await;
        assert_eq!(status, 200, "{page}");
        assert!(page.contains("name=\"decision\""), "{page}");
        let (status, _, _) = browser
            .submit(&page, &app.base_url, &[("decision", "approve")])
            .await;
        assert_eq!(status, 200);
        let (status, tokens) = device_poll(&app, TOOL, &device_code).await;
        assert_eq!(status, 200, "{tokens}");

        // Another client's device: refused, nothing decided.
        let (other_code, other_user_code) = device_request(&app, OTHER_TOOL).await;
        let (_, _, page) = browser.get(&app.url("/device"), &app.base_url).await;
        let (status, _, page) = browser
            .submit(&page, &app.base_url, &[("user_code", &other_user_code)])
            .await;
        assert_eq!(status, 403, "{page}");
        assert!(page.contains("Sign in with another account"), "{page}");
        assert!(!page.contains("name=\"decision\""));
        let (status, body) = device_poll(&app, OTHER_TOOL, &other_code).await;
        assert_eq!(status, 400);
        assert_eq!(body["error"], "authorization_pending");

        // A person with no user on the site can not approve the site's device either.
        let (_, site_user_code) = device_request(&app, TOOL).await;
        app.create_user("stranger@example.com").await;
        let stranger = Browser::new();
        let (_, _, page) = stranger.get(&app.url("/device"), &app.base_url).await;
        let (_, _, page) = stranger
            .submit(&page, &app.base_url, &[("email", "stranger@example.com")])
            .await;
        let sent = app.mail.messages_to("stranger@example.com").len();
        let (_, _, page) = stranger
            .submit(&page, &app.base_url, &[("password", PASSWORD)])
            .await;
        let (_, page) = stranger
            .second_step(page, &app.base_url, &app.mail, "stranger@example.com", sent)
            .await;
        let (status, _, page) = stranger
            .submit(&page, &app.base_url, &[("user_code", &site_user_code)])
            .await;
        assert_eq!(status, 403, "{page}");
        assert!(
            page.contains("Sign in to Acme Studio to approve this device"),
            "{page}"
        );
        assert!(
            page.contains(LOGIN_PAGE),
            "the way to the site's login: {page}"
        );
        app
    })
    .await;
}

/// A site user whose legacy site already had an authenticator app signs in with it (the
/// second step asks the app's code), and site 2FA asks nothing more of it.
#[tokio::test]
async fn c3_an_imported_authenticator_app_is_the_second_step() {
    each_backend(|app| async move {
        let users = fixture_users();
        let with_app = users
            .iter()
            .find(|u| u.totp.is_some() && u.role == SiteRole::LicensedUser)
            .expect("a licensed user with an app in the fixture")
            .clone();
        let fx = site_with(&app, MigrationState::Legacy, &users).await;
        require_two_factor(&app, &fx.site).await;
        let secret = data_encoding::BASE32_NOPAD
            .decode(with_app.totp.as_ref().unwrap().as_bytes())
            .unwrap();
        let browser = Browser::new();
        let sent = app.mail.messages_to(&with_app.email).len();
        let (_, at, page) = post_login(
            &app,
            &browser,
            &[("login", &with_app.login), ("password", &with_app.password)],
        )
        .await;
        assert!(at.contains("/login/code"), "{at}");
        assert!(
            page.contains("value=\"totp\""),
            "the app's code is asked: {page}"
        );
        assert_eq!(app.mail.messages_to(&with_app.email).len(), sent, "no mail");
        let (_, at, page) = browser
            .submit(&page, &app.base_url, &[("code", &code_now(&app, &secret))])
            .await;
        assert!(page.contains("name=\"stay\""), "{at}: {page}");
        let (_, at, _) = browser
            .submit(&page, &app.base_url, &[("stay", "no")])
            .await;
        assert!(at.starts_with(REDIRECT), "{at}");
        app
    })
    .await;
}

/// A site user's step-up (B8 for site pages): the site password again through the site's
/// gate, then the second step, back to the site's page; a person is sent to the account's
/// reconfirm page instead.
#[tokio::test]
async fn b8_a_site_user_reconfirms_with_the_site_password() {
    each_backend(|app| async move {
        let user = user_with("$2a$");
        let fx = site_with(&app, MigrationState::Dual, std::slice::from_ref(&user)).await;
        let browser = Browser::new();
        let (at, _) = legacy_sign_in(&app, &browser, &authorize_url(&app, APP, ""), &user).await;
        assert!(at.starts_with(REDIRECT), "{at}");
        let back = "/sites/acme/account/two-factor";
        let page_url = app.url(&format!(
            "/sites/acme/reconfirm?return_to={}",
            crate::helpers::urlencode(back)
        ));
        let (status, _, page) = browser.get(&page_url, &app.base_url).await;
        assert_eq!(status, 200, "{page}");
        assert!(page.contains("Confirm it's you"), "{page}");
        assert!(page.contains(&user.login), "signed in as the login: {page}");
        let su = site_user(&app, &fx.site, &user.login).await;
        let (status, _, wrong) = browser
            .submit(&page, &app.base_url, &[("password", WRONG)])
            .await;
        assert_eq!(status, 400);
        assert!(wrong.contains("The password is not right"), "{wrong}");
        assert_eq!(
            failures(&app, su.principal).await,
            1,
            "the site's gate counted it"
        );
        let sent = app.mail.messages_to(&user.email).len();
        let (_, _, code_page) = browser
            .submit(&wrong, &app.base_url, &[("password", &user.password)])
            .await;
        assert!(code_page.contains("name=\"code\""), "{code_page}");
        let mails = app.mail.wait_for(&user.email, sent + 1).await;
        let code = lanyard_testkit::code_in(&mails[mails.len() - 1].text);
        let response = browser
            .http
            .post(app.url("/login/code"))
            .form(&[
                ("flow", field(&code_page, "flow").as_str()),
                ("csrf_token", field(&code_page, "csrf_token").as_str()),
                ("method", "email"),
                ("code", code.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 303);
        assert_eq!(response.headers()["location"], back);

        // A return to anywhere else falls back to the site user's own page.
        let response = browser
            .http
            .get(app.url("/sites/acme/reconfirm?return_to=%2Faccount%2Fsecurity"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);

        // Nobody signed in: the site's login first, coming back here; an unknown site: 404.
        let response = crate::helpers::http().get(&page_url).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 303);
        let to = response.headers()["location"].to_str().unwrap().to_owned();
        assert!(to.starts_with(&format!("{LOGIN_PAGE}?flow=")), "{to}");
        let response = crate::helpers::http()
            .get(app.url("/sites/nope/reconfirm"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 404);

        // A person linked to the site reconfirms on the account's page.
        let person = app.create_user(&user.email).await;
        repo(&app)
            .link_site_user(su.id, person.id, app.clock.now())
            .await
            .unwrap();
        let linked = Browser::new();
        let back_url = identity_sign_in_at_site(&app, &linked, &user.email).await;
        assert!(back_url.starts_with(REDIRECT), "{back_url}");
        let response = linked.http.get(&page_url).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 303);
        let to = response.headers()["location"].to_str().unwrap().to_owned();
        assert_eq!(
            to,
            format!(
                "/account/reconfirm?return_to={}",
                crate::helpers::urlencode(back)
            )
        );
        app
    })
    .await;
}
