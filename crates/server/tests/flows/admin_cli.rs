//! The admin commands as operators use them (issue 12 item 11): help that lists every grant,
//! no log lines on standard output, tables with headers that name people by email, `--json`
//! on every list, a confirmation before `org require-authenticator on` revokes tokens, and a
//! data folder only its owner can read.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use lanyard_core::model::GrantType;
use lanyard_testkit::{Backend, TestApp};
use serde_json::Value;

use crate::helpers::{confidential, lanyard_cli};

const ADA: &str = "ada@example.com";
const BO: &str = "bo@example.com";
const RESOURCES: &str = r#"
[[resources]]
identifier = "api.example.com"
scopes = ["repo:read"]
"#;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs `lanyard <args>`, which must succeed, and checks that standard output holds no log
/// line and that nothing below a warning was logged.
async fn run(app: &TestApp, args: &[&str]) -> String {
    let out = lanyard_cli(app, args, RESOURCES).await;
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{args:?}: {stdout}\n{stderr}");
    // tracing's lines read "<time>  INFO <target>: …".
    for level in [" TRACE ", " DEBUG ", " INFO ", " WARN ", " ERROR "] {
        assert!(
            !stdout.contains(level),
            "{args:?}: a log line on stdout: {stdout}"
        );
    }
    for level in [" TRACE ", " DEBUG ", " INFO "] {
        assert!(
            !stderr.contains(level),
            "{args:?}: quiet by default: {stderr}"
        );
    }
    stdout
}

async fn run_json(app: &TestApp, args: &[&str]) -> Value {
    let mut args = args.to_vec();
    args.push("--json");
    let stdout = run(app, &args).await;
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{args:?}: {e}: {stdout}"))
}

#[tokio::test]
async fn item11_client_create_help_lists_every_grant_and_auth_method() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lanyard"))
        .args(["client", "create", "--help"])
        .env_remove("LANYARD_CONFIG")
        .output()
        .unwrap();
    assert!(out.status.success());
    // clap wraps long help to the terminal: compare without line breaks.
    let help = text(&out.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    for grant in [
        GrantType::AuthorizationCode,
        GrantType::RefreshToken,
        GrantType::ClientCredentials,
        GrantType::DeviceCode,
        GrantType::TokenExchange,
    ] {
        assert!(help.contains(grant.as_str()), "{}: {help}", grant.as_str());
    }
    for short in ["device_code", "token_exchange"] {
        assert!(help.contains(short), "{short}: {help}");
    }
    for auth in [
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
        "none",
    ] {
        assert!(help.contains(auth), "{auth}: {help}");
    }
}

#[tokio::test]
async fn item11_lists_have_headers_emails_and_json_and_stdout_has_no_logs() {
    for backend in Backend::available() {
        let app = TestApp::spawn(backend).await;
        let ada = app.create_user(ADA).await;
        let bo = app.create_user(BO).await;
        app.create_client(confidential("rp")).await.unwrap();
        run(&app, &["org", "create", "--slug", "acme", "--name", "Acme"]).await;
        run(
            &app,
            &[
                "org",
                "add-member",
                "--org",
                "acme",
                "--user",
                ADA,
                "--role",
                "admin",
            ],
        )
        .await;
        run(&app, &["org", "add-member", "--org", "acme", "--user", BO]).await;
        run(
            &app,
            &[
                "pat",
                "create",
                "--user",
                BO,
                "--name",
                "laptop",
                "--scope",
                "repo:read",
            ],
        )
        .await;
        // A device-grant client by the grant's short name, as the README shows.
        run(
            &app,
            &[
                "client",
                "create",
                "--id",
                "tv",
                "--grant",
                "device_code,refresh_token",
                "--auth",
                "none",
            ],
        )
        .await;
        let ids = [ada.id.to_string(), bo.id.to_string()];

        let users = run(&app, &["user", "list"]).await;
        assert!(users.starts_with("EMAIL"), "{users}");
        assert!(users.contains(ADA) && users.contains(BO), "{users}");
        let members = run(&app, &["org", "show", "acme"]).await;
        assert!(
            members.contains("EMAIL") && members.contains("ROLE"),
            "{members}"
        );
        assert!(members.contains(ADA) && members.contains(BO), "{members}");
        let pats = run(&app, &["pat", "list"]).await;
        assert!(pats.starts_with("ID") && pats.contains("OWNER"), "{pats}");
        assert!(pats.contains(BO) && pats.contains("laptop"), "{pats}");
        for listing in [&users, &members, &pats] {
            for id in &ids {
                assert!(!listing.contains(id.as_str()), "emails, not ids: {listing}");
            }
        }
        let clients = run(&app, &["client", "list"]).await;
        assert!(clients.starts_with("CLIENT ID"), "{clients}");
        assert!(clients.contains("device_code,refresh_token"), "{clients}");
        let keys = run(&app, &["keys", "list"]).await;
        assert!(keys.starts_with("KEY ID"), "{keys}");

        // --json on every list.
        let users = run_json(&app, &["user", "list"]).await;
        assert_eq!(users.as_array().unwrap().len(), 2);
        assert!(users.as_array().unwrap().iter().any(|u| u["email"] == ADA));
        let clients = run_json(&app, &["client", "list"]).await;
        let tv = clients
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["client_id"] == "tv")
            .unwrap();
        assert_eq!(
            tv["grant_types"][0],
            "urn:ietf:params:oauth:grant-type:device_code"
        );
        let pats = run_json(&app, &["pat", "list"]).await;
        assert_eq!(pats[0]["email"], BO);
        let pats = run_json(&app, &["pat", "list", "--user", BO]).await;
        assert_eq!(pats.as_array().unwrap().len(), 1);
        let org = run_json(&app, &["org", "show", "acme"]).await;
        let emails: Vec<&str> = org["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["email"].as_str().unwrap())
            .collect();
        assert!(emails.contains(&ADA) && emails.contains(&BO), "{org}");
        let keys = run_json(&app, &["keys", "list"]).await;
        assert!(!keys["published"].as_array().unwrap().is_empty(), "{keys}");
        app.cleanup().await;
    }
}

#[tokio::test]
async fn item11_require_authenticator_on_says_what_it_revokes_and_needs_yes() {
    for backend in Backend::available() {
        let app = TestApp::spawn(backend).await;
        app.create_user(ADA).await;
        app.create_user(BO).await;
        run(&app, &["org", "create", "--slug", "acme", "--name", "Acme"]).await;
        run(&app, &["org", "add-member", "--org", "acme", "--user", ADA]).await;
        run(&app, &["org", "add-member", "--org", "acme", "--user", BO]).await;
        for name in ["laptop", "ci"] {
            run(
                &app,
                &[
                    "pat",
                    "create",
                    "--user",
                    BO,
                    "--name",
                    name,
                    "--scope",
                    "repo:read",
                ],
            )
            .await;
        }

        for extra in [&[][..], &["--json"][..]] {
            let mut args = vec!["org", "require-authenticator", "acme", "on"];
            args.extend_from_slice(extra);
            let out = lanyard_cli(&app, &args, RESOURCES).await;
            let stderr = text(&out.stderr);
            assert_eq!(out.status.code(), Some(3), "{stderr}");
            assert!(out.stdout.is_empty());
            for says in [
                "nothing changed",
                "2 members with no app",
                "personal access tokens would be revoked",
                "2 tokens of 1 member",
                "--yes",
            ] {
                assert!(stderr.contains(says), "{says:?}: {stderr}");
            }
        }
        // Nothing changed: the policy is off and both tokens live.
        let org = run_json(&app, &["org", "show", "acme"]).await;
        assert_eq!(org["authenticator_required"], false);
        let pats = run_json(&app, &["pat", "list", "--user", BO]).await;
        assert_eq!(pats.as_array().unwrap().len(), 2);

        // `off` needs no confirmation (it revokes nothing).
        run(&app, &["org", "require-authenticator", "acme", "off"]).await;

        let done = run(
            &app,
            &["org", "require-authenticator", "acme", "on", "--yes"],
        )
        .await;
        assert!(done.contains("PATs revoked for 1 member"), "{done}");
        let org = run_json(&app, &["org", "show", "acme"]).await;
        assert_eq!(org["authenticator_required"], true);
        let pats = run_json(&app, &["pat", "list", "--user", BO]).await;
        assert_eq!(pats.as_array().unwrap().len(), 0);
        // Already on: nothing to confirm, nothing changes.
        let again = run(&app, &["org", "require-authenticator", "acme", "on"]).await;
        assert!(again.contains("nothing changed"), "{again}");
        app.cleanup().await;
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Every file and folder under `dir` is its owner's alone.
fn assert_owner_only(dir: &Path) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let m = mode(&path);
        assert_eq!(m & 0o077, 0, "{} is {m:o}", path.display());
        if path.is_dir() {
            assert_owner_only(&path);
        }
    }
}

#[tokio::test]
async fn item11_the_data_folder_and_database_are_created_owner_only() {
    // A fresh data folder (and its missing parent) made by an admin command.
    let root = tempfile::tempdir().unwrap();
    std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let data = root.path().join("lanyard/data");
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_lanyard"));
    for (key, _) in std::env::vars() {
        if key.starts_with("LANYARD_") || key == "RUST_LOG" {
            cmd.env_remove(key);
        }
    }
    let out = cmd
        .args(["user", "list", "--json"])
        .current_dir(root.path())
        .env("LANYARD_DATA_DIR", &data)
        .env("LANYARD_ISSUER", "http://127.0.0.1:9")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(mode(&root.path().join("lanyard")), 0o700);
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("lanyard.db")), 0o600);
    assert_owner_only(&data);

    // The test server's SQLite database, open: its -wal and -shm files too.
    let app = TestApp::spawn(Backend::Embedded).await;
    app.create_user(ADA).await;
    let dir = app.config.server.data_dir.clone();
    assert_eq!(mode(&dir.join("lanyard.db")), 0o600);
    for extra in ["lanyard.db-wal", "lanyard.db-shm"] {
        let path = dir.join(extra);
        assert!(path.exists(), "{extra} exists while the server runs");
        assert_eq!(mode(&path), 0o600, "{extra}");
    }
    app.cleanup().await;
}
