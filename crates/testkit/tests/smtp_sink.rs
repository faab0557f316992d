//! `SmtpMailer` against the in-process SMTP sink, and the sink's own protocol handling.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use lanyard_core::{MailError, Mailer, ManualClock, OsRng, OutgoingMail, Secret};
use lanyard_mail::{SmtpMailer, SmtpSettings, SmtpTls};
use lanyard_testkit::SmtpSink;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

fn mailer(port: u16, timeout_secs: u64, password: Option<&str>) -> SmtpMailer {
    let settings = SmtpSettings {
        host: "127.0.0.1".to_owned(),
        port,
        tls: SmtpTls::None,
        username: password.map(|_| "lanyard".to_owned()),
        password: password.map(Secret::new),
        from: "Lanyard <no-reply@example.com>".to_owned(),
        timeout_secs,
    };
    SmtpMailer::new(
        &settings,
        Arc::new(ManualClock::starting_now()),
        Arc::new(OsRng),
    )
    .unwrap()
}

/// The text as the sink decoded it, with LF line ends and without the trailing line ends:
/// lettre always sends `<CRLF>.<CRLF>` after the message, so a body that already ends with a
/// line break arrives with one more.
fn received_text(text: &str) -> String {
    text.replace("\r\n", "\n").trim_end_matches('\n').to_owned()
}

fn mail(to: &str, subject: &str, text: &str) -> OutgoingMail {
    OutgoingMail {
        to: to.to_owned(),
        subject: subject.to_owned(),
        text: text.to_owned(),
    }
}

#[tokio::test]
async fn smtp_mailer_delivers_non_ascii_mail_to_the_sink() {
    let sink = SmtpSink::start().await;
    let mailer = mailer(sink.port(), 5, None);
    let subject = "Dein Anmeldecode: 481 516 — ✓ Zoë";
    let text = "Hallo Zoë,\n\ndein Code ist 481516.\nGrüße, 🔑 Lanyard\n";
    mailer
        .send(&mail("Zoë Müller <zoe@example.org>", subject, text))
        .await
        .unwrap();

    let got = sink.wait_for("zoe@example.org", 1).await;
    assert_eq!(got.len(), 1);
    let m = &got[0];
    assert_eq!(m.recipients, ["zoe@example.org"]);
    assert_eq!(m.envelope_from, "no-reply@example.com");
    assert!(m.to.contains("Zoë Müller"), "{}", m.to);
    assert!(m.to.contains("<zoe@example.org>"), "{}", m.to);
    assert!(m.from.contains("no-reply@example.com"), "{}", m.from);
    assert_eq!(m.subject, subject);
    assert_eq!(received_text(&m.text), text.trim_end());
    assert!(m.header("Message-ID").is_some());
    assert!(m.header("Date").is_some());
    sink.stop().await;
}

#[tokio::test]
async fn dots_at_line_starts_survive_and_recipients_are_kept_apart() {
    let sink = SmtpSink::start().await;
    let mailer = mailer(sink.port(), 5, None);
    // ASCII only, so the body goes as 7bit and the leading dots are stuffed on the wire.
    let text = ".\n..two\n.one\nend\n";
    mailer
        .send(&mail("ada@example.org", "dots", text))
        .await
        .unwrap();
    mailer
        .send(&mail("bob@example.org", "first", "1"))
        .await
        .unwrap();
    mailer
        .send(&mail("bob@example.org", "second", "2"))
        .await
        .unwrap();

    let ada = sink.wait_for("ADA@example.org", 1).await;
    assert_eq!(ada.len(), 1);
    assert_eq!(received_text(&ada[0].text), text.trim_end());
    let bob = sink.wait_for("bob@example.org", 2).await;
    let subjects: Vec<&str> = bob.iter().map(|m| m.subject.as_str()).collect();
    assert_eq!(subjects, ["first", "second"]);
    assert_eq!(sink.messages().len(), 3);
}

#[tokio::test]
async fn wait_for_wakes_on_a_later_arrival() {
    let sink = SmtpSink::start().await;
    let port = sink.port();
    let sender = tokio::spawn(async move {
        mailer(port, 5, None)
            .send(&mail("late@example.org", "late", "body"))
            .await
    });
    let got = sink.wait_for("late@example.org", 1).await;
    assert_eq!(got[0].subject, "late");
    sender.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_stopped_sink_makes_the_mailer_unavailable() {
    let sink = SmtpSink::start().await;
    let port = sink.port();
    sink.stop().await;

    let started = tokio::time::Instant::now();
    let err = mailer(port, 2, Some("hunter2-smtp-password"))
        .send(&mail("ada@example.org", "Your code", "sign-in code 246810"))
        .await
        .unwrap_err();
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    let MailError::Unavailable(msg) = err else {
        panic!("expected Unavailable, got {err:?}");
    };
    assert!(msg.contains(&format!("127.0.0.1:{port}")), "{msg}");
    for leak in ["hunter2", "246810", "Your code", "ada@example.org"] {
        assert!(!msg.contains(leak), "{leak} in {msg}");
    }
}

/// The sink by hand: HELO, RSET dropping a transaction, NOOP, dot-unstuffing, QUIT.
#[tokio::test]
async fn the_sink_speaks_smtp() {
    let sink = SmtpSink::start().await;
    let stream = TcpStream::connect(sink.addr()).await.unwrap();
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    let mut expect = async |code: &str| {
        let line = lines.next_line().await.unwrap().unwrap();
        assert!(line.starts_with(code), "wanted {code}, got {line}");
    };
    expect("220").await;
    for (send, code) in [
        ("HELO client.test", "250"),
        ("MAIL FROM:<a@example.org>", "250"),
        ("RCPT TO:<dropped@example.org>", "250"),
        ("RSET", "250"),
        ("NOOP", "250"),
        ("MAIL FROM:<a@example.org>", "250"),
        ("RCPT TO:<kept@example.org>", "250"),
        ("DATA", "354"),
    ] {
        write
            .write_all(format!("{send}\r\n").as_bytes())
            .await
            .unwrap();
        expect(code).await;
    }
    write
        .write_all(
            b"To: kept@example.org\r\nSubject: by hand\r\n\r\n..leading dot\r\nplain\r\n.\r\n",
        )
        .await
        .unwrap();
    expect("250").await;
    write.write_all(b"QUIT\r\n").await.unwrap();
    expect("221").await;

    let got = sink.wait_for("kept@example.org", 1).await;
    assert_eq!(got[0].subject, "by hand");
    assert_eq!(got[0].text, ".leading dot\r\nplain\r\n");
    assert!(sink.messages_to("dropped@example.org").is_empty());
}
