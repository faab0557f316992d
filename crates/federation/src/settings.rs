//! `[federation]` in the configuration file.

use std::time::Duration;

use lanyard_core::InvalidSetting;
use serde::{Deserialize, Serialize};

use crate::oidc::RpSettings;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FederationConfig {
    /// Lets an issuer be `http://` on a loopback address. For the test IdP only.
    pub allow_http_loopback: bool,
    /// One request to an upstream (discovery, key set, token), connecting included.
    pub request_timeout_secs: u64,
    pub connect_timeout_secs: u64,
    /// How long a discovery document and key set are used before they are fetched again.
    pub metadata_ttl_secs: u64,
    /// An unknown `kid` refetches an upstream's key set at most this often, per `kid`.
    pub jwks_refetch_interval_secs: u64,
}

impl Default for FederationConfig {
    fn default() -> Self {
        Self {
            allow_http_loopback: false,
            request_timeout_secs: 10,
            connect_timeout_secs: 3,
            metadata_ttl_secs: 3600,
            jwks_refetch_interval_secs: 60,
        }
    }
}

impl FederationConfig {
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        let bad = |key, reason| Err(InvalidSetting::new(key, reason));
        if !(1..=60).contains(&self.request_timeout_secs) {
            return bad("federation.request_timeout_secs", "must be 1-60");
        }
        if !(1..=self.request_timeout_secs).contains(&self.connect_timeout_secs) {
            return bad(
                "federation.connect_timeout_secs",
                "must be at least 1 and at most request_timeout_secs",
            );
        }
        if !(60..=86_400).contains(&self.metadata_ttl_secs) {
            return bad("federation.metadata_ttl_secs", "must be 60-86400");
        }
        if !(10..=3600).contains(&self.jwks_refetch_interval_secs) {
            return bad("federation.jwks_refetch_interval_secs", "must be 10-3600");
        }
        Ok(())
    }

    pub fn rp(&self) -> RpSettings {
        RpSettings {
            request_timeout: Duration::from_secs(self.request_timeout_secs),
            connect_timeout: Duration::from_secs(self.connect_timeout_secs),
            metadata_ttl: Duration::from_secs(self.metadata_ttl_secs),
            jwks_refetch_interval: Duration::from_secs(self.jwks_refetch_interval_secs),
            ..RpSettings::default()
        }
    }
}
