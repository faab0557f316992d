//! Sending through an SMTP relay with lettre's tokio transport.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use lanyard_core::{Clock, MailError, Mailer, OutgoingMail, Rng, Secret};
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use serde::{Deserialize, Serialize};

use crate::{MailConfigError, message};

/// How the connection to the relay is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Clear text; only allowed to a loopback relay (a local MTA or a test sink).
    None,
    /// Plain connection upgraded with STARTTLS, which is required (usually port 587).
    StartTls,
    /// TLS from the first byte ("implicit TLS", usually port 465).
    Tls,
}

/// Where and how to relay mail. `Debug` shows no password ([`Secret`] redacts itself).
#[derive(Debug, Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub username: Option<String>,
    pub password: Option<Secret>,
    /// The sender mailbox, e.g. `Lanyard <no-reply@example.com>`.
    pub from: String,
    /// Bounds connecting and each SMTP command.
    pub timeout_secs: u64,
}

/// Relays each message to the configured SMTP server; one connection per message.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    host: String,
    port: u16,
    tls: SmtpTls,
    clock: Arc<dyn Clock>,
    rng: Arc<dyn Rng>,
}

impl std::fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

impl SmtpMailer {
    /// Checks the settings and prepares the transport; nothing connects until a send.
    pub fn new(
        settings: &SmtpSettings,
        clock: Arc<dyn Clock>,
        rng: Arc<dyn Rng>,
    ) -> Result<Self, MailConfigError> {
        let from = message::parse_from(&settings.from).ok_or(MailConfigError::InvalidFrom)?;
        if settings.timeout_secs == 0 {
            return Err(MailConfigError::ZeroTimeout);
        }
        let host = settings.host.trim();
        let builder = match settings.tls {
            SmtpTls::None => {
                if !is_loopback(host) {
                    return Err(MailConfigError::PlaintextToRemoteHost(host.to_owned()));
                }
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            }
            SmtpTls::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)
                .map_err(|e| MailConfigError::Tls(e.to_string()))?,
            SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)
                .map_err(|e| MailConfigError::Tls(e.to_string()))?,
        };
        let mut builder = builder
            .port(settings.port)
            .timeout(Some(Duration::from_secs(settings.timeout_secs)));
        match (&settings.username, &settings.password) {
            (Some(user), Some(password)) => {
                builder = builder
                    .credentials(Credentials::new(user.clone(), password.expose().to_owned()));
            }
            (None, None) => {}
            _ => return Err(MailConfigError::IncompleteCredentials),
        }
        Ok(Self {
            transport: builder.build(),
            from,
            host: host.to_owned(),
            port: settings.port,
            tls: settings.tls,
            clock,
            rng,
        })
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError> {
        let message = message::build(&self.from, mail, self.clock.now(), &*self.rng)?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) => Err(MailError::Unavailable(format!(
                "smtp {}:{}: {}",
                self.host,
                self.port,
                describe(&e)
            ))),
        }
    }
}

/// What went wrong, from the error's kind only: lettre's own message carries the server's
/// reply text, which we do not control, so it is left out. I/O and TLS causes are kept
/// (they name the failure, never the message or the credentials).
fn describe(e: &lettre::transport::smtp::Error) -> String {
    if e.is_timeout() {
        return "timed out".to_owned();
    }
    if let Some(code) = e.status() {
        let kind = if e.is_permanent() {
            "refused"
        } else {
            "temporarily refused"
        };
        return format!("the server {kind} the message ({code})");
    }
    let source = std::error::Error::source(e);
    if e.is_tls() {
        return match source {
            Some(s) => format!("TLS failed: {s}"),
            None => "TLS failed".to_owned(),
        };
    }
    if let Some(io) = source.and_then(|s| s.downcast_ref::<std::io::Error>()) {
        return format!("connection failed: {io}");
    }
    if e.is_response() {
        "the server's reply could not be understood".to_owned()
    } else if e.is_client() {
        "the client could not go on".to_owned()
    } else {
        "connection failed".to_owned()
    }
}

fn is_loopback(host: &str) -> bool {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    bare.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use lanyard_core::{ManualClock, OsRng, Timestamp};

    use super::*;

    fn settings() -> SmtpSettings {
        SmtpSettings {
            host: "127.0.0.1".to_owned(),
            port: 2525,
            tls: SmtpTls::None,
            username: Some("lanyard".to_owned()),
            password: Some(Secret::new("hunter2-very-secret")),
            from: "Lanyard <no-reply@example.com>".to_owned(),
            timeout_secs: 5,
        }
    }

    fn mailer(s: &SmtpSettings) -> Result<SmtpMailer, MailConfigError> {
        SmtpMailer::new(
            s,
            Arc::new(ManualClock::new(Timestamp(1_700_000_000))),
            Arc::new(OsRng),
        )
    }

    #[test]
    fn loopback_hosts() {
        for host in [
            "localhost",
            "LOCALHOST",
            "127.0.0.1",
            "127.1.2.3",
            "::1",
            "[::1]",
        ] {
            assert!(is_loopback(host), "{host}");
        }
        for host in [
            "smtp.example.com",
            "10.0.0.1",
            "localhost.example.com",
            "::",
        ] {
            assert!(!is_loopback(host), "{host}");
        }
    }

    #[tokio::test]
    async fn settings_are_checked() {
        assert!(mailer(&settings()).is_ok());
        let mut s = settings();
        s.host = "smtp.example.com".to_owned();
        assert!(matches!(
            mailer(&s),
            Err(MailConfigError::PlaintextToRemoteHost(_))
        ));
        s.tls = SmtpTls::StartTls;
        assert!(mailer(&s).is_ok());
        s.tls = SmtpTls::Tls;
        assert!(mailer(&s).is_ok());
        let mut s = settings();
        s.password = None;
        assert!(matches!(
            mailer(&s),
            Err(MailConfigError::IncompleteCredentials)
        ));
        let mut s = settings();
        s.from = "no sender".to_owned();
        assert!(matches!(mailer(&s), Err(MailConfigError::InvalidFrom)));
        let mut s = settings();
        s.timeout_secs = 0;
        assert!(matches!(mailer(&s), Err(MailConfigError::ZeroTimeout)));
    }

    #[tokio::test]
    async fn debug_shows_no_password() {
        let s = settings();
        let m = mailer(&s).unwrap();
        for shown in [format!("{s:?}"), format!("{m:?}")] {
            assert!(!shown.contains("hunter2"), "{shown}");
            assert!(shown.contains("127.0.0.1"), "{shown}");
        }
    }

    #[tokio::test]
    async fn an_invalid_recipient_is_refused_before_connecting() {
        // Nothing listens on the port: the recipient check comes first.
        let m = mailer(&settings()).unwrap();
        let err = m
            .send(&OutgoingMail {
                to: "not an address".to_owned(),
                subject: "s".to_owned(),
                text: "t".to_owned(),
            })
            .await
            .unwrap_err();
        assert!(matches!(err, MailError::InvalidRecipient), "{err:?}");
    }

    #[test]
    fn tls_modes_read_from_config() {
        #[derive(Deserialize)]
        struct W {
            tls: SmtpTls,
        }
        for (text, want) in [
            ("none", SmtpTls::None),
            ("starttls", SmtpTls::StartTls),
            ("tls", SmtpTls::Tls),
        ] {
            let w: W = serde_json::from_str(&format!("{{\"tls\":\"{text}\"}}")).unwrap();
            assert_eq!(w.tls, want);
        }
    }
}
