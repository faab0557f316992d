//! The outbox's log line names the file and nothing from the message. Its own test binary:
//! tracing caches per call site whether anyone listens, so a test running beside others that
//! hit the same call site without a subscriber would see nothing.

#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::sync::{Arc, Mutex};

use lanyard_core::{Mailer, ManualClock, OsRng, OutgoingMail, Timestamp};
use lanyard_mail::OutboxMailer;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn the_log_names_the_path_only() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let tmp = tempfile::tempdir().unwrap();
    let mailer = OutboxMailer::new(
        tmp.path(),
        "Lanyard <no-reply@example.com>",
        Arc::new(ManualClock::new(Timestamp(1_700_000_000))),
        Arc::new(OsRng),
    )
    .unwrap();
    let mail = OutgoingMail {
        to: "ada@example.org".to_owned(),
        subject: "Code for Ada".to_owned(),
        text: "your code is 987654".to_owned(),
    };
    mailer.send(&mail).await.unwrap();

    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(log.contains("mail written to the outbox"), "{log}");
    assert!(log.contains(".eml"), "{log}");
    for leak in ["ada@example.org", "Code for Ada", "987654"] {
        assert!(!log.contains(leak), "{leak} in {log}");
    }
    assert!(!format!("{mailer:?}").contains("987654"));
}
