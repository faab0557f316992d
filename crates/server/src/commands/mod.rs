//! The CLI commands. Each prints a human line or, with `--json`, one JSON document.

mod audit;
mod client;
mod keys;
mod org;
mod org_sso;
mod pat;
mod site;
mod site_migration;
mod table;
mod user;

use crate::app::{self, Runtime};
use crate::cli::{Cli, Command};
use crate::config::Config;

pub type CommandResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// Exit status of an input the rules refuse (a password the policy refuses): sysexits.h's
/// `EX_DATAERR`, so a script can tell "choose another password" from a failure (1) or a
/// mistyped command (2, clap's).
pub const EXIT_REFUSED_INPUT: u8 = 65;
/// Exit status of an action that needs `--yes` and did not get it (nothing changed).
pub const EXIT_NOT_CONFIRMED: u8 = 3;

/// An error that carries its exit status.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ExitError {
    pub code: u8,
    pub message: String,
}

/// The process's exit status for a command's error.
pub fn exit_code(error: &(dyn std::error::Error + Send + Sync + 'static)) -> u8 {
    if let Some(e) = error.downcast_ref::<ExitError>() {
        return e.code;
    }
    match error.downcast_ref::<lanyard_identity::IdentityError>() {
        Some(lanyard_identity::IdentityError::PasswordRefused(_)) => EXIT_REFUSED_INPUT,
        _ => 1,
    }
}

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
        Command::Site(cmd) => {
            let app = app::build(&config, Runtime::default(), embedded(&config)).await?;
            site::run(&app, cmd).await
        }
        Command::Keys(cmd) => {
            let app = app::build(&config, Runtime::default(), embedded(&config)).await?;
            keys::run(&app, cmd).await
        }
        Command::Audit(cmd) => {
            let app = app::build(&config, Runtime::default(), embedded(&config)).await?;
            audit::run(&app, &config, cmd).await
        }
    }
}

/// The embedded default migrates itself; a shared PostgreSQL is migrated explicitly.
pub fn embedded(config: &Config) -> bool {
    config.database_url().starts_with("sqlite:")
}

/// Email addresses of accounts, for lists that name people (an id that no longer resolves is
/// shown as the id).
async fn emails(
    app: &app::App,
    ids: impl IntoIterator<Item = lanyard_core::AccountId>,
) -> Result<
    std::collections::HashMap<lanyard_core::AccountId, String>,
    lanyard_identity::IdentityError,
> {
    let mut found = std::collections::HashMap::new();
    for id in ids {
        if found.contains_key(&id) {
            continue;
        }
        let email = match app.state.accounts.get(id).await {
            Ok(account) => account.email,
            Err(lanyard_identity::IdentityError::NotFound) => id.to_string(),
            Err(e) => return Err(e),
        };
        found.insert(id, email);
    }
    Ok(found)
}

fn print_json(value: &serde_json::Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_default()
    );
}
