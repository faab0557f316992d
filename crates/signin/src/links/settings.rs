//! The `[signup]` section: whether people may register themselves, how long each emailed
//! account link works, and how many such mails one address or one source may ask for.

use lanyard_core::InvalidSetting;
use serde::{Deserialize, Serialize};

const HOUR_SECS: i64 = 3600;
const DAY_SECS: i64 = 24 * HOUR_SECS;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SignupSettings {
    /// Self sign-up at `/register`; off means accounts come by invitation (or the operator).
    pub enabled: bool,
    /// How long a sign-up's verification link works (24 hours).
    pub verify_ttl_secs: i64,
    /// How long a password reset link works (1 hour: it opens the account).
    pub reset_ttl_secs: i64,
    /// How long a new address's confirmation link works (24 hours).
    pub email_change_ttl_secs: i64,
    /// Sign-up, reset and email-change mails asked for to one address per hour.
    pub mails_per_address_per_hour: u64,
    /// The same, asked for from one source address per hour.
    pub mails_per_ip_per_hour: u64,
}

impl Default for SignupSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            verify_ttl_secs: DAY_SECS,
            reset_ttl_secs: HOUR_SECS,
            email_change_ttl_secs: DAY_SECS,
            mails_per_address_per_hour: 5,
            mails_per_ip_per_hour: 50,
        }
    }
}

impl SignupSettings {
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        for (key, value, max) in [
            ("signup.verify_ttl_secs", self.verify_ttl_secs, 7 * DAY_SECS),
            ("signup.reset_ttl_secs", self.reset_ttl_secs, DAY_SECS),
            (
                "signup.email_change_ttl_secs",
                self.email_change_ttl_secs,
                7 * DAY_SECS,
            ),
        ] {
            if !(300..=max).contains(&value) {
                return Err(InvalidSetting::new(
                    key,
                    "must be 300 seconds up to its maximum",
                ));
            }
        }
        for (key, value) in [
            (
                "signup.mails_per_address_per_hour",
                self.mails_per_address_per_hour,
            ),
            ("signup.mails_per_ip_per_hour", self.mails_per_ip_per_hour),
        ] {
            if !(1..=10_000).contains(&value) {
                return Err(InvalidSetting::new(key, "must be 1 to 10000"));
            }
        }
        Ok(())
    }
}
