//! Sites (C1–C6): applications with their own legacy user accounts, moving onto identity
//! accounts. Domain only, no HTTP: the legacy hashes a site brings along (`legacy_hash`), the
//! import of its users (`import`) and the operator's operations (`service::SiteService`).
//! The records and the storage port are core's (`core::model::site`, `core::ports::SiteRepo`).

pub mod import;
pub mod legacy_hash;
