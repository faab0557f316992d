//! Configuration: defaults → `config/lanyard.toml` (or `--config`) → `LANYARD_…` environment,
//! validated once into a typed tree. Unknown keys are errors, so a typo never silently
//! falls back to a default.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use lanyard_core::model::SigningAlg;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub ephemeral: EphemeralConfig,
    pub keys: KeysConfig,
    pub tokens: TokensConfig,
    pub passwords: PasswordsConfig,
    pub sessions: lanyard_signin::SessionSettings,
    pub mail: MailConfig,
    pub mfa: MfaConfig,
    pub pats: PatsConfig,
    /// The APIs (audiences) token exchange may mint tokens for.
    pub resources: Vec<ResourceConfig>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    pub listen: String,
    pub issuer: String,
    pub data_dir: PathBuf,
    pub product_name: String,
    pub trust_forwarded_for: bool,
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
    /// Empty: the in-process store.
    pub redis_url: String,
    /// A file holding `redis_url`.
    pub redis_url_file: PathBuf,
    pub redis_prefix: String,
    pub max_memory_entries: usize,
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

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokensConfig {
    pub code_ttl_secs: i64,
    pub access_token_ttl_secs: i64,
    pub id_token_ttl_secs: i64,
    pub refresh_idle_ttl_secs: i64,
    pub refresh_absolute_ttl_secs: i64,
    /// 0: strict reuse detection. N: a retry of the previous refresh token within N seconds
    /// gets the same successor instead of revoking the family.
    pub refresh_grace_secs: i64,
    pub access_token_alg: String,
    pub id_token_alg: String,
    pub client_cache_ttl_secs: i64,
    /// RFC 8628: how long a device code and its user code work...
    pub device_code_ttl_secs: i64,
    /// ...and the least time between two polls of one device code.
    pub device_poll_interval_secs: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PasswordsConfig {
    pub argon2_m_cost_kib: u32,
    pub argon2_t_cost: u32,
    pub argon2_p_cost: u32,
    pub max_concurrent_hashes: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".to_owned(),
            issuer: "http://localhost:8080".to_owned(),
            data_dir: PathBuf::from("data"),
            product_name: "Lanyard".to_owned(),
            trust_forwarded_for: false,
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

impl Default for TokensConfig {
    fn default() -> Self {
        Self {
            code_ttl_secs: 60,
            access_token_ttl_secs: 300,
            id_token_ttl_secs: 300,
            refresh_idle_ttl_secs: 30 * 86_400,
            refresh_absolute_ttl_secs: 90 * 86_400,
            refresh_grace_secs: 0,
            access_token_alg: "ES256".to_owned(),
            id_token_alg: "RS256".to_owned(),
            client_cache_ttl_secs: 10,
            device_code_ttl_secs: 600,
            device_poll_interval_secs: 5,
        }
    }
}

impl Default for PasswordsConfig {
    fn default() -> Self {
        Self {
            argon2_m_cost_kib: 19_456,
            argon2_t_cost: 2,
            argon2_p_cost: 1,
            max_concurrent_hashes: 2,
        }
    }
}

/// Upper bound of `tokens.refresh_grace_secs`.
pub const MAX_REFRESH_GRACE_SECS: i64 = 60;

/// An invalid configuration: which key and why.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Load(String),
    #[error("configuration key `{key}`: {reason}")]
    Invalid { key: &'static str, reason: String },
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
        if self.server.multi_node && self.ephemeral.redis_url.is_empty() {
            return Err(invalid(
                "ephemeral.redis_url",
                "several nodes need a shared Redis; the in-process store is per node",
            ));
        }
        let t = &self.tokens;
        if !(1..=600).contains(&t.code_ttl_secs) {
            return Err(invalid(
                "tokens.code_ttl_secs",
                "must be 1-600 (RFC 6749 §4.1.2: at most 10 minutes)",
            ));
        }
        if !(30..=86_400).contains(&t.access_token_ttl_secs) {
            return Err(invalid("tokens.access_token_ttl_secs", "must be 30-86400"));
        }
        if !(30..=86_400).contains(&t.id_token_ttl_secs) {
            return Err(invalid("tokens.id_token_ttl_secs", "must be 30-86400"));
        }
        if t.refresh_idle_ttl_secs < 60 || t.refresh_absolute_ttl_secs < t.refresh_idle_ttl_secs {
            return Err(invalid(
                "tokens.refresh_absolute_ttl_secs",
                "refresh lifetimes must be ≥ 60 s and absolute ≥ idle",
            ));
        }
        // Within the window a stolen previous token is as good as the current one, so it
        // only covers a retry's round trip.
        if !(0..=MAX_REFRESH_GRACE_SECS).contains(&t.refresh_grace_secs) {
            return Err(invalid(
                "tokens.refresh_grace_secs",
                "must be 0 (strict) to 60 seconds",
            ));
        }
        // The user code has ~34.6 bits: its lifetime bounds how long guesses can aim at it.
        if !(60..=1800).contains(&t.device_code_ttl_secs) {
            return Err(invalid(
                "tokens.device_code_ttl_secs",
                "must be 60-1800 seconds",
            ));
        }
        if !(1..=60).contains(&t.device_poll_interval_secs) {
            return Err(invalid(
                "tokens.device_poll_interval_secs",
                "must be 1-60 seconds",
            ));
        }
        self.access_token_alg()?;
        self.id_token_alg()?;
        if self.passwords.max_concurrent_hashes == 0 {
            return Err(invalid(
                "passwords.max_concurrent_hashes",
                "must be at least 1",
            ));
        }
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
        if let Err((key, reason)) = self.mfa.validate() {
            return Err(invalid(key, reason));
        }
        if let Err((key, reason)) = self.pats.validate() {
            return Err(invalid(key, reason));
        }
        if let Err((key, reason)) = pats::resources(&self.resources) {
            return Err(invalid(key, reason));
        }
        Ok(())
    }

    /// The `[[resources]]` entries (checked by `validate`).
    pub fn resources(&self) -> lanyard_core::model::Resources {
        pats::resources(&self.resources).unwrap_or_default()
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

    pub fn access_token_alg(&self) -> Result<SigningAlg, ConfigError> {
        SigningAlg::parse(&self.tokens.access_token_alg).ok_or_else(|| ConfigError::Invalid {
            key: "tokens.access_token_alg",
            reason: "must be RS256, ES256 or EdDSA".to_owned(),
        })
    }

    pub fn id_token_alg(&self) -> Result<SigningAlg, ConfigError> {
        SigningAlg::parse(&self.tokens.id_token_alg).ok_or_else(|| ConfigError::Invalid {
            key: "tokens.id_token_alg",
            reason: "must be RS256, ES256 or EdDSA".to_owned(),
        })
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

mod pats;
mod redacted;
mod second_step;
mod secret_files;

pub use pats::{PatsConfig, ResourceConfig};
pub use second_step::{MailConfig, MailTransport, MfaConfig};
#[cfg(test)]
mod tests;
