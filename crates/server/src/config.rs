//! Configuration: defaults → `config/lanyard.toml` (or `--config`) → `LANYARD_…` environment,
//! validated once into a typed tree. Unknown keys are errors, so a typo never silently
//! falls back to a default.
//!
//! A section a domain crate reads is that crate's settings struct (`[tokens]` is
//! `lanyard_issuer::TokenSettings`, `[mfa]` is `lanyard_mfa::MfaSettings`, …), defaults and
//! checks included; the structs here are the sections only the server reads.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use lanyard_core::InvalidSetting;
use lanyard_core::model::Resources;
use lanyard_crypto::PasswordPolicy;
use lanyard_identity::PatSettings;
use lanyard_issuer::TokenSettings;
use lanyard_mfa::MfaSettings;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub ephemeral: EphemeralConfig,
    pub keys: KeysConfig,
    pub tokens: TokenSettings,
    pub passwords: PasswordPolicy,
    pub sessions: lanyard_signin::SessionSettings,
    pub mail: MailConfig,
    pub mfa: MfaSettings,
    pub pats: PatSettings,
    /// The APIs (audiences) token exchange may mint tokens for.
    pub resources: Resources,
    /// Back-channel logout: the outbox bound and the sender's retries.
    pub backchannel: lanyard_issuer::backchannel::BackchannelSettings,
    /// Sites and their migration: invitations (docs/migration.md).
    pub sites: lanyard_sites::SitesSettings,
    /// Organizations' identity providers: timeouts and caching of the upstreams.
    pub federation: lanyard_federation::FederationConfig,
    /// The categories of the privacy page (A4).
    pub privacy: lanyard_identity::PrivacySettings,
    /// Self sign-up, and the emailed account links (docs/accounts.md).
    pub signup: lanyard_signin::links::SignupSettings,
    /// The audit log's retention.
    pub audit: crate::audit_retention::AuditConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    pub listen: String,
    pub issuer: String,
    pub data_dir: PathBuf,
    pub product_name: String,
    /// Take the client address from `X-Forwarded-For` (S49, docs/http.md): the entry
    /// `forwarded_for_hops` places from the right, or, with `trusted_proxies`, the rightmost
    /// entry outside those networks.
    pub trust_forwarded_for: bool,
    /// How many proxies, each appending to `X-Forwarded-For`, stand in front of the server.
    pub forwarded_for_hops: usize,
    /// The proxies' networks (`10.0.0.0/8`) or addresses, instead of a hop count.
    pub trusted_proxies: Vec<String>,
    /// More than one node shares the stores: the in-process ephemeral store is refused.
    pub multi_node: bool,
}

#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// Empty: `sqlite://<data_dir>/lanyard.db`.
    pub url: String,
    /// A file holding `url` (it may carry a password); see `secret_files`.
    pub url_file: PathBuf,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EphemeralConfig {
    /// Empty: one node, ephemeral state in `store`. Set: Redis, with the families whose
    /// absence would mean "allowed" in the database (`docs/state.md`).
    pub redis_url: String,
    /// A file holding `redis_url`.
    pub redis_url_file: PathBuf,
    pub redis_prefix: String,
    /// Without Redis: where ephemeral state lives.
    pub store: EmbeddedStore,
    /// Bound on entries of the in-process store (`store = "memory"`).
    pub max_memory_entries: usize,
}

/// Where a single node without Redis keeps ephemeral state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EmbeddedStore {
    /// A table of the database: sessions, revocations and replay guards survive a restart.
    #[default]
    Database,
    /// Process memory: a restart signs everyone out and forgets revocations.
    Memory,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeysConfig {
    /// Base64 of 32 bytes. Empty: read or create `<data_dir>/kek` (mode 0600).
    pub kek: String,
    /// A file holding `kek` (e.g. a mounted container secret).
    pub kek_file: PathBuf,
    /// Base64 of 32 bytes for hashing opaque tokens. Empty: `<data_dir>/token_hash_key`.
    pub token_hash_key: String,
    /// A file holding `token_hash_key`.
    pub token_hash_key_file: PathBuf,
    pub rotate_every_days: i64,
    pub publish_ahead_secs: i64,
    pub propagation_delay_secs: i64,
    pub reload_every_secs: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".to_owned(),
            issuer: "http://localhost:8080".to_owned(),
            data_dir: PathBuf::from("data"),
            product_name: "Lanyard".to_owned(),
            trust_forwarded_for: false,
            forwarded_for_hops: 1,
            trusted_proxies: Vec::new(),
            multi_node: false,
        }
    }
}

impl Default for EphemeralConfig {
    fn default() -> Self {
        Self {
            redis_url: String::new(),
            redis_url_file: PathBuf::new(),
            redis_prefix: "lanyard:".to_owned(),
            store: EmbeddedStore::Database,
            max_memory_entries: lanyard_store::DEFAULT_MAX_ENTRIES,
        }
    }
}

impl Default for KeysConfig {
    fn default() -> Self {
        Self {
            kek: String::new(),
            kek_file: PathBuf::new(),
            token_hash_key: String::new(),
            token_hash_key_file: PathBuf::new(),
            rotate_every_days: 90,
            publish_ahead_secs: 3600,
            propagation_delay_secs: 60,
            reload_every_secs: 30,
        }
    }
}

/// An invalid configuration: which key and why.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Load(String),
    #[error("configuration key `{key}`: {reason}")]
    Invalid { key: &'static str, reason: String },
}

impl From<InvalidSetting> for ConfigError {
    fn from(e: InvalidSetting) -> Self {
        ConfigError::Invalid {
            key: e.key,
            reason: e.reason.to_owned(),
        }
    }
}

/// Short environment names for the options people set most, mapped onto their keys.
const ENV_ALIASES: [(&str, &str); 11] = [
    ("listen", "server.listen"),
    ("issuer", "server.issuer"),
    ("data_dir", "server.data_dir"),
    ("database_url", "database.url"),
    ("database_url_file", "database.url_file"),
    ("redis_url", "ephemeral.redis_url"),
    ("redis_url_file", "ephemeral.redis_url_file"),
    ("kek", "keys.kek"),
    ("kek_file", "keys.kek_file"),
    ("token_hash_key", "keys.token_hash_key"),
    ("token_hash_key_file", "keys.token_hash_key_file"),
];

impl Config {
    /// Loads `path` if it exists (a missing default file is fine; a missing explicit file is
    /// not), then the environment.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        match path {
            Some(p) if !p.exists() => {
                return Err(ConfigError::Load(format!(
                    "config file {} not found",
                    p.display()
                )));
            }
            Some(p) => figment = figment.merge(Toml::file(p)),
            None => {
                let default = Path::new("config/lanyard.toml");
                if default.exists() {
                    figment = figment.merge(Toml::file(default));
                }
            }
        }
        figment = figment.merge(environment());
        let mut config: Config = figment
            .extract()
            .map_err(|e| ConfigError::Load(e.to_string()))?;
        secret_files::read_into(&mut config)?;
        config.validate()?;
        Ok(config)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key, reason: &str| ConfigError::Invalid {
            key,
            reason: reason.to_owned(),
        };
        self.listen_addr()?;
        let issuer = url::Url::parse(&self.server.issuer)
            .map_err(|_| invalid("server.issuer", "must be an absolute URL"))?;
        let loopback = matches!(issuer.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
        if issuer.scheme() != "https" && !(issuer.scheme() == "http" && loopback) {
            return Err(invalid(
                "server.issuer",
                "must use https (http only on localhost)",
            ));
        }
        if self.server.issuer.ends_with('/')
            || issuer.query().is_some()
            || issuer.fragment().is_some()
        {
            return Err(invalid(
                "server.issuer",
                "must have no trailing slash, query or fragment",
            ));
        }
        self.forwarded_for()?;
        if self.server.multi_node && self.ephemeral.redis_url.is_empty() {
            return Err(invalid(
                "ephemeral.redis_url",
                "several nodes need a shared Redis; the in-process store is per node",
            ));
        }
        if self.ephemeral.store == EmbeddedStore::Memory && !self.ephemeral.redis_url.is_empty() {
            return Err(invalid(
                "ephemeral.store",
                "\"memory\" is for one node without Redis; with Redis it must be \"database\"",
            ));
        }
        self.tokens.validate()?;
        self.passwords.validate()?;
        if self.keys.rotate_every_days < 0 {
            return Err(invalid("keys.rotate_every_days", "must be 0 (off) or more"));
        }
        if self.keys.propagation_delay_secs < 1 {
            return Err(invalid("keys.propagation_delay_secs", "must be at least 1"));
        }
        if self.sessions.idle_secs < 60 || self.sessions.flow_ttl_secs < 60 {
            return Err(invalid(
                "sessions.idle_secs",
                "session and flow lifetimes must be ≥ 60 s",
            ));
        }
        if self.sessions.max_secs < self.sessions.idle_secs {
            return Err(invalid("sessions.max_secs", "must be at least idle_secs"));
        }
        self.mfa.validate()?;
        self.pats.validate()?;
        self.resources.validate()?;
        self.backchannel.validate()?;
        self.sites.validate()?;
        self.federation.validate()?;
        self.privacy.validate()?;
        self.signup.validate()?;
        self.audit.validate()?;
        Ok(())
    }

    /// Which `X-Forwarded-For` entry, if any, the web layer believes.
    pub fn forwarded_for(&self) -> Result<lanyard_web::ForwardedFor, ConfigError> {
        lanyard_web::ForwardedFor::from_config(
            self.server.trust_forwarded_for,
            self.server.forwarded_for_hops,
            &self.server.trusted_proxies,
        )
        .map_err(|e| ConfigError::Invalid {
            key: e.key,
            reason: e.reason,
        })
    }

    pub fn listen_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.server
            .listen
            .parse()
            .map_err(|_| ConfigError::Invalid {
                key: "server.listen",
                reason: format!("{:?} is not host:port", self.server.listen),
            })
    }

    pub fn database_url(&self) -> String {
        if self.database.url.is_empty() {
            format!(
                "sqlite://{}/lanyard.db?mode=rwc",
                self.server.data_dir.display()
            )
        } else {
            self.database.url.clone()
        }
    }
}

/// `LANYARD_<ALIAS>` or `LANYARD_<SECTION>__<KEY>`; other `LANYARD_` variables (test
/// harness settings, `LANYARD_CONFIG`, `LANYARD_LOG`) are not configuration keys.
fn environment() -> Env {
    Env::prefixed("LANYARD_")
        .filter(|key| {
            let key = key.as_str();
            key.contains("__")
                || ENV_ALIASES
                    .iter()
                    .any(|(alias, _)| alias.eq_ignore_ascii_case(key))
        })
        .map(|key| {
            let lower = key.as_str().to_ascii_lowercase();
            match ENV_ALIASES.iter().find(|(alias, _)| *alias == lower) {
                Some((_, path)) => (*path).into(),
                None => lower.replace("__", ".").into(),
            }
        })
}

mod mail;
mod redacted;
mod secret_files;

pub use mail::{MailConfig, MailTransport};
#[cfg(test)]
mod tests;
