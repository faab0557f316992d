//! The identity store service: accounts, their passwords and status (requirement A1).
//! Sites, PATs, invitations and the rest arrive with their issues.

pub mod accounts;
pub mod email;
pub mod error;

pub use accounts::AccountService;
pub use email::normalize_email;
pub use error::IdentityError;
pub use lanyard_core::Origin;
