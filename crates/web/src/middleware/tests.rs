//! Router tests for the security headers and request guards (security tests S45, S51).

use axum::Router;
use axum::body::{Body, Bytes, to_bytes};
use axum::extract::DefaultBodyLimit;
use axum::http::{Request, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use tower::ServiceExt as _;

use super::*;

fn app() -> Router {
    app_for("http://localhost:8080")
}

fn app_for(issuer: &str) -> Router {
    Router::new()
        .route("/", get(|| async { "ok" }))
        .route(
            "/cached",
            get(|| async {
                ([(header::CACHE_CONTROL, "public, max-age=60")], "ok").into_response()
            }),
        )
        .route(
            "/form",
            post(|body: Bytes| async move { body.len().to_string() }),
        )
        .layer(DefaultBodyLimit::max(MAX_FORM_BODY))
        .layer(axum::middleware::from_fn_with_state(
            std::sync::Arc::new(crate::WebSettings::for_issuer(
                issuer,
                crate::kit::csrf::CsrfKey::new([7; 32]),
            )),
            edge,
        ))
}

async fn send(request: Request<Body>) -> axum::response::Response {
    app().oneshot(request).await.unwrap()
}

fn get_req(uri: &str) -> axum::http::request::Builder {
    Request::builder().method("GET").uri(uri)
}

async fn body_text(response: axum::response::Response) -> String {
    let bytes = to_bytes(response.into_body(), 1 << 20).await.unwrap();
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[tokio::test]
async fn s45_every_response_has_security_headers() {
    let response = send(get_req("/").body(Body::empty()).unwrap()).await;
    assert_eq!(response.status(), StatusCode::OK);
    let h = response.headers();
    assert_eq!(
        h[header::CONTENT_SECURITY_POLICY],
        "default-src 'none'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'"
    );
    assert_eq!(h[header::X_FRAME_OPTIONS], "DENY");
    assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(h[header::REFERRER_POLICY], "no-referrer");
    assert_eq!(h[header::CACHE_CONTROL], "no-store");
}

#[tokio::test]
async fn s45_not_found_also_has_security_headers() {
    let response = send(get_req("/nowhere").body(Body::empty()).unwrap()).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(response.headers()[header::X_FRAME_OPTIONS], "DENY");
    assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
}

#[tokio::test]
async fn csp_has_no_form_action_so_post_redirects_to_clients_work() {
    let response = send(get_req("/").body(Body::empty()).unwrap()).await;
    let csp = response.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert!(!csp.contains("form-action"));
    assert!(
        !csp.contains("script-src"),
        "scripts fall back to default-src 'none'"
    );
}

#[tokio::test]
async fn handler_cache_control_is_kept() {
    let response = send(get_req("/cached").body(Body::empty()).unwrap()).await;
    assert_eq!(
        response.headers()[header::CACHE_CONTROL],
        "public, max-age=60"
    );
    assert_eq!(
        response
            .headers()
            .get_all(header::CACHE_CONTROL)
            .iter()
            .count(),
        1
    );
}

#[tokio::test]
async fn guard_responses_also_carry_security_headers() {
    let response = send(get_req("/?q=%ZZ").body(Body::empty()).unwrap()).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
}

#[tokio::test]
async fn s51_header_over_16k_is_431() {
    let big = "a".repeat(17 * 1024);
    let response = send(
        get_req("/")
            .header("x-big", big)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(
        response.status(),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
    );
    assert_eq!(
        body_text(response).await,
        "Request headers are too large.\n"
    );
}

#[tokio::test]
async fn s51_many_small_headers_over_16k_are_431() {
    let mut request = get_req("/");
    for i in 0..40 {
        request = request.header(format!("x-h{i}"), "b".repeat(500));
    }
    let response = send(request.body(Body::empty()).unwrap()).await;
    assert_eq!(
        response.status(),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
    );
}

#[tokio::test]
async fn s51_200_cookies_is_431() {
    let cookies: Vec<String> = (0..200).map(|i| format!("c{i}=v")).collect();
    let response = send(
        get_req("/")
            .header(header::COOKIE, cookies.join("; "))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(
        response.status(),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
    );
}

#[tokio::test]
async fn s51_cookies_split_over_headers_are_counted_together() {
    let mut request = get_req("/");
    for i in 0..60 {
        request = request.header(header::COOKIE, format!("c{i}=v"));
    }
    let response = send(request.body(Body::empty()).unwrap()).await;
    assert_eq!(
        response.status(),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
    );
}

#[tokio::test]
async fn s51_more_than_100_headers_is_431() {
    let mut request = get_req("/");
    for i in 0..101 {
        request = request.header(format!("x-h{i}"), "1");
    }
    let response = send(request.body(Body::empty()).unwrap()).await;
    assert_eq!(
        response.status(),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
    );
}

#[tokio::test]
async fn ordinary_headers_and_50_cookies_pass() {
    let cookies: Vec<String> = (0..50).map(|i| format!("c{i}=v")).collect();
    let response = send(
        get_req("/")
            .header(header::USER_AGENT, "Mozilla/5.0")
            .header(header::ACCEPT, "text/html")
            .header(header::COOKIE, cookies.join("; "))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn s51_overlong_utf8_in_query_is_400() {
    let response = send(get_req("/?q=%C0%AE").body(Body::empty()).unwrap()).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
    let body: serde_json::Value = serde_json::from_str(&body_text(response).await).unwrap();
    assert_eq!(body["error"], "invalid_request");
}

#[tokio::test]
async fn s51_malformed_percent_encoding_in_query_is_400() {
    for uri in [
        "/?q=%ZZ",
        "/?q=%",
        "/?q=%4",
        "/?redirect_uri=https%3A%2F%2Fa.example%2",
        "/?q=%FF",
    ] {
        let response = send(get_req(uri).body(Body::empty()).unwrap()).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{uri}");
    }
}

#[tokio::test]
async fn well_formed_queries_pass() {
    for uri in [
        "/",
        "/?",
        "/?q=caf%C3%A9&x=a+b",
        "/?redirect_uri=https%3A%2F%2Fa.example%2Fcb",
    ] {
        let response = send(get_req(uri).body(Body::empty()).unwrap()).await;
        assert_eq!(response.status(), StatusCode::OK, "{uri}");
    }
}

#[tokio::test]
async fn s51_ten_megabyte_form_is_413() {
    let response = send(
        Request::builder()
            .method("POST")
            .uri("/form")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(vec![b'a'; 10 * 1024 * 1024]))
            .unwrap(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn form_within_limit_is_accepted() {
    let response = send(
        Request::builder()
            .method("POST")
            .uri("/form")
            .body(Body::from(vec![b'a'; MAX_FORM_BODY]))
            .unwrap(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[test]
fn check_query_decodes_before_judging() {
    assert!(check_query(""));
    assert!(check_query("a=%41%62&b=%e2%82%ac"));
    assert!(check_query("emoji=%F0%9F%98%80"));
    assert!(!check_query("dot=%C0%AE"));
    assert!(!check_query("surrogate=%ED%A0%80"));
    assert!(!check_query("cut=%E2%82"));
    assert!(!check_query("x=%G0"));
    assert!(!check_query("x=%+1"));
}

#[test]
fn check_headers_reports_which_limit() {
    let mut headers = http::HeaderMap::new();
    assert_eq!(check_headers(&headers), Ok(()));
    headers.insert(header::COOKIE, "a=1; ; b=2;".parse().unwrap());
    assert_eq!(check_headers(&headers), Ok(()));
    let many: Vec<String> = (0..=MAX_COOKIES).map(|i| format!("c{i}=1")).collect();
    headers.insert(header::COOKIE, many.join(";").parse().unwrap());
    assert_eq!(
        check_headers(&headers),
        Err(HeaderLimitExceeded::TooManyCookies)
    );
    headers.clear();
    headers.insert("x-big", "a".repeat(MAX_HEADER_BYTES).parse().unwrap());
    assert_eq!(check_headers(&headers), Err(HeaderLimitExceeded::TooLarge));
}

#[test]
fn a_pat_in_a_query_is_refused_however_it_is_escaped() {
    for query in [
        "x=lyd_pat_abc",
        "x=lyd%5Fpat%5Fabc",
        "x=lyd%5fpat_abc",
        "x=%6Cyd_pat_abc",
        "x=lyd_p%61t_abc",
    ] {
        let response = refuse_bad_query(Some(query)).expect(query);
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
    }
    for query in ["x=lyd-pat", "x=%6Cyd", "subject_token_type=pat"] {
        assert!(refuse_bad_query(Some(query)).is_none(), "{query}");
    }
    assert!(refuse_bad_query(Some("x=%C0%AE")).is_some());
    assert!(refuse_bad_query(None).is_none());
}

#[tokio::test]
async fn s45_hsts_on_every_response_of_an_https_issuer_only() {
    let https = app_for("https://id.example.com");
    for uri in ["/", "/nowhere", "/?q=%ZZ"] {
        let response = https
            .clone()
            .oneshot(get_req(uri).body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(
            response.headers()[header::STRICT_TRANSPORT_SECURITY],
            "max-age=31536000",
            "{uri}"
        );
    }
    for issuer in ["http://localhost:8080", "https://127.0.0.1:8443"] {
        let response = app_for(issuer)
            .oneshot(get_req("/").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert!(
            !response
                .headers()
                .contains_key(header::STRICT_TRANSPORT_SECURITY),
            "{issuer}"
        );
    }
}

#[tokio::test]
async fn s51_a_declared_length_over_the_limit_is_413_before_the_body_is_read() {
    // A body that fails if anything polls it.
    let body = Body::from_stream(futures_util::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::other("the body was read"))
    }));
    let response = send(
        Request::builder()
            .method("POST")
            .uri("/form")
            .header(header::CONTENT_LENGTH, 8 * 1024 * 1024)
            .header(header::EXPECT, "100-continue")
            .body(body)
            .unwrap(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(response.headers()[header::CONNECTION], "close");
    let body: serde_json::Value = serde_json::from_str(&body_text(response).await).unwrap();
    assert_eq!(body["error"], "invalid_request");
}
