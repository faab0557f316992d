//! The second step's rules, as numbers. Defaults follow requirements B2–B8 and the security
//! tests S29–S37; operators may tighten them in config.

#[derive(Debug, Clone)]
pub struct MfaSettings {
    /// How long an emailed code is valid (B2: 10 minutes).
    pub email_code_ttl_secs: i64,
    /// Wrong answers one challenge takes before it is invalidated and sign-in restarts at
    /// the password (S30, S32).
    pub tries_per_challenge: u32,
    /// How long a challenge (the page between password and code) stays open.
    pub challenge_ttl_secs: i64,
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
    /// How long a device stays trusted (B6: 30 days).
    pub device_trust_secs: i64,
    /// A fresh second step within this window satisfies the step-up guard (B8: 10 minutes).
    pub step_up_window_secs: i64,
}

impl Default for MfaSettings {
    fn default() -> Self {
        Self {
            email_code_ttl_secs: 10 * 60,
            tries_per_challenge: 5,
            challenge_ttl_secs: 30 * 60,
            resend_interval_secs: 60,
            sends_per_hour: 5,
            sends_per_hour_per_ip: 30,
            backoff_after: 5,
            hard_limit: 100,
            max_backoff_secs: 60 * 60,
            password_failures_per_ip: 50,
            password_failure_window_secs: 15 * 60,
            device_trust_secs: 30 * 24 * 3600,
            step_up_window_secs: 10 * 60,
        }
    }
}
