//! The CLI commands. Each prints a human line or, with `--json`, one JSON document.

mod client;
mod keys;
mod org;
mod pat;
mod user;

use crate::app::{self, Runtime};
use crate::cli::{Cli, Command};
use crate::config::Config;

pub type CommandResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

pub async fn run(cli: Cli) -> CommandResult {
    let config = Config::load(cli.config.as_deref())?;
    match cli.command {
        Command::Serve => crate::serve::serve(config).await,
        Command::Migrate => {
            let stores = app::open_database(&config, &Runtime::default(), true).await?;
            let pending = stores.sql.pending_migrations().await?;
            println!("database is up to date ({} pending)", pending.len());
            Ok(())
        }
        Command::Client(cmd) => {
            let app = app::build(&config, Runtime::default(), embedded(&config)).await?;
            client::run(&app, cmd).await
        }
        Command::User(cmd) => {
            let app = app::build(&config, Runtime::default(), embedded(&config)).await?;
            user::run(&app, cmd).await
        }
        Command::Pat(cmd) => {
            let app = app::build(&config, Runtime::default(), embedded(&config)).await?;
            pat::run(&app, cmd).await
        }
        Command::Org(cmd) => {
            let app = app::build(&config, Runtime::default(), embedded(&config)).await?;
            org::run(&app, cmd).await
        }
        Command::Keys(cmd) => {
            let app = app::build(&config, Runtime::default(), embedded(&config)).await?;
            keys::run(&app, cmd).await
        }
    }
}

/// The embedded default migrates itself; a shared PostgreSQL is migrated explicitly.
pub fn embedded(config: &Config) -> bool {
    config.database_url().starts_with("sqlite:")
}

fn print_json(value: &serde_json::Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_default()
    );
}
