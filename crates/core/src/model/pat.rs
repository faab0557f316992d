//! A personal access token record (E1, E2). The token itself is never stored: only its keyed
//! hash and a short display form.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{AccountId, Clock, Rng, Timestamp};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PatId(pub Uuid);

impl PatId {
    pub fn new(clock: &dyn Clock, rng: &dyn Rng) -> Self {
        Self(crate::ids::uuid_v7(clock, rng))
    }

    pub fn parse(value: &str) -> Option<Self> {
        Uuid::parse_str(value).ok().map(Self)
    }
}

impl std::fmt::Display for PatId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pat {
    pub id: PatId,
    pub account_id: AccountId,
    pub name: String,
    /// Keyed hash (HMAC-SHA-256, hex) of the token: the lookup key.
    pub token_hash: String,
    /// `lyd_pat_AbCd…wXyZ`, for listings.
    pub display: String,
    /// What exchanges may ask for (a subset of the registered resources' scopes).
    pub scopes: Vec<String>,
    /// The resource servers (audiences) it may be exchanged for; empty: any registered one.
    pub audiences: Vec<String>,
    /// The site user it is tied to (E2): its exchanges name that site user, and are refused
    /// once the site user is no longer linked to `account_id` (docs/migration.md).
    pub site_user: Option<crate::model::SiteUserId>,
    pub created_at: Timestamp,
    /// `None` only where the operator allows tokens without expiry.
    pub expires_at: Option<Timestamp>,
    /// Coalesced: written at most once a minute per node.
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

impl Pat {
    /// Neither revoked nor expired at `now`.
    pub fn is_live(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|at| now < at)
    }
}

/// What the exchange learns from a presented token: a live PAT of an active account.
#[derive(Debug, Clone)]
pub struct VerifiedPat {
    pub pat: std::sync::Arc<Pat>,
}

/// The limits of exchanging a PAT for an access token (RFC 8693), set under `[pats]` with
/// the rest of the PAT policy and enforced by the issuer's token exchange. Shared here
/// because the two sides of the [`PatVerifier`](crate::ports::PatVerifier) port (identity
/// owns the section, the issuer runs the exchange) do not depend on each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PatExchangeSettings {
    /// Lifetime of a minted token (E3: default 5 minutes, at most an hour).
    pub ttl_secs: i64,
    /// Failed exchanges allowed per source address, and per client, in a window (S26);
    /// past either, that caller gets 429 until the window ends.
    pub failures_per_ip: u64,
    pub failures_per_client: u64,
    pub failure_window_secs: i64,
}

impl Default for PatExchangeSettings {
    fn default() -> Self {
        Self {
            ttl_secs: 300,
            failures_per_ip: 20,
            failures_per_client: 1000,
            failure_window_secs: 900,
        }
    }
}
