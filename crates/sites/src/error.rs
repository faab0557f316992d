//! What the site operations answer when they can not do what was asked. Messages are for the
//! operator (CLI) and the site admin's pages (worded for people in `web::error::sites`);
//! none carries a secret.

use lanyard_core::StoreError;
use lanyard_core::model::MigrationState;
use lanyard_identity::IdentityError;

use crate::import::Problem;
use crate::invitations::ClaimRefusal;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SitesError {
    #[error("no such site")]
    NotFound,
    #[error("no such site user")]
    NoSuchUser,
    /// A value the operator gave is not acceptable (slug, name, client id, state, email).
    #[error("{0}")]
    Invalid(String),
    #[error("a site with this slug exists already")]
    SlugTaken,
    #[error("no client {0} is registered")]
    UnknownClient(String),
    #[error("client {client} belongs to site {site} already")]
    ClientTaken { client: String, site: String },
    #[error("a site in {} can not move to {}: {}", from.as_str(), to.as_str(), MOVES)]
    MoveRefused {
        from: MigrationState,
        to: MigrationState,
    },
    /// Every problem of an import file; nothing was written.
    #[error("the import was refused ({} problems); nothing was written", .0.len())]
    ImportRefused(Vec<Problem>),
    /// The caller may not act on this site (`admin::authorize_site_admin`): 403, nothing
    /// written.
    #[error("not allowed")]
    Forbidden,
    /// An invitation link that can not be claimed, and why.
    #[error("the invitation can not be used: {0:?}")]
    Claim(ClaimRefusal),
    /// Creating the identity account of a `create_account` invitation (name, password).
    #[error(transparent)]
    Identity(#[from] IdentityError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("sealing a TOTP secret failed")]
    Crypto(#[from] lanyard_crypto::CryptoError),
}

const MOVES: &str = "legacy → dual → identity, or dual back to legacy";
