//! Errors of the identity service.

use lanyard_core::StoreError;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// Deliberately says nothing about which part was wrong or whether the account exists.
    #[error("the email or password is not right")]
    InvalidCredentials,
    #[error("invalid email address: {0}")]
    InvalidEmail(&'static str),
    #[error("invalid name: {0}")]
    InvalidName(&'static str),
    /// A new password the policy refuses; the text says why and is safe to show.
    #[error("{0}")]
    PasswordRefused(#[from] crate::password_policy::PasswordRefusal),
    #[error("an account with this email already exists")]
    EmailTaken,
    #[error("not found")]
    NotFound,
    /// The account is disabled: nothing about it may change through its own sessions.
    #[error("the account is disabled")]
    AccountDisabled,
    /// A PAT request the policy refuses; the text is fixed and safe to show.
    #[error("{1}")]
    InvalidPat(crate::pats::PatField, &'static str),
    #[error("an account may hold at most {0} personal access tokens")]
    TooManyPats(u64),
    /// Creating a PAT (or anything else that needs it) while an organization of the account
    /// requires an authenticator app that is not set up yet (S54).
    #[error("your organization requires an authenticator app: set one up first")]
    AuthenticatorRequired,
    /// The account's organization requires its own sign-in (G4): the action needs a
    /// session that sign-in made.
    #[error("the organization requires its own sign-in")]
    SsoRequired,
    #[error("an organization with this slug already exists")]
    OrgTaken,
    /// The text is fixed and safe to show.
    #[error("invalid organization: {0}")]
    InvalidOrg(&'static str),
    /// The caller may not do this (not an admin of the organization).
    #[error("not allowed")]
    Forbidden,
    /// A privacy category that is always on was asked to be turned off (A4); the text
    /// names it and is safe to show.
    #[error("\"{0}\" is required and cannot be turned off")]
    PrivacyRequired(String),
    /// A privacy change named a category that is not configured, or one twice.
    #[error("unknown or repeated privacy category")]
    UnknownPrivacyCategory,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("password hashing failed")]
    Crypto(#[from] lanyard_crypto::CryptoError),
}
