//! The `[mail]` and `[mfa]` sections: how sign-in codes leave the server, and the second
//! step's limits (requirements B2–B8; defaults from `lanyard_mfa::MfaSettings`).

use std::fmt;
use std::path::PathBuf;

use lanyard_mail::SmtpTls;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailTransport {
    /// Each message becomes an `.eml` file in `outbox_dir` (the embedded default).
    Outbox,
    Smtp,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailConfig {
    pub transport: MailTransport,
    /// Empty: `<data_dir>/outbox`.
    pub outbox_dir: PathBuf,
    /// The sender mailbox, e.g. `Lanyard <no-reply@example.com>`.
    pub from: String,
    pub smtp_host: String,
    pub smtp_port: u16,
    pub smtp_tls: SmtpTls,
    pub smtp_username: String,
    pub smtp_password: String,
    /// A file holding `smtp_password`.
    pub smtp_password_file: PathBuf,
    pub smtp_timeout_secs: u64,
}

impl Default for MailConfig {
    fn default() -> Self {
        Self {
            transport: MailTransport::Outbox,
            outbox_dir: PathBuf::new(),
            from: "Lanyard <no-reply@localhost>".to_owned(),
            smtp_host: "localhost".to_owned(),
            smtp_port: 587,
            smtp_tls: SmtpTls::StartTls,
            smtp_username: String::new(),
            smtp_password: String::new(),
            smtp_password_file: PathBuf::new(),
            smtp_timeout_secs: 10,
        }
    }
}

impl fmt::Debug for MailConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MailConfig")
            .field("transport", &self.transport)
            .field("outbox_dir", &self.outbox_dir)
            .field("from", &self.from)
            .field("smtp_host", &self.smtp_host)
            .field("smtp_port", &self.smtp_port)
            .field("smtp_tls", &self.smtp_tls)
            .field("smtp_username", &self.smtp_username)
            .field(
                "smtp_password",
                &super::redacted::redact(&self.smtp_password),
            )
            .field("smtp_password_file", &self.smtp_password_file)
            .field("smtp_timeout_secs", &self.smtp_timeout_secs)
            .finish()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MfaConfig {
    pub email_code_ttl_secs: i64,
    pub tries_per_challenge: u32,
    pub resend_interval_secs: i64,
    pub sends_per_hour: u64,
    pub sends_per_hour_per_ip: u64,
    pub backoff_after: u32,
    pub hard_limit: u32,
    pub max_backoff_secs: i64,
    pub password_failures_per_ip: u64,
    pub password_failure_window_secs: i64,
    pub device_trust_days: i64,
    pub step_up_window_secs: i64,
}

impl Default for MfaConfig {
    fn default() -> Self {
        let d = lanyard_mfa::MfaSettings::default();
        Self {
            email_code_ttl_secs: d.email_code_ttl_secs,
            tries_per_challenge: d.tries_per_challenge,
            resend_interval_secs: d.resend_interval_secs,
            sends_per_hour: d.sends_per_hour,
            sends_per_hour_per_ip: d.sends_per_hour_per_ip,
            backoff_after: d.backoff_after,
            hard_limit: d.hard_limit,
            max_backoff_secs: d.max_backoff_secs,
            password_failures_per_ip: d.password_failures_per_ip,
            password_failure_window_secs: d.password_failure_window_secs,
            device_trust_days: d.device_trust_secs / 86_400,
            step_up_window_secs: d.step_up_window_secs,
        }
    }
}

impl MfaConfig {
    pub fn settings(&self) -> lanyard_mfa::MfaSettings {
        lanyard_mfa::MfaSettings {
            email_code_ttl_secs: self.email_code_ttl_secs,
            tries_per_challenge: self.tries_per_challenge,
            resend_interval_secs: self.resend_interval_secs,
            sends_per_hour: self.sends_per_hour,
            sends_per_hour_per_ip: self.sends_per_hour_per_ip,
            backoff_after: self.backoff_after,
            hard_limit: self.hard_limit,
            max_backoff_secs: self.max_backoff_secs,
            password_failures_per_ip: self.password_failures_per_ip,
            password_failure_window_secs: self.password_failure_window_secs,
            device_trust_secs: self.device_trust_days * 86_400,
            step_up_window_secs: self.step_up_window_secs,
            ..lanyard_mfa::MfaSettings::default()
        }
    }

    /// The limits the requirements fix as maxima can be tightened, never loosened past them.
    pub fn validate(&self) -> Result<(), (&'static str, &'static str)> {
        if !(60..=600).contains(&self.email_code_ttl_secs) {
            return Err(("mfa.email_code_ttl_secs", "must be 60 to 600 seconds"));
        }
        if !(1..=5).contains(&self.tries_per_challenge) {
            return Err(("mfa.tries_per_challenge", "must be 1 to 5"));
        }
        if self.resend_interval_secs < 1
            || self.sends_per_hour < 1
            || self.sends_per_hour_per_ip < 1
        {
            return Err(("mfa.sends_per_hour", "send limits must be at least 1"));
        }
        if self.backoff_after < 1 || !(self.backoff_after..=100).contains(&self.hard_limit) {
            return Err(("mfa.hard_limit", "must be between backoff_after and 100"));
        }
        if self.max_backoff_secs < 60 {
            return Err(("mfa.max_backoff_secs", "must be at least 60"));
        }
        if self.password_failures_per_ip < 1 || self.password_failure_window_secs < 60 {
            return Err((
                "mfa.password_failures_per_ip",
                "needs at least 1 failure per window of at least 60 seconds",
            ));
        }
        if !(1..=30).contains(&self.device_trust_days) {
            return Err(("mfa.device_trust_days", "must be 1 to 30"));
        }
        if !(60..=3600).contains(&self.step_up_window_secs) {
            return Err(("mfa.step_up_window_secs", "must be 60 to 3600 seconds"));
        }
        Ok(())
    }
}
