//! The operator's PAT policy.

use lanyard_core::model::Resources;

#[derive(Debug, Clone)]
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
    pub cache_max_entries: usize,
    /// The APIs PATs may name: their scopes are what a PAT may carry.
    pub resources: Resources,
}

impl Default for PatSettings {
    fn default() -> Self {
        Self {
            default_lifetime_days: 90,
            max_lifetime_days: 366,
            allow_no_expiry: false,
            max_per_account: 50,
            cache: true,
            cache_ttl_secs: 300,
            cache_max_entries: 100_000,
            resources: Resources::default(),
        }
    }
}
