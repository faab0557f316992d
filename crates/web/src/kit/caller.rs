//! Who is calling: a browser gets pages and redirects, an API client gets JSON.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    Browser,
    Api,
}

impl Caller {
    /// A `DELETE`, or a request that asks for JSON, is an API call.
    pub fn of(method: &Method, headers: &HeaderMap) -> Caller {
        let wants_json = headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("application/json"));
        if wants_json || method == Method::DELETE {
            Caller::Api
        } else {
            Caller::Browser
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Caller::of(&parts.method, &parts.headers))
    }
}
