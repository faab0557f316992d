//! `lanyard-token` against the real server (`TestApp`, every available backend): the command
//! runs in process with a clock the test moves, plus the built binary for what only a real
//! process shows (argv, stdout for `$(…)`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine;
use lanyard_core::model::{ClientAuthMethod, GrantType, PatId};
use lanyard_core::model::{ResourceServer, Resources};
use lanyard_core::{ClientId, EphemeralKey, Origin};
use lanyard_exchange_client::{Clock, SystemClock};
use lanyard_identity::pats::{Expiry, PatRequest};
use lanyard_server::NewClient;
use lanyard_testkit::{Backend, TestApp};
use serde_json::Value;

const EMAIL: &str = "tool-user@example.com";
const TOOL: &str = "cli-tool";
const BASIC: &str = "cli-service-basic";
const POST: &str = "cli-service-post";
const API: &str = "api.example.com";
const FILES: &str = "files.example.com";

struct TestClock(AtomicU64);
impl Clock for TestClock {
    fn now(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}
impl TestClock {
    fn starting_now() -> TestClock {
        TestClock(AtomicU64::new(SystemClock.now()))
    }
    fn advance(&self, secs: u64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

struct Setup {
    app: TestApp,
    dir: tempfile::TempDir,
    pat: String,
    pat_id: PatId,
    secrets: Vec<(&'static str, String)>,
}

fn client(id: &str, auth: ClientAuthMethod) -> NewClient {
    NewClient {
        id: id.to_owned(),
        name: format!("Client {id}"),
        redirect_uris: vec![],
        post_logout_redirect_uris: vec![],
        grant_types: vec![GrantType::TokenExchange],
        auth_method: auth,
        jwks: None,
        first_party: true,
        allowed_scopes: vec![],
        exchange_audiences: vec![],
        backchannel_logout_uri: None,
        backchannel_logout_session_required: false,
    }
}

/// A server with two APIs, a public tool, two confidential clients and one PAT (in a file).
async fn setup(backend: Backend) -> Setup {
    let app = TestApp::spawn_with(backend, |c| {
        c.resources = Resources(vec![
            ResourceServer {
                identifier: API.to_owned(),
                scopes: vec!["repo:read".to_owned(), "repo:write".to_owned()],
                ..Default::default()
            },
            ResourceServer {
                identifier: FILES.to_owned(),
                scopes: vec!["files:read".to_owned()],
                ..Default::default()
            },
        ]);
    })
    .await;
    let account = app.create_user(EMAIL).await;
    app.create_client(client(TOOL, ClientAuthMethod::None))
        .await;
    let mut secrets = Vec::new();
    for (id, auth) in [
        (BASIC, ClientAuthMethod::ClientSecretBasic),
        (POST, ClientAuthMethod::ClientSecretPost),
    ] {
        secrets.push((id, app.create_client(client(id, auth)).await.unwrap()));
    }
    let (pat, token) = app
        .app
        .state
        .pats
        .create(
            &account,
            PatRequest {
                name: "cli".into(),
                scopes: vec!["repo:read".into(), "repo:write".into()],
                audiences: vec![API.into()],
                expiry: Expiry::Default,
                site: None,
            },
            &Origin::cli(),
        )
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    // As a user would save it: with a trailing newline.
    std::fs::write(dir.path().join("pat"), format!("{}\n", token.expose())).unwrap();
    Setup {
        app,
        dir,
        pat: token.expose().to_owned(),
        pat_id: pat.id,
        secrets,
    }
}

struct Outcome {
    code: u8,
    stdout: String,
    stderr: String,
}

impl Setup {
    fn pat_file(&self) -> PathBuf {
        self.dir.path().join("pat")
    }

    fn cache_dir(&self) -> PathBuf {
        self.dir.path().join("cache")
    }

    /// `lanyard-token --issuer … --cache-dir … <args>`, in process, with only `env` as the
    /// environment.
    async fn run(&self, clock: &TestClock, args: &[&str], env: &[(&str, &str)]) -> Outcome {
        let cache = self.cache_dir();
        let mut argv: Vec<OsString> = vec!["lanyard-token".into()];
        argv.extend(["--issuer", self.app.base_url.as_str()].map(OsString::from));
        argv.extend([OsString::from("--cache-dir"), cache.into_os_string()]);
        argv.extend(args.iter().map(OsString::from));
        let vars: Vec<(String, OsString)> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), OsString::from(v)))
            .collect();
        let lookup = move |name: &str| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = lanyard_exchange_client::run(argv, &lookup, clock, &mut out, &mut err).await;
        let outcome = Outcome {
            code,
            stdout: String::from_utf8(out).unwrap(),
            stderr: String::from_utf8(err).unwrap(),
        };
        // Whatever happened, the PAT is never printed.
        assert!(
            !outcome.stdout.contains(&self.pat[8..]) && !outcome.stderr.contains(&self.pat[8..]),
            "the PAT was printed"
        );
        outcome
    }

    async fn tool(&self, clock: &TestClock, extra: &[&str]) -> Outcome {
        let file = self.pat_file();
        let mut args = vec!["--client-id", TOOL, "--pat-file", file.to_str().unwrap()];
        args.extend_from_slice(extra);
        self.run(clock, &args, &[]).await
    }

    fn secret(&self, id: &str) -> &str {
        &self.secrets.iter().find(|(c, _)| *c == id).unwrap().1
    }
}

fn token_of(outcome: &Outcome) -> String {
    assert_eq!(outcome.code, 0, "{}", outcome.stderr);
    assert!(outcome.stderr.is_empty(), "{}", outcome.stderr);
    let token = outcome.stdout.strip_suffix('\n').expect("one line");
    assert!(!token.contains(char::is_whitespace));
    token.to_owned()
}

fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

async fn each_backend<F, Fut>(f: F)
where
    F: Fn(Setup) -> Fut,
    Fut: std::future::Future<Output = Setup>,
{
    for backend in Backend::available() {
        let setup = f(setup(backend).await).await;
        setup.app.cleanup().await;
    }
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn the_first_call_exchanges_then_the_cache_serves_until_thirty_seconds_before_expiry() {
    each_backend(|s| async move {
        let clock = TestClock::starting_now();
        let first = token_of(&s.tool(&clock, &[]).await);
        let c = claims(&first);
        assert_eq!(c["aud"], API);
        assert_eq!(c["client_id"], TOOL);
        assert_eq!(c["pat_id"], s.pat_id.to_string());
        assert_eq!(c["amr"], serde_json::json!(["pat"]));
        let lifetime = c["exp"].as_u64().unwrap() - c["iat"].as_u64().unwrap();
        assert_eq!(lifetime, 300, "the default exchange lifetime");

        // One owner-only file, named by a hash: neither the PAT nor the JWT in its name, and
        // the PAT not in its content.
        let entries: Vec<_> = std::fs::read_dir(s.cache_dir())
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(entries.len(), 1, "{entries:?}");
        let content = std::fs::read_to_string(&entries[0]).unwrap();
        assert!(content.contains(&first) && !content.contains(&s.pat[8..]));
        #[cfg(unix)]
        {
            assert_eq!(mode(&entries[0]), 0o600);
            assert_eq!(mode(&s.cache_dir()), 0o700);
        }

        // The server mints a new token each time it is asked (the cache bypassed)…
        let uncached = token_of(&s.tool(&clock, &["--no-cache"]).await);
        assert_ne!(uncached, first);
        assert_ne!(claims(&uncached)["jti"], c["jti"]);

        // …so the same token again means the cache answered. To show the server is not even
        // asked, revoke the PAT: the cached token still comes back until 30 s before it
        // expires.
        s.app
            .app
            .state
            .pats
            .revoke(None, s.pat_id, &Origin::cli())
            .await
            .unwrap();
        assert_eq!(token_of(&s.tool(&clock, &[]).await), first);
        clock.advance(300 - 30 - 1);
        assert_eq!(token_of(&s.tool(&clock, &[]).await), first);

        // Inside the margin: back to the server, which refuses the revoked PAT. The error
        // names the OAuth code; stdout stays empty for `$(…)`.
        clock.advance(1);
        let refused = s.tool(&clock, &[]).await;
        assert_eq!(refused.code, 1);
        assert!(refused.stdout.is_empty());
        assert_eq!(
            refused.stderr,
            "lanyard-token: the server refused the exchange (HTTP 400): invalid_grant \
             (the subject token is not valid)\n"
        );
        assert!(!refused.stderr.contains(&first));
        s
    })
    .await;
}

#[tokio::test]
async fn the_cache_is_per_request_and_survives_corruption_and_loose_permissions() {
    each_backend(|s| async move {
        let clock = TestClock::starting_now();
        let a = token_of(&s.tool(&clock, &["--audience", API]).await);
        let narrowed = token_of(
            &s.tool(&clock, &["--audience", API, "--scope", "repo:read"])
                .await,
        );
        assert_ne!(a, narrowed, "another scope is another cache entry");
        assert_eq!(claims(&narrowed)["scope"], "repo:read");
        assert_eq!(
            token_of(&s.tool(&clock, &["--audience", API]).await),
            a,
            "cached"
        );

        let entries: Vec<PathBuf> = std::fs::read_dir(s.cache_dir())
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(entries.len(), 2);
        let entry_of = |jwt: &str| {
            entries
                .iter()
                .find(|p| std::fs::read_to_string(p).unwrap().contains(jwt))
                .unwrap()
                .clone()
        };
        // A corrupt entry is a miss: a new token, stored over it.
        let path = entry_of(&a);
        std::fs::write(&path, "{\"access_token\": 12").unwrap();
        let b = token_of(&s.tool(&clock, &["--audience", API]).await);
        assert_ne!(b, a);
        assert!(std::fs::read_to_string(&path).unwrap().contains(&b));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            // An entry others could read is not trusted: warned about, replaced.
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            let outcome = s.tool(&clock, &["--audience", API]).await;
            assert_eq!(outcome.code, 0);
            assert!(
                outcome
                    .stderr
                    .contains("ignored and removed the cached token")
                    && outcome.stderr.contains("permissions are 644"),
                "{}",
                outcome.stderr
            );
            let c = outcome.stdout.trim_end().to_owned();
            assert_ne!(c, b);
            assert!(!outcome.stderr.contains(&b) && !outcome.stderr.contains(&c));
            assert_eq!(mode(&path), 0o600);
        }
        s
    })
    .await;
}

#[tokio::test]
async fn bad_pat_sources_are_refused_before_any_request() {
    each_backend(|s| async move {
        let clock = TestClock::starting_now();
        let dir = s.dir.path();
        let write = |name: &str, bytes: &[u8]| {
            let path = dir.join(name);
            std::fs::write(&path, bytes).unwrap();
            path.to_str().unwrap().to_owned()
        };
        let mut typo = s.pat.clone().into_bytes();
        typo[20] = if typo[20] == b'a' { b'b' } else { b'a' };
        let typo = String::from_utf8(typo).unwrap();
        let missing = dir.join("nope").to_str().unwrap().to_owned();
        let empty = write("empty", b"");
        let blank = write("blank", b" \n\t\n");
        let malformed = write("typo", typo.as_bytes());
        let twice = write("twice", format!("{0}\n{0}\n", s.pat).as_bytes());
        let oversized = write("big", format!("{}{}", s.pat, " ".repeat(5000)).as_bytes());
        let binary = write("binary", &[0xff, 0xfe, 0x00, 0x41]);
        let cases: [(&str, &str); 7] = [
            (&missing, "cannot read the PAT file"),
            (&empty, "is empty"),
            (&blank, "is empty"),
            (&malformed, "does not hold a Lanyard personal access token"),
            (&twice, "does not hold a Lanyard personal access token"),
            (&oversized, "is larger than 4096 bytes"),
            (&binary, "does not hold a Lanyard personal access token"),
        ];
        for (path, why) in cases {
            let outcome = s
                .run(&clock, &["--client-id", TOOL, "--pat-file", path], &[])
                .await;
            assert_eq!(outcome.code, 1, "{path}: {}", outcome.stderr);
            assert!(outcome.stdout.is_empty());
            assert!(outcome.stderr.contains(why), "{path}: {}", outcome.stderr);
            assert!(!outcome.stderr.contains(&typo[8..]), "{}", outcome.stderr);
        }
        // The same rules for the environment variable.
        for (value, why) in [
            ("", "$LANYARD_PAT is empty"),
            (typo.as_str(), "$LANYARD_PAT does not hold"),
            ("x".repeat(5000).as_str(), "too long"),
        ] {
            let outcome = s
                .run(&clock, &["--client-id", TOOL], &[("LANYARD_PAT", value)])
                .await;
            assert_eq!(outcome.code, 1, "{}", outcome.stderr);
            assert!(outcome.stderr.contains(why), "{}", outcome.stderr);
        }
        // Neither, or both: a usage error.
        let outcome = s.run(&clock, &["--client-id", TOOL], &[]).await;
        assert_eq!(outcome.code, 2);
        assert!(outcome.stderr.contains("no PAT"), "{}", outcome.stderr);
        let file = s.pat_file();
        let outcome = s
            .run(
                &clock,
                &["--client-id", TOOL, "--pat-file", file.to_str().unwrap()],
                &[("LANYARD_PAT", &s.pat)],
            )
            .await;
        assert_eq!(outcome.code, 2);
        assert!(outcome.stderr.contains("one way"), "{}", outcome.stderr);

        // None of these reached the server: it counted no refused exchange for the tool
        // (incrementing its counter now gives 1), and a good PAT from the environment
        // still works.
        let counted = s
            .app
            .app
            .ephemeral
            .increment(
                &EphemeralKey::PatFailClient(&ClientId::parse(TOOL).unwrap(), "127.0.0.1")
                    .to_string(),
                std::time::Duration::from_secs(60),
            )
            .await
            .unwrap();
        assert_eq!(counted, 1);
        let ok = s
            .run(
                &clock,
                &["--client-id", TOOL],
                &[("LANYARD_PAT", &format!("{}\n", s.pat))],
            )
            .await;
        token_of(&ok);
        s
    })
    .await;
}

#[tokio::test]
async fn a_token_on_the_command_line_is_refused_without_being_echoed() {
    each_backend(|s| async move {
        let clock = TestClock::starting_now();
        let pat = s.pat.clone();
        for args in [
            vec!["--client-id", TOOL, "--pat", pat.as_str()],
            vec!["--client-id", TOOL, pat.as_str()],
            vec!["--client-id", TOOL, "--pat-file", pat.as_str()],
            vec!["--client-id", TOOL, format!("--pat={pat}").as_str()],
            vec!["--client-id", TOOL, "--scope", pat.as_str()],
        ] {
            let outcome = s.run(&clock, &args, &[]).await;
            assert_eq!(outcome.code, 2, "{args:?}");
            assert!(
                outcome.stderr.contains("on the command line"),
                "{}",
                outcome.stderr
            );
        }
        // No option takes a token, whatever it looks like.
        let outcome = s
            .run(&clock, &["--client-id", TOOL, "--pat", "x"], &[])
            .await;
        assert_eq!(outcome.code, 2);
        assert!(
            outcome.stderr.contains("unexpected argument '--pat'"),
            "{}",
            outcome.stderr
        );
        // A client secret neither.
        let secret = s.secret(BASIC).to_owned();
        let outcome = s
            .run(
                &clock,
                &["--client-id", BASIC, "--client-secret", secret.as_str()],
                &[],
            )
            .await;
        assert_eq!(outcome.code, 2);
        assert!(!outcome.stderr.contains(&secret), "{}", outcome.stderr);
        s
    })
    .await;
}

#[tokio::test]
async fn server_refusals_name_the_oauth_error() {
    each_backend(|s| async move {
        let clock = TestClock::starting_now();
        // A well-formed PAT the server never issued.
        let unknown = lanyard_core::pat_token::mint(&lanyard_core::OsRng);
        let outcome = s
            .run(
                &clock,
                &["--client-id", TOOL, "--no-cache"],
                &[("LANYARD_PAT", unknown.token.expose())],
            )
            .await;
        assert_eq!(outcome.code, 1);
        assert!(
            outcome.stderr.contains("HTTP 400): invalid_grant"),
            "{}",
            outcome.stderr
        );
        assert!(!outcome.stderr.contains(&unknown.token.expose()[8..]));
        // An API the PAT is not for; scopes beyond it; a client not allowed to exchange.
        for (args, code) in [
            (vec!["--audience", FILES], "invalid_target"),
            (vec!["--scope", "repo:admin"], "invalid_scope"),
        ] {
            let outcome = s.tool(&clock, &args).await;
            assert_eq!(outcome.code, 1);
            assert!(outcome.stderr.contains(code), "{}", outcome.stderr);
        }
        let file = s.pat_file();
        let outcome = s
            .run(
                &clock,
                &[
                    "--client-id",
                    "no-such-client",
                    "--pat-file",
                    file.to_str().unwrap(),
                ],
                &[],
            )
            .await;
        assert_eq!(outcome.code, 1);
        assert!(
            outcome.stderr.contains("invalid_client"),
            "{}",
            outcome.stderr
        );
        // Nothing was cached from a refusal.
        assert!(!s.cache_dir().exists() || std::fs::read_dir(s.cache_dir()).unwrap().count() == 0);
        s
    })
    .await;
}

#[tokio::test]
async fn confidential_clients_send_their_secret_from_a_file_or_the_environment() {
    each_backend(|s| async move {
        let clock = TestClock::starting_now();
        let file = s.pat_file();
        let secret_file = s.dir.path().join("secret");
        std::fs::write(&secret_file, format!("{}\n", s.secret(BASIC))).unwrap();
        let basic = s
            .run(
                &clock,
                &[
                    "--client-id",
                    BASIC,
                    "--pat-file",
                    file.to_str().unwrap(),
                    "--client-secret-file",
                    secret_file.to_str().unwrap(),
                ],
                &[],
            )
            .await;
        assert_eq!(claims(&token_of(&basic))["client_id"], BASIC);
        let args = [
            "--client-id",
            POST,
            "--pat-file",
            file.to_str().unwrap(),
            "--client-auth",
            "post",
        ];
        let post = s
            .run(&clock, &args, &[("LANYARD_CLIENT_SECRET", s.secret(POST))])
            .await;
        assert_eq!(claims(&token_of(&post))["client_id"], POST);
        // The wrong method, or no secret, is the server's invalid_client.
        let wrong = s
            .run(
                &clock,
                &[&args[..4], &["--no-cache"][..]].concat(),
                &[("LANYARD_CLIENT_SECRET", s.secret(POST))],
            )
            .await;
        assert_eq!(wrong.code, 1);
        assert!(wrong.stderr.contains("invalid_client"), "{}", wrong.stderr);
        assert!(!wrong.stderr.contains(s.secret(POST)));
        s
    })
    .await;
}

#[tokio::test]
async fn the_issuer_must_match_discovery_and_be_https_or_loopback() {
    each_backend(|s| async move {
        let clock = TestClock::starting_now();
        let file = s.pat_file();
        let base = |issuer: &str| {
            vec![
                "lanyard-token".to_owned(),
                "--issuer".into(),
                issuer.into(),
                "--client-id".into(),
                TOOL.into(),
                "--pat-file".into(),
                file.to_str().unwrap().into(),
                "--no-cache".into(),
            ]
        };
        let clock = &clock;
        let run = |argv: Vec<String>| async move {
            let (mut out, mut err) = (Vec::new(), Vec::new());
            let argv = argv.into_iter().map(OsString::from).collect();
            let code =
                lanyard_exchange_client::run(argv, &|_| None, clock, &mut out, &mut err).await;
            (code, String::from_utf8(err).unwrap())
        };
        let (code, err) = run(base("http://id.example.com")).await;
        assert_eq!(code, 2);
        assert!(err.contains("not https"), "{err}");
        // `localhost` reaches the same server, but its document names 127.0.0.1: another
        // issuer, so the PAT is not sent.
        let other = s.app.base_url.replace("127.0.0.1", "localhost");
        let (code, err) = run(base(&other)).await;
        assert_eq!(code, 1);
        assert!(err.contains("names another issuer"), "{err}");
        // A trailing slash is the same issuer.
        let (code, err) = run(base(&format!("{}/", s.app.base_url))).await;
        assert_eq!(code, 0, "{err}");
        s
    })
    .await;
}

/// The built binary, as a shell would run it.
#[tokio::test]
async fn the_binary_prints_the_token_for_curl_and_refuses_argv_tokens() {
    let s = setup(Backend::Embedded).await;
    let bin = env!("CARGO_BIN_EXE_lanyard-token");
    let cache = s.cache_dir();
    let command = |args: &[&str]| {
        let mut cmd = tokio::process::Command::new(bin);
        cmd.env_clear()
            .args(["--issuer", s.app.base_url.as_str(), "--cache-dir"])
            .arg(&cache)
            .args(args);
        cmd
    };
    // A confidential client, so that it may introspect the token it got (introspection
    // answers only the client a token was issued to).
    let out = command(&["--client-id", BASIC])
        .env("LANYARD_PAT", &s.pat)
        .env("LANYARD_CLIENT_SECRET", s.secret(BASIC))
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let jwt = stdout.strip_suffix('\n').unwrap();
    assert_eq!(jwt.split('.').count(), 3);
    // The token is a live JWT: introspection says so.
    let introspected: Value = reqwest::Client::new()
        .post(s.app.url("/introspect"))
        .basic_auth(BASIC, Some(s.secret(BASIC)))
        .form(&[("token", jwt)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(introspected["active"], true, "{introspected}");

    let out = command(&["--client-id", TOOL, "--pat", s.pat.as_str()])
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("on the command line") && !stderr.contains(&s.pat[8..]));
    assert!(out.stdout.is_empty());
    s.app.cleanup().await;
}
