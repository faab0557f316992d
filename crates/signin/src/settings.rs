//! How long sessions and flows live: the `[sessions]` section of the configuration.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionSettings {
    /// A browser session ends after this long unused (B7: 24 hours)...
    pub idle_secs: i64,
    /// ...and at the latest this long after sign-in (B7: 30 days).
    pub max_secs: i64,
    /// How long a sign-in flow (from /authorize to the redirect back) may take.
    pub flow_ttl_secs: i64,
}

impl Default for SessionSettings {
    fn default() -> Self {
        Self {
            idle_secs: 24 * 3600,
            max_secs: 30 * 24 * 3600,
            flow_ttl_secs: 30 * 60,
        }
    }
}
