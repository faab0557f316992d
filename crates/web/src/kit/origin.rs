//! Where a request came from, for audit events and rate limits.
//!
//! The client address is the TCP peer's, unless the server sits behind proxies the operator
//! named (S49, docs/http.md). A proxy *appends* to `X-Forwarded-For` the address it got the
//! request from, so only the entries our own proxies wrote can be believed: counted from the
//! right, never the first entry, which the client writes itself.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use ipnet::IpNet;
use lanyard_core::Origin;

use crate::state::AppState;

const MAX_USER_AGENT: usize = 256;
/// More proxies than this in front of one server is a configuration mistake.
pub const MAX_TRUSTED_HOPS: usize = 10;

/// Which `X-Forwarded-For` entry names the client.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ForwardedFor {
    /// The header is ignored: the peer is the client.
    #[default]
    Ignore,
    /// This many proxies (at least one), each appending the address it saw: the client is
    /// the entry that many places from the right. With fewer entries the request did not
    /// pass all of them, and the peer is taken.
    Hops(usize),
    /// The proxies are the addresses in these networks: when the peer is one of them, the
    /// client is the rightmost entry that is not (or the leftmost, if all are).
    Proxies(Vec<IpNet>),
}

/// A `[server]` forwarding setting that does not make sense: which key and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration key `{key}`: {reason}")]
pub struct InvalidForwarding {
    pub key: &'static str,
    pub reason: String,
}

impl ForwardedFor {
    /// From the server's configuration: `trust_forwarded_for`, `forwarded_for_hops` and
    /// `trusted_proxies` (networks such as `10.0.0.0/8`, or single addresses).
    pub fn from_config(
        trust: bool,
        hops: usize,
        proxies: &[String],
    ) -> Result<Self, InvalidForwarding> {
        let invalid = |key, reason: String| InvalidForwarding { key, reason };
        if !(1..=MAX_TRUSTED_HOPS).contains(&hops) {
            return Err(invalid(
                "server.forwarded_for_hops",
                format!(
                    "must be 1-{MAX_TRUSTED_HOPS} (the number of proxies in front of the server)"
                ),
            ));
        }
        let networks = proxies
            .iter()
            .map(|p| parse_network(p).ok_or_else(|| {
                invalid(
                    "server.trusted_proxies",
                    format!("{p:?} is not an IP network like 10.0.0.0/8 or an address like 192.0.2.1"),
                )
            }))
            .collect::<Result<Vec<_>, _>>()?;
        match (trust, networks.is_empty()) {
            (false, true) if hops == 1 => Ok(Self::Ignore),
            (false, _) => Err(invalid(
                if networks.is_empty() {
                    "server.forwarded_for_hops"
                } else {
                    "server.trusted_proxies"
                },
                "is only read with server.trust_forwarded_for = true".to_owned(),
            )),
            (true, true) => Ok(Self::Hops(hops)),
            (true, false) if hops == 1 => Ok(Self::Proxies(networks)),
            (true, false) => Err(invalid(
                "server.trusted_proxies",
                "set either forwarded_for_hops or trusted_proxies, not both".to_owned(),
            )),
        }
    }

    /// The client's address: the peer's, or the one our proxies recorded.
    pub fn client(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        let trusted = |ip: &IpAddr, networks: &[IpNet]| networks.iter().any(|n| n.contains(ip));
        match self {
            Self::Ignore => peer,
            Self::Hops(hops) => {
                let entries = entries(headers);
                let Some(index) = entries.len().checked_sub(*hops) else {
                    return peer;
                };
                // Garbage where an address should be must not become a rate-limit key.
                entries[index].parse().ok().or(peer)
            }
            Self::Proxies(networks) => {
                let peer = peer?;
                if !trusted(&peer, networks) {
                    return Some(peer);
                }
                let mut client = peer;
                for entry in entries(headers).iter().rev() {
                    let Ok(ip) = entry.parse::<IpAddr>() else {
                        // Whatever wrote this is no proxy of ours: the last trusted hop
                        // is as far as we can see.
                        return Some(client);
                    };
                    client = ip;
                    if !trusted(&ip, networks) {
                        break;
                    }
                }
                Some(client)
            }
        }
    }
}

/// A network (`10.0.0.0/8`, `2001:db8::/32`) or a single address.
fn parse_network(text: &str) -> Option<IpNet> {
    let text = text.trim();
    text.parse::<IpNet>()
        .ok()
        .or_else(|| text.parse::<IpAddr>().ok().map(IpNet::from))
        .map(|net| net.trunc())
}

/// Every entry of every `X-Forwarded-For` line, in order (a proxy may add a line rather
/// than extend the last one; RFC 9110 §5.3 makes them one list).
fn entries(headers: &HeaderMap) -> Vec<&str> {
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect()
}

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
            .map(|c| c.0.ip());
        let ip = state
            .settings
            .forwarded_for
            .client(peer, &parts.headers)
            .map(|ip| ip.to_string());
        let user_agent = parts
            .headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(MAX_USER_AGENT).collect());
        Self(Origin {
            ip,
            user_agent,
            actor: None,
        })
    }
}

#[cfg(test)]
mod tests;
