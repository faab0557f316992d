//! S11 — code, token and state entropy (RFC 6749 §10.10, ASVS 7.2.3, OIDC Core §16.19).
//!
//! Two halves, both on every backend:
//!
//! * Over HTTP, with a recording `Rng` injected into the server: every secret the server mints
//!   with the `Rng` — client secret, sign-in flow id, session id, CSRF token, authorization
//!   code, refresh token — and the other values it draws (the access token's `jti`, the
//!   signing keys' `kid`, the key-encryption and token-hash key files, the argon2 salt) is its
//!   prefix plus the encoding of exactly one whole draw of the `Rng`. So its payload is CSPRNG
//!   output and nothing else: not the time, not the user, not a counter. Two sign-ins of one
//!   user at one `ManualClock` instant get different values of every kind.
//! * In bulk: 10,000 values of each kind from the functions production calls (for refresh
//!   tokens the exact expression the grant uses; see [`bulk_refresh_tokens`]), all at one
//!   clock instant for one user: unique, base64url of ≥ 128 random bits after the kind
//!   prefix, and a χ² test on the byte distribution of the decoded payloads (over all bytes,
//!   and per byte position) passes in both tails.

use std::collections::HashSet;
use std::sync::Arc;

use axum_extra::extract::CookieJar;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use lanyard_core::model::Authenticated;
use lanyard_core::model::authenticated::acr;
use lanyard_core::rng::random_token;
use lanyard_core::{Clock, Origin, Rng};
use lanyard_issuer::authorize::Next;
use lanyard_issuer::clients::CLIENT_SECRET_PREFIX;
use lanyard_issuer::code::CODE_PREFIX;
use lanyard_issuer::grant::{GrantRequest, REFRESH_TOKEN_PREFIX};
use lanyard_server::NewClient;
use lanyard_signin::Flow;
use lanyard_testkit::recording::{RecordingRng, cookie_value, hidden_field};
use lanyard_testkit::{Backend, Browser, TestApp};
use lanyard_web::kit::cookies::SESSION_COOKIE;
use lanyard_web::kit::csrf::{CSRF_COOKIE, CSRF_FIELD, CsrfConfig, CsrfKey, ensure_token};

use crate::helpers::{
    CHALLENGE, REDIRECT, VERIFIER, authorize_url, confidential, http, json, jwt_claims,
    query_param, query_strings, redeem, side_connection,
};

const SAMPLES: usize = 10_000;
/// The least random payload any secret may carry (S11: ≥ 128 bits).
const MIN_PAYLOAD_BYTES: usize = 16;

/// One kind of minted value: its prefix and how many random bytes its payload carries.
#[derive(Debug, Clone, Copy)]
struct Kind {
    name: &'static str,
    prefix: &'static str,
    bytes: usize,
}

const CLIENT_SECRET: Kind = Kind {
    name: "client secret",
    prefix: CLIENT_SECRET_PREFIX,
    bytes: 32,
};
const CODE: Kind = Kind {
    name: "authorization code",
    prefix: CODE_PREFIX,
    bytes: 32,
};
const REFRESH: Kind = Kind {
    name: "refresh token",
    prefix: REFRESH_TOKEN_PREFIX,
    bytes: 32,
};
const SESSION: Kind = Kind {
    name: "session id",
    prefix: "",
    bytes: 32,
};
const FLOW: Kind = Kind {
    name: "sign-in flow id",
    prefix: "",
    bytes: 32,
};
/// The CSRF binder cookie (the form token is its MAC, not a draw: `kit::csrf`).
const CSRF: Kind = Kind {
    name: "CSRF binder",
    prefix: "",
    bytes: 32,
};
const JTI: Kind = Kind {
    name: "access token jti",
    prefix: "",
    bytes: 16,
};
const KID: Kind = Kind {
    name: "signing key kid",
    prefix: "",
    bytes: 16,
};

/// The kind prefix, then unpadded base64url (RFC 4648 §5) of exactly `kind.bytes` bytes;
/// returns those bytes.
fn payload(kind: Kind, value: &str) -> Vec<u8> {
    let rest = value.strip_prefix(kind.prefix).unwrap_or_else(|| {
        panic!(
            "{}: {value:?} lacks the prefix {:?}",
            kind.name, kind.prefix
        )
    });
    assert!(
        rest.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "{}: {value:?} is not unpadded base64url",
        kind.name
    );
    let bytes = URL_SAFE_NO_PAD
        .decode(rest)
        .unwrap_or_else(|e| panic!("{}: {value:?} does not decode: {e}", kind.name));
    // The canonical encoding only: no trailing bits that a second spelling could flip.
    assert_eq!(URL_SAFE_NO_PAD.encode(&bytes), rest, "{}", kind.name);
    assert_eq!(bytes.len(), kind.bytes, "{}: {value:?}", kind.name);
    assert!(bytes.len() >= MIN_PAYLOAD_BYTES, "{}", kind.name);
    bytes
}

// ---------------------------------------------------------------------------------------
// Half one: over HTTP, every secret is one whole Rng draw.

#[tokio::test]
async fn s11_every_minted_secret_is_one_whole_rng_draw_and_two_sign_ins_at_one_instant_differ() {
    for backend in Backend::available() {
        let rng = Arc::new(RecordingRng::new());
        let app = TestApp::spawn_with_rng(backend, rng.clone()).await;
        let instant = app.clock.now();

        // Drawn at start-up: the key files of the data folder and the signing keys' kids.
        for file in ["kek", "token_hash_key"] {
            let text = std::fs::read_to_string(app.config.server.data_dir.join(file)).unwrap();
            let key = STANDARD.decode(text.trim()).unwrap();
            assert_eq!(key.len(), 32, "{file}");
            assert!(rng.was_drawn(&key), "{file} is not one draw of the Rng");
        }
        let (status, jwks) = json(http().get(app.url("/jwks")).send().await.unwrap()).await;
        assert_eq!(status, 200);
        let kids: Vec<String> = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect();
        assert!(!kids.is_empty());
        for kid in &kids {
            assert!(rng.was_drawn(&payload(KID, kid)), "kid {kid}");
        }

        app.create_user("a@example.com").await;
        // The argon2 salt of the password hash: 16 bytes, one draw.
        let db = side_connection(&app).await;
        let phc = query_strings(&db, "SELECT password_hash FROM accounts").await;
        let salt = phc[0].split('$').nth(4).unwrap();
        let salt = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(salt)
            .unwrap();
        assert_eq!(salt.len(), 16);
        assert!(rng.was_drawn(&salt), "the password salt is not one draw");
        let _ = db.close().await;
        let secret = app.create_client(confidential("rp")).await.unwrap();
        assert!(rng.was_drawn(&payload(CLIENT_SECRET, &secret)));

        // The same user signs in twice, in two browsers, without the clock moving.
        let first = sign_in_and_collect(&app, &secret).await;
        let second = sign_in_and_collect(&app, &secret).await;
        assert_eq!(app.clock.now(), instant, "the clock stood still");
        for minted in [&first, &second] {
            for (kind, value) in minted.drawn() {
                assert!(
                    rng.was_drawn(&payload(kind, value)),
                    "{}: {value} is not one whole draw of the Rng",
                    kind.name
                );
            }
        }
        for ((kind, a), (_, b)) in first.drawn().into_iter().zip(second.drawn()) {
            assert_ne!(a, b, "{}: same user, same instant, same value", kind.name);
        }
        let everything: Vec<&str> = first
            .drawn()
            .into_iter()
            .chain(second.drawn())
            .map(|(_, v)| v)
            .collect();
        let distinct: HashSet<&str> = everything.iter().copied().collect();
        assert_eq!(distinct.len(), everything.len(), "a value repeated");
        app.cleanup().await;
    }
}

/// What one browser's sign-in minted.
struct Minted {
    flow: String,
    csrf: String,
    session: String,
    code: String,
    refresh: String,
    rotated_refresh: String,
    jti: String,
}

impl Minted {
    /// The values drawn from the injected Rng.
    fn drawn(&self) -> Vec<(Kind, &str)> {
        vec![
            (FLOW, self.flow.as_str()),
            (CSRF, &self.csrf),
            (SESSION, &self.session),
            (CODE, &self.code),
            (REFRESH, &self.refresh),
            (REFRESH, &self.rotated_refresh),
            (JTI, &self.jti),
        ]
    }
}

async fn sign_in_and_collect(app: &TestApp, secret: &str) -> Minted {
    let jar = Arc::new(reqwest::cookie::Jar::default());
    let browser = Browser::with_cookie_jar(jar.clone());
    let base = app.base_url.as_str();
    let (_, at, page) = browser.get(&authorize_url(app, "rp", ""), base).await;
    let flow = query_param(&at, "flow").expect("the sign-in page names its flow");
    assert_eq!(hidden_field(&page, "flow").as_deref(), Some(flow.as_str()));
    let token = hidden_field(&page, CSRF_FIELD).expect("a CSRF field");
    let csrf = cookie_value(&jar, base, CSRF_COOKIE).expect("a CSRF binder cookie");
    assert_ne!(
        token, csrf,
        "the form token is the binder's MAC, not the binder"
    );
    let (_, _, page) = browser
        .submit(&page, base, &[("email", "a@example.com")])
        .await;
    let sent = app.mail.messages_to("a@example.com").len();
    let (_, _, page) = browser
        .submit(&page, base, &[("password", lanyard_testkit::PASSWORD)])
        .await;
    let (back, _) = browser
        .second_step(page, base, &app.mail, "a@example.com", sent)
        .await;
    assert!(back.starts_with(REDIRECT), "{back}");
    let code = query_param(&back, "code").unwrap();
    let session = cookie_value(&jar, base, SESSION_COOKIE).expect("a session cookie");

    let (status, tokens) = json(redeem(app, "rp", secret, &code, VERIFIER).await).await;
    assert_eq!(status, 200, "{tokens}");
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let jti = jwt_claims(tokens["access_token"].as_str().unwrap())["jti"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, rotated) = json(
        http()
            .post(app.url("/token"))
            .basic_auth("rp", Some(secret))
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh.as_str()),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{rotated}");
    Minted {
        flow,
        csrf,
        session,
        code,
        refresh,
        rotated_refresh: rotated["refresh_token"].as_str().unwrap().to_owned(),
        jti,
    }
}

// ---------------------------------------------------------------------------------------
// Half two: 10,000 of each kind.

#[tokio::test]
async fn s11_ten_thousand_of_each_kind_are_unique_base64url_and_pass_chi_square() {
    for backend in Backend::available() {
        let rng = Arc::new(RecordingRng::new());
        let app = TestApp::spawn_with_rng(backend, rng.clone()).await;
        let instant = app.clock.now();
        let account = app.create_user("bulk@example.com").await;
        let auth = Authenticated {
            account_id: account.id,
            auth_time: instant,
            acr: acr::LOA1.to_owned(),
            amr: vec!["pwd".to_owned()],
        };

        let mut samples: Vec<(Kind, Vec<String>)> = vec![
            (CODE, bulk_codes(&app, &auth).await),
            (SESSION, bulk_sessions(&app, &auth).await),
            (FLOW, bulk_flows(&app).await),
            (CLIENT_SECRET, bulk_client_secrets(&app).await),
            (JTI, bulk_jtis(&app).await),
            (KID, bulk_kids(&*app.app.state.rng)),
            (CSRF, bulk_csrf(&*app.app.state.rng)),
            (REFRESH, bulk_refresh_tokens()),
        ];
        assert_eq!(app.clock.now(), instant, "all minted at one instant");

        // Everything but the refresh tokens (see below) came out of the app's Rng, one whole
        // draw per value.
        let draws: HashSet<Vec<u8>> = rng.draws().into_iter().collect();
        let mut seen = HashSet::new();
        let tests = chi_square_tests_per_kind(&samples) * samples.len();
        for (kind, values) in &mut samples {
            assert_eq!(values.len(), SAMPLES, "{}", kind.name);
            let payloads: Vec<Vec<u8>> = values.iter().map(|v| payload(*kind, v)).collect();
            if kind.name != REFRESH.name {
                assert!(
                    payloads.iter().all(|p| draws.contains(p)),
                    "{}: a value is not one whole draw of the Rng",
                    kind.name
                );
            }
            for value in values.iter() {
                assert!(
                    seen.insert(value.clone()),
                    "{}: {value} repeated",
                    kind.name
                );
            }
            chi_square::assert_uniform(kind.name, &payloads, tests);
        }
        app.cleanup().await;
    }
}

/// Codes from the authorization endpoint's decision (`Issuer::next_step` → `issue_code`).
async fn bulk_codes(app: &TestApp, auth: &Authenticated) -> Vec<String> {
    app.create_client(confidential("bulk")).await;
    let issuer = app.app.state.issuer.clone();
    let (request, _) = issuer
        .validate_authorization(&bulk_request_params(), &Origin::default())
        .await
        .unwrap();
    let (request, auth) = (Arc::new(request), Arc::new(auth.clone()));
    concurrently(move |_| {
        let (issuer, request, auth) = (issuer.clone(), request.clone(), auth.clone());
        async move {
            let next = issuer
                .next_step(&request, Some(&auth), None, false, &Origin::default())
                .await
                .unwrap();
            match next {
                Next::Redirect(to) => query_param(&to, "code").unwrap(),
                other => panic!("expected a code, got {other:?}"),
            }
        }
    })
    .await
}

fn bulk_request_params() -> Vec<(String, String)> {
    [
        ("response_type", "code"),
        ("client_id", "bulk"),
        ("redirect_uri", REDIRECT),
        ("scope", "openid"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect()
}

/// Mints [`SAMPLES`] values with `mint(i)`, a few at a time: each mint of a code or a client
/// secret waits on a database commit, and PostgreSQL commits concurrent transactions together.
async fn concurrently<F, Fut>(mint: F) -> Vec<String>
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = String> + Send,
{
    const WORKERS: usize = 8;
    let mut workers = tokio::task::JoinSet::new();
    for w in 0..WORKERS {
        let mint = mint.clone();
        workers.spawn(async move {
            let mut out = Vec::with_capacity(SAMPLES / WORKERS);
            for i in (w..SAMPLES).step_by(WORKERS) {
                out.push(mint(i).await);
            }
            out
        });
    }
    let mut all = Vec::with_capacity(SAMPLES);
    while let Some(part) = workers.join_next().await {
        all.extend(part.unwrap());
    }
    all
}

async fn bulk_sessions(app: &TestApp, auth: &Authenticated) -> Vec<String> {
    let mut ids = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        let started = app
            .app
            .state
            .signin
            .sessions()
            .start(
                None,
                auth,
                None,
                false,
                None,
                &lanyard_core::Origin::default(),
            )
            .await
            .unwrap();
        ids.push(started.id);
    }
    ids
}

async fn bulk_flows(app: &TestApp) -> Vec<String> {
    let (request, _) = app
        .app
        .state
        .issuer
        .validate_authorization(&bulk_request_params(), &Origin::default())
        .await
        .unwrap();
    let flow = Flow::for_request(request);
    let mut ids = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        let id = app.app.state.signin.flows().create(&flow).await.unwrap();
        ids.push(id.as_str().to_owned());
    }
    ids
}

/// Through `ClientService::register`, the one place client secrets are generated.
async fn bulk_client_secrets(app: &TestApp) -> Vec<String> {
    let issuer = app.app.state.issuer.clone();
    concurrently(move |i| {
        let issuer = issuer.clone();
        async move {
            let new = NewClient {
                id: format!("svc-{i}"),
                ..confidential("x")
            };
            let registered = issuer
                .clients()
                .register(new, &Origin::cli())
                .await
                .unwrap();
            registered.secret.unwrap().expose().to_owned()
        }
    })
    .await
}

/// `jti`s of client-credentials access tokens, minted by the token endpoint's grant.
async fn bulk_jtis(app: &TestApp) -> Vec<String> {
    let issuer = &app.app.state.issuer;
    let client = issuer.clients().find("bulk").await.unwrap().unwrap();
    let mut jtis = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        let response = issuer
            .exchange(
                &client,
                GrantRequest::ClientCredentials {
                    scope: None,
                    audience: None,
                    resource: None,
                },
                &Origin::default(),
            )
            .await
            .unwrap();
        jtis.push(
            jwt_claims(&response.access_token)["jti"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    jtis
}

fn bulk_kids(rng: &dyn Rng) -> Vec<String> {
    (0..SAMPLES)
        .map(|_| lanyard_crypto::keys::new_kid(rng))
        .collect()
}

fn bulk_csrf(rng: &dyn Rng) -> Vec<String> {
    let key = CsrfKey::new([0; 32]);
    let config = CsrfConfig {
        key: &key,
        host_cookie: true,
    };
    (0..SAMPLES)
        .map(|_| {
            let (jar, _) = ensure_token(CookieJar::new(), config, rng);
            jar.get(CSRF_COOKIE).unwrap().value().to_owned()
        })
        .collect()
}

/// Refresh tokens are minted inside the code and refresh grants, each use costing a
/// database transaction and a signature, so 10,000 real rotations per backend would take
/// minutes. The bulk therefore uses the grants' own expression over the production `Rng`
/// (`OsRng`); the HTTP half above proves that the tokens the server really issues are that
/// expression: the prefix plus one whole 32-byte draw of the injected `Rng`.
fn bulk_refresh_tokens() -> Vec<String> {
    let rng = lanyard_core::OsRng;
    (0..SAMPLES)
        .map(|_| format!("{REFRESH_TOKEN_PREFIX}{}", random_token(&rng, 32)))
        .collect()
}

fn chi_square_tests_per_kind(samples: &[(Kind, Vec<String>)]) -> usize {
    let widest = samples.iter().map(|(k, _)| k.bytes).max().unwrap_or(0);
    chi_square::tests_for(widest)
}

/// The χ² goodness-of-fit test of decoded payload bytes against the uniform distribution on
/// 0..=255.
mod chi_square {
    /// 256 byte values: 255 degrees of freedom.
    const DF: f64 = 255.0;
    /// The chance that a correct generator fails *some* χ² test of one run of this file.
    /// Each test runs at this divided by the number of tests (Bonferroni), in each tail.
    ///
    /// Why so small: the suite runs on every CI build, so a false alarm rate of even 1 in
    /// 10,000 runs would be noticed and the test ignored. The power does not suffer where it
    /// matters: a fixed or time-derived byte, a counter, or a skewed alphabet moves χ² by
    /// thousands, while the critical values below are ≈ 415 (upper) and ≈ 142 (lower)
    /// (exact values for 255 df at 1e-9: 414.55 and 141.93; the Wilson–Hilferty
    /// approximation gives 414.92 and 141.67).
    pub const FAMILY_ALPHA: f64 = 1e-6;

    /// Tests per kind: the pooled bytes, and each byte position on its own (with 10,000
    /// samples, 39 expected per cell; χ² wants ≥ 5).
    pub fn tests_for(payload_bytes: usize) -> usize {
        1 + payload_bytes
    }

    /// Asserts the pooled bytes and each position are consistent with uniform bytes. The
    /// lower tail counts too: output more even than chance (a counter, a permutation) is
    /// as wrong as output that is too uneven.
    pub fn assert_uniform(name: &str, payloads: &[Vec<u8>], tests: usize) {
        let alpha = FAMILY_ALPHA / (2.0 * tests as f64);
        let mut pooled = [0u64; 256];
        let width = payloads[0].len();
        let mut positions = vec![[0u64; 256]; width];
        for p in payloads {
            assert_eq!(p.len(), width);
            for (i, b) in p.iter().enumerate() {
                pooled[usize::from(*b)] += 1;
                positions[i][usize::from(*b)] += 1;
            }
        }
        let check = |what: String, counts: &[u64; 256]| {
            let x = statistic(counts);
            let upper = upper_tail(x, DF);
            let lower = 1.0 - upper;
            assert!(
                upper > alpha && lower > alpha,
                "{name}, {what}: χ² = {x:.1} with {DF} df, P(upper) = {upper:.3e}, \
                 P(lower) = {lower:.3e}, α per tail = {alpha:.3e}"
            );
        };
        check("all bytes".to_owned(), &pooled);
        for (i, counts) in positions.iter().enumerate() {
            check(format!("byte {i}"), counts);
        }
    }

    pub fn statistic(counts: &[u64; 256]) -> f64 {
        let n: u64 = counts.iter().sum();
        let expected = n as f64 / 256.0;
        counts
            .iter()
            .map(|&c| {
                let d = c as f64 - expected;
                d * d / expected
            })
            .sum()
    }

    /// P(X ≥ x) for X ~ χ²(df) = Q(df/2, x/2), the regularized upper incomplete gamma
    /// function: its series below a + 1, Lentz's continued fraction above (Numerical
    /// Recipes §6.2). Accurate to ~1e-14 relative, far finer than α.
    pub fn upper_tail(x: f64, df: f64) -> f64 {
        let (a, x) = (df / 2.0, x / 2.0);
        if x <= 0.0 {
            return 1.0;
        }
        let front = (-x + a * x.ln() - ln_gamma(a)).exp();
        if x < a + 1.0 {
            let (mut term, mut sum, mut ap) = (1.0 / a, 1.0 / a, a);
            for _ in 0..10_000 {
                ap += 1.0;
                term *= x / ap;
                sum += term;
                if term.abs() < sum.abs() * 1e-16 {
                    break;
                }
            }
            1.0 - sum * front
        } else {
            let tiny = 1e-300;
            let mut b = x + 1.0 - a;
            let mut c = 1.0 / tiny;
            let mut d = 1.0 / b;
            let mut h = d;
            for i in 1..10_000 {
                let an = -(i as f64) * (i as f64 - a);
                b += 2.0;
                d = an * d + b;
                if d.abs() < tiny {
                    d = tiny;
                }
                c = b + an / c;
                if c.abs() < tiny {
                    c = tiny;
                }
                d = 1.0 / d;
                let delta = d * c;
                h *= delta;
                if (delta - 1.0).abs() < 1e-16 {
                    break;
                }
            }
            front * h
        }
    }

    /// ln Γ(a) for a a positive multiple of ½ (all χ² needs), exactly by the recurrence
    /// Γ(a + 1) = a·Γ(a) from Γ(1) = 1 or Γ(½) = √π.
    fn ln_gamma(a: f64) -> f64 {
        let twice = (2.0 * a).round();
        assert!(twice >= 1.0 && (2.0 * a - twice).abs() < 1e-9, "a = {a}");
        let (mut z, mut acc) = if (twice as u64).is_multiple_of(2) {
            (1.0, 0.0)
        } else {
            (0.5, 0.5 * std::f64::consts::PI.ln())
        };
        while z < a - 1e-9 {
            acc += z.ln();
            z += 1.0;
        }
        acc
    }

    #[test]
    fn upper_tail_matches_known_quantiles() {
        // Exact quantiles of χ²(255) (computed independently, bisection on Q).
        for (x, p) in [(330.5197, 1e-3), (377.0781, 1e-6), (414.5450, 1e-9)] {
            let got = upper_tail(x, DF);
            assert!((got / p - 1.0).abs() < 1e-3, "Q({x}) = {got:e}, want {p:e}");
        }
        for (x, p) in [(190.8670, 1e-3), (141.9273, 1e-9)] {
            let got = 1.0 - upper_tail(x, DF);
            assert!((got / p - 1.0).abs() < 1e-3, "P({x}) = {got:e}, want {p:e}");
        }
        // χ²(2) is exponential with mean 2: Q(x) = e^(-x/2).
        assert!((upper_tail(3.0, 2.0) - (-1.5f64).exp()).abs() < 1e-12);
    }
}

/// The checks above can fail: payloads that are not uniform random bytes are caught.
#[test]
fn s11_the_chi_square_check_rejects_time_derived_counter_and_text_payloads() {
    let rng = lanyard_core::OsRng;
    let random = |n: usize| -> Vec<Vec<u8>> {
        (0..n)
            .map(|_| {
                let mut b = vec![0u8; 32];
                rng.fill(&mut b);
                b
            })
            .collect()
    };
    let rejects = |payloads: Vec<Vec<u8>>| {
        std::panic::catch_unwind(|| chi_square::assert_uniform("probe", &payloads, 33)).is_err()
    };
    assert!(!rejects(random(SAMPLES)), "real randomness passes");
    // The first four bytes a unix time (all samples minted within one minute).
    let mut timed = random(SAMPLES);
    for (i, p) in timed.iter_mut().enumerate() {
        p[..4].copy_from_slice(&(1_750_000_000u32 + (i as u32 % 60)).to_be_bytes());
    }
    assert!(rejects(timed), "a timestamp prefix is caught");
    // A counter: perfectly even bytes, which the lower tail catches.
    let counter: Vec<Vec<u8>> = (0..SAMPLES)
        .map(|i| (0..32).map(|j| ((i * 32 + j) % 256) as u8).collect())
        .collect();
    assert!(rejects(counter), "a counter is caught");
    // The base64 text of the secret instead of its decoded bytes: a 64-letter alphabet.
    let text: Vec<Vec<u8>> = random(SAMPLES)
        .iter()
        .map(|p| URL_SAFE_NO_PAD.encode(p).as_bytes()[..32].to_vec())
        .collect();
    assert!(rejects(text), "a small alphabet is caught");
    // One biased byte position: value 0 five times as likely at byte 7 (1 in 64 samples
    // forced, on top of the 1 in 256 chance).
    let mut skewed = random(SAMPLES);
    for p in skewed.iter_mut().step_by(64) {
        p[7] = 0;
    }
    assert!(rejects(skewed), "a skewed position is caught");
}
