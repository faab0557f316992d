//! `lanyard`: serve, migrate and administer the server.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = lanyard_server::cli::Cli::parse();
    lanyard_server::serve::init_tracing(cli.default_log_level());
    match lanyard_server::commands::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::from(lanyard_server::commands::exit_code(e.as_ref()))
        }
    }
}
