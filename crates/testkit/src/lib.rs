//! Dev-only test harness: boots the real server on a random loopback port with its own data
//! folder (and, when asked, its own PostgreSQL database and Redis key prefix), a manual
//! clock, and a scripted browser for the sign-in pages; [`idp`] runs the upstream OpenID
//! provider of the federation tests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod browser;
pub mod fixtures;
pub mod idp;
pub mod recording;
pub mod smtp_sink;

use std::net::SocketAddr;
use std::sync::Arc;

use lanyard_core::{ManualClock, OsRng};
use lanyard_server::app::{self, App, Runtime};
use lanyard_server::config::Config;
use lanyard_store::testing::{TempPostgres, cleanup_redis_prefix, temp_redis_prefix};

pub use browser::{Browser, csrf_field, first_form, form_action, hidden_inputs};

/// The 6-digit code in a sign-in mail's text.
pub fn code_in(text: &str) -> String {
    text.split_whitespace()
        .find(|w| w.len() == 6 && w.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or_else(|| panic!("no code in mail: {text}"))
        .to_owned()
}
pub use smtp_sink::{ReceivedMail, SmtpSink};

/// Which backends a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite file + in-process ephemeral store.
    Embedded,
    /// PostgreSQL + Redis from `LANYARD_TEST_POSTGRES_URL` / `LANYARD_TEST_REDIS_URL`.
    Production,
}

impl Backend {
    /// The backends available here: always embedded; production when the service URLs are
    /// set (and `LANYARD_REQUIRE_SERVICES=1` turns their absence into a failure).
    pub fn available() -> Vec<Backend> {
        let mut all = vec![Backend::Embedded];
        let pg = lanyard_store::testing::postgres_url_from_env();
        let redis = lanyard_store::testing::redis_url_from_env();
        if pg.is_some() && redis.is_some() {
            all.push(Backend::Production);
        }
        all
    }
}

pub struct TestApp {
    pub base_url: String,
    /// Every mail the server sends arrives here, through its real SMTP transport.
    pub mail: SmtpSink,
    pub clock: Arc<ManualClock>,
    pub app: App,
    pub config: Config,
    _dir: tempfile::TempDir,
    postgres: Option<TempPostgres>,
    redis: Option<(String, String)>,
    server: tokio::task::JoinHandle<()>,
    shutdown: tokio::sync::watch::Sender<bool>,
}

pub const PASSWORD: &str = "correct horse battery staple";

/// Serves `app` on `listener` until the returned sender says stop.
fn serve(
    listener: tokio::net::TcpListener,
    app: &App,
) -> (
    tokio::task::JoinHandle<()>,
    tokio::sync::watch::Sender<bool>,
) {
    let router = lanyard_web::router(app.state.clone());
    let (shutdown, mut stop) = tokio::sync::watch::channel(false);
    let server = tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            let _ = stop.wait_for(|stop| *stop).await;
        })
        .await
        .unwrap();
    });
    (server, shutdown)
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(backend, |_| {}).await
    }

    /// Like [`TestApp::spawn`], with `tweak` applied to the configuration just before the
    /// server is built (lifetimes, the refresh grace window, ...).
    pub async fn spawn_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> TestApp {
        Self::build(backend, tweak, Arc::new(OsRng)).await
    }

    async fn build(
        backend: Backend,
        tweak: impl FnOnce(&mut Config),
        rng: Arc<dyn lanyard_core::Rng>,
    ) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let base_url = format!("http://127.0.0.1:{}", addr.port());
        let mut config = Config::default();
        config.server.issuer = base_url.clone();
        config.server.listen = addr.to_string();
        config.server.data_dir = dir.path().join("data");
        // Cheap argon2 parameters keep the suite fast; the production defaults are tested
        // in the crypto crate.
        config.passwords.m_cost_kib = 1024;
        config.passwords.t_cost = 1;
        let mail = SmtpSink::start().await;
        config.mail.transport = lanyard_server::config::MailTransport::Smtp;
        config.mail.smtp_host = "127.0.0.1".to_owned();
        config.mail.smtp_port = mail.port();
        config.mail.smtp_tls = lanyard_mail::SmtpTls::None;
        let mut postgres = None;
        let mut redis = None;
        if backend == Backend::Production {
            let admin = lanyard_store::testing::postgres_url_from_env().unwrap();
            let (url, guard) = TempPostgres::create(&admin).await.unwrap();
            config.database.url = url;
            postgres = Some(guard);
            let redis_url = lanyard_store::testing::redis_url_from_env().unwrap();
            let prefix = temp_redis_prefix();
            config.ephemeral.redis_url = redis_url.clone();
            config.ephemeral.redis_prefix = prefix.clone();
            redis = Some((redis_url, prefix));
        }
        tweak(&mut config);
        let clock = Arc::new(ManualClock::starting_now());
        let runtime = Runtime {
            clock: clock.clone(),
            rng,
        };
        let app = app::build(&config, runtime, true).await.unwrap();
        let (server, shutdown) = serve(listener, &app);
        TestApp {
            base_url,
            mail,
            clock,
            app,
            config,
            _dir: dir,
            postgres,
            redis,
            server,
            shutdown,
        }
    }

    /// Stops this server as `lanyard serve` stops (no new connections, open ones closed
    /// once their request is answered), drops everything it held in memory, and starts a
    /// new one on the same address, configuration, data folder, database, keys and Redis
    /// prefix, with a clock at the old one's time: a restart. What survives is what the
    /// stores keep.
    pub async fn restart(self) -> TestApp {
        let TestApp {
            base_url,
            mail,
            clock,
            app,
            config,
            _dir,
            postgres,
            redis,
            mut server,
            shutdown,
        } = self;
        let _ = shutdown.send(true);
        if tokio::time::timeout(std::time::Duration::from_secs(10), &mut server)
            .await
            .is_err()
        {
            server.abort();
            let _ = server.await;
        }
        drop(app);
        let now = lanyard_core::Clock::now(&*clock);
        let clock = Arc::new(ManualClock::new(now));
        let runtime = Runtime {
            clock: clock.clone(),
            rng: Arc::new(OsRng),
        };
        let listener = tokio::net::TcpListener::bind(&config.server.listen)
            .await
            .unwrap();
        let app = app::build(&config, runtime, true).await.unwrap();
        let (server, shutdown) = serve(listener, &app);
        TestApp {
            base_url,
            mail,
            clock,
            app,
            config,
            _dir,
            postgres,
            redis,
            server,
            shutdown,
        }
    }

    /// Deletes every Redis key of this server (its own prefix only: other tests share the
    /// Redis server), as if Redis restarted empty. False on the embedded default, which has
    /// no Redis.
    pub async fn flush_redis(&self) -> bool {
        match &self.redis {
            Some((url, prefix)) => {
                cleanup_redis_prefix(url, prefix).await.unwrap();
                true
            }
            None => false,
        }
    }

    /// The sign-in code in the newest mail to `email` (waiting for mail number `nth`,
    /// counted from 1, so a test never reads an older code by accident).
    pub async fn email_code(&self, email: &str, nth: usize) -> String {
        let mails = self.mail.wait_for(email, nth).await;
        code_in(&mails[nth - 1].text)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }

    /// Creates an active account with [`PASSWORD`].
    pub async fn create_user(&self, email: &str) -> lanyard_core::model::Account {
        self.app
            .state
            .accounts
            .create_account(
                email,
                "Test User",
                lanyard_core::Secret::new(PASSWORD),
                &lanyard_core::Origin::cli(),
            )
            .await
            .unwrap()
    }

    /// Registers a client and returns its secret (if any).
    pub async fn create_client(&self, new: lanyard_server::NewClient) -> Option<String> {
        let registered = self
            .app
            .state
            .issuer
            .clients()
            .register(new, &lanyard_core::Origin::cli())
            .await
            .unwrap();
        registered.secret.map(|s| s.expose().to_owned())
    }

    /// Stops the server and removes the database and Redis keys it used.
    pub async fn cleanup(self) {
        self.server.abort();
        let _ = self.server.await;
        drop(self.app);
        if let Some(pg) = self.postgres {
            pg.cleanup().await.unwrap();
        }
        if let Some((url, prefix)) = self.redis {
            cleanup_redis_prefix(&url, &prefix).await.unwrap();
        }
    }
}
