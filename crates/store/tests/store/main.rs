//! lanyard-store's one test binary: a contract suite per port, each run on every backend.
//! SQLite and the memory store always run; PostgreSQL and Redis run when
//! `LANYARD_TEST_POSTGRES_URL` / `LANYARD_TEST_REDIS_URL` are set (and must be set when
//! `LANYARD_REQUIRE_SERVICES=1`). Every test gets its own database or key prefix.

// The contract cases are plain async fns called from the generated #[tokio::test]s, so
// clippy's allow-*-in-tests does not reach them; failing loudly is what a test should do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

/// Runs each named durable contract case against SQLite and against PostgreSQL.
/// A case is `async fn(&SqlStore)` defined in the invoking module.
macro_rules! durable_contract {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let db = crate::support::sqlite().await;
                    super::$case(&db.store).await;
                    db.cleanup().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let Some(db) = crate::support::postgres().await else { return };
                    super::$case(&db.store).await;
                    db.cleanup().await;
                }
            )*
        }
    };
}

/// Runs each named ephemeral contract case against MemoryStore, RedisStore and the database's
/// store (`SqlEphemeral`) on SQLite and PostgreSQL.
/// A case is `async fn(&Ephemeral)` defined in the invoking module.
macro_rules! ephemeral_contract {
    ($($case:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let eph = crate::support::memory();
                    super::$case(&eph).await;
                }
            )*
        }
        mod redis {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let Some(eph) = crate::support::redis().await else { return };
                    super::$case(&eph).await;
                    eph.cleanup().await;
                }
            )*
        }
        mod sql_sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let eph = crate::support::sql_sqlite().await;
                    super::$case(&eph).await;
                    eph.cleanup().await;
                }
            )*
        }
        mod sql_postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let Some(eph) = crate::support::sql_postgres().await else { return };
                    super::$case(&eph).await;
                    eph.cleanup().await;
                }
            )*
        }
    };
}

mod account_pages;
mod accounts;
mod audit_log;
mod code_sets;
mod ephemeral;
mod federation;
mod logout;
mod mfa;
mod misc;
mod orgs;
mod refresh;
mod site_links;
mod sites;
mod support;
