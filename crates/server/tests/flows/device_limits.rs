//! The device authorization endpoint's request limits (D7, RFC 8628 §5.2) and the client
//! address they key on behind proxies (S49), over HTTP on every backend. Time only moves
//! through the `ManualClock`.

use lanyard_core::Clock;
use lanyard_core::model::AuditEvent;
use lanyard_core::ports::AuditRepo;
use lanyard_testkit::TestApp;
use reqwest::header::RETRY_AFTER;

use crate::helpers::{device_client, each_backend_with, http, json};

const TOOL: &str = "shared-cli";
const OTHER: &str = "other-cli";
const PER_ADDRESS: u64 = 3;
const PER_CLIENT: u64 = 5;

fn limits(config: &mut lanyard_server::config::Config) {
    config.tokens.device_requests_per_address = PER_ADDRESS;
    config.tokens.device_requests_per_client = PER_CLIENT;
    config.server.trust_forwarded_for = true;
}

/// POST /device_authorization for `client` with this `X-Forwarded-For` (if any).
async fn start(app: &TestApp, client: &str, forwarded: Option<&str>) -> reqwest::Response {
    let mut request = http()
        .post(app.url("/device_authorization"))
        .form(&[("client_id", client), ("scope", "openid")]);
    if let Some(forwarded) = forwarded {
        request = request.header("x-forwarded-for", forwarded);
    }
    request.send().await.unwrap()
}

async fn status(app: &TestApp, client: &str, forwarded: Option<&str>) -> u16 {
    start(app, client, forwarded).await.status().as_u16()
}

/// Moves the clock to the first second of the next one-minute window.
fn next_window(app: &TestApp) {
    let now = app.clock.now().seconds();
    let window = lanyard_issuer::device::REQUESTS_WINDOW_SECS;
    app.clock.advance(window - now.rem_euclid(window));
}

async fn requested_from(app: &TestApp) -> Vec<Option<String>> {
    let events: Vec<AuditEvent> = app
        .app
        .stores
        .sql
        .list_audit(Some("device.requested"), 1000)
        .await
        .unwrap();
    events.into_iter().map(|e| e.ip).collect()
}

#[tokio::test]
async fn d7_device_requests_are_limited_per_address_with_retry_after() {
    each_backend_with(limits, |app| async move {
        app.create_client(device_client(TOOL)).await;
        next_window(&app);
        let me = "198.51.100.7";
        for _ in 0..PER_ADDRESS {
            assert_eq!(status(&app, TOOL, Some(me)).await, 200);
        }
        app.clock.advance(10);
        let refused = start(&app, TOOL, Some(me)).await;
        assert_eq!(refused.status(), 429);
        assert_eq!(refused.headers()[RETRY_AFTER], "50");
        assert_eq!(refused.headers()["cache-control"], "no-store");
        let (_, body) = json(refused).await;
        assert_eq!(body["error"], "invalid_request", "{body}");
        // Another address is not held up by this one...
        assert_eq!(status(&app, TOOL, Some("198.51.100.8")).await, 200);
        // ...and this one may start again in the next minute.
        next_window(&app);
        assert_eq!(status(&app, TOOL, Some(me)).await, 200);
        // Only the requests that were served issued codes.
        assert_eq!(requested_from(&app).await.len(), PER_ADDRESS as usize + 2);
        app
    })
    .await;
}

#[tokio::test]
async fn d7_device_requests_are_limited_per_client_across_addresses() {
    each_backend_with(limits, |app| async move {
        app.create_client(device_client(TOOL)).await;
        app.create_client(device_client(OTHER)).await;
        next_window(&app);
        for n in 0..PER_CLIENT {
            let ip = format!("203.0.113.{n}");
            assert_eq!(status(&app, TOOL, Some(&ip)).await, 200, "{ip}");
        }
        assert_eq!(status(&app, TOOL, Some("203.0.113.200")).await, 429);
        // Other clients keep their own budget.
        assert_eq!(status(&app, OTHER, Some("203.0.113.200")).await, 200);
        next_window(&app);
        assert_eq!(status(&app, TOOL, Some("203.0.113.200")).await, 200);
        app
    })
    .await;
}

#[tokio::test]
async fn d7_malformed_and_unauthorised_device_requests_issue_nothing() {
    each_backend_with(limits, |app| async move {
        app.create_client(device_client(TOOL)).await;
        next_window(&app);
        let unknown = start(&app, "no-such-client", None).await;
        assert_eq!(unknown.status(), 401);
        let repeated = http()
            .post(app.url("/device_authorization"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("client_id={TOOL}&client_id={TOOL}"))
            .send()
            .await
            .unwrap();
        assert_eq!(repeated.status(), 400);
        let oversized = http()
            .post(app.url("/device_authorization"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("client_id={TOOL}&scope={}", "a".repeat(70 * 1024)))
            .send()
            .await
            .unwrap();
        assert_eq!(oversized.status(), 413);
        assert!(requested_from(&app).await.is_empty());
        app
    })
    .await;
}

#[tokio::test]
async fn s49_the_client_can_not_escape_the_limit_by_writing_the_first_forwarded_entry() {
    each_backend_with(limits, |app| async move {
        app.create_client(device_client(TOOL)).await;
        next_window(&app);
        // Behind one appending proxy, the rightmost entry is what the proxy saw.
        for n in 0..PER_ADDRESS {
            let spoofed = format!("192.0.2.{n}, 198.51.100.7");
            assert_eq!(status(&app, TOOL, Some(&spoofed)).await, 200);
        }
        assert_eq!(
            status(&app, TOOL, Some("192.0.2.99, 198.51.100.7")).await,
            429
        );
        let ips = requested_from(&app).await;
        assert!(
            ips.iter().all(|ip| ip.as_deref() == Some("198.51.100.7")),
            "{ips:?}"
        );
        app
    })
    .await;
}

#[tokio::test]
async fn s49_trusted_proxy_networks_name_the_client_and_others_are_not_believed() {
    each_backend_with(
        |config| {
            limits(config);
            // The test's requests come from 127.0.0.1: that is our proxy here.
            config.server.trusted_proxies = vec!["127.0.0.0/8".to_owned(), "10.0.0.0/8".to_owned()];
        },
        |app| async move {
            app.create_client(device_client(TOOL)).await;
            next_window(&app);
            let chain = "192.0.2.1, 198.51.100.9, 10.0.0.2";
            assert_eq!(status(&app, TOOL, Some(chain)).await, 200);
            assert_eq!(
                requested_from(&app).await,
                vec![Some("198.51.100.9".to_owned())]
            );
            app
        },
    )
    .await;
    // A peer outside the trusted networks is itself the client.
    each_backend_with(
        |config| {
            limits(config);
            config.server.trusted_proxies = vec!["10.0.0.0/8".to_owned()];
        },
        |app| async move {
            app.create_client(device_client(TOOL)).await;
            next_window(&app);
            assert_eq!(status(&app, TOOL, Some("198.51.100.9")).await, 200);
            assert_eq!(
                requested_from(&app).await,
                vec![Some("127.0.0.1".to_owned())]
            );
            app
        },
    )
    .await;
}
