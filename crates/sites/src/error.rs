//! Errors of the sites services; `web::error` words them for people.

use lanyard_core::StoreError;
use lanyard_identity::IdentityError;

use crate::invitations::ClaimRefusal;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SiteError {
    #[error("no such site")]
    NoSuchSite,
    #[error("no such site user")]
    NoSuchUser,
    /// The caller may not act on this site (S-admin: a site admin acts on its own site).
    #[error("not allowed")]
    Forbidden,
    /// An invitation link that can not be claimed, and why.
    #[error("the invitation can not be used: {0:?}")]
    Claim(ClaimRefusal),
    /// The text is fixed and safe to show.
    #[error("{0}")]
    Invalid(&'static str),
    #[error(transparent)]
    Identity(#[from] IdentityError),
    #[error(transparent)]
    Store(#[from] StoreError),
}
