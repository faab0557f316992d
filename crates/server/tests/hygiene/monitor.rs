//! `MONITOR` on the test Redis: every command any client sends, with all its arguments, as
//! Redis prints them (`+<time> [<db> <addr>] "SET" "key" "value" ...`).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Notify;

/// How long the sentinel may take to come back through MONITOR.
const SENTINEL_TIMEOUT: Duration = Duration::from_secs(30);

pub struct Monitor {
    url: String,
    seen: Arc<Mutex<Vec<u8>>>,
    grew: Arc<Notify>,
    reader: tokio::task::JoinHandle<()>,
}

fn resp(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
    }
    out
}

/// A plain connection to the Redis of `url`, authenticated if the URL carries credentials.
async fn connect(url: &str) -> TcpStream {
    let parsed = url::Url::parse(url).unwrap();
    let host = parsed.host_str().unwrap_or("127.0.0.1").to_owned();
    let port = parsed.port().unwrap_or(6379);
    let mut stream = TcpStream::connect((host.as_str(), port)).await.unwrap();
    if let Some(password) = parsed.password() {
        let command = if parsed.username().is_empty() {
            resp(&["AUTH", password])
        } else {
            resp(&["AUTH", parsed.username(), password])
        };
        stream.write_all(&command).await.unwrap();
        expect_ok(&mut stream).await;
    }
    stream
}

async fn expect_ok(stream: &mut TcpStream) {
    let mut reply = Vec::new();
    let mut byte = [0u8; 1];
    while !reply.ends_with(b"\r\n") {
        stream.read_exact(&mut byte).await.unwrap();
        reply.push(byte[0]);
    }
    assert_eq!(reply, b"+OK\r\n", "{}", String::from_utf8_lossy(&reply));
}

impl Monitor {
    /// Returns once Redis confirmed that monitoring is on.
    pub async fn start(url: &str) -> Monitor {
        let mut stream = connect(url).await;
        stream.write_all(&resp(&["MONITOR"])).await.unwrap();
        expect_ok(&mut stream).await;
        let seen = Arc::new(Mutex::new(Vec::new()));
        let grew = Arc::new(Notify::new());
        let reader = {
            let (seen, grew) = (seen.clone(), grew.clone());
            tokio::spawn(async move {
                let mut chunk = [0u8; 16 * 1024];
                loop {
                    match stream.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => {
                            seen.lock().unwrap().extend_from_slice(&chunk[..n]);
                            grew.notify_waiters();
                        }
                    }
                }
            })
        };
        Monitor {
            url: url.to_owned(),
            seen,
            grew,
            reader,
        }
    }

    /// Sends a sentinel command from another connection and returns everything MONITOR
    /// printed up to it: all commands sent before this call are in it.
    pub async fn finish(self) -> String {
        let sentinel = format!(
            "lanyard-hygiene-sentinel-{}",
            lanyard_core::ids::random_uuid(&lanyard_core::OsRng).simple()
        );
        let mut other = connect(&self.url).await;
        other.write_all(&resp(&["ECHO", &sentinel])).await.unwrap();
        let wait = async {
            loop {
                let notified = self.grew.notified();
                if String::from_utf8_lossy(&self.seen.lock().unwrap()).contains(&sentinel) {
                    return;
                }
                notified.await;
            }
        };
        tokio::time::timeout(SENTINEL_TIMEOUT, wait)
            .await
            .expect("the sentinel came back through MONITOR");
        self.reader.abort();
        let all = self.seen.lock().unwrap().clone();
        String::from_utf8_lossy(&all).into_owned()
    }
}
