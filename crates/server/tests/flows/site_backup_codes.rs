//! A site user's sets of ten backup codes over HTTP (C4; S34 and S35 applied to sets):
//! shown once at the end of the site's two-factor set-up ("Verify and Save") with a text file
//! `<site>_backup_codes_<login>.txt` from the server; each works once at sign-in instead of the
//! app, also when fifty sign-ins on two nodes send the same one; "Show Backup Codes" after the
//! password, used codes marked; "Generate new codes" only with a fresh step-up by a factor
//! older than the session, and then no old code works; bad, replayed and unauthorised input
//! changes nothing. Every test runs on both backends.

use std::sync::Arc;

use lanyard_core::Clock as _;
use lanyard_core::model::{AuditEvent, MigrationState, SiteUser};
use lanyard_core::ports::{AuditRepo as _, MfaRepo as _};
use lanyard_mfa::totp;
use lanyard_server::config::Config;
use lanyard_testkit::{Backend, Browser, TestApp};

use crate::helpers::{
    REDIRECT, database_snapshot, each_backend, field, get_reply, post, reply, side_connection,
    totp_secret_from,
};
use crate::site_login::{
    APP, Fixture, Legacy, fixture_users, legacy_sign_in, require_two_factor, site_user, site_with,
    user_with,
};

const CODES_PAGE: &str = "/sites/acme/two-factor/codes/";
const ACCOUNT_PAGE: &str = "/sites/acme/account/two-factor";
const REGENERATE: &str = "/sites/acme/account/two-factor/regenerate";
const WRONG_BACKUP: &str = "The backup code is not right";

// ---- Driving the pages ----

fn start(app: &TestApp) -> String {
    crate::helpers::authorize_url(app, APP, "")
}

fn code_now(app: &TestApp, secret: &[u8]) -> String {
    totp::code_at_step(secret, totp::step_at(app.clock.now().seconds())).unwrap()
}

/// The codes listed on a codes page, in order, and whether each is marked used.
fn codes_on(page: &str) -> Vec<(String, bool)> {
    let open = "<ol class=\"secret-block code-list\">";
    let start = page
        .find(open)
        .unwrap_or_else(|| panic!("no codes on: {page}"))
        + open.len();
    let end = page[start..].find("</ol>").unwrap() + start;
    page[start..end]
        .split("<li")
        .skip(1)
        .map(|item| {
            let used = item.starts_with(" class=\"code-used\"");
            let text = crate::helpers::code_text(&format!("<li{item}"));
            let code = text.trim().trim_end_matches("used").trim().to_owned();
            (code, used)
        })
        .collect()
}

fn unused_codes_on(page: &str) -> Vec<String> {
    codes_on(page)
        .into_iter()
        .filter(|(_, used)| !used)
        .map(|(code, _)| code)
        .collect()
}

/// A site user that has just set up the site's required app: its browser (signed in), the
/// app's secret, the codes page it landed on and where.
struct SetUp {
    browser: Browser,
    secret: Vec<u8>,
    page: String,
    at: String,
}

/// The site `acme` (legacy) with the fixture's users and site 2FA required.
async fn site(app: &TestApp) -> Fixture {
    let fx = site_with(app, MigrationState::Legacy, &fixture_users()).await;
    require_two_factor(app, &fx.site).await;
    fx
}

/// `user`'s first legacy login on a 2FA site, through "Verify and Save": the first codes page.
async fn set_up(app: &TestApp, user: &Legacy) -> SetUp {
    let browser = Browser::new();
    let (at, page) = legacy_sign_in(app, &browser, &start(app), user).await;
    assert!(at.contains("/login/authenticator"), "{at}");
    let secret = totp_secret_from(&page);
    let (status, at, page) = browser
        .submit(&page, &app.base_url, &[("code", &code_now(app, &secret))])
        .await;
    assert_eq!(status, 200, "{at}: {page}");
    assert!(at.contains(CODES_PAGE), "{at}");
    assert!(page.contains("Save your backup codes"), "{page}");
    SetUp {
        browser,
        secret,
        page,
        at,
    }
}

/// The set-up of `user` finished: codes saved, back at the app. The ten codes.
async fn set_up_and_save(app: &TestApp, user: &Legacy) -> (SetUp, Vec<String>) {
    let s = set_up(app, user).await;
    let codes = unused_codes_on(&s.page);
    let (_, at, _) = s
        .browser
        .submit(&s.page, &app.base_url, &[("saved", "yes")])
        .await;
    assert!(at.starts_with(REDIRECT), "{at}");
    (s, codes)
}

/// A legacy login of `user` in `browser` on `app`, past the password, at the backup code
/// question: that page.
async fn backup_question(app: &TestApp, browser: &Browser, user: &Legacy) -> String {
    let base = &app.base_url;
    let (_, at, page) = browser.get(&start(app), base).await;
    assert!(at.contains("/sites/acme/login"), "{at}");
    let (status, at, page) = browser
        .submit(
            &page,
            base,
            &[("login", &user.login), ("password", &user.password)],
        )
        .await;
    assert_eq!(status, 200, "{at}: {page}");
    assert!(at.contains("/login/code?flow="), "{at}");
    let flow = field(&page, "flow");
    let (status, _, page) = browser
        .get(
            &app.url(&format!("/login/code?flow={flow}&method=backup")),
            base,
        )
        .await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Enter your backup code"), "{page}");
    page
}

/// A whole sign-in of `user` with backup code `code`: where it ended.
async fn sign_in_with(app: &TestApp, user: &Legacy, code: &str) -> (Browser, String, String) {
    let browser = Browser::new();
    let page = backup_question(app, &browser, user).await;
    let (status, at, page) = browser
        .submit(&page, &app.base_url, &[("code", code)])
        .await;
    if status == 400 {
        return (browser, at, page);
    }
    let (at, page) = if page.contains("name=\"stay\"") {
        let (_, at, page) = browser
            .submit(&page, &app.base_url, &[("stay", "no")])
            .await;
        (at, page)
    } else {
        (at, page)
    };
    (browser, at, page)
}

async fn audits(app: &TestApp, kind: &str) -> Vec<AuditEvent> {
    app.app
        .stores
        .sql
        .list_audit(Some(kind), 1000)
        .await
        .unwrap()
}

async fn unused(app: &TestApp, user: &SiteUser) -> u32 {
    app.app
        .state
        .mfa
        .unused_backup_set_codes(user.principal)
        .await
        .unwrap()
}

async fn failures(app: &TestApp, user: &SiteUser) -> u32 {
    app.app
        .stores
        .sql
        .mfa_state(user.principal)
        .await
        .unwrap()
        .failures
}

/// The rows of the two backup-code tables, as text.
async fn set_rows(app: &TestApp) -> Vec<String> {
    let db = side_connection(app).await;
    let snapshot = database_snapshot(&db).await;
    let _ = db.close().await;
    ["backup_code_sets", "backup_code_set_codes"]
        .iter()
        .flat_map(|t| snapshot.get(*t).cloned().unwrap_or_default())
        .collect()
}

/// GET with `browser`'s cookies, no redirect followed: status, headers, body.
async fn fetch(browser: &Browser, url: &str) -> (u16, reqwest::header::HeaderMap, String) {
    let response = browser.http.get(url).send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap())
}

fn header<'a>(headers: &'a reqwest::header::HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

// ---- The first set ----

#[tokio::test]
async fn c4_the_site_2fa_set_up_ends_with_ten_codes_shown_once_with_a_text_file_then_the_app() {
    each_backend(|app| async move {
        let user = user_with("$2a$");
        let fx = site(&app).await;
        let s = set_up(&app, &user).await;
        let su = site_user(&app, &fx.site, &user.login).await;
        let codes = codes_on(&s.page);
        assert_eq!(codes.len(), 10);
        for (code, used) in &codes {
            assert!(!used);
            assert_eq!(code.len(), 11, "{code}");
            assert_eq!(&code[5..6], "-", "{code}");
        }
        let distinct: std::collections::HashSet<_> = codes.iter().map(|(c, _)| c).collect();
        assert_eq!(distinct.len(), 10);
        assert!(s.page.contains("Acme Studio"));
        assert!(s.page.contains("use your browser's Print command"));
        assert_eq!(unused(&app, &su).await, 10);
        assert_eq!(audits(&app, "mfa.backup_code_set.generated").await.len(), 1);

        // "Save to Text File": an attachment named after the site and the login, no-store.
        let id = s.at[s.at.find(CODES_PAGE).unwrap() + CODES_PAGE.len()..]
            .split('?')
            .next()
            .unwrap()
            .to_owned();
        let download = app.url(&format!("{CODES_PAGE}{id}/download"));
        let (status, headers, text) = fetch(&s.browser, &download).await;
        assert_eq!(status, 200, "{text}");
        assert_eq!(
            header(&headers, "content-disposition"),
            format!(
                "attachment; filename=\"acme_backup_codes_{0}.txt\"; \
                 filename*=UTF-8''acme_backup_codes_{0}.txt",
                user.login
            )
        );
        assert_eq!(
            header(&headers, "content-type"),
            "text/plain; charset=utf-8"
        );
        assert_eq!(header(&headers, "cache-control"), "no-store");
        for (code, _) in &codes {
            assert!(text.contains(&format!("\n{code}\n")), "{code} in {text}");
        }
        assert!(text.starts_with(&format!("Backup codes for {} at Acme Studio", user.login)));

        // Stored as keyed hashes and one sealed copy: no code in the database, in any form.
        let rows = set_rows(&app).await.join("\n");
        assert!(!rows.is_empty());
        for (code, _) in &codes {
            for form in [code.clone(), code.replace('-', ""), code.to_lowercase()] {
                assert!(!rows.contains(&form), "{form} stored in clear");
            }
        }

        // The hand-off replayed makes no second set.
        let before = set_rows(&app).await;
        let flow = crate::helpers::query_param(&s.at, "flow").unwrap();
        let replay = get_reply(
            &app,
            &s.browser,
            &format!("/sites/acme/two-factor/first-codes?flow={flow}"),
        )
        .await;
        assert_eq!(replay.status, 303);
        assert!(
            replay.location.starts_with("/authorize/continue?flow="),
            "{}",
            replay.location
        );
        assert_eq!(set_rows(&app).await, before);

        // Shown once: a reload shows none of them.
        let reload = get_reply(&app, &s.browser, &s.at[app.base_url.len()..]).await;
        assert_eq!(reload.status, 200);
        assert_eq!(reload.cache_control, "no-store");
        assert!(
            reload.body.contains("These backup codes were shown once"),
            "{}",
            reload.body
        );
        assert!(codes.iter().all(|(c, _)| !reload.body.contains(c.as_str())));

        // The tick missed: the same codes again, with the error; the file still downloads.
        let (status, _, page) = s.browser.submit(&s.page, &app.base_url, &[]).await;
        assert_eq!(status, 400, "{page}");
        assert!(
            page.contains("Save these backup codes, then tick"),
            "{page}"
        );
        assert_eq!(codes_on(&page), codes);
        assert_eq!(fetch(&s.browser, &download).await.0, 200);

        // Ticked: on to the app with a code; the entry is gone with it.
        let (_, at, _) = s
            .browser
            .submit(&page, &app.base_url, &[("saved", "yes")])
            .await;
        assert!(at.starts_with(REDIRECT), "{at}");
        assert!(crate::helpers::query_param(&at, "code").is_some());
        let (status, _, body) = fetch(&s.browser, &download).await;
        assert_eq!(status, 404);
        assert!(codes.iter().all(|(c, _)| !body.contains(c.as_str())));
        assert_eq!(unused(&app, &su).await, 10);
        app
    })
    .await;
}

/// Two tabs (or a double click) finishing one set-up reach the first-codes hand-off together:
/// one shows a set, the others go on to the app; one set is made, and it is the one shown.
#[tokio::test]
async fn c4_tabs_racing_the_first_codes_page_make_one_set() {
    each_backend(|app| async move {
        let user = user_with("$2a$");
        let fx = site(&app).await;
        let browser = Browser::new();
        let (_, page) = legacy_sign_in(&app, &browser, &start(&app), &user).await;
        let secret = totp_secret_from(&page);
        let action = lanyard_testkit::form_action(&page).unwrap();
        let mut fields = lanyard_testkit::hidden_inputs(&page);
        fields.push(("code".to_owned(), code_now(&app, &secret)));
        let fields: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let verified = post(&app, &browser, &action, &fields).await;
        assert_eq!(verified.status, 303, "{}", verified.body);
        let hand_off = verified.location;
        assert!(
            hand_off.contains("/two-factor/first-codes?flow="),
            "{hand_off}"
        );

        let tabs = (0..8).map(|_| get_reply(&app, &browser, &hand_off));
        let replies = futures_util::future::join_all(tabs).await;
        let shown: Vec<_> = replies
            .iter()
            .filter(|r| r.location.starts_with(CODES_PAGE))
            .collect();
        assert_eq!(shown.len(), 1, "one tab shows a set");
        for r in &replies {
            assert_eq!(r.status, 303);
            assert!(
                r.location.starts_with(CODES_PAGE)
                    || r.location.starts_with("/authorize/continue?flow="),
                "{}",
                r.location
            );
        }
        assert_eq!(audits(&app, "mfa.backup_code_set.generated").await.len(), 1);
        let su = site_user(&app, &fx.site, &user.login).await;
        assert_eq!(unused(&app, &su).await, 10);
        let (_, _, page) = browser
            .get(&app.url(&shown[0].location), &app.base_url)
            .await;
        let codes = unused_codes_on(&page);
        let (_, at, _) = sign_in_with(&app, &user, &codes[3]).await;
        assert!(
            at.starts_with(REDIRECT),
            "the shown set is the stored one: {at}"
        );
        app
    })
    .await;
}

// ---- S33: what each second step of a legacy login is worth ----

/// The ID token's `acr` after a legacy sign-in that ended at `at` (the app's redirect).
async fn acr_after(app: &TestApp, fx: &Fixture, at: &str) -> String {
    assert!(at.starts_with(REDIRECT), "{at}");
    let code = crate::helpers::query_param(at, "code").unwrap();
    let response =
        crate::helpers::redeem(app, APP, &fx.secret, &code, crate::helpers::VERIFIER).await;
    let (status, tokens) = crate::helpers::json(response).await;
    assert_eq!(status, 200, "{tokens}");
    let claims = crate::helpers::jwt_claims(tokens["id_token"].as_str().unwrap());
    claims["acr"].as_str().unwrap_or_default().to_owned()
}

/// S33 on the legacy path, the rule the identity login follows
/// (mfa_email_backup::s33_an_emailed_code_signs_in_at_loa2_and_a_backup_code_at_loa3): an
/// emailed code is `urn:lanyard:loa:2`, the site's authenticator app and a code of its set
/// `urn:lanyard:loa:3`.
#[tokio::test]
async fn s33_a_legacy_login_is_loa2_with_an_emailed_code_and_loa3_with_the_app_or_a_set_code() {
    each_backend(|app| async move {
        let user = user_with("$2a$");
        let fx = site_with(&app, MigrationState::Legacy, &fixture_users()).await;
        let (at, _) = legacy_sign_in(&app, &Browser::new(), &start(&app), &user).await;
        assert_eq!(acr_after(&app, &fx, &at).await, "urn:lanyard:loa:2");

        require_two_factor(&app, &fx.site).await;
        let (s, codes) = set_up_and_save(&app, &user).await;
        app.clock.advance(30);
        let browser = Browser::new();
        let (_, at, page) = browser.get(&start(&app), &app.base_url).await;
        assert!(at.contains("/sites/acme/login"), "{at}");
        let (_, _, page) = browser
            .submit(
                &page,
                &app.base_url,
                &[("login", &user.login), ("password", &user.password)],
            )
            .await;
        assert!(page.contains("authenticator app"), "{page}");
        let (_, mut at, page) = browser
            .submit(
                &page,
                &app.base_url,
                &[("code", &code_now(&app, &s.secret))],
            )
            .await;
        if page.contains("name=\"stay\"") {
            (_, at, _) = browser
                .submit(&page, &app.base_url, &[("stay", "no")])
                .await;
        }
        assert_eq!(acr_after(&app, &fx, &at).await, "urn:lanyard:loa:3");

        let (_, at, _) = sign_in_with(&app, &user, &codes[0]).await;
        assert_eq!(acr_after(&app, &fx, &at).await, "urn:lanyard:loa:3");
        app
    })
    .await;
}

// ---- Using them, and seeing them again ----

#[tokio::test]
async fn c4_each_code_signs_in_once_and_show_backup_codes_asks_the_password_and_marks_it_used() {
    each_backend(|app| async move {
        let user = user_with("$2a$");
        let fx = site(&app).await;
        let (_, codes) = set_up_and_save(&app, &user).await;
        let su = site_user(&app, &fx.site, &user.login).await;
        app.clock.advance(60);

        // Typed in lower case with a space for the dash: the same code, once.
        let typed = codes[0].to_lowercase().replace('-', " ");
        let (browser, at, _) = sign_in_with(&app, &user, &typed).await;
        assert!(at.starts_with(REDIRECT), "{at}");
        assert_eq!(unused(&app, &su).await, 9);
        assert_eq!(audits(&app, "mfa.backup_code.used").await.len(), 1);
        let (_, _, page) = sign_in_with(&app, &user, &codes[0]).await;
        assert!(page.contains(WRONG_BACKUP), "a used code: {page}");
        assert_eq!(
            failures(&app, &su).await,
            1,
            "counted like any wrong code (S30)"
        );

        // The two-factor page: how many are left, and the password before any code.
        let (status, _, page) = browser.get(&app.url(ACCOUNT_PAGE), &app.base_url).await;
        assert_eq!(status, 200, "{page}");
        assert!(
            page.contains("You have 9 unused backup codes of 10."),
            "{page}"
        );
        assert!(codes.iter().all(|c| !page.contains(c.as_str())));
        let (status, _, wrong) = browser
            .submit(&page, &app.base_url, &[("password", "not the password")])
            .await;
        assert_eq!(status, 400);
        assert!(wrong.contains("The password is not right"), "{wrong}");
        assert!(codes.iter().all(|c| !wrong.contains(c.as_str())));
        let (status, _, empty) = browser
            .submit(&page, &app.base_url, &[("password", "")])
            .await;
        assert_eq!(status, 400);
        assert!(empty.contains("Enter your password."), "{empty}");
        assert!(audits(&app, "mfa.backup_code_set.shown").await.is_empty());

        let (status, at, shown) = browser
            .submit(&page, &app.base_url, &[("password", &user.password)])
            .await;
        assert_eq!(status, 200, "{shown}");
        assert!(at.contains(CODES_PAGE), "{at}");
        assert!(shown.contains("Your backup codes</h1>"), "{shown}");
        let listed = codes_on(&shown);
        let expected: Vec<(String, bool)> = codes
            .iter()
            .enumerate()
            .map(|(i, c)| (c.clone(), i == 0))
            .collect();
        assert_eq!(listed, expected, "in order, the used one marked");
        assert!(shown.contains("<span class=\"code-state\">used</span>"));
        assert!(shown.contains("9 of 10 codes left."));
        assert!(shown.contains(&format!("href=\"{REGENERATE}\">Generate new codes</a>")));
        assert_eq!(audits(&app, "mfa.backup_code_set.shown").await.len(), 1);
        let id = at[at.find(CODES_PAGE).unwrap() + CODES_PAGE.len()..].to_owned();
        let (status, _, text) =
            fetch(&browser, &app.url(&format!("{CODES_PAGE}{id}/download"))).await;
        assert_eq!(status, 200);
        assert!(
            text.contains(&format!("\n{}  (used)\n", codes[0])),
            "{text}"
        );
        assert!(text.contains(&format!("\n{}\n", codes[1])), "{text}");

        // Every other code works once.
        for code in &codes[1..3] {
            app.clock.advance(1);
            let (_, at, _) = sign_in_with(&app, &user, code).await;
            assert!(at.starts_with(REDIRECT), "{at}");
        }
        assert_eq!(unused(&app, &su).await, 7);
        app
    })
    .await;
}

// ---- S34: one code, fifty sign-ins, two nodes ----

/// Room for 49 wrong answers without a lock: the test measures single use.
fn room_for_fifty(config: &mut Config) {
    config.mfa.backoff_after = 60;
    config.mfa.hard_limit = 100;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn s34_one_set_code_sent_by_fifty_sign_ins_on_two_app_instances_works_once() {
    for backend in Backend::available() {
        let a = TestApp::spawn_with(backend, room_for_fifty).await;
        let b = crate::helpers::second_node(&a, room_for_fifty).await;
        b.clock.set(a.clock.now());
        let user = user_with("$2a$");
        let fx = site(&a).await;
        let (_, codes) = set_up_and_save(&a, &user).await;
        let su = site_user(&a, &fx.site, &user.login).await;
        a.clock.advance(10);
        b.clock.advance(10);

        // Twenty-five sign-ins on each node, each at the backup code question.
        let nodes = [&a, &b];
        let mut sign_ins = Vec::new();
        for (node, app) in nodes.iter().enumerate() {
            for _ in 0..25 {
                let browser = Browser::new();
                let page = backup_question(app, &browser, &user).await;
                let fields: Vec<(String, String)> = vec![
                    ("csrf_token".to_owned(), field(&page, "csrf_token")),
                    ("flow".to_owned(), field(&page, "flow")),
                    ("method".to_owned(), "backup".to_owned()),
                    ("code".to_owned(), codes[3].clone()),
                ];
                sign_ins.push((node, app.url("/login/code"), browser, fields));
            }
        }
        let n = sign_ins.len();
        assert_eq!(n, 50);
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
        let (lost, won): (Vec<_>, Vec<_>) = replies
            .into_iter()
            .partition(|(_, r)| r.status == 400 && r.body.contains(WRONG_BACKUP));
        assert_eq!(won.len(), 1, "{backend:?} (node, status): {statuses:?}");
        assert_eq!(
            lost.len(),
            n - 1,
            "{backend:?} (node, status): {statuses:?}"
        );

        // One database: both nodes see one use, one audit of it, 49 failures.
        for app in nodes {
            assert_eq!(unused(app, &su).await, 9);
            assert_eq!(audits(app, "mfa.backup_code.used").await.len(), 1);
            assert_eq!(audits(app, "mfa.backup_code.verified").await.len(), 1);
            assert_eq!(audits(app, "mfa.backup_code.failed").await.len(), n - 1);
        }
        // The other nine still work, on either node.
        let (_, at, _) = sign_in_with(&b, &user, &codes[4]).await;
        assert!(at.starts_with(REDIRECT), "{at}");
        b.cleanup().await;
        a.cleanup().await;
    }
}

// ---- S35: Generate new codes ----

/// A reconfirmation (the site password, then the second step with `answer` of `method`)
/// started by `url` in `browser`: where it ended and that page.
async fn reconfirm(
    app: &TestApp,
    browser: &Browser,
    url: &str,
    user: &Legacy,
    (method, answer): (&str, &str),
) -> (u16, String, String) {
    let base = &app.base_url;
    let (status, at, page) = browser.get(&app.url(url), base).await;
    assert_eq!(status, 200, "{at}: {page}");
    assert!(at.contains("/sites/acme/reconfirm"), "{at}");
    let (_, at, page) = browser
        .submit(&page, base, &[("password", &user.password)])
        .await;
    assert!(at.contains("/login/code?flow="), "{at}: {page}");
    let flow = field(&page, "flow");
    let (_, _, page) = browser
        .get(
            &app.url(&format!("/login/code?flow={flow}&method={method}")),
            base,
        )
        .await;
    browser.submit(&page, base, &[("code", answer)]).await
}

#[tokio::test]
async fn s35_generate_new_codes_needs_a_fresh_step_up_with_a_factor_older_than_the_session() {
    each_backend(|app| async move {
        let user = user_with("$2a$");
        let fx = site(&app).await;
        let (s, old) = set_up_and_save(&app, &user).await;
        let su = site_user(&app, &fx.site, &user.login).await;
        let window = app.config.mfa.step_up_window_secs;

        // The set-up session is stale after the window: the confirmation sends it to
        // reconfirm, and a post (with its CSRF token) changes nothing.
        app.clock.advance(window + 1);
        let first = get_reply(&app, &s.browser, REGENERATE).await;
        assert_eq!(first.status, 303);
        assert!(
            first
                .location
                .starts_with("/sites/acme/reconfirm?return_to="),
            "{}",
            first.location
        );
        let (_, _, account) = s.browser.get(&app.url(ACCOUNT_PAGE), &app.base_url).await;
        let before = set_rows(&app).await;
        let stale = post(
            &app,
            &s.browser,
            REGENERATE,
            &[("csrf_token", &field(&account, "csrf_token"))],
        )
        .await;
        assert_eq!(stale.status, 303);
        assert!(
            stale.location.starts_with("/sites/acme/reconfirm"),
            "{}",
            stale.location
        );
        assert_eq!(set_rows(&app).await, before);

        // CVE-2023-3597: in the session that set them up, neither the app nor the codes can
        // vouch for it; not a guess either.
        let app_code = code_now(&app, &s.secret);
        let (status, _, page) =
            reconfirm(&app, &s.browser, REGENERATE, &user, ("totp", &app_code)).await;
        assert_eq!(status, 400, "{page}");
        assert!(page.contains("set up just now"), "{page}");
        let (status, _, page) =
            reconfirm(&app, &s.browser, REGENERATE, &user, ("backup", &old[0])).await;
        assert_eq!(status, 400, "{page}");
        assert!(page.contains("were made after you signed in"), "{page}");
        assert_eq!(failures(&app, &su).await, 0);
        assert_eq!(unused(&app, &su).await, 10);
        assert_eq!(get_reply(&app, &s.browser, REGENERATE).await.status, 303);
        assert_eq!(set_rows(&app).await, before);

        // A later session, reconfirmed with the app: the confirmation, then ten new codes.
        app.clock.advance(60);
        let (later, at, _) = sign_in_with(&app, &user, &old[1]).await;
        assert!(at.starts_with(REDIRECT), "{at}");
        app.clock.advance(window + 1);
        let (status, at, confirm) = reconfirm(
            &app,
            &later,
            REGENERATE,
            &user,
            ("totp", &code_now(&app, &s.secret)),
        )
        .await;
        assert_eq!(status, 200, "{at}: {confirm}");
        assert!(at.ends_with(REGENERATE), "{at}");
        assert!(confirm.contains("Generate new backup codes?"), "{confirm}");
        let (status, at, page) = later.submit(&confirm, &app.base_url, &[]).await;
        assert_eq!(status, 200, "{page}");
        assert!(at.contains(CODES_PAGE), "{at}");
        assert!(page.contains("Your new backup codes"), "{page}");
        assert!(page.contains("Your old backup codes no longer work."));
        let new = unused_codes_on(&page);
        assert_eq!(new.len(), 10);
        assert!(new.iter().all(|c| !old.contains(c)));
        let (_, at, _) = later
            .submit(&page, &app.base_url, &[("saved", "yes")])
            .await;
        assert!(at.ends_with(ACCOUNT_PAGE), "{at}");
        assert_eq!(audits(&app, "mfa.backup_code_set.generated").await.len(), 2);
        assert_eq!(unused(&app, &su).await, 10);

        // Every old code is refused now, and counted (S30); a new one works.
        for code in &old[2..5] {
            app.clock.advance(1);
            let (_, _, page) = sign_in_with(&app, &user, code).await;
            assert!(page.contains(WRONG_BACKUP), "{page}");
        }
        assert_eq!(failures(&app, &su).await, 3);
        let (_, at, _) = sign_in_with(&app, &user, &new[0]).await;
        assert!(at.starts_with(REDIRECT), "{at}");
        assert_eq!(failures(&app, &su).await, 0);
        app
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn s35_old_codes_sent_while_new_codes_are_generated_never_work_after() {
    for backend in Backend::available() {
        let app = TestApp::spawn_with(backend, room_for_fifty).await;
        let user = user_with("$2a$");
        let fx = site(&app).await;
        let (s, old) = set_up_and_save(&app, &user).await;
        let su = site_user(&app, &fx.site, &user.login).await;
        // The set-up session is still fresh: its confirmation page has the form.
        let (_, _, confirm) = s.browser.get(&app.url(REGENERATE), &app.base_url).await;
        assert!(confirm.contains("Generate new backup codes?"), "{confirm}");

        // Ten sign-ins, each with another old code, and the regeneration, released together.
        let mut sign_ins = Vec::new();
        for code in &old {
            let browser = Browser::new();
            let page = backup_question(&app, &browser, &user).await;
            let fields: Vec<(String, String)> = vec![
                ("csrf_token".to_owned(), field(&page, "csrf_token")),
                ("flow".to_owned(), field(&page, "flow")),
                ("method".to_owned(), "backup".to_owned()),
                ("code".to_owned(), code.clone()),
            ];
            sign_ins.push((app.url("/login/code"), browser, fields));
        }
        sign_ins.push((
            app.url(REGENERATE),
            s.browser,
            vec![("csrf_token".to_owned(), field(&confirm, "csrf_token"))],
        ));
        let barrier = Arc::new(tokio::sync::Barrier::new(sign_ins.len()));
        let tasks: Vec<_> = sign_ins
            .into_iter()
            .map(|(url, browser, fields)| {
                let barrier = barrier.clone();
                tokio::spawn(async move {
                    barrier.wait().await;
                    let response = browser.http.post(&url).form(&fields).send().await.unwrap();
                    reply(response).await
                })
            })
            .collect();
        let mut replies = Vec::new();
        for task in tasks {
            replies.push(task.await.unwrap());
        }
        let regenerated = replies.pop().unwrap();
        assert_eq!(regenerated.status, 303, "{}", regenerated.body);
        assert!(
            regenerated.location.contains(CODES_PAGE),
            "{}",
            regenerated.location
        );

        // Old codes that won did so on the old set; the new set is whole, and from now on no
        // old code works.
        let won = replies.iter().filter(|r| r.status != 400).count();
        assert_eq!(
            unused(&app, &su).await,
            10,
            "{won} old codes won before the swap"
        );
        app.clock.advance(60);
        for code in &old {
            let (_, _, page) = sign_in_with(&app, &user, code).await;
            assert!(page.contains(WRONG_BACKUP), "{page}");
        }
        app.cleanup().await;
    }
}

// ---- Bad, replayed and unauthorised input ----

#[tokio::test]
async fn c4_bad_replayed_and_unauthorised_input_is_refused_and_changes_nothing() {
    each_backend(|app| async move {
        let bob = user_with("$2a$");
        let carol = user_with("$2y$");
        site(&app).await;
        let (bob_s, _) = set_up_and_save(&app, &bob).await;
        let (carol_s, _) = set_up_and_save(&app, &carol).await;

        // Bob's codes on their page again: an id only his session may open.
        let (_, _, page) = bob_s
            .browser
            .get(&app.url(ACCOUNT_PAGE), &app.base_url)
            .await;
        let (_, at, shown) = bob_s
            .browser
            .submit(&page, &app.base_url, &[("password", &bob.password)])
            .await;
        assert!(at.contains(CODES_PAGE), "{at}");
        let bobs = unused_codes_on(&shown);
        let id = at[at.find(CODES_PAGE).unwrap() + CODES_PAGE.len()..].to_owned();
        let rows = set_rows(&app).await;
        let generated = audits(&app, "mfa.backup_code_set.generated").await.len();

        // Another site user's session: nothing of Bob's, by page or by download.
        for path in [
            format!("{CODES_PAGE}{id}"),
            format!("{CODES_PAGE}{id}/download"),
        ] {
            let r = get_reply(&app, &carol_s.browser, &path).await;
            assert_eq!(r.status, 404, "{path}: {}", r.body);
            assert!(bobs.iter().all(|c| !r.body.contains(c.as_str())), "{path}");
        }
        // No session: sent to the site's login, nothing shown or saved.
        let nobody = Browser::new();
        for path in [
            ACCOUNT_PAGE.to_owned(),
            REGENERATE.to_owned(),
            format!("{CODES_PAGE}{id}"),
            format!("{CODES_PAGE}{id}/download"),
        ] {
            let r = get_reply(&app, &nobody, &path).await;
            assert_eq!(r.status, 303, "{path}");
            assert!(
                r.location.starts_with("/sites/acme/login?flow="),
                "{path}: {}",
                r.location
            );
            assert!(bobs.iter().all(|c| !r.body.contains(c.as_str())));
        }
        // Malformed and unknown ids; an unknown site.
        for bad in ["x", &"A".repeat(43), &"A".repeat(500), "..%2F..%2Faccount"] {
            let r = get_reply(&app, &bob_s.browser, &format!("{CODES_PAGE}{bad}/download")).await;
            assert_eq!(r.status, 404, "{bad}");
        }
        assert_eq!(
            get_reply(&app, &bob_s.browser, "/sites/nope/account/two-factor")
                .await
                .status,
            404
        );

        // Form posts without their CSRF token: refused before anything is looked at.
        for (path, fields) in [
            (
                ACCOUNT_PAGE.to_owned(),
                vec![("password", bob.password.as_str())],
            ),
            (REGENERATE.to_owned(), vec![]),
            (format!("{CODES_PAGE}{id}"), vec![("saved", "yes")]),
        ] {
            let r = post(&app, &bob_s.browser, &path, &fields).await;
            assert!(
                r.status == 400 || r.status == 403,
                "{path}: {} {}",
                r.status,
                r.body
            );
            assert!(bobs.iter().all(|c| !r.body.contains(c.as_str())));
        }
        // The still-open entry survives those posts and still downloads.
        let r = get_reply(&app, &bob_s.browser, &format!("{CODES_PAGE}{id}/download")).await;
        assert_eq!(r.status, 200);
        // An oversized password is no guess and shows nothing.
        let (_, _, page) = bob_s
            .browser
            .get(&app.url(ACCOUNT_PAGE), &app.base_url)
            .await;
        let huge = "p".repeat(5000);
        let (status, _, refused) = bob_s
            .browser
            .submit(&page, &app.base_url, &[("password", &huge)])
            .await;
        assert!(status == 400 || status == 413, "{status}");
        assert!(bobs.iter().all(|c| !refused.contains(c.as_str())));

        assert_eq!(set_rows(&app).await, rows, "no set changed");
        assert_eq!(
            audits(&app, "mfa.backup_code_set.generated").await.len(),
            generated
        );
        app
    })
    .await;
}

#[tokio::test]
async fn c4_a_site_without_2fa_gives_no_codes_and_a_principal_without_an_app_can_not_make_them() {
    each_backend(|app| async move {
        let user = user_with("$2a$");
        let fx = site_with(&app, MigrationState::Legacy, &fixture_users()).await;
        let browser = Browser::new();
        let (at, _) = legacy_sign_in(&app, &browser, &start(&app), &user).await;
        assert!(at.starts_with(REDIRECT), "{at}");
        let su = site_user(&app, &fx.site, &user.login).await;
        assert!(
            !app.app
                .state
                .mfa
                .has_backup_code_set(su.principal)
                .await
                .unwrap()
        );
        let (status, _, page) = browser.get(&app.url(ACCOUNT_PAGE), &app.base_url).await;
        assert_eq!(status, 200);
        assert!(
            page.contains("You have no backup codes for Acme Studio."),
            "{page}"
        );
        // Fresh from the sign-in, yet without an app there is nothing to back up.
        let r = get_reply(&app, &browser, REGENERATE).await;
        assert_eq!(r.status, 303);
        assert_eq!(r.location, ACCOUNT_PAGE);
        // Any page's form carries this browser's CSRF token: the site's login page has one.
        let (_, _, with_form) = browser
            .get(
                &app.url("/sites/acme/login?return_to=%2Fsites%2Facme%2Faccount%2Ftwo-factor"),
                &app.base_url,
            )
            .await;
        let r = post(
            &app,
            &browser,
            REGENERATE,
            &[("csrf_token", &field(&with_form, "csrf_token"))],
        )
        .await;
        assert_eq!(r.status, 303);
        assert_eq!(r.location, ACCOUNT_PAGE);
        assert!(
            !app.app
                .state
                .mfa
                .has_backup_code_set(su.principal)
                .await
                .unwrap()
        );
        app
    })
    .await;
}
