//! `Debug` for the config sections that hold secrets: a config printed while debugging must
//! not put the KEK, the token hash key or a database password into a log.

use std::fmt;

use super::{DatabaseConfig, EphemeralConfig, KeysConfig};

const REDACTED: &str = "<redacted>";

pub(super) fn redact(value: &str) -> &'static str {
    if value.is_empty() { "" } else { REDACTED }
}

impl fmt::Debug for KeysConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeysConfig")
            .field("kek", &redact(&self.kek))
            .field("kek_file", &self.kek_file)
            .field("token_hash_key", &redact(&self.token_hash_key))
            .field("token_hash_key_file", &self.token_hash_key_file)
            .field("rotate_every_days", &self.rotate_every_days)
            .field("publish_ahead_secs", &self.publish_ahead_secs)
            .field("propagation_delay_secs", &self.propagation_delay_secs)
            .field("reload_every_secs", &self.reload_every_secs)
            .finish()
    }
}

impl fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseConfig")
            .field("url", &redact(&self.url))
            .field("url_file", &self.url_file)
            .finish()
    }
}

impl fmt::Debug for EphemeralConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EphemeralConfig")
            .field("redis_url", &redact(&self.redis_url))
            .field("redis_url_file", &self.redis_url_file)
            .field("redis_prefix", &self.redis_prefix)
            .field("store", &self.store)
            .field("max_memory_entries", &self.max_memory_entries)
            .finish()
    }
}
