//! [`SqlStore`]: the durable ports on SQLite or PostgreSQL. One code path serves both; the
//! URL picks the backend, and the only backend-specific lines are connection tuning and the
//! migration lock.

mod account_links;
mod accounts;
mod admin;
mod audit;
mod clients;
mod ephemeral;
mod federation;
mod keys;
mod logout;
mod mfa;
mod orgs;
mod pats;
mod privacy;
mod refresh;
mod session_list;
mod sites;

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use lanyard_core::{Clock, Rng, StoreError};
use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
};
use sea_orm_migration::MigratorTrait;

use crate::error;
use crate::migration::Migrator;

pub use ephemeral::SqlEphemeral;

/// How long a SQLite writer waits for the file lock before giving up with `Unavailable`.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// SQLite allows one writer at a time; a few connections let readers proceed meanwhile.
const SQLITE_MAX_CONNECTIONS: u32 = 4;
const POSTGRES_MAX_CONNECTIONS: u32 = 16;
/// Waiting longer than this for a pooled connection means the database is in trouble:
/// answer 503 rather than pile up requests.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Key of the PostgreSQL advisory lock held while migrating, so nodes starting together
/// migrate once. Arbitrary but fixed: the ASCII bytes of "lanyardM".
const MIGRATION_LOCK_KEY: i64 = 0x6c61_6e79_6172_644d;

/// The durable store. Cheap to clone: clones share one connection pool.
#[derive(Clone)]
pub struct SqlStore {
    db: DatabaseConnection,
    /// What the ids of new rows (accounts, audit events, backup codes) are made from.
    clock: Arc<dyn Clock>,
    rng: Arc<dyn Rng>,
}

impl std::fmt::Debug for SqlStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlStore")
            .field("db", &self.db)
            .finish_non_exhaustive()
    }
}

impl SqlStore {
    /// Connects to `sqlite://path?mode=rwc` (creating the parent folder and the file) or
    /// `postgres://…`. The URL never appears in errors: it may carry a password. New rows
    /// get ids from `clock` and `rng` (UUIDv7, `lanyard_core::ids::uuid_v7`).
    pub async fn connect(
        url: &str,
        clock: Arc<dyn Clock>,
        rng: Arc<dyn Rng>,
    ) -> Result<SqlStore, StoreError> {
        let mut options = ConnectOptions::new(url);
        options
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .sqlx_logging(false);
        if url.starts_with("sqlite:") {
            let parsed = SqliteConnectOptions::from_str(url)
                .map_err(|_| StoreError::Other("invalid sqlite url".to_owned()))?;
            // A private in-memory database exists once per connection, so it gets exactly one.
            let in_memory = url.contains(":memory:") || url.contains("mode=memory");
            if !in_memory {
                create_private_database_file(parsed.get_filename())?;
            }
            options.max_connections(if in_memory { 1 } else { SQLITE_MAX_CONNECTIONS });
            // WAL lets readers run beside the writer; busy_timeout makes concurrent writers
            // (other pool connections, a CLI process) wait instead of failing at once;
            // NORMAL sync is durable across application crashes in WAL mode.
            options.map_sqlx_sqlite_opts(|o| {
                o.create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(SQLITE_BUSY_TIMEOUT)
                    .foreign_keys(true)
            });
        } else {
            options
                .max_connections(POSTGRES_MAX_CONNECTIONS)
                .min_connections(0);
        }
        let db = Database::connect(options)
            .await
            .map_err(|e| error::db("connect", e))?;
        Ok(SqlStore { db, clock, rng })
    }

    /// A UUIDv7 for a new row: ordered by creation, like the rows' second-resolution times.
    fn new_id(&self) -> uuid::Uuid {
        lanyard_core::ids::uuid_v7(&*self.clock, &*self.rng)
    }

    /// The ephemeral store in this database (table `ephemeral_entries`), on the same pool
    /// and clock.
    pub fn ephemeral(&self) -> SqlEphemeral {
        SqlEphemeral::new(self.db.clone(), self.clock.clone())
    }

    pub fn is_sqlite(&self) -> bool {
        self.db.get_database_backend() == DbBackend::Sqlite
    }

    /// A round trip to the database, for readiness checks.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.db.ping().await.map_err(|e| error::db("ping", e))
    }

    /// Applies pending migrations in one transaction. On PostgreSQL an advisory lock makes a
    /// second node wait and then find nothing to do; on SQLite `BEGIN IMMEDIATE` takes the
    /// file's write lock, which serializes processes the same way.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let txn = self.begin_write().await?;
        if self.db.get_database_backend() == DbBackend::Postgres {
            let lock = Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT pg_advisory_xact_lock($1)",
                [MIGRATION_LOCK_KEY.into()],
            );
            txn.execute_raw(lock)
                .await
                .map_err(|e| error::db("migration lock", e))?;
        }
        Migrator::up(&txn, None).await.map_err(migration_error)?;
        txn.commit().await.map_err(|e| error::db("migrate", e))
    }

    /// Names of migrations not yet applied, oldest first. Read-only: it never creates the
    /// bookkeeping table, so it is safe to call from a `check` command.
    pub async fn pending_migrations(&self) -> Result<Vec<String>, StoreError> {
        let pending = Migrator::get_pending_migrations_read_only(&self.db)
            .await
            .map_err(migration_error)?;
        Ok(pending.iter().map(|m| m.name().to_owned()).collect())
    }

    /// Starts a transaction that will write. On SQLite it begins IMMEDIATE: a deferred
    /// transaction that reads first and writes later can not wait for the write lock (it
    /// would fail with SQLITE_BUSY_SNAPSHOT), while an immediate one queues on busy_timeout.
    async fn begin_write(&self) -> Result<DatabaseTransaction, StoreError> {
        let options = TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..TransactionOptions::default()
        };
        self.db
            .begin_with_options(options)
            .await
            .map_err(|e| error::db("begin transaction", e))
    }
}

/// The migrator's own messages (say, "migration X is applied but its file is missing" when
/// the database is newer than this binary) name only migrations, and operators need them.
fn migration_error(err: DbErr) -> StoreError {
    match err {
        DbErr::Custom(message) | DbErr::Migration(message) => {
            StoreError::Other(format!("migrate: {message}"))
        }
        other => error::db("migrate", other),
    }
}

/// The database's folder (0700) and file (0600) when they do not exist yet: SQLite would
/// create them with the umask's modes, readable by everyone on most systems.
fn create_private_database_file(file: &Path) -> Result<(), StoreError> {
    if let Some(parent) = file.parent().filter(|p| !p.as_os_str().is_empty()) {
        crate::files::create_private_dir(parent)
            .map_err(|_| StoreError::Unavailable("cannot create the database folder".to_owned()))?;
    }
    crate::files::create_private_file(file)
        .map_err(|_| StoreError::Unavailable("cannot create the database file".to_owned()))
}

/// The row a lookup by a unique key finds, if any: every single-row lookup of the store goes
/// through here. Not `Select::one`: that adds `LIMIT ?` with the 1 as a bound parameter, and
/// SQLite (3.51, bundled) plans with the value of a bound LIMIT, so every execution of the
/// cached statement is re-prepared (parsed and planned again). That was a third of the
/// instructions of an uncached PAT exchange on SQLite. A unique key matches at most one row,
/// so no LIMIT is needed. `tests::single_row_lookups_bind_no_limit` keeps it that way.
async fn unique_row<E: sea_orm::EntityTrait, C: ConnectionTrait>(
    select: sea_orm::Select<E>,
    db: &C,
) -> Result<Option<E::Model>, DbErr> {
    Ok(select.all(db).await?.into_iter().next())
}

/// List fields are JSON text: read whole, never queried.
fn to_json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|_| StoreError::Other("encode list field".to_owned()))
}

fn from_json<T: serde::de::DeserializeOwned>(
    text: &str,
    what: &'static str,
) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|_| crate::error::corrupt(what))
}

/// Seconds as stored; the `Timestamp` newtype stays in the domain.
fn ts(value: i64) -> lanyard_core::Timestamp {
    lanyard_core::Timestamp(value)
}

#[cfg(test)]
mod tests;
