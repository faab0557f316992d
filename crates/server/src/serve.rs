//! `lanyard serve`: telemetry, the listener, background jobs and graceful shutdown.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tracing_subscriber::EnvFilter;

use crate::app::{self, Runtime};
use crate::commands::{CommandResult, embedded};
use crate::config::Config;

/// Logs go to standard error, so an admin command's standard output holds only its answer.
/// `default_level` applies when neither LANYARD_LOG nor RUST_LOG is set.
pub fn init_tracing(default_level: &str) {
    let filter = EnvFilter::try_from_env("LANYARD_LOG")
        .or_else(|_| EnvFilter::try_from_env("RUST_LOG"))
        .unwrap_or_else(|_| EnvFilter::new(default_level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

pub async fn serve(config: Config) -> CommandResult {
    let app = app::build(&config, Runtime::default(), embedded(&config)).await?;
    let _purger = app
        .memory
        .as_ref()
        .map(|m| m.spawn_purger(Duration::from_secs(30)));
    let _table_purger = app.database_ephemeral.spawn_purger(Duration::from_secs(60));
    let _keys = app::spawn_key_maintenance(
        &app,
        Duration::from_secs(config.keys.reload_every_secs.max(1)),
    );
    let _backchannel =
        crate::backchannel::BackchannelSender::new(&app, config.sessions.max_secs)?.spawn();
    let _audit_purger = crate::audit_retention::spawn_purger(
        app.state.admin.audit_log.clone(),
        app.state.audit.clone(),
        app.state.clock.clone(),
        config.audit.clone(),
    );
    first_start_hint(&app).await;
    let listener = tokio::net::TcpListener::bind(config.listen_addr()?).await?;
    tracing::info!(listen = %listener.local_addr()?, issuer = %config.server.issuer, "lanyard is serving");
    let ready = app.state.ready.clone();
    let router = lanyard_web::router(app.state.clone());
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown_signal().await;
        // Fail readiness first so a load balancer stops sending new requests.
        ready.store(false, Ordering::Relaxed);
        tracing::info!("shutting down: finishing in-flight requests");
    })
    .await?;
    Ok(())
}

async fn first_start_hint(app: &app::App) {
    let accounts = app.state.accounts.count().await.unwrap_or(1);
    let clients = app.state.issuer.clients().count().await.unwrap_or(1);
    if accounts == 0 && clients == 0 {
        eprintln!(
            "\nThis is a new, empty Lanyard. Create the first account and a client:\n\
             \n  read -rs -p 'Password: ' PASSWORD; printf '%s' \"$PASSWORD\" | cargo run -q -p lanyard-server -- user create --email you@example.com --name 'Your Name' --password-stdin\
             \n  cargo run -p lanyard-server -- client create --id my-app --redirect-uri http://127.0.0.1:3000/callback --grant authorization_code,refresh_token --auth client_secret_basic\n"
        );
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
