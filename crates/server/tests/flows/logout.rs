//! Logout over HTTP: OIDC Back-Channel Logout 1.0 (D6) with a receiver on 127.0.0.1 that
//! checks every logout token against the JWKS; disabling an account (issue 11, item 8;
//! S46); RP-initiated logout with a refused request (S47).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use lanyard_core::model::AuditEvent;
use lanyard_core::ports::AuditRepo;
use lanyard_server::NewClient;
use lanyard_server::backchannel::{BackchannelSender, Round};
use lanyard_testkit::{Browser, TestApp};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::helpers::{
    LOGOUT_REDIRECT, REDIRECT, VERIFIER, authorize_url, confidential, each_backend,
    each_backend_with, json, jwt_claims, lanyard_cli, query_param, redeem, second_node, urlencode,
};

const EMAIL: &str = "ada@example.com";
const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

// ---- The receiver ----

/// What the relying party's back-channel endpoint received.
#[derive(Debug)]
struct Received {
    content_type: String,
    form: Vec<(String, String)>,
}

impl Received {
    fn logout_token(&self) -> &str {
        assert_eq!(self.content_type, "application/x-www-form-urlencoded");
        assert_eq!(self.form.len(), 1, "{:?}", self.form);
        assert_eq!(self.form[0].0, "logout_token");
        &self.form[0].1
    }
}

#[derive(Clone)]
struct Script {
    /// Statuses to answer with, in order; 200 once they run out.
    statuses: Arc<Mutex<VecDeque<u16>>>,
    seen: mpsc::UnboundedSender<Received>,
}

/// A relying party's back-channel endpoint on 127.0.0.1.
struct Receiver {
    base: String,
    seen: mpsc::UnboundedReceiver<Received>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    async fn start(statuses: &[u16]) -> Receiver {
        async fn post(
            State(script): State<Script>,
            headers: HeaderMap,
            body: String,
        ) -> StatusCode {
            let content_type = headers
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            let form = url::form_urlencoded::parse(body.as_bytes())
                .into_owned()
                .collect();
            let _ = script.seen.send(Received { content_type, form });
            let status = script.statuses.lock().unwrap().pop_front().unwrap_or(200);
            StatusCode::from_u16(status).unwrap()
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let script = Script {
            statuses: Arc::new(Mutex::new(statuses.iter().copied().collect())),
            seen: tx,
        };
        let router = axum::Router::new()
            .route("/bc/{client}", axum::routing::post(post))
            .with_state(script);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let task = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        Receiver {
            base,
            seen: rx,
            task,
        }
    }

    fn uri(&self, client: &str) -> String {
        format!("{}/bc/{client}", self.base)
    }

    /// Everything received so far (the sender's round has returned: nothing is in flight).
    fn drain(&mut self) -> Vec<Received> {
        let mut all = Vec::new();
        while let Ok(r) = self.seen.try_recv() {
            all.push(r);
        }
        all
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

// ---- Helpers ----

fn bc_client(id: &str, uri: Option<String>, session_required: bool) -> NewClient {
    NewClient {
        backchannel_logout_uri: uri,
        backchannel_logout_session_required: session_required,
        ..confidential(id)
    }
}

fn sender(app: &TestApp) -> BackchannelSender {
    BackchannelSender::new(&app.app, app.config.sessions.max_secs).unwrap()
}

async fn pending(app: &TestApp) -> u64 {
    app.app.state.issuer.backchannel().pending().await.unwrap()
}

async fn audits(app: &TestApp, kind: &str) -> Vec<AuditEvent> {
    app.app
        .stores
        .sql
        .list_audit(Some(kind), 1000)
        .await
        .unwrap()
}

/// Signs in to `first` through the pages, then to each of `more` with the same browser
/// session (single sign-on); returns the ID token claims per client.
async fn sign_in_to(app: &TestApp, browser: &Browser, clients: &[(&str, &str)]) -> Vec<Value> {
    let mut claims = Vec::new();
    for (i, (id, secret)) in clients.iter().enumerate() {
        let at = if i == 0 {
            browser
                .sign_in(
                    &authorize_url(app, id, ""),
                    &app.base_url,
                    &app.mail,
                    EMAIL,
                    lanyard_testkit::PASSWORD,
                )
                .await
        } else {
            browser
                .get(&authorize_url(app, id, ""), &app.base_url)
                .await
                .1
        };
        assert!(at.starts_with(REDIRECT), "{at}");
        let code = query_param(&at, "code").unwrap();
        let (status, tokens) = json(redeem(app, id, secret, &code, VERIFIER).await).await;
        assert_eq!(status, 200, "{tokens}");
        claims.push(jwt_claims(tokens["id_token"].as_str().unwrap()));
    }
    claims
}

/// Signs out through the logout page (confirming).
async fn sign_out(app: &TestApp, browser: &Browser) {
    let (status, _, page) = browser.get(&app.url("/logout"), &app.base_url).await;
    assert_eq!(status, 200, "{page}");
    let (status, _, page) = browser.submit(&page, &app.base_url, &[]).await;
    assert_eq!(status, 200, "{page}");
}

/// Whether the browser's session still opens the security page.
async fn signed_in(app: &TestApp, browser: &Browser) -> bool {
    let response = browser
        .http
        .get(app.url("/account/security"))
        .send()
        .await
        .unwrap();
    match response.status().as_u16() {
        200 => true,
        303 => {
            let location = response.headers()["location"].to_str().unwrap().to_owned();
            assert!(location.starts_with("/login?flow="), "{location}");
            false
        }
        other => panic!("unexpected status {other}"),
    }
}

/// Checks a logout token as a relying party must (§2.6): signature by a key of the JWKS,
/// `typ`, `iss`, `aud`, `iat`/`exp`, `jti`, the event, no `nonce`. Returns its claims.
async fn verified_logout_token(app: &TestApp, token: &str, client: &str) -> Value {
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("logout+jwt"));
    let jwks: jsonwebtoken::jwk::JwkSet = reqwest::get(app.url("/jwks"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kid = header.kid.as_deref().expect("a kid");
    let jwk = jwks.find(kid).expect("the signing key is in the JWKS");
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = jsonwebtoken::Validation::new(header.alg);
    validation.set_audience(&[client]);
    validation.set_issuer(&[app.base_url.as_str()]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud"]);
    // The test server's clock is a manual one that may run ahead of this process's.
    validation.leeway = 3600;
    let claims = jsonwebtoken::decode::<Value>(token, &key, &validation)
        .expect("a valid signature and claims")
        .claims;
    assert!(claims.get("nonce").is_none(), "§2.4: no nonce: {claims}");
    assert_eq!(
        claims["events"],
        serde_json::json!({ EVENT: {} }),
        "{claims}"
    );
    assert!(
        claims["jti"].as_str().is_some_and(|j| j.len() >= 16),
        "{claims}"
    );
    let lifetime = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
    assert!((1..=120).contains(&lifetime), "short-lived: {claims}");
    claims
}

// ---- Back-channel logout ----

#[tokio::test]
async fn bcl_2_5_signing_out_sends_each_client_of_the_session_a_verified_logout_token() {
    each_backend(|app| async move {
        let mut rp = Receiver::start(&[]).await;
        let account = app.create_user(EMAIL).await;
        let a = app
            .create_client(bc_client("a", Some(rp.uri("a")), true))
            .await
            .unwrap();
        let b = app
            .create_client(bc_client("b", Some(rp.uri("b")), false))
            .await
            .unwrap();
        let c = app
            .create_client(bc_client("c", None, false))
            .await
            .unwrap();

        let discovery: Value = reqwest::get(app.url("/.well-known/openid-configuration"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(discovery["backchannel_logout_supported"], true);
        assert_eq!(discovery["backchannel_logout_session_supported"], true);

        let browser = Browser::new();
        let ids = sign_in_to(&app, &browser, &[("a", &a), ("b", &b), ("c", &c)]).await;
        // §2.1: every ID token of the session names it by the same opaque `sid`, which is
        // not the session cookie.
        let sid = ids[0]["sid"]
            .as_str()
            .expect("sid in the ID token")
            .to_owned();
        assert!(ids.iter().all(|t| t["sid"] == sid.as_str()), "{ids:?}");
        let cookie = browser
            .http
            .get(app.url("/account/security"))
            .send()
            .await
            .unwrap();
        assert_eq!(cookie.status(), 200);
        assert_eq!(pending(&app).await, 0, "nothing queued while signed in");

        sign_out(&app, &browser).await;
        assert!(!signed_in(&app, &browser).await);
        // Queued durably as the session ended: one per client with a URI.
        assert_eq!(pending(&app).await, 2);
        assert_eq!(
            sender(&app).round().await,
            Round {
                delivered: 2,
                failed: 0
            }
        );
        assert_eq!(pending(&app).await, 0);
        let mut got = rp.drain();
        assert_eq!(got.len(), 2);
        got.sort_by_key(|r| r.logout_token().len());
        let mut by_client = Vec::new();
        for r in &got {
            let aud = jwt_claims(r.logout_token())["aud"]
                .as_str()
                .unwrap()
                .to_owned();
            let claims = verified_logout_token(&app, r.logout_token(), &aud).await;
            assert_eq!(claims["sub"], account.id.to_string());
            by_client.push((aud, claims));
        }
        by_client.sort_by(|x, y| x.0.cmp(&y.0));
        // `a` asked for the session: `sid` too; `b` gets `sub` alone.
        assert_eq!(by_client[0].0, "a");
        assert_eq!(by_client[0].1["sid"], sid.as_str());
        assert_eq!(by_client[1].0, "b");
        assert!(by_client[1].1.get("sid").is_none(), "{:?}", by_client[1]);
        assert_ne!(by_client[0].1["jti"], by_client[1].1["jti"]);
        assert_eq!(audits(&app, "logout.backchannel_sent").await.len(), 2);

        // A second round sends nothing again.
        assert_eq!(sender(&app).round().await, Round::default());
        assert!(rp.drain().is_empty());
        app
    })
    .await;
}

#[tokio::test]
async fn bcl_2_5_a_refused_delivery_is_retried_with_backoff_and_a_hopeless_one_is_given_up_and_audited()
 {
    each_backend_with(
        |c| {
            c.backchannel.max_attempts = 3;
            c.backchannel.backoff_base_secs = 5;
        },
        |app| async move {
            // First `a`: 500, then 200. Then `b` (after `a` is done): 500 three times.
            let mut rp = Receiver::start(&[500]).await;
            app.create_user(EMAIL).await;
            let a = app
                .create_client(bc_client("a", Some(rp.uri("a")), true))
                .await
                .unwrap();
            let browser = Browser::new();
            sign_in_to(&app, &browser, &[("a", &a)]).await;
            sign_out(&app, &browser).await;

            let sender = sender(&app);
            assert_eq!(sender.round().await.failed, 1);
            assert_eq!(rp.drain().len(), 1);
            // Not due again before the backoff has passed.
            app.clock.advance(4);
            assert_eq!(sender.round().await, Round::default());
            app.clock.advance(1);
            assert_eq!(sender.round().await.delivered, 1);
            let retried = rp.drain();
            assert_eq!(retried.len(), 1);
            verified_logout_token(&app, retried[0].logout_token(), "a").await;
            assert_eq!(pending(&app).await, 0);

            // An endpoint that keeps failing: 3 attempts, 5 s then 10 s apart, then given up.
            let mut dead = Receiver::start(&[500, 500, 500]).await;
            let b = app
                .create_client(bc_client("b", Some(dead.uri("b")), false))
                .await
                .unwrap();
            let browser = Browser::new();
            sign_in_to(&app, &browser, &[("b", &b)]).await;
            sign_out(&app, &browser).await;
            assert_eq!(sender.round().await.failed, 1);
            app.clock.advance(5);
            assert_eq!(sender.round().await.failed, 1);
            app.clock.advance(9);
            assert_eq!(
                sender.round().await,
                Round::default(),
                "10 s the second time"
            );
            app.clock.advance(1);
            assert_eq!(sender.round().await.failed, 1);
            assert_eq!(dead.drain().len(), 3);
            assert_eq!(pending(&app).await, 0, "given up");
            let failed = audits(&app, "logout.backchannel_failed").await;
            assert_eq!(failed.len(), 1);
            assert_eq!(failed[0].client_id.as_deref(), Some("b"));
            assert!(
                failed[0]
                    .reason
                    .as_deref()
                    .is_some_and(|r| r.contains("3 attempts") && r.contains("HTTP 500")),
                "{:?}",
                failed[0]
            );
            app.clock.advance(3600);
            assert_eq!(sender.round().await, Round::default());
            app
        },
    )
    .await;
}

#[tokio::test]
async fn bcl_2_5_a_redirect_is_not_followed() {
    each_backend_with(
        |c| c.backchannel.max_attempts = 1,
        |app| async move {
            let mut rp = Receiver::start(&[307]).await;
            app.create_user(EMAIL).await;
            let a = app
                .create_client(bc_client("a", Some(rp.uri("a")), true))
                .await
                .unwrap();
            let browser = Browser::new();
            sign_in_to(&app, &browser, &[("a", &a)]).await;
            sign_out(&app, &browser).await;
            assert_eq!(sender(&app).round().await.failed, 1);
            assert_eq!(rp.drain().len(), 1, "one request, no redirect followed");
            assert_eq!(audits(&app, "logout.backchannel_failed").await.len(), 1);
            app
        },
    )
    .await;
}

#[tokio::test]
async fn bcl_the_outbox_survives_a_restart() {
    each_backend(|a| async move {
        let mut rp = Receiver::start(&[]).await;
        let account = a.create_user(EMAIL).await;
        let secret = a
            .create_client(bc_client("a", Some(rp.uri("a")), true))
            .await
            .unwrap();
        let browser = Browser::new();
        let ids = sign_in_to(&a, &browser, &[("a", &secret)]).await;
        sign_out(&a, &browser).await;
        // The node that ended the session never sends (it "stops" here).
        assert_eq!(pending(&a).await, 1);
        assert!(rp.drain().is_empty());

        // The app rebuilt on the same database (and keys) delivers it.
        let b = second_node(&a, |_| {}).await;
        assert_eq!(pending(&b).await, 1);
        assert_eq!(sender(&b).round().await.delivered, 1);
        let got = rp.drain();
        assert_eq!(got.len(), 1);
        let claims = verified_logout_token(&b, got[0].logout_token(), "a").await;
        assert_eq!(claims["sub"], account.id.to_string());
        assert_eq!(claims["sid"], ids[0]["sid"]);
        assert_eq!(pending(&a).await, 0);
        b.cleanup().await;
        a
    })
    .await;
}

#[tokio::test]
async fn bcl_a_full_outbox_drops_the_newest_notices_audits_them_and_still_signs_out() {
    each_backend_with(
        |c| c.backchannel.queue_capacity = 1,
        |app| async move {
            let rp = Receiver::start(&[]).await;
            app.create_user(EMAIL).await;
            let a = app
                .create_client(bc_client("a", Some(rp.uri("a")), true))
                .await
                .unwrap();
            let b = app
                .create_client(bc_client("b", Some(rp.uri("b")), true))
                .await
                .unwrap();
            let browser = Browser::new();
            sign_in_to(&app, &browser, &[("a", &a), ("b", &b)]).await;
            sign_out(&app, &browser).await;
            assert!(!signed_in(&app, &browser).await, "signed out all the same");
            assert_eq!(pending(&app).await, 1, "bounded at the capacity");
            let dropped = audits(&app, "logout.backchannel_dropped").await;
            assert_eq!(dropped.len(), 1);
            // The earlier link is kept: `a` got its code first.
            assert_eq!(dropped[0].client_id.as_deref(), Some("b"));
            assert_eq!(sender(&app).round().await.delivered, 1);
            app
        },
    )
    .await;
}

#[tokio::test]
async fn bcl_sign_out_everywhere_else_notifies_only_the_other_sessions() {
    each_backend(|app| async move {
        let mut rp = Receiver::start(&[]).await;
        app.create_user(EMAIL).await;
        let a = app
            .create_client(bc_client("a", Some(rp.uri("a")), true))
            .await
            .unwrap();
        let here = Browser::new();
        let there = Browser::new();
        let mine = sign_in_to(&app, &here, &[("a", &a)]).await;
        let theirs = sign_in_to(&app, &there, &[("a", &a)]).await;
        assert_ne!(mine[0]["sid"], theirs[0]["sid"]);
        // "Sign out everywhere else" from `here` (a signed-in session is enough).
        let (_, _, page) = here.get(&app.url("/account/security"), &app.base_url).await;
        let csrf = lanyard_testkit::recording::hidden_field(&page, "csrf_token").unwrap();
        let ended = here
            .http
            .post(app.url("/account/sessions/end-others"))
            .form(&[("csrf_token", csrf.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(ended.status(), 303);
        assert!(signed_in(&app, &here).await);
        assert!(!signed_in(&app, &there).await);
        assert_eq!(sender(&app).round().await.delivered, 1);
        let got = rp.drain();
        let claims = verified_logout_token(&app, got[0].logout_token(), "a").await;
        assert_eq!(claims["sid"], theirs[0]["sid"]);
        app
    })
    .await;
}

#[tokio::test]
async fn bcl_2_2_registration_refuses_unsafe_uris_and_the_cli_shows_the_registration() {
    each_backend(|app| async move {
        for (uri, says) in [
            ("http://rp.example.com/bc", "scheme"),
            ("https://rp.example.com/bc#frag", "fragment"),
            ("com.example.app:/bc", "scheme"),
            ("/bc", "absolute"),
            ("https://user:pw@rp.example.com/bc", "user information"),
        ] {
            let err = app
                .app
                .state
                .issuer
                .clients()
                .register(
                    bc_client("x", Some(uri.to_owned()), false),
                    &lanyard_core::Origin::cli(),
                )
                .await
                .unwrap_err();
            assert!(err.to_string().contains(says), "{uri}: {err}");
        }
        let orphan = app
            .app
            .state
            .issuer
            .clients()
            .register(bc_client("x", None, true), &lanyard_core::Origin::cli())
            .await
            .unwrap_err();
        assert!(
            orphan.to_string().contains("needs a back-channel"),
            "{orphan}"
        );
        let mut service = bc_client("x", Some("https://rp.example.com/bc".to_owned()), false);
        service.grant_types = vec![lanyard_core::model::GrantType::ClientCredentials];
        service.redirect_uris = vec![];
        let err = app
            .app
            .state
            .issuer
            .clients()
            .register(service, &lanyard_core::Origin::cli())
            .await
            .unwrap_err();
        assert!(err.to_string().contains("authorization_code"), "{err}");
        assert!(
            app.app
                .state
                .issuer
                .clients()
                .find("x")
                .await
                .unwrap()
                .is_none()
        );

        // The operator's command: refused with the reason, or registered and shown.
        let refused = lanyard_cli(
            &app,
            &[
                "client",
                "create",
                "--id",
                "cli-rp",
                "--redirect-uri",
                REDIRECT,
                "--backchannel-logout-uri",
                "http://rp.example.com/bc",
            ],
            "",
        )
        .await;
        assert!(!refused.status.success());
        assert!(
            String::from_utf8_lossy(&refused.stderr).contains("back-channel"),
            "{}",
            String::from_utf8_lossy(&refused.stderr)
        );
        let created = lanyard_cli(
            &app,
            &[
                "client",
                "create",
                "--id",
                "cli-rp",
                "--redirect-uri",
                REDIRECT,
                "--backchannel-logout-uri",
                "https://rp.example.com/bc?x=1",
                "--backchannel-logout-session-required",
                "--json",
            ],
            "",
        )
        .await;
        assert!(
            created.status.success(),
            "{}",
            String::from_utf8_lossy(&created.stderr)
        );
        let doc: Value = serde_json::from_slice(&created.stdout).unwrap();
        assert_eq!(
            doc["backchannel_logout_uri"],
            "https://rp.example.com/bc?x=1"
        );
        assert_eq!(doc["backchannel_logout_session_required"], true);
        let shown = lanyard_cli(&app, &["client", "show", "cli-rp", "--json"], "").await;
        let shown: Value = serde_json::from_slice(&shown.stdout).unwrap();
        assert_eq!(
            shown["backchannel_logout_uri"],
            "https://rp.example.com/bc?x=1"
        );
        app
    })
    .await;
}

// ---- Disabling an account (issue 11, item 8; S46) ----

#[tokio::test]
async fn s46_disabling_an_account_ends_its_browser_sessions_and_tells_its_clients() {
    each_backend(|app| async move {
        let mut rp = Receiver::start(&[]).await;
        let account = app.create_user(EMAIL).await;
        let a = app
            .create_client(bc_client("a", Some(rp.uri("a")), true))
            .await
            .unwrap();
        let browser = Browser::new();
        let ids = sign_in_to(&app, &browser, &[("a", &a)]).await;
        assert!(signed_in(&app, &browser).await);

        // The operator disables the account with the CLI, beside the running server.
        let out = lanyard_cli(&app, &["user", "disable", "--email", EMAIL, "--json"], "").await;
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );

        // The next page is signed out, and so is every later one.
        assert!(!signed_in(&app, &browser).await);
        let response = browser
            .http
            .post(app.url("/account/password"))
            .form(&[("new_password", "a whole new password")])
            .send()
            .await
            .unwrap();
        assert_ne!(response.status().as_u16(), 200);
        assert_ne!(
            response.status().as_u16(),
            303,
            "not even to the security page"
        );
        // Whoever asks, the account's password stays as it was.
        let refused = app
            .app
            .state
            .accounts
            .change_password(
                account.id,
                lanyard_core::Secret::new("a whole new password"),
                &lanyard_core::Origin::cli(),
            )
            .await
            .unwrap_err();
        assert!(matches!(
            refused,
            lanyard_identity::IdentityError::AccountDisabled
        ));

        // The client that got tokens in the session hears about it. The CLI queued it on the
        // real clock, which the test server's manual clock (started at it) lags behind.
        app.clock.advance(60);
        assert_eq!(sender(&app).round().await.delivered, 1);
        let got = rp.drain();
        let claims = verified_logout_token(&app, got[0].logout_token(), "a").await;
        assert_eq!(claims["sub"], account.id.to_string());
        assert_eq!(claims["sid"], ids[0]["sid"]);
        app
    })
    .await;
}

// ---- RP-initiated logout with a refused request (S47) ----

/// A JWT with `alg: none` and the claims of a real ID token.
fn unsigned(id_token: &str) -> String {
    let payload = id_token.split('.').nth(1).unwrap();
    format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.")
}

/// The same claims signed by a key that is not the server's.
fn foreign_signed(id_token: &str) -> String {
    let claims = jwt_claims(id_token);
    let key = aws_lc_rs::signature::EcdsaKeyPair::generate(
        &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
    )
    .unwrap();
    let der = key.to_pkcs8v1().unwrap();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = jsonwebtoken::decode_header(id_token).unwrap().kid;
    jsonwebtoken::encode(
        &header,
        &claims,
        &jsonwebtoken::EncodingKey::from_ec_der(der.as_ref()),
    )
    .unwrap()
}

#[tokio::test]
async fn s47_a_refused_logout_request_never_redirects_and_signs_out_who_confirms() {
    // Eight sign-ins of one account within the hour: more emailed codes than the default.
    each_backend_with(
        |c| c.mfa.sends_per_hour = 100,
        |app| async move {
            app.create_user(EMAIL).await;
            let a = app.create_client(confidential("a")).await.unwrap();
            let other_uri = "https://other.example.com/bye";
            let b = app
                .create_client(NewClient {
                    post_logout_redirect_uris: vec![other_uri.to_owned()],
                    ..confidential("b")
                })
                .await
                .unwrap();
            let browser = Browser::new();
            let ids_a = sign_in_to(&app, &browser, &[("a", &a), ("b", &b)]).await;
            drop(ids_a);
            // A real ID token of client `a` to tamper with.
            let at = browser
                .get(&authorize_url(&app, "a", ""), &app.base_url)
                .await
                .1;
            let code = query_param(&at, "code").unwrap();
            let (_, tokens) = json(redeem(&app, "a", &a, &code, VERIFIER).await).await;
            let hint = tokens["id_token"].as_str().unwrap().to_owned();

            let cases: Vec<(&str, String)> = vec![
                (
                    "no hint, an unregistered address",
                    format!(
                        "post_logout_redirect_uri={}&state=x",
                        urlencode("https://evil.example")
                    ),
                ),
                (
                    "an unsigned hint",
                    format!(
                        "id_token_hint={}&post_logout_redirect_uri={}",
                        unsigned(&hint),
                        urlencode(LOGOUT_REDIRECT)
                    ),
                ),
                (
                    "a hint signed by another key",
                    format!(
                        "id_token_hint={}&post_logout_redirect_uri={}",
                        foreign_signed(&hint),
                        urlencode(LOGOUT_REDIRECT)
                    ),
                ),
                (
                    "a hint for a with b's address",
                    format!(
                        "id_token_hint={hint}&post_logout_redirect_uri={}",
                        urlencode(other_uri)
                    ),
                ),
                (
                    "a hint for a with client_id b",
                    format!(
                        "id_token_hint={hint}&client_id=b&post_logout_redirect_uri={}",
                        urlencode(other_uri)
                    ),
                ),
                // The address variants of S47, each with a valid hint for `a`: never taken
                // for `a`'s registered address.
                (
                    "a scheme-relative address",
                    format!(
                        "id_token_hint={hint}&post_logout_redirect_uri={}",
                        urlencode("//evil.example/bye")
                    ),
                ),
                (
                    "a backslash after one slash",
                    format!(
                        "id_token_hint={hint}&post_logout_redirect_uri={}",
                        urlencode("https:/\\evil.example/bye")
                    ),
                ),
                (
                    "userinfo after a backslash",
                    format!(
                        "id_token_hint={hint}&post_logout_redirect_uri={}",
                        urlencode("https://rp.example.com\\@evil.example/bye")
                    ),
                ),
                (
                    "the registered host as a prefix",
                    format!(
                        "id_token_hint={hint}&post_logout_redirect_uri={}",
                        urlencode("https://rp.example.com.evil.example/bye")
                    ),
                ),
                (
                    "an oversized hint",
                    format!(
                        "id_token_hint={}&post_logout_redirect_uri={}",
                        "a".repeat(9000),
                        urlencode(LOGOUT_REDIRECT)
                    ),
                ),
            ];
            for (what, query) in &cases {
                let browser = Browser::new();
                sign_in_to(&app, &browser, &[("a", &a)]).await;
                let url = app.url(&format!("/logout?{query}"));
                // The link alone signs nobody out: the confirmation page, no redirect.
                let response = browser.http.get(&url).send().await.unwrap();
                assert_eq!(response.status(), 200, "{what}");
                assert!(response.headers().get("location").is_none(), "{what}");
                let page = response.text().await.unwrap();
                assert!(page.contains("<form"), "{what}: {page}");
                assert!(signed_in(&app, &browser).await, "{what}: still signed in");
                // Confirmed: signed out, an error page, never a redirect.
                let (status, location, page) = browser.submit(&page, &app.base_url, &[]).await;
                assert_eq!(status, 400, "{what}");
                assert_eq!(location, "", "{what}: no Location");
                assert!(page.contains("You are signed out"), "{what}: {page}");
                assert!(
                    !page.contains("evil.example") && !page.contains(other_uri),
                    "{what}"
                );
                assert!(
                    !page.contains("rp.example.com"),
                    "{what}: no link on either"
                );
                assert!(!signed_in(&app, &browser).await, "{what}: signed out");
                // Signed out already: the same link is an error page at once, no redirect.
                let response = browser.http.get(&url).send().await.unwrap();
                assert_eq!(response.status(), 400, "{what}");
                assert!(response.headers().get("location").is_none(), "{what}");
            }

            // A replayed confirmation (no session any more) and a forged one (no CSRF token)
            // redirect nowhere either.
            let browser = Browser::new();
            let response = browser
                .http
                .post(app.url("/logout"))
                .form(&[("post_logout_redirect_uri", "https://evil.example")])
                .send()
                .await
                .unwrap();
            assert!(response.headers().get("location").is_none());
            assert!(response.status().is_client_error());
            app
        },
    )
    .await;
}

#[tokio::test]
async fn s47_a_registered_address_with_a_valid_hint_is_followed_exactly_with_state() {
    each_backend(|app| async move {
        app.create_user(EMAIL).await;
        let a = app.create_client(confidential("a")).await.unwrap();
        let browser = Browser::new();
        sign_in_to(&app, &browser, &[("a", &a)]).await;
        let at = browser
            .get(&authorize_url(&app, "a", ""), &app.base_url)
            .await
            .1;
        let code = query_param(&at, "code").unwrap();
        let (_, tokens) = json(redeem(&app, "a", &a, &code, VERIFIER).await).await;
        let hint = tokens["id_token"].as_str().unwrap();
        let response = browser
            .http
            .get(app.url(&format!(
                "/logout?id_token_hint={hint}&post_logout_redirect_uri={}&state=x%20y",
                urlencode(LOGOUT_REDIRECT)
            )))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_redirection(), "{}", response.status());
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        let (to, query) = location.split_once('?').unwrap();
        assert_eq!(to, LOGOUT_REDIRECT, "exactly the registered address");
        assert_eq!(query_param(&location, "state").as_deref(), Some("x y"));
        assert!(!query.contains('&'), "nothing else: {location}");
        assert!(!signed_in(&app, &browser).await, "signed out");
        app
    })
    .await;
}
