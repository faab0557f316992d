//! `bench-signin`: the sign-in benchmark's load driver (scripts/bench-login.sh; issue 17's
//! `just bench-signin` can reuse it). A sign-in is several requests; only the password post
//! is timed. `prepare` walks each flow up to that post and saves it; `measure` times the
//! posts at a fixed concurrency, so a script can read the server's CPU around just that;
//! `prime` does both untimed, for a repeat login of users whose first login is not measured.
//! With `--own-sources` each flow comes from its own loopback address (`source`); with
//! `--outbox`, a sample of the signed-in flows then completes the emailed-code step (`code`).

mod code;
mod measure;
mod page;
mod prepare;
mod source;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use reqwest::Client;

use crate::measure::{Run, measure};
use crate::prepare::{Kind, Prepared, prepare_all};

/// The PKCE challenge of RFC 7636's example verifier: the flows never reach the token
/// endpoint, but `/authorize` requires one.
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

#[derive(Parser)]
#[command(about = "Times the password step of Lanyard sign-ins (benchmarks only)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Walk COUNT flows up to their password post and write them (JSON lines) to --out.
    Prepare {
        #[command(flatten)]
        flows: FlowArgs,
        #[arg(long)]
        out: PathBuf,
    },
    /// Post the password of each prepared flow; print one JSON line of figures.
    Measure {
        #[arg(long)]
        flows: PathBuf,
        #[command(flatten)]
        post: PostArgs,
    },
    /// The one-core argon2 budget: argon2id hashes per second at the server's default
    /// parameters, one after another on this thread (run it pinned to the server's core).
    Budget {
        #[arg(long, default_value_t = 3.0)]
        seconds: f64,
    },
    /// Prepare and post, untimed (every post must reach the second step).
    Prime {
        #[command(flatten)]
        flows: FlowArgs,
        #[command(flatten)]
        post: PostArgs,
    },
}

#[derive(Args)]
struct FlowArgs {
    /// The server, e.g. http://127.0.0.1:8080 (no trailing slash).
    #[arg(long)]
    base: String,
    /// The client the flows are for: a site's client leads to the site's login page.
    #[arg(long)]
    client: String,
    #[arg(long, default_value = "https://rp.example.com/cb")]
    redirect_uri: String,
    #[arg(long, value_enum)]
    kind: Kind,
    /// One login (site) or email address (identity) per line, used in turn.
    #[arg(long)]
    users: PathBuf,
    /// Flows to prepare (default: one per user).
    #[arg(long)]
    count: Option<usize>,
    /// Flows prepared at once.
    #[arg(long, default_value_t = 4)]
    prepare_concurrency: usize,
    /// Each flow from its own loopback address (127.1.0.0 onwards), as a burst from many
    /// people: the per-address limits then count each person alone.
    #[arg(long)]
    own_sources: bool,
}

#[derive(Args)]
struct PostArgs {
    /// The password, on the file's first line.
    #[arg(long)]
    password_file: PathBuf,
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Longest time posts are started for.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    #[arg(long, default_value = "run")]
    label: String,
    /// Where a right password's 303 leads.
    #[arg(long, default_value = "/login/code")]
    expect: String,
    /// The server's outbox folder: after the run, `--complete-codes` of the signed-in
    /// flows type in their emailed code (untimed).
    #[arg(long, requires = "complete_codes")]
    outbox: Option<PathBuf>,
    #[arg(long, default_value_t = 0, requires = "outbox")]
    complete_codes: usize,
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench-signin: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    let http = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(120))
        .build()
        .map_err(|e| e.to_string())?;
    match cli.command {
        Command::Prepare { flows, out } => {
            let prepared = prepare_flows(&http, &flows).await?;
            let lines: Vec<String> = prepared
                .iter()
                .map(serde_json::to_string)
                .collect::<Result<_, _>>()
                .map_err(|e| e.to_string())?;
            std::fs::write(&out, lines.join("\n") + "\n")
                .map_err(|e| format!("{}: {e}", out.display()))
        }
        Command::Measure { flows, post } => {
            let text =
                std::fs::read_to_string(&flows).map_err(|e| format!("{}: {e}", flows.display()))?;
            let prepared: Vec<Prepared> = text
                .lines()
                .filter(|l| !l.is_empty())
                .map(serde_json::from_str)
                .collect::<Result<_, _>>()
                .map_err(|e| format!("{}: {e}", flows.display()))?;
            let (mut outcome, landed) = measure(&http, prepared.clone(), &run_of(&post)?).await?;
            if let (Some(outbox), Some(first)) = (&post.outbox, prepared.first()) {
                let base = origin_of(&first.url)?;
                let sample = (outbox.as_path(), post.complete_codes);
                let (tried, ok) = code::complete(&http, &base, &prepared, &landed, sample).await?;
                outcome.codes_tried = tried;
                outcome.codes_ok = ok;
            }
            println!(
                "{}",
                serde_json::to_string(&outcome).map_err(|e| e.to_string())?
            );
            Ok(())
        }
        Command::Budget { seconds } => {
            let (hashes, per_sec) = argon2_budget(seconds)?;
            println!("{{\"hashes\":{hashes},\"per_sec\":{per_sec:.1}}}");
            Ok(())
        }
        Command::Prime { flows, post } => {
            let prepared = prepare_flows(&http, &flows).await?;
            let run = Run {
                seconds: 86_400.0,
                ..run_of(&post)?
            };
            let (outcome, _) = measure(&http, prepared, &run).await?;
            if outcome.unexpected > 0 {
                return Err(format!("priming: {:?}", outcome.statuses));
            }
            eprintln!("primed {} sign-ins", outcome.ok);
            Ok(())
        }
    }
}

async fn prepare_flows(http: &Client, a: &FlowArgs) -> Result<Vec<Prepared>, String> {
    let text =
        std::fs::read_to_string(&a.users).map_err(|e| format!("{}: {e}", a.users.display()))?;
    let users: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    let authorize = format!(
        "{}/authorize?response_type=code&client_id={}&redirect_uri={}&scope=openid&state=st&nonce=nn&code_challenge={CHALLENGE}&code_challenge_method=S256",
        a.base,
        encode(&a.client),
        encode(&a.redirect_uri)
    );
    let count = a.count.unwrap_or(users.len());
    prepare_all(
        http,
        &a.base,
        &authorize,
        a.kind,
        &users,
        (count, a.prepare_concurrency, a.own_sources),
    )
    .await
}

fn run_of(post: &PostArgs) -> Result<Run<'_>, String> {
    Ok(Run {
        label: &post.label,
        password: password_of(&post.password_file)?,
        concurrency: post.concurrency,
        seconds: post.seconds,
        expect: &post.expect,
    })
}

fn password_of(path: &PathBuf) -> Result<String, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let line = text.lines().next().unwrap_or("").to_owned();
    if line.is_empty() {
        return Err(format!("{}: no password", path.display()));
    }
    Ok(line)
}

/// argon2id at OWASP's m = 19 MiB, t = 2, p = 1 (the server's default), repeated for
/// `seconds`: (hashes, hashes per second).
fn argon2_budget(seconds: f64) -> Result<(u64, f64), String> {
    use argon2::{Algorithm, Argon2, Params, Version};
    let params = Params::new(19_456, 2, 1, None).map_err(|e| e.to_string())?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let mut out = [0u8; 32];
    let start = std::time::Instant::now();
    let mut hashes = 0u64;
    while start.elapsed().as_secs_f64() < seconds {
        argon
            .hash_password_into(b"a bench password", b"sixteen byte slt", &mut out)
            .map_err(|e| e.to_string())?;
        hashes += 1;
    }
    Ok((hashes, hashes as f64 / start.elapsed().as_secs_f64()))
}

/// `http://host:port` of an absolute URL.
fn origin_of(url: &str) -> Result<String, String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("{url}: {e}"))?;
    Ok(parsed.origin().ascii_serialization())
}

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
