//! Sites (C1–C6): tenant applications with their own legacy users, and their move onto
//! identity accounts. No HTTP in here: `web` renders what these services answer.
//!
//! - `invitations`: the mails that invite a site user to link (or create) an identity
//!   account, and claiming them (S41);
//! - `linking`: automatic linking at sign-in by a verified email, and email changes (C6);
//! - `subjects`: whom a site's client's tokens name (core's `SiteSubjects` port);
//! - `progress_lists`: where each user is in the migration;
//! - `admin`: who may act on a site.

pub mod admin;
pub mod error;
pub mod invitations;
pub mod linking;
pub mod progress_lists;
pub mod settings;
pub mod subjects;

pub use error::SiteError;
pub use settings::SitesSettings;
