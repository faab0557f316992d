use lanyard_core::StoreError;
use lanyard_crypto::CryptoError;

/// What went wrong in federation. The upstream's own words never reach a page: they are
/// logged, and the page says which of these happened.
#[derive(Debug, thiserror::Error)]
pub enum FederationError {
    #[error("no organization {0:?}")]
    UnknownOrg(String),
    #[error("the organization has no domain {0:?}")]
    UnknownDomain(String),
    #[error("{0} is not a domain name we can verify")]
    InvalidDomain(String),
    #[error("the domain {0:?} belongs to an organization already")]
    DomainTaken(String),
    #[error("the organization has no single sign-on connection")]
    NoConnection,
    #[error("the single sign-on connection is turned off")]
    ConnectionDisabled,
    #[error("invalid setting: {0}")]
    InvalidSetting(String),
    /// The identity provider could not be reached, timed out or answered with an error
    /// status (discovery, JWKS or token endpoint).
    #[error("the identity provider is unavailable: {0}")]
    Unavailable(String),
    /// The identity provider said no (`error=` on the callback, e.g. `access_denied`).
    #[error("the identity provider refused the sign-in: {code}")]
    Refused { code: String },
    /// The answer failed validation: state, issuer, signature, audience, expiry, nonce.
    #[error("the identity provider's answer is not valid: {0}")]
    InvalidResponse(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}
