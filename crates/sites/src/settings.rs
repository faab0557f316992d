//! The `[sites]` config section.

use lanyard_core::InvalidSetting;
use serde::{Deserialize, Serialize};

const DAY_SECS: i64 = 86_400;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SitesSettings {
    /// How long an invitation's link works (C5: 14 days by default; 1 hour to 30 days).
    pub invitation_ttl_secs: i64,
    /// Wrong or unknown invitation links one address may open within the window before it
    /// must wait (S41).
    pub claim_failures_per_address: u64,
    pub claim_failure_window_secs: i64,
}

impl Default for SitesSettings {
    fn default() -> Self {
        Self {
            invitation_ttl_secs: 14 * DAY_SECS,
            claim_failures_per_address: 10,
            claim_failure_window_secs: 15 * 60,
        }
    }
}

impl SitesSettings {
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        if !(3600..=30 * DAY_SECS).contains(&self.invitation_ttl_secs) {
            return Err(InvalidSetting::new(
                "sites.invitation_ttl_secs",
                "must be 3600 (1 hour) to 2592000 (30 days)",
            ));
        }
        if !(1..=1000).contains(&self.claim_failures_per_address) {
            return Err(InvalidSetting::new(
                "sites.claim_failures_per_address",
                "must be 1 to 1000",
            ));
        }
        if !(60..=DAY_SECS).contains(&self.claim_failure_window_secs) {
            return Err(InvalidSetting::new(
                "sites.claim_failure_window_secs",
                "must be 60 to 86400 seconds",
            ));
        }
        Ok(())
    }
}
