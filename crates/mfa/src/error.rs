//! What can go wrong in a second step. The messages people see are chosen in `web`; these
//! variants only say which rule refused.

use lanyard_core::{MailError, StoreError, Timestamp};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MfaError {
    /// Not the shape of a code (letters, wrong length, empty). Not counted as a guess.
    #[error("malformed code")]
    Malformed,
    /// A wrong, expired, reused or replayed code: one generic answer (S28, S30).
    #[error("wrong code")]
    WrongCode { tries_left: u32 },
    /// The challenge is gone: expired, completed, or invalidated after too many wrong
    /// answers. Sign-in starts again at the password.
    #[error("challenge gone")]
    ChallengeGone,
    /// Too many wrong answers on this challenge.
    #[error("too many tries")]
    TooManyTries,
    /// The account's failure count asks for a wait (or, `until: None`, an operator unlock).
    #[error("locked")]
    Locked { until: Option<Timestamp> },
    /// Another email code can be sent at `at`.
    #[error("resend too soon")]
    ResendTooSoon { at: Timestamp },
    /// The hourly limit on emailed codes is reached; another code may be sent from `until`.
    #[error("too many codes sent")]
    TooManySends { until: Timestamp },
    /// The method asked for is not set up (no authenticator app, no backup code).
    #[error("method not available")]
    NotAvailable,
    /// Step-up can not use a factor enrolled during the session it protects (CVE-2023-3597).
    #[error("factor enrolled in this session")]
    FactorTooNew,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Mail(#[from] MailError),
    #[error("internal: {0}")]
    Internal(String),
}

impl From<lanyard_crypto::CryptoError> for MfaError {
    fn from(e: lanyard_crypto::CryptoError) -> Self {
        MfaError::Internal(format!("crypto: {e}"))
    }
}
