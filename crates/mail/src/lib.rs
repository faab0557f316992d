//! The two implementations of the outgoing-mail port ([`lanyard_core::Mailer`]):
//!
//! - [`SmtpMailer`] hands each message to an SMTP relay (production);
//! - [`OutboxMailer`] writes each message as an RFC 5322 `.eml` file into a folder (the
//!   embedded default, so a newcomer can read a sign-in code without a mail server).
//!
//! Both build the same text/plain UTF-8 message (`message.rs`) with time and randomness
//! taken from the injected [`lanyard_core::Clock`] and [`lanyard_core::Rng`]. Neither ever
//! logs a message's recipient, subject or body: they can hold a sign-in code.

mod message;
mod outbox;
mod smtp;

pub use outbox::OutboxMailer;
pub use smtp::{SmtpMailer, SmtpSettings, SmtpTls};

/// A mailer that can not be built from its settings; reported at start-up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MailConfigError {
    /// The sender is not a mailbox such as `Lanyard <no-reply@example.com>`.
    #[error("the sender address does not parse as a mailbox")]
    InvalidFrom,
    /// SMTP without TLS is only allowed to a loopback relay: otherwise sign-in codes (and
    /// the SMTP password) would cross the network in clear text.
    #[error("SMTP without TLS is only allowed to localhost or a loopback address, not {0:?}")]
    PlaintextToRemoteHost(String),
    /// A user name without a password or the other way round.
    #[error("SMTP credentials need both a user name and a password")]
    IncompleteCredentials,
    /// A zero timeout would make every send fail.
    #[error("the SMTP timeout must be at least one second")]
    ZeroTimeout,
    /// The TLS parameters for the relay could not be set up.
    #[error("SMTP TLS set-up failed: {0}")]
    Tls(String),
}
