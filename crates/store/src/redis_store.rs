//! [`RedisStore`]: the [`EphemeralStore`] shared by every node of a cluster.
//!
//! Each operation is one atomic Redis command (or one Lua script), so the atomicity the port
//! promises holds across nodes: `take` is GETDEL, `put_if_absent` is SET NX PX, `increment`
//! a script that sets the TTL only when the window starts. Every key lives under a prefix so
//! several deployments (or test runs) can share one Redis.

use std::time::Duration;

use async_trait::async_trait;
use lanyard_core::StoreError;
use lanyard_core::ports::EphemeralStore;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, Script};

use crate::error;

/// Fail fast when Redis is down: callers answer 503 instead of hanging a request.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(3);
const RECONNECT_RETRIES: usize = 2;

/// INCR, then start the window's TTL if the key has none: on the first increment, and also
/// if a TTL was ever lost, so a counter can never become immortal.
const INCREMENT_SCRIPT: &str = r"
local n = redis.call('INCR', KEYS[1])
if n == 1 or redis.call('PTTL', KEYS[1]) < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return n
";

#[derive(Clone)]
pub struct RedisStore {
    conn: ConnectionManager,
    prefix: String,
    increment: Script,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .finish()
    }
}

/// A century: Redis rejects expiries that overflow its clock, and nothing ephemeral lives
/// this long anyway.
const MAX_TTL_MILLIS: u64 = 100 * 365 * 24 * 3600 * 1000;

/// Redis refuses a zero expiry, and sub-millisecond TTLs are meaningless here.
fn ttl_millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis())
        .unwrap_or(MAX_TTL_MILLIS)
        .clamp(1, MAX_TTL_MILLIS)
}

impl RedisStore {
    /// Connects to `redis://…` (or `rediss://…`); every key is stored as `prefix + key`.
    /// The connection manager reconnects by itself after a failure.
    pub async fn connect(url: &str, prefix: &str) -> Result<RedisStore, StoreError> {
        // The URL may carry a password: keep it out of the error.
        let client =
            Client::open(url).map_err(|_| StoreError::Other("invalid redis url".to_owned()))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_number_of_retries(RECONNECT_RETRIES);
        let conn = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(|e| error::redis("connect", &e))?;
        Ok(RedisStore {
            conn,
            prefix: prefix.to_owned(),
            increment: Script::new(INCREMENT_SCRIPT),
        })
    }

    /// A handle on the shared connection (for publishing cache invalidations).
    pub fn connection(&self) -> ConnectionManager {
        self.conn.clone()
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// A round trip to Redis, for readiness checks.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        redis::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
            .map(drop)
            .map_err(|e| error::redis("ping", &e))
    }

    fn key(&self, key: &str) -> String {
        let mut full = String::with_capacity(self.prefix.len() + key.len());
        full.push_str(&self.prefix);
        full.push_str(key);
        full
    }
}

#[async_trait]
impl EphemeralStore for RedisStore {
    async fn put(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        redis::cmd("SET")
            .arg(self.key(key))
            .arg(value)
            .arg("PX")
            .arg(ttl_millis(ttl))
            .query_async::<()>(&mut conn)
            .await
            .map_err(|e| error::redis("put", &e))
    }

    async fn put_if_absent(
        &self,
        key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn.clone();
        // SET NX answers OK when it stored and nil when the key existed.
        let stored: Option<String> = redis::cmd("SET")
            .arg(self.key(key))
            .arg(value)
            .arg("NX")
            .arg("PX")
            .arg(ttl_millis(ttl))
            .query_async(&mut conn)
            .await
            .map_err(|e| error::redis("put_if_absent", &e))?;
        Ok(stored.is_some())
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let mut conn = self.conn.clone();
        redis::cmd("GET")
            .arg(self.key(key))
            .query_async(&mut conn)
            .await
            .map_err(|e| error::redis("get", &e))
    }

    async fn take(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let mut conn = self.conn.clone();
        // GETDEL (Redis ≥ 6.2) reads and deletes in one command: one taker wins.
        redis::cmd("GETDEL")
            .arg(self.key(key))
            .query_async(&mut conn)
            .await
            .map_err(|e| error::redis("take", &e))
    }

    async fn delete(&self, key: &str) -> Result<bool, StoreError> {
        let mut conn = self.conn.clone();
        let removed: u64 = redis::cmd("DEL")
            .arg(self.key(key))
            .query_async(&mut conn)
            .await
            .map_err(|e| error::redis("delete", &e))?;
        Ok(removed > 0)
    }

    async fn increment(&self, key: &str, ttl: Duration) -> Result<u64, StoreError> {
        let mut conn = self.conn.clone();
        self.increment
            .key(self.key(key))
            .arg(ttl_millis(ttl))
            .invoke_async(&mut conn)
            .await
            .map_err(|e| error::redis("increment", &e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttls_are_whole_milliseconds_and_never_zero() {
        assert_eq!(ttl_millis(Duration::ZERO), 1);
        assert_eq!(ttl_millis(Duration::from_micros(10)), 1);
        assert_eq!(ttl_millis(Duration::from_secs(2)), 2_000);
        assert_eq!(ttl_millis(Duration::MAX), MAX_TTL_MILLIS);
    }
}
