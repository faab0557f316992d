//! What every route shares, over HTTP on every backend (docs/http.md): content negotiation
//! (D7's device page), body limits with `Expect: 100-continue` over raw TCP (S51), and
//! `Strict-Transport-Security` (S45).

use std::time::Duration;

use lanyard_testkit::TestApp;
use reqwest::header::{LOCATION, WWW_AUTHENTICATE};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{confidential, device_client, each_backend, each_backend_with, http};

/// Real time a raw exchange may take before the test fails instead of hanging.
const PATIENCE: Duration = Duration::from_secs(20);
const EIGHT_MIB: usize = 8 * 1024 * 1024;

async fn user_code(app: &TestApp) -> String {
    app.create_client(device_client("tv")).await;
    let response = http()
        .post(app.url("/device_authorization"))
        .form(&[("client_id", "tv"), ("scope", "openid")])
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = response.json().await.unwrap();
    body["user_code"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn d7_a_signed_out_browser_accepting_json_second_is_sent_to_sign_in() {
    each_backend(|app| async move {
        let code = user_code(&app).await;
        let path = format!("/device?user_code={code}");
        for accept in [
            Some("text/html,application/json;q=0.9"),
            Some("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
            Some("*/*"),
            None,
        ] {
            let mut request = http().get(app.url(&path));
            if let Some(accept) = accept {
                request = request.header("accept", accept);
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 303, "{accept:?}");
            let at = response.headers()[LOCATION].to_str().unwrap();
            assert!(at.starts_with("/login?flow="), "{accept:?}: {at}");
        }
        for accept in ["application/json", "text/html;q=0.5, application/json"] {
            let response = http()
                .get(app.url(&path))
                .header("accept", accept)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 401, "{accept}");
            assert!(
                response.headers().contains_key(WWW_AUTHENTICATE),
                "{accept}"
            );
            let body: serde_json::Value = response.json().await.unwrap();
            assert_eq!(body["error"], "invalid_token", "{accept}");
        }
        app
    })
    .await;
}

/// Writes `head` (and `body`, if any) on a new connection and reads until the response
/// head of a final (non-1xx) status is complete; returns everything read.
async fn exchange(app: &TestApp, head: &str, body: Option<&[u8]>) -> String {
    let addr = app.base_url.trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    if let Some(body) = body {
        stream.write_all(body).await.unwrap();
    }
    tokio::time::timeout(PATIENCE, read_final_head(&mut stream))
        .await
        .expect("the server answered in time")
}

async fn read_final_head(stream: &mut TcpStream) -> String {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&seen).into_owned();
        if final_head_complete(&text) {
            return text;
        }
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return text,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
}

/// Whether `text` holds a complete response head whose status is not 1xx (a `100 Continue`
/// may come first).
fn final_head_complete(text: &str) -> bool {
    let mut rest = text;
    while let Some(end) = rest.find("\r\n\r\n") {
        let head = &rest[..end];
        if !head.starts_with("HTTP/1.1 1") {
            return head.starts_with("HTTP/1.1 ");
        }
        rest = &rest[end + 4..];
    }
    false
}

fn head(path: &str, headers: &[&str]) -> String {
    let mut head = format!("POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    for h in headers {
        head.push_str(h);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    head
}

#[tokio::test]
async fn s51_an_8_mib_post_expecting_100_continue_is_refused_before_it_is_sent() {
    each_backend(|app| async move {
        for path in [
            "/token",
            "/introspect",
            "/revoke",
            "/device_authorization",
            "/authorize",
        ] {
            let length = format!("Content-Length: {EIGHT_MIB}");
            let answer = exchange(
                &app,
                &head(
                    path,
                    &[
                        "Content-Type: application/x-www-form-urlencoded",
                        &length,
                        "Expect: 100-continue",
                    ],
                ),
                None,
            )
            .await;
            assert!(answer.starts_with("HTTP/1.1 413 "), "{path}: {answer}");
            assert!(!answer.contains("100 Continue"), "{path}: {answer}");
            assert!(
                answer.to_ascii_lowercase().contains("connection: close"),
                "{path}: {answer}"
            );
        }
        // A JSON route has its own, smaller limit, also judged before the body is sent.
        let answer = exchange(
            &app,
            &head(
                "/account/pats",
                &[
                    "Content-Type: application/json",
                    "Content-Length: 9000",
                    "Expect: 100-continue",
                ],
            ),
            None,
        )
        .await;
        assert!(answer.starts_with("HTTP/1.1 413 "), "{answer}");
        assert!(!answer.contains("100 Continue"), "{answer}");
        app
    })
    .await;
}

#[tokio::test]
async fn s51_an_oversized_chunked_body_is_cut_off_with_413() {
    each_backend(|app| async move {
        for path in ["/token", "/introspect", "/revoke"] {
            let addr = app.base_url.trim_start_matches("http://").to_owned();
            let stream = TcpStream::connect(addr).await.unwrap();
            let (mut reader, mut writer) = stream.into_split();
            writer
                .write_all(
                    head(
                        path,
                        &[
                            "Content-Type: application/x-www-form-urlencoded",
                            "Transfer-Encoding: chunked",
                        ],
                    )
                    .as_bytes(),
                )
                .await
                .unwrap();
            // Keeps sending 16 KiB chunks, up to 8 MiB, until the server stops reading.
            let sender = tokio::spawn(async move {
                let chunk = format!("4000\r\n{}\r\n", "a".repeat(0x4000));
                for _ in 0..EIGHT_MIB / 0x4000 {
                    if writer.write_all(chunk.as_bytes()).await.is_err() {
                        return;
                    }
                }
                let _ = writer.write_all(b"0\r\n\r\n").await;
            });
            let mut seen = Vec::new();
            let mut buf = [0u8; 4096];
            let read = async {
                loop {
                    match reader.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                    if final_head_complete(&String::from_utf8_lossy(&seen)) {
                        break;
                    }
                }
            };
            tokio::time::timeout(PATIENCE, read)
                .await
                .expect("answered in time");
            sender.abort();
            let answer = String::from_utf8_lossy(&seen);
            assert!(answer.starts_with("HTTP/1.1 413 "), "{path}: {answer}");
        }
        app
    })
    .await;
}

#[tokio::test]
async fn s51_a_normal_post_with_expect_100_continue_still_works() {
    each_backend(|app| async move {
        use base64::Engine;
        let secret = app.create_client(confidential("svc")).await.unwrap();
        let body = "grant_type=client_credentials&scope=api";
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("svc:{secret}"));
        let authorization = format!("Authorization: Basic {basic}");
        let length = format!("Content-Length: {}", body.len());
        let addr = app.base_url.trim_start_matches("http://").to_owned();
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let request = head(
            "/token",
            &[
                "Content-Type: application/x-www-form-urlencoded",
                &authorization,
                &length,
                "Expect: 100-continue",
            ],
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        // The server invites the body...
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        let invited = async {
            while !String::from_utf8_lossy(&seen).contains("\r\n\r\n") {
                let n = stream.read(&mut buf).await.unwrap();
                assert!(n > 0, "closed before answering");
                seen.extend_from_slice(&buf[..n]);
            }
        };
        tokio::time::timeout(PATIENCE, invited)
            .await
            .expect("invited in time");
        assert!(
            String::from_utf8_lossy(&seen).starts_with("HTTP/1.1 100 Continue"),
            "{}",
            String::from_utf8_lossy(&seen)
        );
        // ...and answers it.
        stream.write_all(body.as_bytes()).await.unwrap();
        let answer = tokio::time::timeout(PATIENCE, read_final_head(&mut stream))
            .await
            .expect("answered in time");
        assert!(answer.contains("HTTP/1.1 200 "), "{answer}");
        app
    })
    .await;
}

async fn hsts_of(app: &TestApp, path: &str) -> Option<String> {
    let response = http().get(app.url(path)).send().await.unwrap();
    response
        .headers()
        .get("strict-transport-security")
        .map(|v| v.to_str().unwrap().to_owned())
}

#[tokio::test]
async fn s45_an_https_issuer_sends_hsts_on_every_response() {
    each_backend_with(
        |config| config.server.issuer = "https://id.example.com".to_owned(),
        |app| async move {
            for path in [
                "/healthz",
                "/.well-known/openid-configuration",
                "/nowhere",
                "/authorize",
                "/?q=%ZZ",
            ] {
                assert_eq!(
                    hsts_of(&app, path).await.as_deref(),
                    Some("max-age=31536000"),
                    "{path}"
                );
            }
            app
        },
    )
    .await;
}

#[tokio::test]
async fn s45_no_hsts_for_http_or_loopback_https_issuers() {
    each_backend(|app| async move {
        assert_eq!(hsts_of(&app, "/healthz").await, None);
        assert_eq!(hsts_of(&app, "/nowhere").await, None);
        app
    })
    .await;
    each_backend_with(
        |config| config.server.issuer = "https://localhost:8443".to_owned(),
        |app| async move {
            assert_eq!(hsts_of(&app, "/healthz").await, None);
            app
        },
    )
    .await;
}
