//! `lanyard site …` as an operator uses it (C1, C2, C5): create, list, import (CSV and JSON,
//! all-or-nothing, idempotent, every problem on standard error with its row and exit status
//! 65), users, migrate (one step at a time; identity erases the legacy credentials), the
//! two-factor preference, progress. Bad input changes nothing.

use std::path::{Path, PathBuf};

use lanyard_core::Clock;
use lanyard_core::model::{AccountStatus, MigrationState};
use lanyard_core::ports::{AccountRepo, AuditRepo, MfaRepo, SiteRepo};
use lanyard_testkit::{Browser, TestApp};
use serde_json::Value;

use crate::helpers::{REDIRECT, authorize_url, confidential, each_backend, lanyard_cli};
use crate::site_login::{APP, fixture_users, legacy_sign_in, site_with, user_with};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../sites/tests/fixtures")
        .join(name)
}

/// `lanyard <args>`: (exit status, stdout, stderr).
async fn cli(app: &TestApp, args: &[&str]) -> (i32, String, String) {
    let out = lanyard_cli(app, args, "").await;
    (
        out.status.code().unwrap_or(-1),
        text(&out.stdout),
        text(&out.stderr),
    )
}

async fn ok(app: &TestApp, args: &[&str]) -> String {
    let (code, stdout, stderr) = cli(app, args).await;
    assert_eq!(code, 0, "{args:?}: {stdout}\n{stderr}");
    stdout
}

async fn json(app: &TestApp, args: &[&str]) -> Value {
    let mut args = args.to_vec();
    args.push("--json");
    let stdout = ok(app, &args).await;
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{args:?}: {e}: {stdout}"))
}

/// A file in the test's own folder.
fn write(app: &TestApp, name: &str, content: &str) -> String {
    let dir = app.config.server.data_dir.parent().unwrap().to_owned();
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path.display().to_string()
}

async fn site_with_fixture(app: &TestApp) {
    app.create_client(confidential("intranet")).await.unwrap();
    ok(
        app,
        &[
            "site", "create", "--slug", "acme", "--name", "Acme", "--client", "intranet",
        ],
    )
    .await;
    let csv = fixture("legacy_users.csv");
    ok(
        app,
        &["site", "import", "--site", "acme", csv.to_str().unwrap()],
    )
    .await;
}

const BCRYPT: &str = "$2b$04$EGdrhbKUv8Oc9vGiXX0HQOxSg445d458Muh7DAHskb6QbtCvdxcie";

#[tokio::test]
async fn site_cli_creates_imports_lists_and_migrates() {
    each_backend(|app| async move {
        app.create_client(confidential("intranet")).await.unwrap();
        let created = json(
            &app,
            &[
                "site", "create", "--slug", "acme", "--name", "Acme", "--client", "intranet",
            ],
        )
        .await;
        assert_eq!(created["state"], "legacy");
        assert_eq!(created["clients"], serde_json::json!(["intranet"]));
        let list = ok(&app, &["site", "list"]).await;
        assert!(list.starts_with("SLUG"), "{list}");
        assert!(list.contains("acme") && list.contains("intranet"), "{list}");

        let csv = fixture("legacy_users.csv");
        let out = ok(
            &app,
            &["site", "import", "--site", "acme", csv.to_str().unwrap()],
        )
        .await;
        assert_eq!(
            out,
            "imported 8 users into acme (0 already there, unchanged)\n"
        );
        // The same users again, from the JSON file: nothing changes.
        let json_file = fixture("legacy_users.json");
        let again = json(
            &app,
            &[
                "site",
                "import",
                "--site",
                "acme",
                json_file.to_str().unwrap(),
            ],
        )
        .await;
        assert_eq!(
            (again["added"].as_u64(), again["unchanged"].as_u64()),
            (Some(0), Some(8))
        );

        let users = json(&app, &["site", "users", "acme"]).await;
        let users = users.as_array().unwrap();
        assert_eq!(users.len(), 8);
        assert_eq!(users[0]["login"], "alice");
        assert_eq!(users[0]["role"], "admin");
        assert_eq!(users[0]["legacy_password"], true);
        let table = ok(&app, &["site", "users", "acme"]).await;
        assert!(table.starts_with("LOGIN"), "{table}");
        // Hashes never leave the store.
        assert!(
            !table.contains("$2b$") && !table.contains("$argon2"),
            "{table}"
        );

        let progress = json(&app, &["site", "progress", "acme"]).await;
        assert_eq!(progress["total"], 8);
        assert_eq!(progress["not_invited"], 8);
        assert_eq!(progress["linked"], 0);

        let step = json(&app, &["site", "migrate", "acme", "dual"]).await;
        assert_eq!(
            (step["from"].as_str(), step["state"].as_str()),
            (Some("legacy"), Some("dual"))
        );
        let same = ok(&app, &["site", "migrate", "acme", "dual"]).await;
        assert!(same.contains("already"), "{same}");
        let out = ok(&app, &["site", "migrate", "acme", "identity"]).await;
        assert!(out.contains("8 legacy accounts signed out"), "{out}");
        let users = json(&app, &["site", "users", "acme"]).await;
        for user in users.as_array().unwrap() {
            assert_eq!(user["legacy_password"], false, "{user}");
        }
        let site = app.app.sites.get("acme").await.unwrap();
        let alice = app
            .app
            .stores
            .sql
            .site_user_by_login(site.id, "alice")
            .await
            .unwrap()
            .unwrap();
        let principal = app
            .app
            .stores
            .sql
            .get_account(alice.principal)
            .await
            .unwrap();
        assert_eq!(principal.status, AccountStatus::Disabled);
        let app_secret = app
            .app
            .stores
            .sql
            .totp_credential(alice.principal, false)
            .await;
        assert!(app_secret.unwrap().is_none());
        app
    })
    .await;
}

#[tokio::test]
async fn site_import_refuses_every_bad_row_with_its_number_and_writes_nothing() {
    each_backend(|app| async move {
        ok(
            &app,
            &["site", "create", "--slug", "acme", "--name", "Acme"],
        )
        .await;
        let file = write(
            &app,
            "bad.csv",
            &format!(
                "login,email,role,password_hash,totp_secret\n\
                 fine,fine@example.com,admin,{BCRYPT},\n\
                 broken,broken@example.com\n\
                 mail,not-an-address,admin,{BCRYPT},\n\
                 boss,boss@example.com,superuser,{BCRYPT},\n\
                 md5,md5@example.com,admin,$1$saltsalt$hashhashhash,\n\
                 FINE,other@example.com,licensed_user,{BCRYPT},\n\
                 totp,totp@example.com,admin,{BCRYPT},0000\n"
            ),
        );
        let (code, stdout, stderr) = cli(&app, &["site", "import", "--site", "acme", &file]).await;
        assert_eq!(code, 65, "{stdout}\n{stderr}");
        assert_eq!(stdout, "");
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(
            lines,
            [
                "row 3: malformed row: 2 fields where the header has 5",
                "row 4: bad email: missing @",
                "row 5: bad role \"superuser\": licensed_user, admin or client_user",
                "row 6: unknown password hash format (expected bcrypt $2a$/$2b$/$2y$, \
                 $pbkdf2-sha256$ or $argon2id$/$argon2i$/$argon2d$)",
                "row 7: duplicate login \"fine\" (first on row 2)",
                "row 8: bad TOTP secret: not base32 (RFC 4648)",
                "error: the import was refused (6 problems); nothing was written",
            ]
        );
        // The good row was not written either.
        let users = json(&app, &["site", "users", "acme"]).await;
        assert_eq!(users, serde_json::json!([]));
        app
    })
    .await;
}

#[tokio::test]
async fn site_import_against_the_site_is_all_or_nothing_and_re_runs_change_nothing() {
    each_backend(|app| async move {
        site_with_fixture(&app).await;
        let before = json(&app, &["site", "users", "acme"]).await;
        let csv = fixture("legacy_users.csv");
        let out = ok(&app, &["site", "import", "--site", "acme", csv.to_str().unwrap()]).await;
        assert_eq!(out, "imported 0 users into acme (8 already there, unchanged)\n");
        assert_eq!(json(&app, &["site", "users", "acme"]).await, before);

        // A new user next to a known login with another role, and a taken email.
        let file = write(
            &app,
            "more.json",
            &format!(
                r#"[{{"login": "zoe", "email": "zoe@example.com", "role": "admin", "password_hash": "{BCRYPT}"}},
                   {{"login": "bob", "email": "bob@legacy.example", "role": "admin", "password_hash": "{BCRYPT}"}},
                   {{"login": "yann", "email": "DAVE@legacy.example", "role": "admin", "password_hash": "{BCRYPT}"}}]"#
            ),
        );
        let (code, _, stderr) = cli(&app, &["site", "import", "--site", "acme", &file]).await;
        assert_eq!(code, 65, "{stderr}");
        assert!(
            stderr.contains("row 2: login \"bob\" exists in the site already with another email or role"),
            "{stderr}"
        );
        assert!(
            stderr.contains("row 3: email dave@legacy.example belongs to login \"dave\""),
            "{stderr}"
        );
        assert_eq!(json(&app, &["site", "users", "acme"]).await, before);
        app
    })
    .await;
}

#[tokio::test]
async fn site_commands_refuse_unknown_sites_clients_moves_and_files() {
    each_backend(|app| async move {
        app.create_client(confidential("intranet")).await.unwrap();
        let csv = fixture("legacy_users.csv");
        let csv = csv.to_str().unwrap();
        let cases: [(&[&str], i32, &str); 12] = [
            (
                &["site", "import", "--site", "nope", csv],
                1,
                "no such site",
            ),
            (&["site", "users", "nope"], 1, "no such site"),
            (&["site", "progress", "nope"], 1, "no such site"),
            (&["site", "migrate", "nope", "dual"], 1, "no such site"),
            (&["site", "two-factor", "nope", "on"], 1, "no such site"),
            (&["site", "two-factor", "acme", "maybe"], 2, "invalid value"),
            (&["site", "two-factor", "acme"], 2, "STATE"),
            (
                &["site", "create", "--slug", "x", "--name", "X"],
                65,
                "the slug must be",
            ),
            (
                &[
                    "site", "create", "--slug", "acme", "--name", "A", "--client", "ghost",
                ],
                65,
                "no client ghost is registered",
            ),
            (&["site", "migrate", "acme", "sideways"], 2, "invalid value"),
            (&["site", "import", "--site", "acme"], 2, "FILE"),
            (
                &["site", "import", "--site", "acme", "/nonexistent.csv"],
                1,
                "cannot read",
            ),
        ];
        ok(
            &app,
            &[
                "site", "create", "--slug", "acme", "--name", "Acme", "--client", "intranet",
            ],
        )
        .await;
        for (args, want, why) in cases {
            let (code, stdout, stderr) = cli(&app, args).await;
            assert_eq!(code, want, "{args:?}: {stdout}\n{stderr}");
            assert!(stderr.contains(why), "{args:?}: {stderr}");
        }
        // The client is acme's: a second site can not take it.
        let (code, _, stderr) = cli(
            &app,
            &[
                "site", "create", "--slug", "beta", "--name", "B", "--client", "intranet",
            ],
        )
        .await;
        assert_eq!(code, 65);
        assert!(
            stderr.contains("client intranet belongs to site acme"),
            "{stderr}"
        );
        // legacy → identity skips a step.
        let (code, _, stderr) = cli(&app, &["site", "migrate", "acme", "identity"]).await;
        assert_eq!(code, 65);
        assert!(stderr.contains("can not move to identity"), "{stderr}");
        // Another extension, and an oversized file (sparse: no 64 MiB written).
        let txt = write(&app, "users.txt", "login,email,role,password_hash\n");
        let (code, _, stderr) = cli(&app, &["site", "import", "--site", "acme", &txt]).await;
        assert_eq!(code, 65);
        assert!(
            stderr.contains("file: the file name must end in .csv or .json"),
            "{stderr}"
        );
        let big = write(&app, "big.csv", "");
        std::fs::File::options()
            .write(true)
            .open(&big)
            .unwrap()
            .set_len(64 * 1024 * 1024 + 1)
            .unwrap();
        let (code, _, stderr) = cli(&app, &["site", "import", "--site", "acme", &big]).await;
        assert_eq!(code, 65);
        assert!(stderr.contains("file: larger than 64 MiB"), "{stderr}");
        let list = json(&app, &["site", "list"]).await;
        assert_eq!(list.as_array().unwrap().len(), 1);
        assert_eq!(list[0]["state"], "legacy");
        let users = json(&app, &["site", "users", "acme"]).await;
        assert_eq!(users, serde_json::json!([]));
        let site = app.app.sites.get("acme").await.unwrap();
        let progress = app
            .app
            .stores
            .sql
            .migration_progress(site.id, app.clock.now())
            .await;
        assert_eq!(progress.unwrap().total, 0);
        app
    })
    .await;
}

/// C3 from the operator's side: `lanyard site two-factor S on|off` changes the preference once
/// (audited once; again says so and changes nothing), and it takes effect at the next legacy
/// sign-in: a licensed user without an app sets one up; with it off, the emailed code does.
#[tokio::test]
async fn site_two_factor_cli_turns_the_requirement_on_and_off() {
    each_backend(|app| async move {
        site_with(&app, MigrationState::Legacy, &fixture_users()).await;
        let changes = |app: &TestApp| {
            let sql = app.app.stores.sql.clone();
            async move {
                sql.list_audit(Some("site.two_factor_changed"), 100)
                    .await
                    .unwrap()
                    .len()
            }
        };
        let licensed = user_with("$2a$");
        let start = authorize_url(&app, APP, "");

        let on = json(&app, &["site", "two-factor", "acme", "on"]).await;
        assert_eq!(on["two_factor_required"], true, "{on}");
        assert_eq!(on["changed"], true, "{on}");
        let again = ok(&app, &["site", "two-factor", "acme", "on"]).await;
        assert!(again.contains("on already; nothing changed"), "{again}");
        assert_eq!(changes(&app).await, 1);
        let list = ok(&app, &["site", "list"]).await;
        assert!(list.contains("required"), "{list}");
        let (at, _) = legacy_sign_in(&app, &Browser::new(), &start, &licensed).await;
        assert!(at.contains("/login/authenticator"), "{at}");

        let off = ok(&app, &["site", "two-factor", "acme", "off"]).await;
        assert!(off.contains("no longer required"), "{off}");
        assert_eq!(changes(&app).await, 2);
        let site = app.app.sites.get("acme").await.unwrap();
        assert!(site.two_factor_required_since.is_none());
        let mails = app.mail.messages_to(&licensed.email).len();
        let (at, _) = legacy_sign_in(&app, &Browser::new(), &start, &licensed).await;
        assert!(
            at.starts_with(REDIRECT),
            "through the emailed code to the app: {at}"
        );
        assert_eq!(app.mail.messages_to(&licensed.email).len(), mails + 1);
        app
    })
    .await;
}
