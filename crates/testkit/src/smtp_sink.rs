//! A real SMTP server for tests: it listens on `127.0.0.1:0` inside the test process, takes
//! every message it is given, parses it, and lets the test await the messages for a
//! recipient. The protocol (EHLO/HELO, MAIL, RCPT, DATA with dot-unstuffing, RSET, NOOP,
//! QUIT) is `mailin`'s state machine; this file only feeds it lines over tokio. Messages are
//! decoded (quoted-printable, base64, RFC 2047 headers) with `mailparse`.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use mailin::response::{NO_STORAGE, OK, TRANSACTION_FAILED};
use mailin::{Action, Handler, Response, SessionBuilder};
use mailparse::{MailHeaderMap, ParsedMail};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

/// How long [`SmtpSink::wait_for`] waits before failing the test.
pub const WAIT_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest command or data line accepted (RFC 5321 asks for 1000 octets; be lenient).
const MAX_LINE: u64 = 64 * 1024;
/// Largest message accepted.
const MAX_MESSAGE: usize = 10 * 1024 * 1024;

/// One message as the sink received it.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    /// The envelope sender (`MAIL FROM`).
    pub envelope_from: String,
    /// The envelope recipients (`RCPT TO`), as given.
    pub recipients: Vec<String>,
    /// The `From` header, decoded.
    pub from: String,
    /// The `To` header, decoded (e.g. `"Zoë" <zoe@example.org>`).
    pub to: String,
    /// The `Subject` header, decoded.
    pub subject: String,
    /// The first text/plain part (or the whole body), transfer-decoded, line ends as sent.
    pub text: String,
    /// The message exactly as received after dot-unstuffing.
    pub raw: Vec<u8>,
}

impl ReceivedMail {
    /// Whether `address` was one of the envelope recipients (ASCII case-insensitive).
    pub fn is_for(&self, address: &str) -> bool {
        let address = address.trim();
        self.recipients
            .iter()
            .any(|r| r.eq_ignore_ascii_case(address))
    }

    /// A header's first value, decoded.
    pub fn header(&self, name: &str) -> Option<String> {
        let parsed = mailparse::parse_mail(&self.raw).ok()?;
        parsed.headers.get_first_value(name)
    }
}

/// The running sink; stopped by [`SmtpSink::stop`] or when dropped.
pub struct SmtpSink {
    addr: SocketAddr,
    received: watch::Receiver<Vec<ReceivedMail>>,
    server: JoinHandle<()>,
}

impl std::fmt::Debug for SmtpSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSink")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl SmtpSink {
    /// Binds `127.0.0.1:0` and starts accepting connections on the current runtime.
    pub async fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the SMTP sink");
        let addr = listener.local_addr().expect("the SMTP sink's address");
        let (tx, received) = watch::channel(Vec::new());
        let server = tokio::spawn(accept_loop(listener, Arc::new(tx)));
        SmtpSink {
            addr,
            received,
            server,
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every message received so far, in arrival order.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        self.received.borrow().clone()
    }

    /// The messages received so far for `to` (an envelope recipient).
    pub fn messages_to(&self, to: &str) -> Vec<ReceivedMail> {
        self.received
            .borrow()
            .iter()
            .filter(|m| m.is_for(to))
            .cloned()
            .collect()
    }

    /// Awaits until at least `count` messages for `to` have arrived and returns them all;
    /// fails the test after [`WAIT_TIMEOUT`]. Woken by each arrival, no polling.
    pub async fn wait_for(&self, to: &str, count: usize) -> Vec<ReceivedMail> {
        let mut rx = self.received.clone();
        let arrived = tokio::time::timeout(
            WAIT_TIMEOUT,
            rx.wait_for(|all| all.iter().filter(|m| m.is_for(to)).count() >= count),
        )
        .await;
        match arrived {
            Ok(Ok(_)) => self.messages_to(to),
            Ok(Err(_)) => panic!("the SMTP sink stopped while waiting for mail to {to}"),
            Err(_) => {
                let seen: Vec<Vec<String>> =
                    self.messages().into_iter().map(|m| m.recipients).collect();
                panic!(
                    "no {count} message(s) for {to} within {WAIT_TIMEOUT:?}; received for: {seen:?}"
                )
            }
        }
    }

    /// Stops accepting and drops every open connection; the port is free afterwards.
    pub async fn stop(mut self) {
        self.server.abort();
        let _ = (&mut self.server).await;
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn accept_loop(listener: TcpListener, tx: Arc<watch::Sender<Vec<ReceivedMail>>>) {
    // Owned here so that aborting this task also aborts every connection.
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    connections.spawn(serve(stream, peer.ip(), tx.clone()));
                }
                Err(_) => return,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn serve(stream: TcpStream, peer: IpAddr, tx: Arc<watch::Sender<Vec<ReceivedMail>>>) {
    let _ = converse(stream, peer, tx).await;
}

async fn converse(
    stream: TcpStream,
    peer: IpAddr,
    tx: Arc<watch::Sender<Vec<ReceivedMail>>>,
) -> io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let mut session = SessionBuilder::new("lanyard-smtp-sink").build(peer, Collector::new(tx));
    write.write_all(&session.greeting().buffer()?).await?;
    let mut line = Vec::with_capacity(1024);
    loop {
        line.clear();
        let n = (&mut reader)
            .take(MAX_LINE)
            .read_until(b'\n', &mut line)
            .await?;
        if n == 0 || !line.ends_with(b"\n") {
            // End of stream, or a line longer than we accept.
            return Ok(());
        }
        let response = session.process(&line);
        match response.action {
            Action::NoReply => {}
            Action::Reply => write.write_all(&response.buffer()?).await?,
            // STARTTLS is not offered, so an upgrade is never asked for; close either way.
            Action::Close | Action::UpgradeTls => {
                write.write_all(&response.buffer()?).await?;
                write.shutdown().await?;
                return Ok(());
            }
        }
    }
}

/// Collects one connection's transactions and publishes each finished message.
struct Collector {
    tx: Arc<watch::Sender<Vec<ReceivedMail>>>,
    from: String,
    recipients: Vec<String>,
    data: Vec<u8>,
    too_big: bool,
}

impl Collector {
    fn new(tx: Arc<watch::Sender<Vec<ReceivedMail>>>) -> Self {
        Self {
            tx,
            from: String::new(),
            recipients: Vec::new(),
            data: Vec::new(),
            too_big: false,
        }
    }
}

impl Handler for Collector {
    fn data_start(&mut self, _domain: &str, from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.from = from.to_owned();
        self.recipients = to.to_vec();
        self.data.clear();
        self.too_big = false;
        OK
    }

    fn data(&mut self, buf: &[u8]) -> io::Result<()> {
        if self.data.len() + buf.len() > MAX_MESSAGE {
            self.too_big = true;
        } else if !self.too_big {
            self.data.extend_from_slice(buf);
        }
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        if self.too_big {
            return NO_STORAGE;
        }
        let raw = std::mem::take(&mut self.data);
        match parse(
            std::mem::take(&mut self.from),
            std::mem::take(&mut self.recipients),
            raw,
        ) {
            Some(mail) => {
                self.tx.send_modify(|all| all.push(mail));
                OK
            }
            None => TRANSACTION_FAILED,
        }
    }
}

fn parse(envelope_from: String, recipients: Vec<String>, raw: Vec<u8>) -> Option<ReceivedMail> {
    let (from, to, subject, text) = {
        let parsed = mailparse::parse_mail(&raw).ok()?;
        let header = |name: &str| parsed.headers.get_first_value(name).unwrap_or_default();
        let text = first_text_part(&parsed)?.get_body().ok()?;
        (header("From"), header("To"), header("Subject"), text)
    };
    Some(ReceivedMail {
        envelope_from,
        recipients,
        from,
        to,
        subject,
        text,
        raw,
    })
}

fn first_text_part<'a>(mail: &'a ParsedMail<'a>) -> Option<&'a ParsedMail<'a>> {
    if mail.subparts.is_empty() {
        return Some(mail);
    }
    if let Some(plain) = mail
        .subparts
        .iter()
        .find(|p| p.subparts.is_empty() && p.ctype.mimetype.eq_ignore_ascii_case("text/plain"))
    {
        return Some(plain);
    }
    mail.subparts.iter().find_map(first_text_part)
}
