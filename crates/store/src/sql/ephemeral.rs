//! [`SqlEphemeral`]: the [`EphemeralStore`] in one table of the durable database, so what it
//! holds survives a restart. The embedded default keeps every ephemeral key here; production
//! keeps here the families whose absence would mean "allowed" (`RoutingStore`).
//!
//! Each operation is one statement, so the port's atomicity comes from the database:
//! `put_if_absent` is an upsert whose update applies only over an expired row (rows
//! affected tell who won), `take` a `DELETE … RETURNING` of a live row, `increment` an
//! upsert that adds in SQL and keeps the window's first expiry. The SQL text is the same on
//! SQLite and PostgreSQL (`$n` parameters, `ON CONFLICT`, `excluded`, `RETURNING`), and has no
//! bound `LIMIT` (see `unique_row`), so SQLite prepares each statement once.
//!
//! Time comes from the injected clock, as in `MemoryStore`: an entry is invisible once the
//! clock reaches its expiry, and [`SqlEphemeral::spawn_purger`] deletes such rows.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use lanyard_core::ports::EphemeralStore;
use lanyard_core::{Clock, StoreError};
use sea_orm::{ConnectionTrait, DatabaseConnection, QueryResult, Statement, Value};

use crate::error;

const PUT: &str = "INSERT INTO ephemeral_entries (entry_key, entry_value, counter, expires_at) \
     VALUES ($1, $2, NULL, $3) \
     ON CONFLICT (entry_key) DO UPDATE SET entry_value = excluded.entry_value, \
     counter = NULL, expires_at = excluded.expires_at";

/// Replaces only an expired row: a live one makes the update a no-op (0 rows affected).
const PUT_IF_ABSENT: &str = "INSERT INTO ephemeral_entries (entry_key, entry_value, counter, expires_at) \
     VALUES ($1, $2, NULL, $3) \
     ON CONFLICT (entry_key) DO UPDATE SET entry_value = excluded.entry_value, \
     counter = NULL, expires_at = excluded.expires_at \
     WHERE ephemeral_entries.expires_at <= $4";

const GET: &str = "SELECT entry_value, counter FROM ephemeral_entries \
     WHERE entry_key = $1 AND expires_at > $2";

const TAKE: &str = "DELETE FROM ephemeral_entries WHERE entry_key = $1 AND expires_at > $2 \
     RETURNING entry_value, counter";

const DELETE: &str = "DELETE FROM ephemeral_entries WHERE entry_key = $1 AND expires_at > $2";

/// A live counter goes up by one and keeps its expiry; an absent or expired one starts a
/// new window at 1. Right-hand sides read the row as it was (both databases).
const INCREMENT: &str = "INSERT INTO ephemeral_entries (entry_key, entry_value, counter, expires_at) \
     VALUES ($1, $2, 1, $3) \
     ON CONFLICT (entry_key) DO UPDATE SET \
     counter = CASE WHEN ephemeral_entries.expires_at <= $4 THEN 1 \
     ELSE COALESCE(ephemeral_entries.counter, 0) + 1 END, \
     entry_value = excluded.entry_value, \
     expires_at = CASE WHEN ephemeral_entries.expires_at <= $4 THEN excluded.expires_at \
     ELSE ephemeral_entries.expires_at END \
     RETURNING counter";

const PURGE: &str = "DELETE FROM ephemeral_entries WHERE expires_at <= $1";

/// The database's ephemeral store. Cheap to clone: it shares the [`SqlStore`](super::SqlStore)'s pool.
#[derive(Clone)]
pub struct SqlEphemeral {
    db: DatabaseConnection,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for SqlEphemeral {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlEphemeral").finish_non_exhaustive()
    }
}

/// The clock counts whole seconds, so a TTL is rounded up to at least one second (as in
/// `MemoryStore`).
fn ttl_secs(ttl: Duration) -> i64 {
    let secs = ttl
        .as_secs()
        .saturating_add(u64::from(ttl.subsec_nanos() > 0));
    i64::try_from(secs.max(1)).unwrap_or(i64::MAX)
}

fn bytes(value: &[u8]) -> Value {
    Value::Bytes(Some(value.to_vec()))
}

/// A row's value: a counter reads as its decimal digits, as in the other stores.
fn value_of(row: &QueryResult) -> Result<Vec<u8>, StoreError> {
    let counter: Option<i64> = row
        .try_get("", "counter")
        .map_err(|_| error::corrupt("ephemeral counter"))?;
    match counter {
        Some(n) => Ok(n.to_string().into_bytes()),
        None => row
            .try_get("", "entry_value")
            .map_err(|_| error::corrupt("ephemeral value")),
    }
}

impl SqlEphemeral {
    pub(super) fn new(db: DatabaseConnection, clock: Arc<dyn Clock>) -> Self {
        Self { db, clock }
    }

    fn now(&self) -> i64 {
        self.clock.now().seconds()
    }

    fn statement(&self, sql: &str, values: Vec<Value>) -> Statement {
        Statement::from_sql_and_values(self.db.get_database_backend(), sql, values)
    }

    /// Deletes every expired row now; returns how many.
    pub async fn purge_expired(&self) -> Result<u64, StoreError> {
        let result = self
            .db
            .execute_raw(self.statement(PURGE, vec![self.now().into()]))
            .await
            .map_err(|e| error::db("purge ephemeral entries", e))?;
        Ok(result.rows_affected())
    }

    /// Purges expired rows every `every` on the current tokio runtime (expired rows are
    /// already invisible; this only keeps the table small). Failures are logged and retried
    /// on the next tick.
    pub fn spawn_purger(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        let store = self.clone();
        let every = every.max(Duration::from_millis(10));
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(every);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                if let Err(e) = store.purge_expired().await {
                    tracing::warn!(error = %e, "purging expired ephemeral entries failed");
                }
            }
        })
    }

    /// Every live key, sorted (tests compare what requests left behind).
    #[doc(hidden)]
    pub async fn live_keys(&self) -> Result<Vec<String>, StoreError> {
        let rows = self
            .db
            .query_all_raw(self.statement(
                "SELECT entry_key FROM ephemeral_entries WHERE expires_at > $1",
                vec![self.now().into()],
            ))
            .await
            .map_err(|e| error::db("list ephemeral keys", e))?;
        let mut keys = rows
            .iter()
            .map(|row| {
                row.try_get::<Vec<u8>>("", "entry_key")
                    .map(|k| String::from_utf8_lossy(&k).into_owned())
                    .map_err(|_| error::corrupt("ephemeral key"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        keys.sort();
        Ok(keys)
    }
}

#[async_trait]
impl EphemeralStore for SqlEphemeral {
    async fn put(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), StoreError> {
        let expires_at = self.now().saturating_add(ttl_secs(ttl));
        let values = vec![bytes(key.as_bytes()), bytes(value), expires_at.into()];
        self.db
            .execute_raw(self.statement(PUT, values))
            .await
            .map_err(|e| error::db("ephemeral put", e))?;
        Ok(())
    }

    async fn put_if_absent(
        &self,
        key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let now = self.now();
        let values = vec![
            bytes(key.as_bytes()),
            bytes(value),
            now.saturating_add(ttl_secs(ttl)).into(),
            now.into(),
        ];
        let result = self
            .db
            .execute_raw(self.statement(PUT_IF_ABSENT, values))
            .await
            .map_err(|e| error::db("ephemeral put_if_absent", e))?;
        Ok(result.rows_affected() == 1)
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let values = vec![bytes(key.as_bytes()), self.now().into()];
        self.db
            .query_one_raw(self.statement(GET, values))
            .await
            .map_err(|e| error::db("ephemeral get", e))?
            .as_ref()
            .map(value_of)
            .transpose()
    }

    async fn take(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let values = vec![bytes(key.as_bytes()), self.now().into()];
        self.db
            .query_one_raw(self.statement(TAKE, values))
            .await
            .map_err(|e| error::db("ephemeral take", e))?
            .as_ref()
            .map(value_of)
            .transpose()
    }

    async fn delete(&self, key: &str) -> Result<bool, StoreError> {
        let values = vec![bytes(key.as_bytes()), self.now().into()];
        let result = self
            .db
            .execute_raw(self.statement(DELETE, values))
            .await
            .map_err(|e| error::db("ephemeral delete", e))?;
        Ok(result.rows_affected() > 0)
    }

    async fn increment(&self, key: &str, ttl: Duration) -> Result<u64, StoreError> {
        let now = self.now();
        let values = vec![
            bytes(key.as_bytes()),
            bytes(b""),
            now.saturating_add(ttl_secs(ttl)).into(),
            now.into(),
        ];
        let row = self
            .db
            .query_one_raw(self.statement(INCREMENT, values))
            .await
            .map_err(|e| error::db("ephemeral increment", e))?
            .ok_or_else(|| error::corrupt("ephemeral increment returned nothing"))?;
        let count: i64 = row
            .try_get("", "counter")
            .map_err(|_| error::corrupt("ephemeral counter"))?;
        u64::try_from(count).map_err(|_| error::corrupt("ephemeral counter"))
    }
}
