//! `bench-signin`: the sign-in benchmark's load driver (scripts/bench-login.sh; issue 17's
//! `just bench-signin` can reuse it). A sign-in is several requests; only the password post
//! is timed. `prepare` walks each flow up to that post and saves it; `measure` times the
//! posts at a fixed concurrency, so a script can read the server's CPU around just that;
//! `prime` does both untimed, for a repeat login of users whose first login is not measured.

mod measure;
mod page;
mod prepare;

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
            let outcome = measure(&http, prepared, &run_of(&post)?).await;
            println!(
                "{}",
                serde_json::to_string(&outcome).map_err(|e| e.to_string())?
            );
            Ok(())
        }
        Command::Prime { flows, post } => {
            let prepared = prepare_flows(&http, &flows).await?;
            let run = Run {
                seconds: 86_400.0,
                ..run_of(&post)?
            };
            let outcome = measure(&http, prepared, &run).await;
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
        (count, a.prepare_concurrency),
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

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
