//! The second step's rules, as numbers: the `[mfa]` config section. Defaults follow
//! requirements B2–B8 and the security tests S29–S37; operators may tighten them in config,
//! never loosen them past those requirements ([`MfaSettings::validate`]).

use lanyard_core::InvalidSetting;
use serde::{Deserialize, Serialize};

/// How long a challenge (the page between password and code) stays open. Not configurable:
/// the emailed code's own lifetime is the operator's knob.
pub const CHALLENGE_TTL_SECS: i64 = 30 * 60;

const DAY_SECS: i64 = 86_400;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MfaSettings {
    /// How long an emailed code is valid (B2: 10 minutes).
    pub email_code_ttl_secs: i64,
    /// Wrong answers one challenge takes before it is invalidated and sign-in restarts at
    /// the password (S30, S32).
    pub tries_per_challenge: u32,
    /// Emailed codes per account: at most one per `resend_interval_secs` and
    /// `sends_per_hour` per hour (S32); per source IP, `sends_per_hour_per_ip`.
    pub resend_interval_secs: i64,
    pub sends_per_hour: u64,
    pub sends_per_hour_per_ip: u64,
    /// Consecutive failures (any method, across challenges) before backoff starts, and the
    /// hard limit after which only an operator unlock helps (NIST 800-63B: ≤ 100).
    pub backoff_after: u32,
    pub hard_limit: u32,
    /// The longest backoff step.
    pub max_backoff_secs: i64,
    /// Wrong passwords from one address within the window before it must wait (S53a).
    pub password_failures_per_ip: u64,
    pub password_failure_window_secs: i64,
    /// How long a device stays trusted, in days (B6: 30); see
    /// [`MfaSettings::device_trust_secs`].
    pub device_trust_days: i64,
    /// A fresh second step within this window satisfies the step-up guard (B8: 10 minutes).
    pub step_up_window_secs: i64,
}

impl Default for MfaSettings {
    fn default() -> Self {
        Self {
            email_code_ttl_secs: 10 * 60,
            tries_per_challenge: 5,
            resend_interval_secs: 60,
            sends_per_hour: 5,
            sends_per_hour_per_ip: 30,
            backoff_after: 5,
            hard_limit: 100,
            max_backoff_secs: 60 * 60,
            password_failures_per_ip: 50,
            password_failure_window_secs: 15 * 60,
            device_trust_days: 30,
            step_up_window_secs: 10 * 60,
        }
    }
}

impl MfaSettings {
    /// How long a device stays trusted, in seconds.
    pub fn device_trust_secs(&self) -> i64 {
        self.device_trust_days.saturating_mul(DAY_SECS)
    }

    /// The limits the requirements fix as maxima can be tightened, never loosened past them.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        let invalid = |key, reason| Err(InvalidSetting::new(key, reason));
        if !(60..=600).contains(&self.email_code_ttl_secs) {
            return invalid("mfa.email_code_ttl_secs", "must be 60 to 600 seconds");
        }
        if !(1..=5).contains(&self.tries_per_challenge) {
            return invalid("mfa.tries_per_challenge", "must be 1 to 5");
        }
        if self.resend_interval_secs < 1
            || self.sends_per_hour < 1
            || self.sends_per_hour_per_ip < 1
        {
            return invalid("mfa.sends_per_hour", "send limits must be at least 1");
        }
        if self.backoff_after < 1 || !(self.backoff_after..=100).contains(&self.hard_limit) {
            return invalid("mfa.hard_limit", "must be between backoff_after and 100");
        }
        if self.max_backoff_secs < 60 {
            return invalid("mfa.max_backoff_secs", "must be at least 60");
        }
        if self.password_failures_per_ip < 1 || self.password_failure_window_secs < 60 {
            return invalid(
                "mfa.password_failures_per_ip",
                "needs at least 1 failure per window of at least 60 seconds",
            );
        }
        if !(1..=30).contains(&self.device_trust_days) {
            return invalid("mfa.device_trust_days", "must be 1 to 30");
        }
        if !(60..=3600).contains(&self.step_up_window_secs) {
            return invalid("mfa.step_up_window_secs", "must be 60 to 3600 seconds");
        }
        Ok(())
    }
}
