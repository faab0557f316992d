//! The outbox: each message becomes one RFC 5322 `.eml` file in a private folder.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use lanyard_core::{Clock, MailError, Mailer, OutgoingMail, Rng, Timestamp};
use lettre::message::Mailbox;

use crate::MailConfigError;
use crate::message::{self, random_hex};

/// Writes each message to `<dir>/<UTC timestamp>-<random hex>.eml`. The folder is created
/// (mode 0700) when missing; each file is created with mode 0600, written under a hidden
/// temporary name and renamed, so a reader never sees half a message.
pub struct OutboxMailer {
    dir: PathBuf,
    from: Mailbox,
    clock: Arc<dyn Clock>,
    rng: Arc<dyn Rng>,
}

impl std::fmt::Debug for OutboxMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxMailer")
            .field("dir", &self.dir)
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

impl OutboxMailer {
    /// `from` is the sender mailbox, e.g. `Lanyard <no-reply@example.com>`.
    pub fn new(
        dir: impl Into<PathBuf>,
        from: &str,
        clock: Arc<dyn Clock>,
        rng: Arc<dyn Rng>,
    ) -> Result<Self, MailConfigError> {
        let from = message::parse_from(from).ok_or(MailConfigError::InvalidFrom)?;
        Ok(Self {
            dir: dir.into(),
            from,
            clock,
            rng,
        })
    }

    /// The folder messages are written to.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

#[async_trait]
impl Mailer for OutboxMailer {
    async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError> {
        let now = self.clock.now();
        let bytes = message::build(&self.from, mail, now, &*self.rng)?.formatted();
        let name = format!("{}-{}.eml", utc_stamp(now), random_hex(&*self.rng, 8));
        let dir = self.dir.clone();
        let path = tokio::task::spawn_blocking(move || write_message(&dir, &name, &bytes))
            .await
            .map_err(|_| MailError::Unavailable("the outbox writer stopped".to_owned()))?
            .map_err(|e| {
                MailError::Unavailable(format!("outbox {} not writable: {e}", self.dir.display()))
            })?;
        tracing::info!(path = %path.display(), "mail written to the outbox");
        Ok(())
    }
}

fn write_message(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<PathBuf> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)?;

    let partial = dir.join(format!(".{name}.part"));
    let path = dir.join(name);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&partial).and_then(|mut file| {
        file.write_all(bytes)?;
        file.flush()
    });
    let renamed = written.and_then(|()| std::fs::rename(&partial, &path));
    if let Err(e) = renamed {
        let _ = std::fs::remove_file(&partial);
        return Err(e);
    }
    Ok(path)
}

/// `YYYYMMDDTHHMMSSZ` in UTC (sorts by time; no separators a file system could mind).
fn utc_stamp(at: Timestamp) -> String {
    jiff::Timestamp::from_second(at.0)
        .map(|t| t.strftime("%Y%m%dT%H%M%SZ").to_string())
        .unwrap_or_else(|_| format!("{}", at.0))
}

#[cfg(test)]
mod tests {
    use lanyard_core::{ManualClock, OsRng};
    use mailparse::MailHeaderMap;

    use super::*;

    const FROM: &str = "Lanyard <no-reply@example.com>";

    fn outbox(dir: &Path) -> OutboxMailer {
        OutboxMailer::new(
            dir,
            FROM,
            Arc::new(ManualClock::new(Timestamp(1_700_000_000))),
            Arc::new(OsRng),
        )
        .unwrap()
    }

    fn mail(to: &str, subject: &str, text: &str) -> OutgoingMail {
        OutgoingMail {
            to: to.to_owned(),
            subject: subject.to_owned(),
            text: text.to_owned(),
        }
    }

    fn files(dir: &Path) -> Vec<PathBuf> {
        let mut all: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        all.sort();
        all
    }

    #[test]
    fn utc_stamps() {
        assert_eq!(utc_stamp(Timestamp(0)), "19700101T000000Z");
        assert_eq!(utc_stamp(Timestamp(1_700_000_000)), "20231114T221320Z");
        assert_eq!(utc_stamp(Timestamp(951_825_600)), "20000229T120000Z");
        assert_eq!(utc_stamp(Timestamp(4_102_444_799)), "20991231T235959Z");
        assert_eq!(utc_stamp(Timestamp(-1)), "19691231T235959Z");
    }

    #[tokio::test]
    async fn writes_a_parsable_private_file() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("outbox");
        let mailer = outbox(&dir);
        let text = "Hello Zoë,\n\nyour sign-in code is 123456.\n\nGrüße — Lanyard\n";
        mailer
            .send(&mail("Zoë <zoe@example.org>", "Your sign-in code ✓", text))
            .await
            .unwrap();

        let written = files(&dir);
        assert_eq!(written.len(), 1, "{written:?}");
        let name = written[0].file_name().unwrap().to_str().unwrap().to_owned();
        let (stamp, rest) = name.split_once('-').unwrap();
        assert_eq!(stamp, "20231114T221320Z");
        let hex = rest.strip_suffix(".eml").unwrap();
        assert_eq!(hex.len(), 16);
        assert!(hex.bytes().all(|b| b.is_ascii_hexdigit()), "{name}");

        let raw = std::fs::read(&written[0]).unwrap();
        let parsed = mailparse::parse_mail(&raw).unwrap();
        let to =
            mailparse::addrparse_header(parsed.headers.get_first_header("To").unwrap()).unwrap();
        let to = to.extract_single_info().unwrap();
        assert_eq!(to.addr, "zoe@example.org");
        assert_eq!(to.display_name.as_deref(), Some("Zoë"));
        assert_eq!(
            parsed.headers.get_first_value("Subject").unwrap(),
            "Your sign-in code ✓"
        );
        assert!(parsed.headers.get_first_value("Message-ID").is_some());
        assert!(parsed.headers.get_first_value("Date").is_some());
        assert_eq!(parsed.ctype.mimetype, "text/plain");
        assert_eq!(parsed.ctype.charset, "utf-8");
        assert_eq!(parsed.get_body().unwrap().replace("\r\n", "\n"), text);

        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&dir), 0o700);
            assert_eq!(mode(&written[0]), 0o600);
        }
    }

    #[tokio::test]
    async fn each_message_gets_its_own_file() {
        let tmp = tempfile::tempdir().unwrap();
        let mailer = outbox(tmp.path());
        for n in 0..3 {
            mailer
                .send(&mail("ada@example.org", &format!("n{n}"), "x"))
                .await
                .unwrap();
        }
        assert_eq!(files(tmp.path()).len(), 3);
    }

    #[tokio::test]
    async fn an_invalid_recipient_is_refused_and_nothing_is_written() {
        let tmp = tempfile::tempdir().unwrap();
        let mailer = outbox(tmp.path());
        for to in [
            "",
            "nobody",
            "ada@example.org, eve@example.org",
            "a@b\nBcc: e@f",
        ] {
            let err = mailer.send(&mail(to, "s", "t")).await.unwrap_err();
            assert!(
                matches!(err, MailError::InvalidRecipient),
                "{to:?}: {err:?}"
            );
        }
        assert!(files(tmp.path()).is_empty());
    }

    #[tokio::test]
    async fn an_unwritable_outbox_is_unavailable() {
        // A regular file where the folder should be: fails even for root, which ignores
        // permission bits.
        let tmp = tempfile::tempdir().unwrap();
        let blocker = tmp.path().join("not-a-folder");
        std::fs::write(&blocker, b"").unwrap();
        for dir in [blocker.clone(), blocker.join("outbox")] {
            let err = outbox(&dir)
                .send(&mail("ada@example.org", "Your code", "code 123456"))
                .await
                .unwrap_err();
            let MailError::Unavailable(msg) = err else {
                panic!("expected Unavailable, got {err:?}");
            };
            assert!(
                !msg.contains("123456") && !msg.contains("Your code"),
                "{msg}"
            );
        }
    }

    #[test]
    fn an_invalid_sender_is_a_config_error() {
        let err = OutboxMailer::new(
            "x",
            "not a mailbox",
            Arc::new(ManualClock::new(Timestamp(0))),
            Arc::new(OsRng),
        )
        .unwrap_err();
        assert!(matches!(err, MailConfigError::InvalidFrom));
    }
}
