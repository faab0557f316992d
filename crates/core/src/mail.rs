//! The outgoing-mail port: sign-in codes and security notifications. The `mail` crate
//! implements it with SMTP (production) and with an outbox folder of `.eml` files (the
//! embedded default, so a newcomer can sign in without a mail server).

use async_trait::async_trait;

/// One plain-text message to one recipient. The body may hold a sign-in code: implementations
/// never log it (nor the subject, which may name the account).
#[derive(Clone, PartialEq, Eq)]
pub struct OutgoingMail {
    pub to: String,
    pub subject: String,
    pub text: String,
}

impl std::fmt::Debug for OutgoingMail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutgoingMail").finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MailError {
    /// The recipient address can not be used (it does not parse as a mailbox).
    #[error("invalid recipient")]
    InvalidRecipient,
    /// The mail server (or outbox folder) could not take the message; worth retrying later.
    #[error("mail unavailable: {0}")]
    Unavailable(String),
}

#[async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError>;
}
