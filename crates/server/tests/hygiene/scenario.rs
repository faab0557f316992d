//! One full run of the real binary: the admin commands, then the server at TRACE, driven over
//! HTTP through every kind of secret it has (password sign-in with CSRF and a sign-in flow,
//! consent, session cookie, code with PKCE, access/refresh/ID tokens, rotation and reuse,
//! revocation, client secrets in both methods, a `private_key_jwt` assertion, logout) and a
//! string of refusals that carry those secrets. Everything the run produced is kept for the
//! assertions: the processes' output, the error responses, the Redis traffic and keys, and a
//! dump of the database.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use lanyard_core::model::SigningAlg;
use lanyard_core::rng::random_token;
use lanyard_core::{Clock, OsRng, SystemClock};
use lanyard_crypto::Kek;
use lanyard_crypto::keys::{KeyRing, generate_signing_key};
use lanyard_store::testing::{TempPostgres, cleanup_redis_prefix, temp_redis_prefix};
use lanyard_testkit::recording::{cookie_value, hidden_field};
use lanyard_testkit::{Backend, Browser, SmtpSink};
use reqwest::RequestBuilder;

use crate::dump::{self, Cell};
use crate::monitor::Monitor;
use crate::needles::Minted;
use crate::process::{self, Env, Output, Server};

pub const REDIRECT: &str = "https://rp.example.com/cb";
pub const LOGOUT_REDIRECT: &str = "https://rp.example.com/bye";
const EMAIL: &str = "alice@example.com";
const FLOW_ID: &str = "sign-in flow id";
const CSRF_TOKEN: &str = "CSRF token";
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const PAT_API: &str = "api.example.com";
const EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const PAT_TYPE: &str = "urn:lanyard:token-type:pat";

/// A response the scenario got with an error status, or an error sent back by redirect.
pub struct ErrorResponse {
    pub request: String,
    pub status: u16,
    /// Headers and body as received.
    pub text: String,
    /// Secrets this response carries by design: a sign-in form shown again with an error
    /// keeps its flow id and CSRF field, so the same browser can go on.
    pub carries: &'static [&'static str],
}

/// Everything one run left behind.
pub struct Run {
    pub backend: Backend,
    pub secrets: Vec<Minted>,
    /// Process output to search: (which, text).
    pub logs: Vec<(String, String)>,
    pub errors: Vec<ErrorResponse>,
    /// Production only: what MONITOR printed during the run, and the keys left under the
    /// run's prefix at the end.
    pub monitor: Option<String>,
    pub redis_keys: Vec<String>,
    pub redis_prefix: String,
    pub dump: Vec<Cell>,
    /// The data folder's key files (base64), as the server created them.
    pub kek: String,
    pub token_hash_key: String,
    /// Secrets by role, for the at-rest checks.
    pub codes: Vec<String>,
    pub device_codes: Vec<String>,
    pub sessions: Vec<String>,
    pub flows: Vec<String>,
    pub refresh_tokens: Vec<String>,
    pub client_secrets: Vec<(String, String)>,
    /// The personal access tokens the server issued (S24), and the JWTs exchanged for them.
    pub pats: Vec<String>,
    pub pat_jwts: Vec<String>,
    /// Places that do hold secrets, by design — (place, text, which secret) — so the search
    /// is shown to find them where they are.
    pub controls: Vec<(String, String, String)>,
}

struct Recorder {
    errors: Vec<ErrorResponse>,
    secrets: Vec<Minted>,
}

impl Recorder {
    fn mint(&mut self, what: &str, value: &str) -> String {
        assert!(!value.is_empty(), "{what} is empty");
        self.secrets.push(Minted::new(what, value));
        value.to_owned()
    }

    /// Sends `request`; keeps the response if it is an error (status ≥ 400, or a redirect
    /// carrying `error=`). Returns status, Location and body.
    async fn send(&mut self, label: &str, request: RequestBuilder) -> (u16, String, String) {
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = format!("{:?}", response.headers());
        let location = response
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let body = response.text().await.unwrap();
        self.keep(label, status, &format!("{headers}\n{body}"), &location, &[]);
        (status, location, body)
    }

    fn keep(
        &mut self,
        label: &str,
        status: u16,
        text: &str,
        location: &str,
        carries: &'static [&'static str],
    ) {
        if status >= 400 || location.contains("error=") {
            self.errors.push(ErrorResponse {
                request: label.to_owned(),
                status,
                text: text.to_owned(),
                carries,
            });
        }
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn query_param(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .ok()?
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn client_secret_of(output: &Output) -> String {
    let doc: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    doc["client_secret"].as_str().unwrap().to_owned()
}

fn text(value: &serde_json::Value, name: &str) -> String {
    value[name]
        .as_str()
        .unwrap_or_else(|| panic!("no {name} in {value}"))
        .to_owned()
}

pub async fn run(backend: Backend) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let port = process::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut vars: Vec<(String, String)> = [
        ("LANYARD_LOG", "trace"),
        ("RUST_LOG", "trace"),
        ("RUST_BACKTRACE", "1"),
        ("NO_COLOR", "1"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    // The refresh grace window on, so the database also holds a sealed successor.
    vars.push(("LANYARD_TOKENS__REFRESH_GRACE_SECS".into(), "60".into()));
    vars.push(("LANYARD_LISTEN".into(), format!("127.0.0.1:{port}")));
    vars.push(("LANYARD_ISSUER".into(), base.clone()));
    vars.push((
        "LANYARD_DATA_DIR".into(),
        data_dir.to_string_lossy().into_owned(),
    ));
    let mut postgres = None;
    let mut redis: Option<(String, String)> = None;
    let mut prefix_guard = None;
    let database_url = if backend == Backend::Production {
        let admin = lanyard_store::testing::postgres_url_from_env().unwrap();
        let (url, guard) = TempPostgres::create(&admin).await.unwrap();
        postgres = Some(guard);
        let redis_url = lanyard_store::testing::redis_url_from_env().unwrap();
        let prefix = temp_redis_prefix();
        prefix_guard = Some(PrefixGuard {
            url: redis_url.clone(),
            prefix: prefix.clone(),
            done: false,
        });
        vars.push(("LANYARD_DATABASE_URL".into(), url.clone()));
        vars.push(("LANYARD_REDIS_URL".into(), redis_url.clone()));
        vars.push(("LANYARD_EPHEMERAL__REDIS_PREFIX".into(), prefix.clone()));
        redis = Some((redis_url, prefix));
        url
    } else {
        format!("sqlite://{}/lanyard.db?mode=rwc", data_dir.display())
    };
    // Mail goes through the real SMTP transport to a sink in this process.
    let sink = SmtpSink::start().await;
    for (key, value) in [
        ("LANYARD_MAIL__TRANSPORT", "smtp".to_owned()),
        ("LANYARD_MAIL__SMTP_HOST", "127.0.0.1".to_owned()),
        ("LANYARD_MAIL__SMTP_PORT", sink.port().to_string()),
        ("LANYARD_MAIL__SMTP_TLS", "none".to_owned()),
    ] {
        vars.push((key.to_owned(), value));
    }
    // A registered API, so that PATs can be minted and exchanged (S24); `[[resources]]` is
    // a list of tables, which only a file can hold.
    let config_file = dir.path().join("lanyard.toml");
    std::fs::write(
        &config_file,
        format!("[[resources]]\nidentifier = \"{PAT_API}\"\nscopes = [\"repo:read\"]\n"),
    )
    .unwrap();
    vars.push((
        "LANYARD_CONFIG".into(),
        config_file.to_string_lossy().into_owned(),
    ));
    let env = Env {
        vars,
        cwd: dir.path().to_owned(),
    };
    let monitor = match &redis {
        Some((url, _)) => Some(Monitor::start(url).await),
        None => None,
    };

    let mut logs: Vec<(String, String)> = Vec::new();
    let mut keep_log = |output: &Output, with_stdout: bool| {
        logs.push((
            format!("{} (stderr)", output.name),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        ));
        if with_stdout {
            logs.push((
                format!("{} (stdout)", output.name),
                String::from_utf8_lossy(&output.stdout).into_owned(),
            ));
        }
    };
    let mut rec = Recorder {
        errors: Vec::new(),
        secrets: Vec::new(),
    };

    // --- Admin commands: the account (password on stdin) and three clients. `client create`
    // prints the secret once on stdout by design; its stderr is searched like every log.
    if backend == Backend::Production {
        keep_log(&process::run(&env, &["migrate"], None).await, true);
    }
    let password = rec.mint("password", &format!("pw {}", random_token(&OsRng, 18)));
    let wrong_password = rec.mint(
        "wrong password",
        &format!("wrong {}", random_token(&OsRng, 18)),
    );
    let created = process::run(
        &env,
        &[
            "user",
            "create",
            "--email",
            EMAIL,
            "--name",
            "Alice",
            "--password-stdin",
        ],
        Some(&format!("{password}\n")),
    )
    .await;
    keep_log(&created, true);
    let rp = process::run(
        &env,
        &[
            "client",
            "create",
            "--id",
            "rp",
            "--redirect-uri",
            REDIRECT,
            "--post-logout-redirect-uri",
            LOGOUT_REDIRECT,
            "--grant",
            "authorization_code,refresh_token",
            "--auth",
            "client_secret_basic",
            "--scope",
            "openid",
            "--scope",
            "email",
            "--scope",
            "profile",
            "--json",
        ],
        None,
    )
    .await;
    keep_log(&rp, false);
    let rp_secret = rec.mint("client secret (basic)", &client_secret_of(&rp));
    let mut controls = vec![(
        "stdout of client create".to_owned(),
        String::from_utf8_lossy(&rp.stdout).into_owned(),
        "client secret (basic)".to_owned(),
    )];
    let batch = process::run(
        &env,
        &[
            "client",
            "create",
            "--id",
            "batch",
            "--grant",
            "client_credentials",
            "--auth",
            "client_secret_post",
            "--scope",
            "api",
            "--json",
        ],
        None,
    )
    .await;
    keep_log(&batch, false);
    let batch_secret = rec.mint("client secret (post)", &client_secret_of(&batch));
    rec.mint(
        "Authorization: Basic value",
        &STANDARD.encode(format!("rp:{rp_secret}")),
    );

    // A private_key_jwt client: its key pair is the client's, made here.
    let client_kek = Kek::generate(&OsRng);
    // The subprocess runs on the system clock; so does the assertion it must accept.
    let now = SystemClock.now();
    let record =
        generate_signing_key(SigningAlg::ES256, "svc-key".into(), &client_kek, now, now).unwrap();
    let ring = KeyRing::load(std::slice::from_ref(&record), &client_kek, now).unwrap();
    let signer = ring.signer(SigningAlg::ES256).unwrap();
    let public_jwk: serde_json::Value = serde_json::from_str(&record.public_jwk).unwrap();
    let jwks_path = dir.path().join("svc-jwks.json");
    std::fs::write(
        &jwks_path,
        serde_json::json!({ "keys": [public_jwk] }).to_string(),
    )
    .unwrap();
    let svc = process::run(
        &env,
        &[
            "client",
            "create",
            "--id",
            "svc",
            "--grant",
            "client_credentials",
            "--auth",
            "private_key_jwt",
            "--jwks-file",
            &jwks_path.to_string_lossy(),
            "--scope",
            "api",
            "--json",
        ],
        None,
    )
    .await;
    keep_log(&svc, true);

    // A public client on a device (RFC 8628).
    let tv = process::run(
        &env,
        &[
            "client",
            "create",
            "--id",
            "tv",
            "--grant",
            "urn:ietf:params:oauth:grant-type:device_code,refresh_token",
            "--auth",
            "none",
            "--scope",
            "openid",
            "--scope",
            "email",
            "--json",
        ],
        None,
    )
    .await;
    keep_log(&tv, true);

    // A public desktop tool that exchanges PATs, and a PAT an operator mints for it (S24).
    // `pat create` prints the token once on stdout by design; its stderr is searched.
    let tool = process::run(
        &env,
        &[
            "client", "create", "--id", "tool", "--grant", EXCHANGE, "--auth", "none", "--json",
        ],
        None,
    )
    .await;
    keep_log(&tool, true);
    let operator_pat = process::run(
        &env,
        &[
            "pat",
            "create",
            "--user",
            EMAIL,
            "--name",
            "ci",
            "--scope",
            "repo:read",
            "--json",
        ],
        None,
    )
    .await;
    keep_log(&operator_pat, false);
    let created: serde_json::Value = serde_json::from_slice(&operator_pat.stdout).unwrap();
    let pat_cli = rec.mint("PAT (operator)", &text(&created, "token"));
    let pat_cli_id = text(&created, "id");
    controls.push((
        "stdout of pat create".into(),
        String::from_utf8_lossy(&operator_pat.stdout).into_owned(),
        "PAT (operator)".into(),
    ));

    // --- The server.
    let server = Server::start(&env).await;
    let verifier = rec.mint("code_verifier", &random_token(&OsRng, 48));
    let challenge = URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        verifier.as_bytes(),
    ));
    let authorize = format!(
        "{base}/authorize?response_type=code&client_id=rp&redirect_uri={}&scope=openid%20email%20profile&state=st&nonce=nn&code_challenge={challenge}&code_challenge_method=S256",
        url::form_urlencoded::byte_serialize(REDIRECT.as_bytes()).collect::<String>()
    );
    let jar = Arc::new(reqwest::cookie::Jar::default());
    let browser = Browser::with_cookie_jar(jar.clone());

    // Sign in: email, a wrong password, the right one, consent.
    let (_, at, page) = browser.get(&authorize, &base).await;
    let flow = rec.mint(FLOW_ID, &query_param(&at, "flow").unwrap());
    rec.mint(CSRF_TOKEN, &hidden_field(&page, "csrf_token").unwrap());
    let (_, _, page) = browser.submit(&page, &base, &[("email", EMAIL)]).await;
    let (status, _, page) = browser
        .submit(&page, &base, &[("password", &wrong_password)])
        .await;
    assert_eq!(status, 400);
    rec.keep("wrong password", status, &page, "", &[FLOW_ID, CSRF_TOKEN]);
    let (status, _, page) = browser
        .submit(&page, &base, &[("password", &password)])
        .await;
    assert_eq!(status, 200);
    // The second step. The 6-digit code itself is too short to grep for (trace timestamps
    // carry 6-digit fractions); the backup code and the device cookie are not.
    assert!(page.contains("name=\"code\""), "code page: {page}");
    let mails = sink.wait_for(EMAIL, 1).await;
    let otp = lanyard_testkit::code_in(&mails[0].text);
    let wrong = if otp == "135790" { "246801" } else { "135790" };
    let (status, _, page) = browser.submit(&page, &base, &[("code", wrong)]).await;
    assert_eq!(status, 400);
    rec.keep("wrong code", status, &page, "", &[FLOW_ID, CSRF_TOKEN]);
    let (status, _, page) = browser.submit(&page, &base, &[("code", &otp)]).await;
    assert_eq!(status, 200);
    // The code's text without the markup that keeps its groups on one line.
    let shown: String = page
        .split("<code>")
        .nth(1)
        .and_then(|rest| rest.split("</code>").next())
        .expect("the first sign-in shows a backup code")
        .replace("<wbr>", "")
        .replace("<span class=\"code-group\">", "")
        .replace("</span>", "");
    let shown = shown.as_str();
    rec.mint("backup code", shown);
    rec.mint("backup code, as typed", &shown.replace('-', ""));
    let (_, _, page) = browser.submit(&page, &base, &[("saved", "yes")]).await;
    assert!(page.contains("name=\"trust\""), "trust page: {page}");
    let (status, _, page) = browser.submit(&page, &base, &[("trust", "yes")]).await;
    assert_eq!(status, 200);
    rec.mint(
        "device cookie",
        &cookie_value(&jar, &base, "lanyard_device").expect("a device cookie"),
    );
    assert!(page.contains("name=\"decision\""), "consent page: {page}");
    let session = rec.mint(
        "session cookie",
        &cookie_value(&jar, &base, "lanyard_session").unwrap(),
    );
    let (_, back, _) = browser.submit(&page, &base, &[("decision", "allow")]).await;
    let code1 = rec.mint("authorization code 1", &query_param(&back, "code").unwrap());

    let token = format!("{base}/token");
    let redeem = |code: &str, verifier: &str, secret: &str| {
        http().post(&token).basic_auth("rp", Some(secret)).form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier),
        ])
    };
    let wrong_secret = rec.mint(
        "wrong client secret",
        &format!("lyd_cs_{}", random_token(&OsRng, 32)),
    );
    let (status, _, _) = rec
        .send(
            "token, wrong client secret",
            redeem(&code1, &verifier, &wrong_secret),
        )
        .await;
    assert_eq!(status, 401);
    let (status, _, body) = rec
        .send("token, code 1", redeem(&code1, &verifier, &rp_secret))
        .await;
    assert_eq!(status, 200, "{body}");
    let first: serde_json::Value = serde_json::from_str(&body).unwrap();
    for what in ["access token 1", "refresh token 1", "ID token 1"] {
        controls.push(("token response".into(), body.clone(), what.into()));
    }
    let at1 = rec.mint("access token 1", &text(&first, "access_token"));
    let rt1 = rec.mint("refresh token 1", &text(&first, "refresh_token"));
    rec.mint("ID token 1", &text(&first, "id_token"));

    let userinfo = format!("{base}/userinfo");
    let introspect = format!("{base}/introspect");
    let revoke = format!("{base}/revoke");
    let (status, _, _) = rec
        .send("userinfo", http().get(&userinfo).bearer_auth(&at1))
        .await;
    assert_eq!(status, 200);
    for t in [&at1, &rt1] {
        let (status, _, body) = rec
            .send(
                "introspect",
                http()
                    .post(&introspect)
                    .basic_auth("rp", Some(&rp_secret))
                    .form(&[("token", t.as_str())]),
            )
            .await;
        assert_eq!(status, 200);
        assert!(body.contains("\"active\":true"), "{body}");
    }

    // A second code: a wrong verifier burns it, the right one can not revive it.
    let (_, back, _) = browser.get(&authorize, &base).await;
    let code2 = rec.mint("authorization code 2", &query_param(&back, "code").unwrap());
    let wrong_verifier = rec.mint("wrong code_verifier", &random_token(&OsRng, 48));
    let (status, _, _) = rec
        .send(
            "token, wrong verifier",
            redeem(&code2, &wrong_verifier, &rp_secret),
        )
        .await;
    assert_eq!(status, 400);
    let (status, _, _) = rec
        .send("token, burned code", redeem(&code2, &verifier, &rp_secret))
        .await;
    assert_eq!(status, 400);

    // Rotation twice; the previous token again within the grace window (the same successor
    // back: the server kept it sealed); then an older token (reuse: the family dies).
    let refresh = |rt: &str| {
        http()
            .post(&token)
            .basic_auth("rp", Some(&rp_secret))
            .form(&[("grant_type", "refresh_token"), ("refresh_token", rt)])
    };
    let (status, _, body) = rec.send("refresh", refresh(&rt1)).await;
    assert_eq!(status, 200, "{body}");
    let second: serde_json::Value = serde_json::from_str(&body).unwrap();
    let at2 = rec.mint("access token 2", &text(&second, "access_token"));
    let rt2 = rec.mint("refresh token 2", &text(&second, "refresh_token"));
    rec.mint("ID token 2", &text(&second, "id_token"));
    let (status, _, body) = rec.send("refresh 2", refresh(&rt2)).await;
    assert_eq!(status, 200, "{body}");
    let third: serde_json::Value = serde_json::from_str(&body).unwrap();
    rec.mint("access token 2b", &text(&third, "access_token"));
    let rt2b = rec.mint("refresh token 2b", &text(&third, "refresh_token"));
    let (status, _, body) = rec.send("refresh 2, retried", refresh(&rt2)).await;
    assert_eq!(status, 200, "{body}");
    let retried: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        text(&retried, "refresh_token"),
        rt2b,
        "grace: the same successor"
    );
    rec.mint("access token 2c", &text(&retried, "access_token"));
    let (status, _, _) = rec.send("refresh reuse", refresh(&rt1)).await;
    assert_eq!(status, 400);
    let (status, _, _) = rec
        .send(
            "userinfo, revoked grant",
            http().get(&userinfo).bearer_auth(&at2),
        )
        .await;
    assert_eq!(status, 401);

    // A third grant, revoked by its refresh token.
    let (_, back, _) = browser.get(&authorize, &base).await;
    let code3 = rec.mint("authorization code 3", &query_param(&back, "code").unwrap());
    let (status, _, body) = rec
        .send("token, code 3", redeem(&code3, &verifier, &rp_secret))
        .await;
    assert_eq!(status, 200, "{body}");
    let grant3: serde_json::Value = serde_json::from_str(&body).unwrap();
    let at3 = rec.mint("access token 3", &text(&grant3, "access_token"));
    let rt3 = rec.mint("refresh token 3", &text(&grant3, "refresh_token"));
    let id3 = rec.mint("ID token 3", &text(&grant3, "id_token"));
    let (status, _, _) = rec
        .send(
            "revoke",
            http()
                .post(&revoke)
                .basic_auth("rp", Some(&rp_secret))
                .form(&[
                    ("token", rt3.as_str()),
                    ("token_type_hint", "refresh_token"),
                ]),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _, _) = rec
        .send("userinfo, revoked", http().get(&userinfo).bearer_auth(&at3))
        .await;
    assert_eq!(status, 401);

    // client_secret_post, and a secret in the query string.
    let (status, _, body) = rec
        .send(
            "client credentials (post)",
            http().post(&token).form(&[
                ("grant_type", "client_credentials"),
                ("client_id", "batch"),
                ("client_secret", batch_secret.as_str()),
            ]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let batch_tokens: serde_json::Value = serde_json::from_str(&body).unwrap();
    let at4 = rec.mint("access token 4", &text(&batch_tokens, "access_token"));
    let (status, _, _) = rec
        .send(
            "token, secret in query",
            http()
                .post(format!("{token}?client_secret={batch_secret}"))
                .form(&[("grant_type", "client_credentials"), ("client_id", "batch")]),
        )
        .await;
    assert_eq!(status, 400);
    let (status, _, _) = rec
        .send(
            "token, code in query",
            http()
                .post(format!("{token}?code={code1}&code_verifier={verifier}"))
                .basic_auth("rp", Some(&rp_secret))
                .form(&[("grant_type", "authorization_code")]),
        )
        .await;
    assert_eq!(status, 400);

    // private_key_jwt: an assertion works once.
    let exp = now.seconds() + 60;
    let assertion = rec.mint(
        "client assertion",
        &signer
            .sign(
                "JWT",
                &serde_json::json!({
                    "iss": "svc", "sub": "svc", "aud": token,
                    "jti": random_token(&OsRng, 16), "iat": now.seconds(), "exp": exp,
                }),
            )
            .unwrap(),
    );
    let with_assertion = || {
        http().post(&token).form(&[
            ("grant_type", "client_credentials"),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", assertion.as_str()),
        ])
    };
    let (status, _, body) = rec.send("private_key_jwt", with_assertion()).await;
    assert_eq!(status, 200, "{body}");
    let svc_tokens: serde_json::Value = serde_json::from_str(&body).unwrap();
    rec.mint(
        "access token (private_key_jwt)",
        &text(&svc_tokens, "access_token"),
    );
    let (status, _, _) = rec.send("private_key_jwt replay", with_assertion()).await;
    assert_eq!(status, 401);

    // Tokens where they do not belong.
    let (status, _, _) = rec
        .send(
            "userinfo, token in query",
            http().get(format!("{userinfo}?access_token={at4}")),
        )
        .await;
    assert_eq!(status, 400);
    let (status, _, _) = rec
        .send(
            "userinfo, basic credentials",
            http().get(&userinfo).basic_auth("rp", Some(&rp_secret)),
        )
        .await;
    assert_eq!(status, 401);
    let (status, _, _) = rec
        .send(
            "introspect, no client",
            http().post(&introspect).form(&[("token", at1.as_str())]),
        )
        .await;
    assert_eq!(status, 401);
    let (status, _, _) = rec
        .send(
            "introspect, public form secret and basic",
            http()
                .post(&introspect)
                .basic_auth("rp", Some(&rp_secret))
                .form(&[
                    ("token", at1.as_str()),
                    ("client_secret", rp_secret.as_str()),
                ]),
        )
        .await;
    assert_eq!(status, 400);
    let (status, _, _) = rec
        .send(
            "password form, forged CSRF",
            browser.http.post(format!("{base}/login/password")).form(&[
                ("flow", flow.as_str()),
                ("csrf_token", "forged"),
                ("password", password.as_str()),
            ]),
        )
        .await;
    assert_eq!(status, 403);
    let (status, _, _) = rec
        .send(
            "authorize, code in an unregistered redirect",
            http().get(format!(
                "{base}/authorize?response_type=code&client_id=rp&redirect_uri={}&scope=openid",
                url::form_urlencoded::byte_serialize(
                    format!("https://evil.example/?code={code1}&s={rp_secret}").as_bytes()
                )
                .collect::<String>()
            )),
        )
        .await;
    assert_eq!(status, 400);
    let (status, _, _) = rec
        .send(
            "logout, forged hint",
            http().get(format!(
                "{base}/logout?id_token_hint={}x&post_logout_redirect_uri={}",
                id3,
                url::form_urlencoded::byte_serialize(LOGOUT_REDIRECT.as_bytes())
                    .collect::<String>()
            )),
        )
        .await;
    assert_eq!(status, 400);
    // Another client trying to revoke rp's token: 200 and audited.
    let (status, _, _) = rec
        .send(
            "revoke, foreign",
            http().post(&revoke).form(&[
                ("token", at1.as_str()),
                ("client_id", "batch"),
                ("client_secret", batch_secret.as_str()),
            ]),
        )
        .await;
    assert_eq!(status, 200);
    // A storage fault while a code is redeemed: the server logs the internal cause of the
    // 500, and that log line must not carry the code, the verifier or the client secret.
    let (_, back, _) = browser.get(&authorize, &base).await;
    let code4 = rec.mint("authorization code 4", &query_param(&back, "code").unwrap());
    inject_fault(&database_url, true).await;
    let (status, _, _) = rec
        .send(
            "token, storage fault",
            redeem(&code4, &verifier, &rp_secret),
        )
        .await;
    inject_fault(&database_url, false).await;
    assert_eq!(status, 500);

    // A grant left live after one rotation: at rest it keeps its successor, sealed.
    let (_, back, _) = browser.get(&authorize, &base).await;
    let code5 = rec.mint("authorization code 5", &query_param(&back, "code").unwrap());
    let (status, _, body) = rec
        .send("token, code 5", redeem(&code5, &verifier, &rp_secret))
        .await;
    assert_eq!(status, 200, "{body}");
    let grant5: serde_json::Value = serde_json::from_str(&body).unwrap();
    rec.mint("access token 5a", &text(&grant5, "access_token"));
    rec.mint("ID token 5a", &text(&grant5, "id_token"));
    let rt5 = rec.mint("refresh token 5", &text(&grant5, "refresh_token"));
    let (status, _, body) = rec.send("refresh 5", refresh(&rt5)).await;
    assert_eq!(status, 200, "{body}");
    let rotated5: serde_json::Value = serde_json::from_str(&body).unwrap();
    rec.mint("access token 5b", &text(&rotated5, "access_token"));
    rec.mint("ID token 5b", &text(&rotated5, "id_token"));
    let rt5b = rec.mint("refresh token 5b", &text(&rotated5, "refresh_token"));

    // The device grant: the device code, the user code (as shown and as typed), the
    // confirmation token and the tokens are secrets like any other.
    let (status, _, body) = rec
        .send(
            "device authorization",
            http()
                .post(format!("{base}/device_authorization"))
                .form(&[("client_id", "tv"), ("scope", "openid email")]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let started: serde_json::Value = serde_json::from_str(&body).unwrap();
    for what in ["device code", "user code"] {
        controls.push((
            "device authorization response".into(),
            body.clone(),
            what.into(),
        ));
    }
    let device_code = rec.mint("device code", &text(&started, "device_code"));
    let user_code = rec.mint("user code", &text(&started, "user_code"));
    rec.mint("user code, as typed", &user_code.replace('-', ""));
    let poll = || {
        http().post(&token).form(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("client_id", "tv"),
            ("device_code", device_code.as_str()),
        ])
    };
    let (status, _, _) = rec.send("device poll, pending", poll()).await;
    assert_eq!(status, 400);
    let (status, _, _) = rec.send("device poll, too soon", poll()).await;
    assert_eq!(status, 400);
    let (_, _, page) = browser.get(&format!("{base}/device"), &base).await;
    assert!(page.contains("name=\"user_code\""), "device page: {page}");
    let wrong_user_code = if user_code == "BCDF-GHJK" {
        "GHJK-BCDF"
    } else {
        "BCDF-GHJK"
    };
    let (status, _, wrong_page) = browser
        .submit(&page, &base, &[("user_code", wrong_user_code)])
        .await;
    assert_eq!(status, 400);
    rec.keep("wrong user code", status, &wrong_page, "", &[CSRF_TOKEN]);
    let (status, _, page) = browser
        .submit(&page, &base, &[("user_code", &user_code.to_lowercase())])
        .await;
    assert_eq!(status, 200, "{page}");
    rec.mint(
        "device confirmation",
        &hidden_field(&page, "confirm").unwrap(),
    );
    let (status, _, page) = browser
        .submit(&page, &base, &[("decision", "approve")])
        .await;
    assert_eq!(status, 200, "{page}");
    // An approved request answers at once, whatever the interval.
    let (status, _, body) = rec.send("device poll, approved", poll()).await;
    assert_eq!(status, 200, "{body}");
    let device_grant: serde_json::Value = serde_json::from_str(&body).unwrap();
    rec.mint(
        "access token (device)",
        &text(&device_grant, "access_token"),
    );
    rec.mint("ID token (device)", &text(&device_grant, "id_token"));
    let rt_device = rec.mint(
        "refresh token (device)",
        &text(&device_grant, "refresh_token"),
    );
    let (status, _, _) = rec.send("device poll, redeemed", poll()).await;
    assert_eq!(status, 400);

    // S24: a PAT minted through the account API (the session is fresh: it just signed in
    // with both steps), both PATs exchanged for JWTs, the operator's revoked from the CLI
    // while the server runs, and the refusals that carry a PAT: revoked, mistyped, unknown,
    // in a query string, as a bearer token.
    let (status, _, _) = browser.get(&format!("{base}/account/pats"), &base).await;
    assert_eq!(status, 200);
    let csrf = browser.csrf_token(&base).await;
    let (status, _, body) = rec
        .send(
            "account API, create PAT",
            browser
                .http
                .post(format!("{base}/account/pats"))
                .header("accept", "application/json")
                .header("x-csrf-token", &csrf)
                .json(&serde_json::json!({"name": "laptop", "scopes": ["repo:read"]})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    controls.push((
        "PAT creation response".into(),
        body.clone(),
        "PAT (account API)".into(),
    ));
    let created: serde_json::Value = serde_json::from_str(&body).unwrap();
    let pat_api = rec.mint("PAT (account API)", &text(&created, "token"));
    let exchange = |pat: &str| {
        http().post(&token).form(&[
            ("grant_type", EXCHANGE),
            ("client_id", "tool"),
            ("subject_token", pat),
            ("subject_token_type", PAT_TYPE),
            ("audience", PAT_API),
        ])
    };
    let mut pat_jwts = Vec::new();
    for (label, pat, what) in [
        (
            "exchange, account PAT",
            &pat_api,
            "access token (PAT exchange 1)",
        ),
        (
            "exchange, operator PAT",
            &pat_cli,
            "access token (PAT exchange 2)",
        ),
    ] {
        let (status, _, body) = rec.send(label, exchange(pat)).await;
        assert_eq!(status, 200, "{body}");
        controls.push(("exchange response".into(), body.clone(), what.into()));
        let issued: serde_json::Value = serde_json::from_str(&body).unwrap();
        pat_jwts.push(rec.mint(what, &text(&issued, "access_token")));
    }
    let revoked = process::run(&env, &["pat", "revoke", &pat_cli_id], None).await;
    keep_log(&revoked, true);
    let (status, _, body) = rec.send("exchange, revoked PAT", exchange(&pat_cli)).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("invalid_grant"), "{body}");
    let mut typo = pat_api.clone().into_bytes();
    typo[30] = if typo[30] == b'a' { b'b' } else { b'a' };
    let typo = rec.mint("mistyped PAT", &String::from_utf8(typo).unwrap());
    let unknown = rec.mint(
        "unknown PAT",
        lanyard_core::pat_token::mint(&OsRng).token.expose(),
    );
    for (label, pat) in [
        ("exchange, mistyped PAT", &typo),
        ("exchange, unknown PAT", &unknown),
    ] {
        let (status, _, body) = rec.send(label, exchange(pat)).await;
        assert_eq!(status, 400, "{body}");
    }
    let (status, _, _) = rec
        .send(
            "token, PAT in query",
            http()
                .post(format!("{token}?subject_token={pat_api}"))
                .form(&[("grant_type", EXCHANGE), ("client_id", "tool")]),
        )
        .await;
    assert_eq!(status, 400);
    let (status, _, _) = rec
        .send(
            "userinfo, PAT as bearer",
            http().get(&userinfo).bearer_auth(&pat_api),
        )
        .await;
    assert_eq!(status, 401);

    // Logout with the ID token as hint signs this browser out.
    let (status, location, _) = rec
        .send(
            "logout",
            browser.http.get(format!(
                "{base}/logout?id_token_hint={id3}&post_logout_redirect_uri={}",
                url::form_urlencoded::byte_serialize(LOGOUT_REDIRECT.as_bytes())
                    .collect::<String>()
            )),
        )
        .await;
    assert_eq!((status, location.as_str()), (303, LOGOUT_REDIRECT));

    // A2: a new account signs up, verifies its address and resets its password, each by an
    // emailed link. The links' tokens and the passwords are secrets like any other (S55,
    // S56): only the mails hold the tokens, the database their keyed hashes. (Another
    // account than the scenario's user, whose grants must stay live for the checks.)
    const NEWCOMER: &str = "newcomer@example.com";
    let signup_password = rec.mint(
        "password (sign-up)",
        &format!("pw {}", random_token(&OsRng, 18)),
    );
    let (_, _, page) = browser.get(&format!("{base}/register"), &base).await;
    let (status, at, _) = browser
        .submit(
            &page,
            &base,
            &[
                ("email", NEWCOMER),
                ("name", "Newcomer"),
                ("password", &signup_password),
            ],
        )
        .await;
    assert!(at.ends_with("/register/sent"), "{status} {at}");
    let link_in = |mails: &[lanyard_testkit::smtp_sink::ReceivedMail], n: usize| {
        let text = &mails[n].text;
        let start = text.find("http").expect("a link in the mail");
        text[start..].split_whitespace().next().unwrap().to_owned()
    };
    let verify = link_in(&sink.wait_for(NEWCOMER, 1).await, 0);
    rec.mint(
        "verification token",
        &query_param(&verify, "token").unwrap(),
    );
    let (_, _, page) = browser.get(&verify, &base).await;
    let (status, at, _) = browser.submit(&page, &base, &[]).await;
    assert!(at.ends_with("/register/verified"), "{status} {at}");
    let (_, _, page) = browser.get(&format!("{base}/password/forgot"), &base).await;
    let (status, at, _) = browser.submit(&page, &base, &[("email", NEWCOMER)]).await;
    assert!(at.ends_with("/password/forgot/sent"), "{status} {at}");
    let link = link_in(&sink.wait_for(NEWCOMER, 2).await, 1);
    rec.mint(
        "password reset token",
        &query_param(&link, "token").unwrap(),
    );
    let reset_password = rec.mint(
        "password (reset)",
        &format!("pw {}", random_token(&OsRng, 18)),
    );
    let (_, _, page) = browser.get(&link, &base).await;
    let (status, at, _) = browser
        .submit(&page, &base, &[("password", &reset_password)])
        .await;
    assert!(at.ends_with("/password/reset/done"), "{status} {at}");

    let served = server.stop().await;
    keep_log(&served, true);
    let monitor = match monitor {
        Some(m) => Some(m.finish().await),
        None => None,
    };
    let (redis_keys, redis_prefix) = match &redis {
        Some((url, prefix)) => (scan_keys(url, prefix).await, prefix.clone()),
        None => (Vec::new(), String::new()),
    };
    let kek = std::fs::read_to_string(data_dir.join("kek"))
        .unwrap()
        .trim()
        .to_owned();
    let token_hash_key = std::fs::read_to_string(data_dir.join("token_hash_key"))
        .unwrap()
        .trim()
        .to_owned();
    rec.mint("key-encryption key", &kek);
    rec.mint("token hash key", &token_hash_key);
    let dump = dump::dump(&database_url).await;

    if let Some(pg) = postgres {
        pg.cleanup().await.unwrap();
    }
    if let Some(guard) = prefix_guard.take() {
        guard.cleanup().await;
    }
    Run {
        backend,
        secrets: rec.secrets,
        logs,
        errors: rec.errors,
        monitor,
        redis_keys,
        redis_prefix,
        dump,
        kek,
        token_hash_key,
        codes: vec![code1, code2, code3, code4, code5],
        device_codes: vec![device_code.clone()],
        sessions: vec![session],
        flows: vec![flow],
        refresh_tokens: vec![rt1, rt2, rt2b, rt3, rt5, rt5b, rt_device],
        client_secrets: vec![("rp".into(), rp_secret), ("batch".into(), batch_secret)],
        pats: vec![pat_api, pat_cli],
        pat_jwts,
        controls,
    }
}

async fn scan_keys(url: &str, prefix: &str) -> Vec<String> {
    lanyard_store::testing::redis_keys_with_prefix(url, prefix)
        .await
        .unwrap()
}

/// Makes every insert into `refresh_tokens` fail (a trigger added through a connection of
/// our own), or removes that trigger again.
async fn inject_fault(database_url: &str, on: bool) {
    use sea_orm::ConnectionTrait;
    let mut options = sea_orm::ConnectOptions::new(database_url);
    options.max_connections(1).sqlx_logging(false);
    let db = sea_orm::Database::connect(options).await.unwrap();
    let statements: &[&str] = match (db.get_database_backend(), on) {
        (sea_orm::DbBackend::Sqlite, true) => &[
            "CREATE TRIGGER hygiene_fault BEFORE INSERT ON refresh_tokens \
             BEGIN SELECT RAISE(ABORT, 'hygiene injected fault'); END",
        ],
        (sea_orm::DbBackend::Sqlite, false) => &["DROP TRIGGER hygiene_fault"],
        (_, true) => &[
            "CREATE FUNCTION hygiene_fault() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'hygiene injected fault'; END $$",
            "CREATE TRIGGER hygiene_fault BEFORE INSERT ON refresh_tokens \
             FOR EACH ROW EXECUTE FUNCTION hygiene_fault()",
        ],
        (_, false) => &[
            "DROP TRIGGER hygiene_fault ON refresh_tokens",
            "DROP FUNCTION hygiene_fault()",
        ],
    };
    for sql in statements {
        db.execute_unprepared(sql).await.unwrap();
    }
    let _ = db.close().await;
}

/// Removes the run's Redis keys: at the end of the run, or when a failed assertion unwinds
/// through it (on a thread of its own, as `TempPostgres` does for its database).
struct PrefixGuard {
    url: String,
    prefix: String,
    done: bool,
}

impl PrefixGuard {
    async fn cleanup(mut self) {
        self.done = true;
        cleanup_redis_prefix(&self.url, &self.prefix).await.unwrap();
    }
}

impl Drop for PrefixGuard {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let (url, prefix) = (self.url.clone(), self.prefix.clone());
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let _ = runtime.block_on(cleanup_redis_prefix(&url, &prefix));
        })
        .join();
    }
}
