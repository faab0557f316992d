//! Where a request came from, for audit events and rate limits.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::request::Parts;
use lanyard_core::Origin;

use crate::state::AppState;

const MAX_USER_AGENT: usize = 256;

/// The request's origin as an extractor.
pub struct RequestOrigin(pub Origin);

impl<S> FromRequestParts<S> for RequestOrigin
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::of(parts, &AppState::from_ref(state)))
    }
}

impl RequestOrigin {
    /// The origin of a request, read from its parts.
    pub fn of(parts: &Parts, state: &AppState) -> Self {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip().to_string());
        // Only the first hop of X-Forwarded-For, only when configured, and only if it parses
        // as an IP address: garbage there must not become a rate-limit key (S49).
        let forwarded = state
            .settings
            .trust_forwarded_for
            .then(|| parts.headers.get("x-forwarded-for"))
            .flatten()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .and_then(|v| v.trim().parse::<std::net::IpAddr>().ok())
            .map(|ip| ip.to_string());
        let user_agent = parts
            .headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(MAX_USER_AGENT).collect());
        Self(Origin {
            ip: forwarded.or(peer),
            user_agent,
            actor: None,
        })
    }
}
