//! Lanyard's storage adapters: [`SqlStore`] implements every durable port of
//! `lanyard_core::ports` on SQLite or PostgreSQL (one code path, one set of migrations);
//! [`SqlEphemeral`] (a table of that database), [`MemoryStore`] and [`RedisStore`] implement
//! the ephemeral port, and [`RoutingStore`] splits it by key family between two of them.
//!
//! sea-orm and redis stay inside this crate: entities are private, and every error leaves as
//! a [`lanyard_core::StoreError`] with no SQL text, values or URLs in it.

mod entity;
mod error;
pub mod files;
mod invalidations;
mod memory;
mod migration;
mod redis_store;
mod routing;
mod sql;

#[doc(hidden)]
pub mod testing;

pub use invalidations::{FileInvalidations, RedisInvalidations};
pub use memory::{DEFAULT_MAX_ENTRIES, MemoryStore};
pub use redis_store::RedisStore;
pub use routing::RoutingStore;
pub use sql::{SqlEphemeral, SqlStore};
