//! The stylesheet route: type, caching and revalidation.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use tower::ServiceExt as _;

use super::body_text;
use crate::ui::{STYLESHEET_PATH, asset_routes, assets};

fn assets() -> Router {
    asset_routes()
}

#[tokio::test]
async fn stylesheet_is_served_with_a_strong_etag() {
    let response = assets()
        .oneshot(Request::get(STYLESHEET_PATH).body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "text/css; charset=utf-8"
    );
    assert_eq!(
        response.headers()[header::CACHE_CONTROL],
        "public, max-age=86400"
    );
    let etag = response.headers()[header::ETAG]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        etag.starts_with('"') && etag.ends_with('"') && etag.len() == 18,
        "{etag}"
    );
    assert_eq!(body_text(response).await, assets::STYLESHEET);

    let again = assets()
        .oneshot(
            Request::get(STYLESHEET_PATH)
                .header(header::IF_NONE_MATCH, format!("\"other\", {etag}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(again.headers()[header::ETAG], etag.as_str());
    assert!(body_text(again).await.is_empty());
}

#[test]
fn stylesheet_has_themes_for_both_schemes_and_a_focus_ring() {
    let css = assets::STYLESHEET;
    assert!(css.contains("--lanyard-accent"));
    assert!(css.contains("@media (prefers-color-scheme: dark)"));
    assert!(css.contains(":focus-visible"));
    assert!(css.contains("min-height: 2.75rem"), "44px targets");
    assert!(
        !css.contains("@import") && !css.contains("url("),
        "no external resources"
    );
}
