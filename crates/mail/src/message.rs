//! The one way a message is built: text/plain UTF-8 with From, To, Subject, Date and
//! Message-ID, all values taken from the injected clock and randomness.

use std::time::{Duration, SystemTime};

use lanyard_core::{MailError, OutgoingMail, Rng, Timestamp};
use lettre::Message;
use lettre::message::Mailbox;
use lettre::message::header::{ContentType, MIME_VERSION_1_0};

/// Parses the sender mailbox ("Lanyard <no-reply@example.com>" or a bare address).
pub(crate) fn parse_from(from: &str) -> Option<Mailbox> {
    from.parse::<Mailbox>().ok()
}

/// Builds the message; an unparsable recipient is [`MailError::InvalidRecipient`].
pub(crate) fn build(
    from: &Mailbox,
    mail: &OutgoingMail,
    now: Timestamp,
    rng: &dyn Rng,
) -> Result<Message, MailError> {
    let to: Mailbox = mail
        .to
        .trim()
        .parse()
        .map_err(|_| MailError::InvalidRecipient)?;
    let date = SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(now.0).unwrap_or(0));
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(mail.subject.as_str())
        .date(date)
        .message_id(Some(message_id(from, now, rng)))
        // lettre adds MIME-Version only to multipart messages; RFC 2045 wants it whenever
        // Content-Type and Content-Transfer-Encoding are set.
        .header(MIME_VERSION_1_0)
        .header(ContentType::TEXT_PLAIN)
        .body(mail.text.clone())
        // Only a missing or doubled originator fails here, and both are set above; say
        // nothing about the content either way.
        .map_err(|_| MailError::Unavailable("the message could not be built".to_owned()))
}

/// `<time.random@sender-domain>`: unique without the host name.
fn message_id(from: &Mailbox, now: Timestamp, rng: &dyn Rng) -> String {
    format!(
        "<{}.{}@{}>",
        now.0,
        random_hex(rng, 12),
        from.email.domain()
    )
}

pub(crate) fn random_hex(rng: &dyn Rng, bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rng.fill(&mut buf);
    hex::encode(buf)
}

#[cfg(test)]
mod tests {
    use lanyard_core::OsRng;

    use super::*;

    fn mail(to: &str, subject: &str, text: &str) -> OutgoingMail {
        OutgoingMail {
            to: to.to_owned(),
            subject: subject.to_owned(),
            text: text.to_owned(),
        }
    }

    fn from() -> Mailbox {
        parse_from("Lanyard <no-reply@example.com>").unwrap()
    }

    #[test]
    fn headers_are_set_from_the_clock_and_the_sender() {
        let msg = build(
            &from(),
            &mail("Ada <ada@example.org>", "Your code", "123456"),
            Timestamp(1_700_000_000),
            &OsRng,
        )
        .unwrap();
        let raw = String::from_utf8(msg.formatted()).unwrap();
        assert!(
            raw.contains("Date: Tue, 14 Nov 2023 22:13:20 +0000"),
            "{raw}"
        );
        assert!(raw.contains("Message-ID: <1700000000."), "{raw}");
        assert!(raw.contains("@example.com>"), "{raw}");
        assert!(
            raw.contains("Content-Type: text/plain; charset=utf-8"),
            "{raw}"
        );
    }

    #[test]
    fn unparsable_recipients_are_refused() {
        for to in [
            "",
            "not an address",
            "a@b.example\r\nBcc: eve@example.org",
            "<>",
        ] {
            let err = build(&from(), &mail(to, "s", "t"), Timestamp(0), &OsRng).unwrap_err();
            assert!(matches!(err, MailError::InvalidRecipient), "{to:?}");
        }
    }

    #[test]
    fn a_subject_can_not_inject_headers() {
        let msg = build(
            &from(),
            &mail("ada@example.org", "hi\r\nBcc: eve@example.org", "t"),
            Timestamp(0),
            &OsRng,
        )
        .unwrap();
        let raw = String::from_utf8(msg.formatted()).unwrap();
        assert!(
            !raw.lines()
                .any(|l| l.to_ascii_lowercase().starts_with("bcc:")),
            "{raw}"
        );
    }
}
