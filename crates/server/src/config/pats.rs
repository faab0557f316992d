//! `[pats]` (personal access tokens and their exchange) and `[[resources]]` (the APIs tokens
//! may be minted for).

use lanyard_core::model::{ResourceServer, Resources};
use lanyard_identity::PatSettings;
use serde::{Deserialize, Serialize};

/// E3: a token minted from a PAT lives at most an hour.
const MAX_EXCHANGE_TTL_SECS: i64 = 3600;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PatsConfig {
    pub default_lifetime_days: i64,
    pub max_lifetime_days: i64,
    pub allow_no_expiry: bool,
    pub max_per_account: u64,
    pub cache: bool,
    pub cache_ttl_secs: i64,
    pub exchange_ttl_secs: i64,
    pub exchange_failures_per_ip: u64,
    pub exchange_failures_per_client: u64,
    pub exchange_failure_window_secs: i64,
}

/// One `[[resources]]` entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceConfig {
    pub identifier: String,
    pub scopes: Vec<String>,
}

impl Default for PatsConfig {
    fn default() -> Self {
        let d = PatSettings::default();
        let issuer = lanyard_issuer::IssuerSettings::new("");
        Self {
            default_lifetime_days: d.default_lifetime_days,
            max_lifetime_days: d.max_lifetime_days,
            allow_no_expiry: d.allow_no_expiry,
            max_per_account: d.max_per_account,
            cache: d.cache,
            cache_ttl_secs: d.cache_ttl_secs,
            exchange_ttl_secs: issuer.exchange_ttl_secs,
            exchange_failures_per_ip: issuer.exchange_failures_per_ip,
            exchange_failures_per_client: issuer.exchange_failures_per_client,
            exchange_failure_window_secs: issuer.exchange_failure_window_secs,
        }
    }
}

impl PatsConfig {
    pub fn settings(&self, resources: Resources) -> PatSettings {
        PatSettings {
            default_lifetime_days: self.default_lifetime_days,
            max_lifetime_days: self.max_lifetime_days,
            allow_no_expiry: self.allow_no_expiry,
            max_per_account: self.max_per_account,
            cache: self.cache,
            cache_ttl_secs: self.cache_ttl_secs,
            resources,
            ..PatSettings::default()
        }
    }

    pub fn validate(&self) -> Result<(), (&'static str, &'static str)> {
        if self.max_lifetime_days < 1 {
            return Err(("pats.max_lifetime_days", "must be at least 1"));
        }
        if !(1..=self.max_lifetime_days).contains(&self.default_lifetime_days) {
            return Err((
                "pats.default_lifetime_days",
                "must be between 1 and max_lifetime_days",
            ));
        }
        if self.max_per_account < 1 {
            return Err(("pats.max_per_account", "must be at least 1"));
        }
        if !(1..=3600).contains(&self.cache_ttl_secs) {
            return Err(("pats.cache_ttl_secs", "must be 1 to 3600 seconds"));
        }
        if !(30..=MAX_EXCHANGE_TTL_SECS).contains(&self.exchange_ttl_secs) {
            return Err(("pats.exchange_ttl_secs", "must be 30 to 3600 seconds"));
        }
        if self.exchange_failures_per_ip < 1
            || self.exchange_failures_per_client < 1
            || self.exchange_failure_window_secs < 60
        {
            return Err((
                "pats.exchange_failures_per_ip",
                "needs at least 1 failure per window of at least 60 seconds",
            ));
        }
        Ok(())
    }
}

pub fn resources(entries: &[ResourceConfig]) -> Result<Resources, (&'static str, &'static str)> {
    let mut seen = std::collections::HashSet::new();
    let mut list = Vec::with_capacity(entries.len());
    for entry in entries {
        let id = entry.identifier.trim();
        if id.is_empty() || id != entry.identifier || id.len() > 255 || id.contains(' ') {
            return Err((
                "resources.identifier",
                "must be 1-255 characters without spaces",
            ));
        }
        if !seen.insert(id.to_owned()) {
            return Err(("resources.identifier", "is listed twice"));
        }
        let scope_ok = |s: &String| {
            !s.is_empty()
                && s.len() <= 128
                && s.bytes()
                    .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
        };
        if entry.scopes.is_empty() || !entry.scopes.iter().all(scope_ok) {
            return Err((
                "resources.scopes",
                "needs at least one scope, each printable without spaces",
            ));
        }
        list.push(ResourceServer {
            identifier: id.to_owned(),
            scopes: entry.scopes.clone(),
        });
    }
    Ok(Resources(list))
}
