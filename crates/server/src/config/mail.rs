//! The `[mail]` section: how sign-in codes leave the server. It stays here rather than in
//! the mail crate because it picks between two mailers (outbox or SMTP) and holds a secret
//! that `secret_files` fills in.

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
