use std::sync::Arc;

use lanyard_core::model::{ClientAuthMethod, GrantType, SigningAlg};
use lanyard_core::{Clock, OsRng};
use lanyard_crypto::Kek;
use lanyard_crypto::keys::{KeyRing, generate_signing_key};
use lanyard_server::NewClient;
use lanyard_testkit::{Backend, TestApp};
use serde_json::json;

pub use lanyard_testkit::fixtures::{
    CHALLENGE, LOGOUT_REDIRECT, REDIRECT, VERIFIER, authorize_url, confidential, urlencode,
};

/// Runs `f` once per available backend, each on a fresh server.
pub async fn each_backend<F, Fut>(f: F)
where
    F: Fn(TestApp) -> Fut,
    Fut: std::future::Future<Output = TestApp>,
{
    for backend in Backend::available() {
        let app = TestApp::spawn(backend).await;
        let app = f(app).await;
        app.cleanup().await;
    }
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub fn query_param(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .ok()?
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Signs `email` in through the pages and returns the authorization code.
pub async fn obtain_code(app: &TestApp, client_id: &str, email: &str) -> String {
    let browser = lanyard_testkit::Browser::new();
    let back = browser
        .sign_in(
            &authorize_url(app, client_id, ""),
            &app.base_url,
            &app.mail,
            email,
            lanyard_testkit::PASSWORD,
        )
        .await;
    assert!(back.starts_with(REDIRECT), "{back}");
    query_param(&back, "code").expect("code in redirect")
}

pub async fn redeem(
    app: &TestApp,
    client_id: &str,
    secret: &str,
    code: &str,
    verifier: &str,
) -> reqwest::Response {
    http()
        .post(app.url("/token"))
        .basic_auth(client_id, Some(secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier),
        ])
        .send()
        .await
        .unwrap()
}

pub async fn json(response: reqwest::Response) -> (u16, serde_json::Value) {
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(serde_json::Value::Null);
    (status, body)
}

/// Like [`each_backend`], on servers whose configuration `tweak` adjusted.
pub async fn each_backend_with<T, F, Fut>(tweak: T, f: F)
where
    T: Fn(&mut lanyard_server::config::Config),
    F: Fn(TestApp) -> Fut,
    Fut: std::future::Future<Output = TestApp>,
{
    for backend in Backend::available() {
        let app = TestApp::spawn_with(backend, &tweak).await;
        let app = f(app).await;
        app.cleanup().await;
    }
}

/// Signs `email` in for `client_id` and redeems the code: the token response.
pub async fn sign_in_tokens(
    app: &TestApp,
    client_id: &str,
    secret: &str,
    email: &str,
) -> serde_json::Value {
    let code = obtain_code(app, client_id, email).await;
    let (status, tokens) = json(redeem(app, client_id, secret, &code, VERIFIER).await).await;
    assert_eq!(status, 200, "{tokens}");
    tokens
}

/// `grant_type=refresh_token` at the token endpoint, with an optional `scope`.
pub async fn refresh(
    app: &TestApp,
    client_id: &str,
    secret: &str,
    refresh_token: &str,
    scope: Option<&str>,
) -> (u16, serde_json::Value) {
    let mut form = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
    ];
    if let Some(scope) = scope {
        form.push(("scope", scope));
    }
    let response = http()
        .post(app.url("/token"))
        .basic_auth(client_id, Some(secret))
        .form(&form)
        .send()
        .await
        .unwrap();
    json(response).await
}

/// A second connection to the server's database, as another process (an operator, a
/// half-finished migration) would open it: for reading rows and injecting real faults.
pub async fn side_connection(app: &TestApp) -> sea_orm::DatabaseConnection {
    let mut options = sea_orm::ConnectOptions::new(app.config.database_url());
    options.max_connections(1).sqlx_logging(false);
    sea_orm::Database::connect(options).await.unwrap()
}

pub fn is_sqlite(db: &sea_orm::DatabaseConnection) -> bool {
    db.get_database_backend() == sea_orm::DbBackend::Sqlite
}

/// The first column of every row of `sql`, as text.
pub async fn query_strings(db: &sea_orm::DatabaseConnection, sql: &str) -> Vec<String> {
    use sea_orm::ConnectionTrait;
    let statement = sea_orm::Statement::from_string(db.get_database_backend(), sql);
    db.query_all_raw(statement)
        .await
        .unwrap()
        .iter()
        .map(|row| {
            row.try_get_by_index::<Option<String>>(0)
                .unwrap()
                .unwrap_or_else(|| "NULL".to_owned())
        })
        .collect()
}

/// Every row of every table (listed from the catalog, so new tables are included), each
/// rendered as text, sorted: two snapshots are equal when nothing durable in the database
/// changed. The ephemeral store's table is left out: [`ephemeral_snapshot`] shows it.
pub async fn database_snapshot(
    db: &sea_orm::DatabaseConnection,
) -> std::collections::BTreeMap<String, Vec<String>> {
    let sqlite = is_sqlite(db);
    let tables = if sqlite {
        query_strings(
            db,
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
        )
        .await
    } else {
        query_strings(
            db,
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
        )
        .await
    };
    let mut snapshot = std::collections::BTreeMap::new();
    for table in tables.into_iter().filter(|t| t != "ephemeral_entries") {
        let quoted = format!("\"{}\"", table.replace('"', "\"\""));
        // The whole row as one text value: quote() per column on SQLite, the row's
        // composite text form on PostgreSQL.
        let sql = if sqlite {
            let columns = query_strings(
                db,
                &format!("SELECT name FROM pragma_table_info('{table}')"),
            )
            .await;
            let parts: Vec<String> = columns
                .iter()
                .map(|c| format!("quote(\"{}\")", c.replace('"', "\"\"")))
                .collect();
            format!("SELECT {} FROM {quoted}", parts.join(" || ',' || "))
        } else {
            format!("SELECT t::text FROM {quoted} t")
        };
        let mut rows = query_strings(db, &sql).await;
        rows.sort();
        snapshot.insert(table, rows);
    }
    snapshot
}

/// The ephemeral store's contents as far as a test can see them: the live keys of the
/// database's table (every key on the embedded default, the durable families with Redis),
/// plus the key names under the server's Redis prefix, or the in-process store's entry
/// count when it is configured.
pub async fn ephemeral_snapshot(app: &TestApp) -> Vec<String> {
    if let Some(memory) = &app.app.memory {
        return vec![format!("{} entries", memory.len())];
    }
    let mut keys = app.app.database_ephemeral.live_keys().await.unwrap();
    if !app.config.ephemeral.redis_url.is_empty() {
        keys.extend(
            lanyard_store::testing::redis_keys_with_prefix(
                &app.config.ephemeral.redis_url,
                &app.config.ephemeral.redis_prefix,
            )
            .await
            .unwrap(),
        );
    }
    keys
}

/// The claims of a JWT, unverified (the tests read ids out of tokens the server issued).
pub fn jwt_claims(jwt: &str) -> serde_json::Value {
    use base64::Engine;
    let payload = jwt.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// `configured`, or the key `a` generated in its data folder (`app::key_material`).
fn key_of(a: &TestApp, configured: &str, file: &str) -> String {
    if !configured.is_empty() {
        return configured.to_owned();
    }
    let path = a.config.server.data_dir.join(file);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .trim()
        .to_owned()
}

/// A second node on `a`'s database, keys and Redis prefix. It is started as "embedded" so it
/// owns no temporary database or Redis prefix of its own: `a`'s cleanup removes what both
/// used.
pub async fn second_node(
    a: &TestApp,
    tweak: impl Fn(&mut lanyard_server::config::Config),
) -> TestApp {
    let database_url = a.config.database_url();
    let kek = key_of(a, &a.config.keys.kek, "kek");
    let token_hash_key = key_of(a, &a.config.keys.token_hash_key, "token_hash_key");
    let (redis_url, redis_prefix) = (
        a.config.ephemeral.redis_url.clone(),
        a.config.ephemeral.redis_prefix.clone(),
    );
    TestApp::spawn_with(Backend::Embedded, |c| {
        tweak(c);
        c.database.url = database_url;
        c.keys.kek = kek;
        c.keys.token_hash_key = token_hash_key;
        c.ephemeral.redis_url = redis_url;
        c.ephemeral.redis_prefix = redis_prefix;
    })
    .await
}

// ---- Driving the pages without following redirects ----

/// A response as the browser got it, redirects not followed.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub location: String,
    pub cache_control: String,
    pub retry_after: String,
    pub body: String,
}

pub async fn reply(response: reqwest::Response) -> Reply {
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let status = response.status().as_u16();
    let location = header("location");
    let cache_control = header("cache-control");
    let retry_after = header("retry-after");
    let body = response.text().await.unwrap();
    Reply {
        status,
        location,
        cache_control,
        retry_after,
        body,
    }
}

/// Posts a form from `browser` (its cookies), without following a redirect.
pub async fn post(
    app: &TestApp,
    browser: &lanyard_testkit::Browser,
    path: &str,
    fields: &[(&str, &str)],
) -> Reply {
    let response = browser
        .http
        .post(app.url(path))
        .form(fields)
        .send()
        .await
        .unwrap();
    reply(response).await
}

/// One GET in `browser`, no redirect followed.
pub async fn get_reply(app: &TestApp, browser: &lanyard_testkit::Browser, path: &str) -> Reply {
    let response = browser.http.get(app.url(path)).send().await.unwrap();
    reply(response).await
}

/// The hidden field `name` of `page`, which must be there.
pub fn field(page: &str, name: &str) -> String {
    lanyard_testkit::recording::hidden_field(page, name)
        .unwrap_or_else(|| panic!("no hidden {name} on: {page}"))
}

/// `lanyard <args>` run as the real binary against the test server's database, data folder
/// (and Redis prefix), as an operator would; `config_toml`, when not empty, is its
/// configuration file.
pub async fn lanyard_cli(app: &TestApp, args: &[&str], config_toml: &str) -> std::process::Output {
    let mut cmd = cli_command(app, args, config_toml);
    cmd.stdin(std::process::Stdio::null());
    tokio::time::timeout(std::time::Duration::from_secs(120), cmd.output())
        .await
        .expect("the lanyard command finished")
        .unwrap()
}

/// [`lanyard_cli`] with `stdin` written to its standard input (a password).
pub async fn lanyard_cli_with_stdin(
    app: &TestApp,
    args: &[&str],
    stdin: &str,
) -> std::process::Output {
    use tokio::io::AsyncWriteExt;
    let mut cmd = cli_command(app, args, "");
    cmd.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).await.unwrap();
    drop(input);
    tokio::time::timeout(
        std::time::Duration::from_secs(120),
        child.wait_with_output(),
    )
    .await
    .expect("the lanyard command finished")
    .unwrap()
}

/// The `lanyard` command with the test server's environment and nothing from the test's.
pub fn cli_command(app: &TestApp, args: &[&str], config_toml: &str) -> tokio::process::Command {
    let data_dir = app.config.server.data_dir.clone();
    let cwd = data_dir.parent().unwrap().to_owned();
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_lanyard"));
    cmd.args(args).current_dir(&cwd).kill_on_drop(true);
    for (key, _) in std::env::vars() {
        if key.starts_with("LANYARD_") || key == "RUST_LOG" {
            cmd.env_remove(key);
        }
    }
    if !config_toml.is_empty() {
        let path = cwd.join("cli.toml");
        std::fs::write(&path, config_toml).unwrap();
        cmd.env("LANYARD_CONFIG", path);
    }
    cmd.env("LANYARD_DATA_DIR", &data_dir)
        .env("LANYARD_ISSUER", &app.base_url)
        .env("LANYARD_DATABASE_URL", app.config.database_url())
        .env("NO_COLOR", "1");
    if !app.config.ephemeral.redis_url.is_empty() {
        cmd.env("LANYARD_REDIS_URL", &app.config.ephemeral.redis_url)
            .env(
                "LANYARD_EPHEMERAL__REDIS_PREFIX",
                &app.config.ephemeral.redis_prefix,
            );
    }
    cmd
}

/// The text of a code shown on a page: the markup that keeps each group of it on one line
/// (`<span class="code-group">`, `<wbr>`) taken out.
pub fn code_text(fragment: &str) -> String {
    let mut text = String::with_capacity(fragment.len());
    let mut in_tag = false;
    for c in fragment.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    text
}

/// The code inside the first `<code…>…</code>` after `marker` on `page`, as text.
pub fn code_after(page: &str, marker: &str) -> String {
    let from = page
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker:?} in: {page}"));
    // The marker may be the `<code>` tag's own class, or on an element around it.
    let open = match page[..from].rfind('<') {
        Some(tag) if page[tag..].starts_with("<code") => tag,
        _ => page[from..].find("<code").unwrap() + from,
    };
    let start = page[open..].find('>').unwrap() + open + 1;
    let end = page[start..].find("</code>").unwrap() + start;
    code_text(&page[start..end])
}

/// The base32 secret the set-up page shows (groups of four), decoded.
pub fn totp_secret_from(page: &str) -> Vec<u8> {
    let open = "<code class=\"secret-block\">";
    let start = page.find(open).expect("the secret on the set-up page") + open.len();
    let end = page[start..].find("</code>").unwrap() + start;
    let text: String = code_text(&page[start..end])
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    data_encoding::BASE32_NOPAD
        .decode(text.as_bytes())
        .unwrap_or_else(|e| panic!("{text:?} is not base32: {e}"))
}

/// A public client (a TV app, a command-line tool) that may use the device grant and refresh.
pub fn device_client(id: &str) -> NewClient {
    NewClient {
        id: id.to_owned(),
        name: format!("Living Room {id}"),
        redirect_uris: vec![],
        post_logout_redirect_uris: vec![],
        grant_types: vec![GrantType::DeviceCode, GrantType::RefreshToken],
        auth_method: ClientAuthMethod::None,
        jwks: None,
        first_party: false,
        allowed_scopes: ["openid", "email", "profile"].map(str::to_owned).to_vec(),
        exchange_audiences: vec![],
        backchannel_logout_uri: None,
        backchannel_logout_session_required: false,
    }
}

/// A `private_key_jwt` client `id` with a fresh ES256 key: its key ring signs assertions.
pub async fn key_client(app: &TestApp, id: &str) -> KeyRing {
    let kek = Kek::generate(&OsRng);
    let now = app.clock.now();
    let record =
        generate_signing_key(SigningAlg::ES256, format!("{id}-key"), &kek, now, now).unwrap();
    let ring = KeyRing::load(std::slice::from_ref(&record), &kek, now).unwrap();
    let public_jwk: serde_json::Value = serde_json::from_str(&record.public_jwk).unwrap();
    app.create_client(NewClient {
        id: id.into(),
        name: "Service".into(),
        redirect_uris: vec![],
        post_logout_redirect_uris: vec![],
        grant_types: vec![GrantType::ClientCredentials],
        auth_method: ClientAuthMethod::PrivateKeyJwt,
        jwks: Some(json!({ "keys": [public_jwk] })),
        first_party: true,
        allowed_scopes: vec!["api".into()],
        exchange_audiences: vec![],
        backchannel_logout_uri: None,
        backchannel_logout_session_required: false,
    })
    .await;
    ring
}

pub fn assertion(ring: &KeyRing, claims: &serde_json::Value) -> String {
    ring.signer(SigningAlg::ES256)
        .unwrap()
        .sign("JWT", claims)
        .unwrap()
}

/// Shut until opened (`hold_hashing`).
#[derive(Default)]
pub struct Gate {
    open: std::sync::Mutex<bool>,
    opened: std::sync::Condvar,
}

impl Gate {
    fn wait(&self) {
        let mut open = self.open.lock().unwrap();
        while !*open {
            open = self.opened.wait(open).unwrap();
        }
    }

    pub fn open(&self) {
        *self.open.lock().unwrap() = true;
        self.opened.notify_all();
    }
}

/// Holds the app's two hashing threads (the background thread, then the keeper that takes
/// its starved job over) until the gate opens, so the next password waits in the queue.
pub async fn hold_hashing(app: &TestApp) -> (Arc<Gate>, tokio::task::JoinHandle<()>) {
    let gate = Arc::new(Gate::default());
    let running = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let accounts = app.app.state.accounts.clone();
    let (g, r) = (gate.clone(), running.clone());
    let holder = tokio::spawn(async move {
        accounts
            .on_password_pool(move |_| {
                r.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                g.wait();
            })
            .await
            .unwrap();
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while running.load(std::sync::atomic::Ordering::SeqCst) < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "the hashing threads were never held"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    (gate, holder)
}

/// A PAT exchanged (RFC 8693) by the public client `client` for an access token.
pub async fn exchange_pat(app: &TestApp, client: &str, pat: &str) -> (u16, serde_json::Value) {
    let response = http()
        .post(app.url("/token"))
        .form(&[
            (
                "grant_type",
                "urn:ietf:params:oauth:grant-type:token-exchange",
            ),
            ("client_id", client),
            ("subject_token", pat),
            ("subject_token_type", "urn:lanyard:token-type:pat"),
        ])
        .send()
        .await
        .unwrap();
    json(response).await
}

/// A public desktop tool that exchanges PATs (RFC 8693), registered as `id`.
pub fn pat_tool(id: &str, name: &str) -> NewClient {
    NewClient {
        id: id.to_owned(),
        name: name.to_owned(),
        redirect_uris: vec![],
        post_logout_redirect_uris: vec![],
        grant_types: vec![GrantType::TokenExchange],
        auth_method: ClientAuthMethod::None,
        jwks: None,
        first_party: true,
        allowed_scopes: vec![],
        exchange_audiences: vec![],
        backchannel_logout_uri: None,
        backchannel_logout_session_required: false,
    }
}
