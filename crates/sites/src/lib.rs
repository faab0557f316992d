//! Sites (C1–C6): applications with their own legacy user accounts, moving onto identity
//! accounts. Domain only, no HTTP: `web` renders what these services answer. The records and
//! the storage port are core's (`core::model::site`, `core::ports::SiteRepo`).
//!
//! - `legacy_hash`: the legacy hashes a site brings along; `import`: its users' rows;
//! - `service`: the operator's operations (`SiteService`: create, list, import, users,
//!   migrate, progress);
//! - `invitations`: the mails that invite a site user to link (or create) an identity
//!   account, claiming them (S41), and email changes (C6);
//! - `linking`: automatic linking at sign-in by a verified email;
//! - `subjects`: whom a site's client's tokens name (core's `SiteSubjects` port);
//! - `progress_lists`: where each user is in the migration;
//! - `admin`: who may act on a site.

pub mod admin;
mod error;
pub mod import;
pub mod invitations;
pub mod legacy_hash;
pub mod linking;
pub mod progress_lists;
pub mod service;
pub mod settings;
pub mod subjects;

pub use error::SitesError;
pub use service::{Migration, SiteDeps, SiteService};
pub use settings::SitesSettings;
