//! Lifetimes, algorithms and identifiers the issuer runs with.

use lanyard_core::model::{Resources, SigningAlg};

#[derive(Debug, Clone)]
pub struct IssuerSettings {
    /// The issuer identifier: an https URL (http only for loopback), no trailing slash.
    pub issuer: String,
    /// RFC 6749 §4.1.2 recommends at most 10 minutes; one minute is plenty for a redirect.
    pub code_ttl_secs: i64,
    pub access_token_ttl_secs: i64,
    pub id_token_ttl_secs: i64,
    pub refresh_idle_ttl_secs: i64,
    pub refresh_absolute_ttl_secs: i64,
    /// 0 (the default) is strict rotation: any second use of a refresh token is reuse and
    /// revokes its family. N > 0 lets the immediately previous token be presented again for
    /// N seconds after its rotation and get the same successor (a retry after a lost
    /// response, FAPI 2.0's rotation note).
    pub refresh_grace_secs: i64,
    pub access_token_alg: SigningAlg,
    pub id_token_alg: SigningAlg,
    /// How long a node may serve a cached client record (changes and deletions propagate to
    /// other nodes within this time).
    pub client_cache_ttl_secs: i64,
    /// Clock leeway for validating JWTs we receive (client assertions, id_token_hint).
    pub leeway_secs: i64,
    /// A client assertion may not live longer than this (RFC 7523 §3 leaves it to the AS).
    pub max_assertion_lifetime_secs: i64,
    pub scopes_supported: Vec<String>,
    /// The APIs (audiences) access tokens may be minted for by token exchange.
    pub resources: Resources,
    /// Lifetime of a token minted from a PAT (E3: default 5 minutes, at most an hour).
    pub exchange_ttl_secs: i64,
    /// Failed exchanges allowed per source address, and per client, in a window (S26);
    /// past either, that caller gets 429 until the window ends.
    pub exchange_failures_per_ip: u64,
    pub exchange_failures_per_client: u64,
    pub exchange_failure_window_secs: i64,
    /// RFC 8628 §3.2 `expires_in`: how long a device code and its user code work.
    pub device_code_ttl_secs: i64,
    /// RFC 8628 §3.2 `interval`: the least time between two polls of one device code.
    pub device_poll_interval_secs: i64,
}

impl IssuerSettings {
    pub fn new(issuer: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            code_ttl_secs: 60,
            access_token_ttl_secs: 300,
            id_token_ttl_secs: 300,
            refresh_idle_ttl_secs: 30 * 86_400,
            refresh_absolute_ttl_secs: 90 * 86_400,
            refresh_grace_secs: 0,
            access_token_alg: SigningAlg::ES256,
            id_token_alg: SigningAlg::RS256,
            client_cache_ttl_secs: 10,
            leeway_secs: 30,
            max_assertion_lifetime_secs: 600,
            scopes_supported: ["openid", "profile", "email", "offline_access"]
                .map(str::to_owned)
                .to_vec(),
            resources: Resources::default(),
            exchange_ttl_secs: 300,
            exchange_failures_per_ip: 20,
            exchange_failures_per_client: 1000,
            exchange_failure_window_secs: 900,
            device_code_ttl_secs: 600,
            device_poll_interval_secs: 5,
        }
    }

    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{}", self.issuer, path)
    }
}
