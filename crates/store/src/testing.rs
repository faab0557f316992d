//! Test support for the whole workspace: a throw-away PostgreSQL database and a unique Redis
//! key prefix per test, and the environment conventions CI relies on. Always compiled (other
//! crates' tests use it) but hidden from the docs; nothing in production calls it.
//!
//! `LANYARD_TEST_POSTGRES_URL` / `LANYARD_TEST_REDIS_URL` point at the services; when
//! `LANYARD_REQUIRE_SERVICES=1` a missing URL fails the test instead of skipping it, so CI
//! can not go green without having run the PostgreSQL and Redis suites.

use lanyard_core::ids::random_uuid;
use lanyard_core::{OsRng, StoreError};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection};

use crate::error;

pub const POSTGRES_URL_ENV: &str = "LANYARD_TEST_POSTGRES_URL";
pub const REDIS_URL_ENV: &str = "LANYARD_TEST_REDIS_URL";
pub const REQUIRE_SERVICES_ENV: &str = "LANYARD_REQUIRE_SERVICES";

/// The admin URL of the test PostgreSQL server, if configured.
///
/// # Panics
/// When it is missing and `LANYARD_REQUIRE_SERVICES=1`.
pub fn postgres_url_from_env() -> Option<String> {
    service_url(POSTGRES_URL_ENV)
}

/// The URL of the test Redis server, if configured.
///
/// # Panics
/// When it is missing and `LANYARD_REQUIRE_SERVICES=1`.
pub fn redis_url_from_env() -> Option<String> {
    service_url(REDIS_URL_ENV)
}

#[allow(clippy::panic)] // test support: a skipped service suite in CI must be a failure
fn service_url(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            if std::env::var(REQUIRE_SERVICES_ENV).as_deref() == Ok("1") {
                panic!("{REQUIRE_SERVICES_ENV}=1 but {var} is not set");
            }
            None
        }
    }
}

/// A PostgreSQL database that exists for one test. Dropping the guard drops the database
/// (`WITH (FORCE)`, so open pool connections do not block it); [`TempPostgres::cleanup`]
/// does the same without blocking a thread.
#[derive(Debug)]
pub struct TempPostgres {
    admin_url: String,
    name: String,
    dropped: bool,
}

impl TempPostgres {
    /// Creates `lanyard_test_<uuid>` on the server of `admin_url`; returns its URL and the
    /// guard that removes it.
    pub async fn create(admin_url: &str) -> Result<(String, TempPostgres), StoreError> {
        // Names only need to be unique: the OS generator directly, no injected one to honour.
        let name = format!("lanyard_test_{}", random_uuid(&OsRng).simple());
        let mut url = url::Url::parse(admin_url)
            .map_err(|_| StoreError::Other("invalid postgres url".to_owned()))?;
        url.set_path(&format!("/{name}"));
        let admin = admin_connection(admin_url).await?;
        // The name is generated above from hex digits only, so quoting it is safe.
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await
            .map_err(|e| error::db("create test database", e))?;
        let _ = admin.close().await;
        let guard = TempPostgres {
            admin_url: admin_url.to_owned(),
            name,
            dropped: false,
        };
        Ok((url.to_string(), guard))
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Drops the database now.
    pub async fn cleanup(mut self) -> Result<(), StoreError> {
        self.dropped = true;
        drop_database(&self.admin_url, &self.name).await
    }
}

impl Drop for TempPostgres {
    fn drop(&mut self) {
        if self.dropped {
            return;
        }
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop can not await, and may run inside a runtime that must not be blocked on
        // itself: do the work on a fresh thread with its own small runtime.
        let worker = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            match runtime {
                Ok(rt) => rt.block_on(drop_database(&admin_url, &name)),
                Err(_) => Err(StoreError::Other(
                    "no runtime to drop the test database".into(),
                )),
            }
        });
        if let Ok(Err(e)) = worker.join() {
            eprintln!("could not drop test database {}: {e}", self.name);
        }
    }
}

async fn admin_connection(admin_url: &str) -> Result<DatabaseConnection, StoreError> {
    let mut options = ConnectOptions::new(admin_url);
    options.max_connections(1).sqlx_logging(false);
    Database::connect(options)
        .await
        .map_err(|e| error::db("connect test admin", e))
}

async fn drop_database(admin_url: &str, name: &str) -> Result<(), StoreError> {
    let admin = admin_connection(admin_url).await?;
    let result = admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .await
        .map_err(|e| error::db("drop test database", e));
    let _ = admin.close().await;
    result.map(drop)
}

/// A key prefix no other test uses: `lanyard_test:<uuid>:`.
pub fn temp_redis_prefix() -> String {
    format!("lanyard_test:{}:", random_uuid(&OsRng).simple())
}

async fn connect_redis(redis_url: &str) -> Result<redis::aio::MultiplexedConnection, StoreError> {
    redis::Client::open(redis_url)
        .map_err(|_| StoreError::Other("invalid redis url".to_owned()))?
        .get_multiplexed_async_connection()
        .await
        .map_err(|e| error::redis("connect", &e))
}

/// Every key under `prefix`, by SCAN (never KEYS).
async fn scan_prefix(
    conn: &mut redis::aio::MultiplexedConnection,
    prefix: &str,
) -> Result<Vec<Vec<u8>>, StoreError> {
    let pattern = format!("{}*", glob_escape(prefix));
    let (mut cursor, mut keys) = (0_u64, Vec::new());
    loop {
        let (next, batch): (u64, Vec<Vec<u8>>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(500)
            .query_async(conn)
            .await
            .map_err(|e| error::redis("scan", &e))?;
        keys.extend(batch);
        if next == 0 {
            return Ok(keys);
        }
        cursor = next;
    }
}

/// Every key under `prefix`, sorted, prefix included.
pub async fn redis_keys_with_prefix(
    redis_url: &str,
    prefix: &str,
) -> Result<Vec<String>, StoreError> {
    let mut conn = connect_redis(redis_url).await?;
    let mut keys: Vec<String> = scan_prefix(&mut conn, prefix)
        .await?
        .into_iter()
        .map(|k| String::from_utf8_lossy(&k).into_owned())
        .collect();
    keys.sort();
    Ok(keys)
}

/// Deletes every key under `prefix`; returns how many.
pub async fn cleanup_redis_prefix(redis_url: &str, prefix: &str) -> Result<u64, StoreError> {
    let mut conn = connect_redis(redis_url).await?;
    let keys = scan_prefix(&mut conn, prefix).await?;
    let mut deleted = 0;
    for chunk in keys.chunks(500) {
        let n: u64 = redis::cmd("DEL")
            .arg(chunk)
            .query_async(&mut conn)
            .await
            .map_err(|e| error::redis("delete", &e))?;
        deleted += n;
    }
    Ok(deleted)
}

/// Escapes the glob characters of SCAN MATCH so a prefix matches only itself.
fn glob_escape(prefix: &str) -> String {
    let mut out = String::with_capacity(prefix.len());
    for c in prefix.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::glob_escape;

    #[test]
    fn glob_characters_are_escaped() {
        assert_eq!(glob_escape("a*b?[c]\\"), "a\\*b\\?\\[c\\]\\\\");
        assert_eq!(glob_escape("lanyard:"), "lanyard:");
    }
}
