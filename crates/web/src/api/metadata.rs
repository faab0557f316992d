//! Discovery documents and the JWK Set: served from memory, the fastest routes we have.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use lanyard_issuer::endpoints;

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(endpoints::DISCOVERY, get(discovery_get))
        .route(endpoints::OAUTH_METADATA, get(discovery_get))
        .route(endpoints::JWKS, get(jwks_get))
}

fn json_response(body: impl IntoResponse, max_age: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(max_age));
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}

async fn discovery_get(State(state): State<AppState>) -> Response {
    json_response(
        axum::body::Bytes::from_owner(state.issuer.discovery().shared()),
        "public, max-age=3600",
    )
}

async fn jwks_get(State(state): State<AppState>) -> Response {
    let ring = state.issuer.key_ring();
    let mut response = json_response(ring.jwks_json().clone(), "public, max-age=300");
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/jwk-set+json"),
    );
    response
}
