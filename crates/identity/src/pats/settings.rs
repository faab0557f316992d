//! The operator's PAT policy: the `[pats]` config section.

use lanyard_core::InvalidSetting;
use lanyard_core::model::PatExchangeSettings;
use serde::{Deserialize, Serialize};

/// E3: a token minted from a PAT lives at most an hour.
const MAX_EXCHANGE_TTL_SECS: i64 = 3600;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PatSettings {
    /// Lifetime when the creator does not choose one (the decision: 90 days).
    pub default_lifetime_days: i64,
    /// The longest lifetime a creator may choose.
    pub max_lifetime_days: i64,
    /// Whether "no expiry" may be chosen at all.
    pub allow_no_expiry: bool,
    /// Live PATs per account.
    pub max_per_account: u64,
    /// Cache the exchange's lookup on each node (invalidated across nodes on revocation).
    pub cache: bool,
    /// A cached entry is re-read after this long even without an invalidation.
    pub cache_ttl_secs: i64,
    /// The exchange's limits ([`PatSettings::exchange`]): operators find them with the rest
    /// of the PAT policy, the issuer enforces them.
    pub exchange_ttl_secs: i64,
    pub exchange_failures_per_ip: u64,
    pub exchange_failures_per_client: u64,
    pub exchange_failure_window_secs: i64,
}

impl Default for PatSettings {
    fn default() -> Self {
        let exchange = PatExchangeSettings::default();
        Self {
            default_lifetime_days: 90,
            max_lifetime_days: 366,
            allow_no_expiry: false,
            max_per_account: 50,
            cache: true,
            cache_ttl_secs: 300,
            exchange_ttl_secs: exchange.ttl_secs,
            exchange_failures_per_ip: exchange.failures_per_ip,
            exchange_failures_per_client: exchange.failures_per_client,
            exchange_failure_window_secs: exchange.failure_window_secs,
        }
    }
}

impl PatSettings {
    /// The `exchange_*` keys, for the issuer.
    pub fn exchange(&self) -> PatExchangeSettings {
        PatExchangeSettings {
            ttl_secs: self.exchange_ttl_secs,
            failures_per_ip: self.exchange_failures_per_ip,
            failures_per_client: self.exchange_failures_per_client,
            failure_window_secs: self.exchange_failure_window_secs,
        }
    }

    pub fn validate(&self) -> Result<(), InvalidSetting> {
        let invalid = |key, reason| Err(InvalidSetting::new(key, reason));
        if self.max_lifetime_days < 1 {
            return invalid("pats.max_lifetime_days", "must be at least 1");
        }
        if !(1..=self.max_lifetime_days).contains(&self.default_lifetime_days) {
            return invalid(
                "pats.default_lifetime_days",
                "must be between 1 and max_lifetime_days",
            );
        }
        if self.max_per_account < 1 {
            return invalid("pats.max_per_account", "must be at least 1");
        }
        if !(1..=3600).contains(&self.cache_ttl_secs) {
            return invalid("pats.cache_ttl_secs", "must be 1 to 3600 seconds");
        }
        if !(30..=MAX_EXCHANGE_TTL_SECS).contains(&self.exchange_ttl_secs) {
            return invalid("pats.exchange_ttl_secs", "must be 30 to 3600 seconds");
        }
        if self.exchange_failures_per_ip < 1
            || self.exchange_failures_per_client < 1
            || self.exchange_failure_window_secs < 60
        {
            return invalid(
                "pats.exchange_failures_per_ip",
                "needs at least 1 failure per window of at least 60 seconds",
            );
        }
        Ok(())
    }
}
