//! The identity store service: accounts, their passwords and status (requirement A1),
//! personal access tokens (E1–E4), and organizations with their sign-in policy (G1, S54).
//! Sites, invitations and the rest arrive with their issues.

pub mod accounts;
pub mod admins;
pub mod cursor;
pub mod email;
pub mod error;
pub mod orgs;
pub mod password_policy;
pub mod pats;
pub mod privacy;
pub mod time_zone;

pub use accounts::AccountService;
pub use admins::AdminService;
pub use email::normalize_email;
pub use error::IdentityError;
pub use lanyard_core::Origin;
pub use orgs::{EnrollmentPolicy, OrgService};
pub use password_policy::{PasswordRefusal, PasswordRules};
pub use pats::{PatService, PatSettings};
pub use privacy::{PrivacyService, PrivacySettings};
pub use time_zone::TimeZoneName;
