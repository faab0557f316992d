//! Wiring: builds every service from the configuration. `serve`, the admin commands and the
//! test harness all start here, so they can not disagree about how the pieces fit.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use lanyard_core::ports::{DurableStore, EphemeralStore, Invalidations};
use lanyard_core::{Auditor, Clock, Mailer, OsRng, Rng, Secret, SystemClock};
use lanyard_crypto::keys::{KeyManager, RotationPolicy, SharedKeyRing};
use lanyard_crypto::password::PasswordHasher;
use lanyard_crypto::{Kek, TokenHasher};
use lanyard_identity::cursor::Cursors;
use lanyard_identity::orgs::OrgDeps;
use lanyard_identity::pats::PatDeps;
use lanyard_identity::{AccountService, AdminService, EnrollmentPolicy, OrgService, PatService};
use lanyard_issuer::backchannel::Backchannel;
use lanyard_issuer::clients::{ClientDeps, ClientService};
use lanyard_issuer::keys::KeyService;
use lanyard_issuer::{Issuer, IssuerDeps, IssuerSettings};
use lanyard_mail::{OutboxMailer, SmtpMailer, SmtpSettings};
use lanyard_mfa::{MfaDeps, MfaService};
use lanyard_signin::links::{AccountLinkDeps, AccountLinks};
use lanyard_signin::{SignInDeps, SignInService};
use lanyard_sites::admin::SiteAdmin;
use lanyard_sites::invitations::{InvitationDeps, InvitationService};
use lanyard_sites::linking::Linking;
use lanyard_sites::{SiteDeps, SiteService};
use lanyard_store::{
    FileInvalidations, MemoryStore, RedisInvalidations, RedisStore, RoutingStore, SqlEphemeral,
    SqlStore,
};
use lanyard_web::{AdminServices, AppState, WebSettings};

use crate::config::{Config, EmbeddedStore, MailTransport};
use crate::secrets::load_or_create_key;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("database: {0}")]
    Database(String),
    #[error("the database schema is behind ({0} pending migrations); run `lanyard migrate` first")]
    SchemaBehind(usize),
    #[error("ephemeral store: {0}")]
    Ephemeral(String),
    #[error("keys: {0}")]
    Keys(String),
    #[error("mail: {0}")]
    Mail(String),
}

/// The durable store and what the admin commands need.
pub struct Stores {
    pub sql: Arc<SqlStore>,
    pub durable: Arc<dyn DurableStore>,
}

/// Connects (new rows get ids from `runtime`'s clock and rng) and migrates or checks the
/// schema.
pub async fn open_database(
    config: &Config,
    runtime: &Runtime,
    migrate: bool,
) -> Result<Stores, StartupError> {
    let url = config.database_url();
    if url.starts_with("sqlite:") {
        lanyard_store::files::create_private_dir(&config.server.data_dir).map_err(|e| {
            StartupError::Database(format!(
                "creating {}: {e}",
                config.server.data_dir.display()
            ))
        })?;
    }
    let sql = SqlStore::connect(&url, runtime.clock.clone(), runtime.rng.clone())
        .await
        .map_err(|e| StartupError::Database(e.to_string()))?;
    if migrate {
        sql.migrate()
            .await
            .map_err(|e| StartupError::Database(e.to_string()))?;
    } else {
        let pending = sql
            .pending_migrations()
            .await
            .map_err(|e| StartupError::Database(e.to_string()))?;
        if !pending.is_empty() {
            return Err(StartupError::SchemaBehind(pending.len()));
        }
    }
    let sql = Arc::new(sql);
    Ok(Stores {
        durable: sql.clone(),
        sql,
    })
}

/// Everything a running server (or a test) holds.
pub struct App {
    pub state: AppState,
    /// The keyed hash of opaque tokens (tests look records up by it).
    pub hasher: Arc<TokenHasher>,
    /// The ephemeral store every service shares (tests inspect counters in it).
    pub ephemeral: Arc<dyn EphemeralStore>,
    pub keys: Arc<KeyManager>,
    pub key_ring: Arc<SharedKeyRing>,
    pub stores: Stores,
    /// Sites (C1–C6): the operator's operations (`lanyard site …`).
    pub sites: Arc<SiteService>,
    /// Links between site users and identity accounts (`lanyard site unlink`).
    pub linking: Arc<Linking>,
    /// The in-process store, when `ephemeral.store = "memory"`.
    pub memory: Option<Arc<MemoryStore>>,
    /// The database's ephemeral table: every key on the embedded default, the durable
    /// families with Redis (`serve` purges it).
    pub database_ephemeral: SqlEphemeral,
}

/// Injected clock and randomness; tests pass a `ManualClock`.
pub struct Runtime {
    pub clock: Arc<dyn Clock>,
    pub rng: Arc<dyn Rng>,
}

impl Default for Runtime {
    fn default() -> Self {
        Self {
            clock: Arc::new(SystemClock),
            rng: Arc::new(OsRng),
        }
    }
}

pub fn key_material(config: &Config, rng: &dyn Rng) -> Result<(Kek, TokenHasher), StartupError> {
    let dir = &config.server.data_dir;
    let kek_text = resolve_key(
        &config.keys.kek,
        &dir.join("kek"),
        "key-encryption key",
        rng,
    )?;
    let kek =
        Kek::from_base64(&kek_text).map_err(|e| StartupError::Keys(format!("keys.kek: {e}")))?;
    let hash_text = resolve_key(
        &config.keys.token_hash_key,
        &dir.join("token_hash_key"),
        "token hash key",
        rng,
    )?;
    let hasher = TokenHasher::from_base64(&hash_text)
        .map_err(|e| StartupError::Keys(format!("keys.token_hash_key: {e}")))?;
    Ok((kek, hasher))
}

fn resolve_key(
    configured: &str,
    path: &Path,
    what: &str,
    rng: &dyn Rng,
) -> Result<String, StartupError> {
    if !configured.is_empty() {
        return Ok(configured.to_owned());
    }
    load_or_create_key(path, what, rng).map_err(|e| StartupError::Keys(e.to_string()))
}

pub fn rotation_policy(config: &Config) -> RotationPolicy {
    let longest = lanyard_issuer::settings::longest_token_lifetime_secs(
        &config.tokens,
        &config.pats.exchange(),
    );
    RotationPolicy {
        publish_ahead_secs: config.keys.publish_ahead_secs,
        propagation_delay_secs: config.keys.propagation_delay_secs,
        // Every token a retired key signed must still verify, on every node, until it expires.
        max_token_ttl_secs: longest + 60 + config.keys.reload_every_secs as i64,
        rotate_every_secs: (config.keys.rotate_every_days > 0)
            .then(|| config.keys.rotate_every_days * 86_400),
    }
}

/// The ephemeral store, the in-process one when it is that, and the invalidation channel
/// that goes with it.
type EphemeralParts = (
    Arc<dyn EphemeralStore>,
    Option<Arc<MemoryStore>>,
    Arc<dyn Invalidations>,
);

pub async fn build(config: &Config, runtime: Runtime, migrate: bool) -> Result<App, StartupError> {
    let stores = open_database(config, &runtime, migrate).await?;
    let Runtime { clock, rng } = runtime;
    let database_ephemeral = stores.sql.ephemeral();
    let (ephemeral, memory, invalidations): EphemeralParts =
        if config.ephemeral.redis_url.is_empty() {
            // The CLI runs beside the server on the same data folder: a file reaches both.
            lanyard_store::files::create_private_dir(&config.server.data_dir)
                .map_err(|e| StartupError::Ephemeral(format!("creating the data folder: {e}")))?;
            let path = config.server.data_dir.join("invalidations.log");
            let local = Arc::new(
                FileInvalidations::open(path)
                    .map_err(|e| StartupError::Ephemeral(e.to_string()))?,
            );
            match config.ephemeral.store {
                // Everything in the database: a restart loses nothing (docs/state.md).
                EmbeddedStore::Database => (Arc::new(database_ephemeral.clone()), None, local),
                EmbeddedStore::Memory => {
                    let memory = Arc::new(MemoryStore::with_max_entries(
                        clock.clone(),
                        config.ephemeral.max_memory_entries,
                    ));
                    (memory.clone(), Some(memory), local)
                }
            }
        } else {
            let e = &config.ephemeral;
            let redis = RedisStore::connect(&e.redis_url, &e.redis_prefix)
                .await
                .map_err(|e| StartupError::Ephemeral(e.to_string()))?;
            let invalidations =
                RedisInvalidations::start(&e.redis_url, &e.redis_prefix, redis.connection(), &*rng)
                    .await
                    .map_err(|e| StartupError::Ephemeral(e.to_string()))?;
            // Redis keeps nothing on disk: the families whose absence would mean "allowed"
            // live in the database, the rest in Redis.
            let routed = RoutingStore::new(Arc::new(database_ephemeral.clone()), Arc::new(redis));
            (Arc::new(routed), None, Arc::new(invalidations))
        };
    let (kek, hasher) = key_material(config, &*rng)?;
    let hasher = Arc::new(hasher);
    let keys = Arc::new(KeyManager::new(
        stores.sql.clone(),
        kek.clone(),
        clock.clone(),
        rng.clone(),
        rotation_policy(config),
    ));
    keys.ensure_keys()
        .await
        .map_err(|e| StartupError::Keys(e.to_string()))?;
    let ring = keys
        .load_ring()
        .await
        .map_err(|e| StartupError::Keys(e.to_string()))?;
    let key_ring = Arc::new(SharedKeyRing::new(ring));
    let audit = Auditor::new(stores.sql.clone());

    let settings = IssuerSettings::new(
        config.server.issuer.clone(),
        config.tokens.clone(),
        config.pats.exchange(),
        config
            .resources
            .clone()
            .with_admin_api(&config.server.issuer),
    )
    .map_err(crate::config::ConfigError::from)?;
    let sign_in_policy =
        EnrollmentPolicy::new(stores.sql.clone(), stores.sql.clone(), stores.sql.clone());
    let sso: Arc<dyn lanyard_core::ports::SsoRequirement> =
        Arc::new(lanyard_federation::SsoByDomain::new(stores.sql.clone()));
    let pats = PatService::new(
        PatDeps {
            repo: stores.sql.clone(),
            accounts: stores.sql.clone(),
            invalidations: invalidations.clone(),
            hasher: hasher.clone(),
            clock: clock.clone(),
            rng: rng.clone(),
            audit: audit.clone(),
            policy: sign_in_policy.clone(),
            sites: stores.sql.clone(),
            sso: sso.clone(),
        },
        config.pats.clone(),
        config
            .resources
            .clone()
            .with_admin_api(&config.server.issuer),
    );
    let orgs = Arc::new(OrgService::new(OrgDeps {
        repo: stores.sql.clone(),
        accounts: stores.sql.clone(),
        policy: sign_in_policy.clone(),
        pats: pats.clone(),
        clock: clock.clone(),
        rng: rng.clone(),
        audit: audit.clone(),
    }));

    let clients = Arc::new(ClientService::new(
        ClientDeps {
            repo: stores.sql.clone(),
            hasher: hasher.clone(),
            clock: clock.clone(),
            rng: rng.clone(),
            audit: audit.clone(),
            invalidations: invalidations.clone(),
        },
        settings.tokens.client_cache_ttl_secs,
    ));
    let backchannel = Arc::new(Backchannel::new(
        stores.sql.clone(),
        clock.clone(),
        audit.clone(),
        config.backchannel.clone(),
    ));
    let privacy = Arc::new(lanyard_identity::PrivacyService::new(
        stores.sql.clone(),
        audit.clone(),
        clock.clone(),
        config.privacy.clone(),
    ));
    let issuer = Arc::new(Issuer::new(IssuerDeps {
        settings,
        clients,
        accounts: stores.sql.clone(),
        consents: stores.sql.clone(),
        refresh: stores.sql.clone(),
        ephemeral: ephemeral.clone(),
        pats: pats.clone(),
        sign_in_policy: Arc::new(sign_in_policy),
        sso: sso.clone(),
        privacy: privacy.clone(),
        site_subjects: Arc::new(lanyard_sites::subjects::SiteSubjectsOverRepo::new(
            stores.sql.clone(),
            stores.sql.clone(),
        )),
        keys: key_ring.clone(),
        hasher: hasher.clone(),
        clock: clock.clone(),
        rng: rng.clone(),
        audit: audit.clone(),
        backchannel: backchannel.clone(),
        admins: stores.sql.clone(),
    }));
    let passwords = Arc::new(
        PasswordHasher::new(config.passwords, rng.clone())
            .map_err(|e| StartupError::Keys(format!("passwords: {e}")))?,
    );
    let accounts = Arc::new(AccountService::new(
        stores.sql.clone(),
        stores.sql.clone(),
        pats.clone(),
        audit.clone(),
        passwords,
        clock.clone(),
    ));
    let mfa = Arc::new(MfaService::new(
        MfaDeps {
            repo: stores.sql.clone(),
            ephemeral: ephemeral.clone(),
            mailer: mailer(config, clock.clone(), rng.clone())?,
            clock: clock.clone(),
            rng: rng.clone(),
            hasher: hasher.clone(),
            kek: Arc::new(kek.clone()),
            audit: audit.clone(),
            product_name: config.server.product_name.clone(),
        },
        config.mfa.clone(),
    ));
    let linking = Arc::new(Linking::new(
        stores.sql.clone(),
        clock.clone(),
        audit.clone(),
    ));
    let federation = Arc::new(lanyard_federation::FederationService::new(
        lanyard_federation::FederationDeps {
            repo: stores.sql.clone(),
            orgs: stores.sql.clone(),
            accounts: stores.sql.clone(),
            kek: Arc::new(kek.clone()),
            clock: clock.clone(),
            rng: rng.clone(),
            dns: Arc::new(lanyard_federation::dns::HickoryTxtLookup::from_system()),
            auditor: audit.clone(),
        },
        lanyard_federation::FederationSettings {
            public_base: url::Url::parse(&config.server.issuer).map_err(|e| {
                crate::config::ConfigError::Invalid {
                    key: "server.issuer",
                    reason: e.to_string(),
                }
            })?,
            allow_http_loopback: config.federation.allow_http_loopback,
            rp: config.federation.rp(),
        },
    ));
    let signin = Arc::new(SignInService::new(
        SignInDeps {
            accounts: accounts.clone(),
            mfa: mfa.clone(),
            policy: orgs.policy().clone(),
            ephemeral: ephemeral.clone(),
            hasher: hasher.clone(),
            clock: clock.clone(),
            rng: rng.clone(),
            account_repo: stores.sql.clone(),
            backchannel,
            kek: Arc::new(kek.clone()),
            sites: stores.sql.clone(),
            linking: linking.clone(),
            federation: federation.clone(),
            session_listings: stores.sql.clone(),
        },
        config.sessions.clone(),
    ));
    let account_links = AccountLinks::new(
        AccountLinkDeps {
            signin: signin.clone(),
            accounts: accounts.clone(),
            mfa: mfa.clone(),
            links: stores.sql.clone(),
            sso: federation,
            mailer: mailer(config, clock.clone(), rng.clone())?,
            ephemeral: ephemeral.clone(),
            hasher: hasher.clone(),
            clock: clock.clone(),
            rng: rng.clone(),
            audit: audit.clone(),
            // Links name the configured issuer, never a request's host (S49).
            issuer: config.server.issuer.clone(),
            product_name: config.server.product_name.clone(),
        },
        config.signup.clone(),
    );
    let invitations = Arc::new(InvitationService::new(
        InvitationDeps {
            sites: stores.sql.clone(),
            accounts: accounts.clone(),
            mailer: mailer(config, clock.clone(), rng.clone())?,
            ephemeral: ephemeral.clone(),
            hasher: hasher.clone(),
            clock: clock.clone(),
            rng: rng.clone(),
            audit: audit.clone(),
            // Links name the configured issuer, never a request's host (S41).
            issuer: config.server.issuer.clone(),
            product_name: config.server.product_name.clone(),
        },
        config.sites.clone(),
    ));
    let sites = Arc::new(SiteService::new(SiteDeps {
        repo: stores.sql.clone(),
        clients: stores.sql.clone(),
        kek: Arc::new(kek),
        clock: clock.clone(),
        rng: rng.clone(),
        audit: audit.clone(),
        invalidations: invalidations.clone(),
    }));
    // The form tokens' key: derived from the token hash key under its own label, so every
    // node has it, it changes with that key, and no stored hash can pass for a CSRF token.
    let csrf_key = lanyard_web::kit::csrf::CsrfKey::new(hasher.mac("lanyard web csrf key v1"));
    let mut web = WebSettings::for_issuer(&config.server.issuer, csrf_key);
    web.product_name = config.server.product_name.clone();
    web.forwarded_for = config.forwarded_for()?;
    let admin = Arc::new(AdminServices {
        admins: Arc::new(AdminService::new(
            stores.sql.clone(),
            stores.sql.clone(),
            audit.clone(),
            clock.clone(),
        )),
        keys: Arc::new(KeyService::new(
            keys.clone(),
            stores.sql.clone(),
            key_ring.clone(),
            audit.clone(),
            clock.clone(),
        )),
        audit_log: stores.sql.clone(),
        cursors: Cursors::new(hasher.clone()),
    });
    let state = AppState {
        issuer,
        accounts,
        mfa,
        pats,
        orgs,
        signin,
        privacy,
        account_links,
        invitations: invitations.clone(),
        site_admin: Arc::new(SiteAdmin::new(
            stores.sql.clone(),
            sites.clone(),
            invitations,
            clock.clone(),
        )),
        clock,
        audit,
        rng,
        settings: Arc::new(web),
        ready: Arc::new(AtomicBool::new(true)),
        admin,
    };
    Ok(App {
        state,
        hasher,
        ephemeral,
        keys,
        key_ring,
        stores,
        sites,
        linking,
        memory,
        database_ephemeral,
    })
}

/// The outbox folder (embedded default) or an SMTP relay, from `[mail]`.
pub fn mailer(
    config: &Config,
    clock: Arc<dyn Clock>,
    rng: Arc<dyn Rng>,
) -> Result<Arc<dyn Mailer>, StartupError> {
    let m = &config.mail;
    let mail_error = |e: lanyard_mail::MailConfigError| StartupError::Mail(e.to_string());
    Ok(match m.transport {
        MailTransport::Outbox => {
            let dir = if m.outbox_dir.as_os_str().is_empty() {
                config.server.data_dir.join("outbox")
            } else {
                m.outbox_dir.clone()
            };
            Arc::new(OutboxMailer::new(dir, &m.from, clock, rng).map_err(mail_error)?)
        }
        MailTransport::Smtp => {
            let settings = SmtpSettings {
                host: m.smtp_host.clone(),
                port: m.smtp_port,
                tls: m.smtp_tls,
                username: (!m.smtp_username.is_empty()).then(|| m.smtp_username.clone()),
                password: (!m.smtp_password.is_empty())
                    .then(|| Secret::new(m.smtp_password.clone())),
                from: m.from.clone(),
                timeout_secs: m.smtp_timeout_secs,
            };
            Arc::new(SmtpMailer::new(&settings, clock, rng).map_err(mail_error)?)
        }
    })
}

/// Reloads the key ring periodically (so a rotation on another node is seen), rotates on
/// schedule and prunes retired keys. Errors are logged and retried on the next tick.
pub fn spawn_key_maintenance(app: &App, every: Duration) -> tokio::task::JoinHandle<()> {
    let keys = app.keys.clone();
    let ring = app.key_ring.clone();
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(every);
        interval.tick().await;
        loop {
            interval.tick().await;
            if let Err(e) = keys.rotate_if_due().await {
                tracing::warn!(error = %e, "scheduled key rotation failed");
            }
            if let Err(e) = keys.prune().await {
                tracing::warn!(error = %e, "pruning retired keys failed");
            }
            match keys.load_ring().await {
                Ok(new) => ring.replace(new),
                Err(e) => tracing::error!(error = %e, "reloading signing keys failed"),
            }
        }
    })
}
