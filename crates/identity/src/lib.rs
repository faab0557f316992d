//! The identity store service: accounts, their passwords and status (requirement A1), and
//! personal access tokens (E1–E4). Sites, invitations and the rest arrive with their issues.

pub mod accounts;
pub mod email;
pub mod error;
pub mod pats;

pub use accounts::AccountService;
pub use email::normalize_email;
pub use error::IdentityError;
pub use lanyard_core::Origin;
pub use pats::{PatService, PatSettings};
