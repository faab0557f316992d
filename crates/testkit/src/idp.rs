//! The upstream identity provider for federation tests: a real OpenID provider, panva's
//! OpenID-certified `oidc-provider` (npm), run by `tests/idp/idp.mjs` on loopback. Lanyard
//! as a relying party is tested against a third-party OP, not a mock written next to the
//! code it checks; the OP's `/__test/` hooks (tampered ID tokens, faults, key rotation,
//! request counts, back-channel logout) are driven through [`TestIdp`]. See
//! tests/idp/README.md.
//!
//! Without `tests/idp/node_modules` ([`TestIdp::start`] returns `None`) the tests skip, as the
//! PostgreSQL/Redis suites do without their URLs; `LANYARD_REQUIRE_IDP=1` (CI) turns that
//! into a failure.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, ChildStdin, Command};

/// Set to `1` to make a missing test IdP install a failure instead of a skip.
pub const REQUIRE_IDP_ENV: &str = "LANYARD_REQUIRE_IDP";

/// How long the IdP may take to print its issuer.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A running test IdP. Dropping it stops the process (its stdin closes and it is killed).
pub struct TestIdp {
    issuer: String,
    http: reqwest::Client,
    // Held open: the IdP exits when its stdin closes.
    _stdin: ChildStdin,
    _child: Child,
    _config: tempfile::NamedTempFile,
}

impl std::fmt::Debug for TestIdp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestIdp")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

/// The repository root (testkit lives in crates/testkit).
fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

impl TestIdp {
    /// Starts `node tests/idp/idp.mjs` with `config` (`{"clients": [...], "users": [...]}`,
    /// see tests/idp/README.md) and waits for its issuer.
    ///
    /// Returns `None`, after saying why on stderr, when the IdP's npm packages are not
    /// installed, so the caller can skip: `let Some(idp) = TestIdp::start(cfg).await else {
    /// return; };`.
    ///
    /// # Panics
    /// When the packages are missing and `LANYARD_REQUIRE_IDP=1`; when node cannot be run;
    /// when the IdP does not print its issuer within 20 s.
    pub async fn start(config: Value) -> Option<TestIdp> {
        let root = repo_root();
        let dir = root.join("tests/idp");
        if !dir.join("node_modules").is_dir() {
            if std::env::var(REQUIRE_IDP_ENV).as_deref() == Ok("1") {
                panic!(
                    "{REQUIRE_IDP_ENV}=1 but the test IdP is not installed ({} is missing): \
                     run npm ci --prefix tests/idp",
                    dir.join("node_modules").display()
                );
            }
            eprintln!(
                "skipping: the test IdP is not installed (run npm ci --prefix tests/idp; \
                 {REQUIRE_IDP_ENV}=1 makes this a failure)"
            );
            return None;
        }

        let config_file = tempfile::Builder::new()
            .prefix("lanyard-idp-")
            .suffix(".json")
            .tempfile()
            .expect("temp file for the IdP config");
        std::fs::write(
            config_file.path(),
            serde_json::to_vec_pretty(&config).expect("IdP config serializes"),
        )
        .expect("write the IdP config");

        let mut child = Command::new("node")
            .arg(dir.join("idp.mjs"))
            .arg(config_file.path())
            .current_dir(&root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("could not run node for the test IdP: {e}"));
        let stdin = child.stdin.take().expect("IdP stdin");
        let stdout = child.stdout.take().expect("IdP stdout");
        let stderr = child.stderr.take().expect("IdP stderr");
        tokio::spawn(forward("idp", stderr));

        let mut lines = BufReader::new(stdout).lines();
        let first = match tokio::time::timeout(START_TIMEOUT, lines.next_line()).await {
            Ok(Ok(Some(line))) => line,
            Ok(Ok(None)) => {
                let status = child.wait().await;
                panic!("the test IdP exited before it was ready ({status:?}); see its stderr")
            }
            Ok(Err(e)) => panic!("reading the test IdP's stdout: {e}"),
            Err(_) => panic!("the test IdP printed no issuer within {START_TIMEOUT:?}"),
        };
        // Nothing else is expected on stdout; keep draining it so the IdP never blocks.
        tokio::spawn(forward("idp stdout", lines.into_inner()));

        let ready: Value = serde_json::from_str(&first)
            .unwrap_or_else(|e| panic!("the test IdP's ready line is not JSON ({e}): {first}"));
        let issuer = ready["issuer"]
            .as_str()
            .unwrap_or_else(|| panic!("no issuer in the test IdP's ready line: {first}"))
            .to_owned();

        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("HTTP client for the test IdP");

        Some(TestIdp {
            issuer,
            http,
            _stdin: stdin,
            _child: child,
            _config: config_file,
        })
    }

    /// The issuer, `http://127.0.0.1:PORT` (discovery is at
    /// `{issuer}/.well-known/openid-configuration`).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Adds or replaces a user: `{"sub": ..., ...claims}`.
    pub async fn put_user(&self, user: Value) {
        self.post("/__test/users", user).await;
    }

    /// Alters the next `count` ID tokens from the token endpoint. Modes: `bad_signature`,
    /// `wrong_audience`, `unexpected_azp`, `expired`, `wrong_nonce`, `wrong_issuer`,
    /// `alg_none`, `hs256`, `unknown_kid`.
    pub async fn tamper(&self, mode: &str, count: u32) {
        self.post("/__test/tamper", json!({ "mode": mode, "count": count }))
            .await;
    }

    /// The next `count` requests to `path` (or `*`: any) wait `ms` milliseconds and are then
    /// served (`mode` `hang`), or get a 500 at once (`status500`).
    pub async fn fault(&self, path: &str, mode: &str, count: u32, ms: u64) {
        self.post(
            "/__test/fault",
            json!({ "path": path, "mode": mode, "count": count, "ms": ms }),
        )
        .await;
    }

    /// Replaces the signing key by a new one with a new `kid`; the old key leaves the JWKS.
    /// IdP sessions survive; an old ID token no longer works as `id_token_hint`.
    pub async fn rotate_keys(&self) {
        self.post("/__test/rotate", json!({})).await;
    }

    /// Requests per path since start or the last reset, e.g. `"/jwks" → 3` (the `/__test/`
    /// hooks are not counted).
    pub async fn request_counts(&self) -> HashMap<String, u64> {
        let counts = self.send(self.http.get(self.url("/__test/requests"))).await;
        serde_json::from_value(counts.clone())
            .unwrap_or_else(|e| panic!("test IdP request counts ({e}): {counts}"))
    }

    /// Zeroes the request counts.
    pub async fn reset_request_counts(&self) {
        self.post("/__test/requests/reset", json!({})).await;
    }

    /// Sends a back-channel `logout_token` for `sub`'s IdP session(s) at `client_id` to the
    /// client's `backchannel_logout_uri`. Returns `{"sent": [{"sid", "uri", "logout_token",
    /// "claims", "status", "error"}]}`, `status` being the RP's answer.
    pub async fn backchannel_logout(&self, sub: &str, client_id: &str) -> Value {
        self.post(
            "/__test/backchannel-logout",
            json!({ "sub": sub, "client_id": client_id }),
        )
        .await
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.send(self.http.post(self.url(path)).json(&body)).await
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Value {
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("test IdP hook request failed: {e}"));
        let status = response.status();
        let url = response.url().to_string();
        let text = response
            .text()
            .await
            .unwrap_or_else(|e| panic!("test IdP hook {url}: reading the answer: {e}"));
        if !status.is_success() {
            panic!("test IdP hook {url} answered {status}: {text}");
        }
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("test IdP hook {url} answered non-JSON ({e}): {text}"))
    }
}

/// Copies the IdP's output lines to the test's stderr.
async fn forward(label: &'static str, from: impl AsyncRead + Unpin) {
    let mut lines = BufReader::new(from).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        eprintln!("[{label}] {line}");
    }
}
