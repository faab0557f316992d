//! Running the real `lanyard` binary with its own environment, capturing everything it
//! writes to stdout and stderr.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, Command};
use tokio::sync::watch;

/// How long start-up may take before the test gives up (a debug build, a busy machine).
const START_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a graceful shutdown may take after SIGTERM.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);
const READY_LINE: &str = "lanyard is serving";

pub struct Env {
    pub vars: Vec<(String, String)>,
    pub cwd: PathBuf,
}

/// What one process wrote.
pub struct Output {
    pub name: String,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

fn command(env: &Env, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lanyard"));
    cmd.args(args).current_dir(&env.cwd).kill_on_drop(true);
    // Nothing from the test's own environment may configure the server.
    for (key, _) in std::env::vars() {
        if key.starts_with("LANYARD_") || key == "RUST_LOG" {
            cmd.env_remove(key);
        }
    }
    for (key, value) in &env.vars {
        cmd.env(key, value);
    }
    cmd
}

/// Runs `lanyard <args>` to completion, feeding `stdin`; panics unless it succeeds.
pub async fn run(env: &Env, args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = command(env, args);
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).await.unwrap();
    }
    drop(input);
    let out = child.wait_with_output().await.unwrap();
    let name = format!("lanyard {}", args.join(" "));
    assert!(
        out.status.success(),
        "{name} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Output {
        name,
        stdout: out.stdout,
        stderr: out.stderr,
    }
}

/// `lanyard serve`, running.
pub struct Server {
    child: Child,
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    readers: Vec<tokio::task::JoinHandle<()>>,
}

fn collect(
    mut from: impl AsyncRead + Unpin + Send + 'static,
    into: Arc<Mutex<Vec<u8>>>,
    ready: Option<watch::Sender<bool>>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut chunk = [0u8; 8192];
        loop {
            match from.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    let mut all = into.lock().unwrap();
                    all.extend_from_slice(&chunk[..n]);
                    if let Some(ready) = &ready
                        && String::from_utf8_lossy(&all).contains(READY_LINE)
                    {
                        let _ = ready.send(true);
                    }
                }
            }
        }
    })
}

impl Server {
    /// Starts the server and returns once it logged that it is serving.
    pub async fn start(env: &Env) -> Server {
        let mut cmd = command(env, &["serve"]);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let (ready_tx, mut ready_rx) = watch::channel(false);
        let readers = vec![
            collect(child.stdout.take().unwrap(), stdout.clone(), None),
            collect(child.stderr.take().unwrap(), stderr.clone(), Some(ready_tx)),
        ];
        tokio::select! {
            ready = ready_rx.wait_for(|r| *r) => { ready.unwrap(); }
            status = child.wait() => panic!(
                "lanyard serve exited ({status:?}) before serving:\n{}",
                String::from_utf8_lossy(&stderr.lock().unwrap())
            ),
            () = tokio::time::sleep(START_TIMEOUT) => panic!(
                "lanyard serve did not start within {START_TIMEOUT:?}:\n{}",
                String::from_utf8_lossy(&stderr.lock().unwrap())
            ),
        }
        Server {
            child,
            stdout,
            stderr,
            readers,
        }
    }

    /// Asks the server to shut down (SIGTERM to its process id) and returns what it wrote.
    pub async fn stop(mut self) -> Output {
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill")
                .arg("-TERM")
                .arg(pid.to_string())
                .status();
        }
        match tokio::time::timeout(STOP_TIMEOUT, self.child.wait()).await {
            Ok(status) => {
                status.unwrap();
            }
            Err(_) => {
                let _ = self.child.kill().await;
            }
        }
        for reader in self.readers {
            let _ = reader.await;
        }
        let stdout = std::mem::take(&mut *self.stdout.lock().unwrap());
        let stderr = std::mem::take(&mut *self.stderr.lock().unwrap());
        Output {
            name: "lanyard serve".to_owned(),
            stdout,
            stderr,
        }
    }
}

/// A loopback port nothing listens on right now (the server binds it a moment later).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}
