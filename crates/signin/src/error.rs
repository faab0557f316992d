//! What can stop a sign-in step. Rule outcomes (a wrong password, a wrong code, a lock) are
//! not errors: they are [`crate::Next`] values the pages render. These are the cases where
//! the step can not be answered at all.

use lanyard_core::StoreError;
use lanyard_identity::IdentityError;
use lanyard_mfa::MfaError;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignInError {
    /// The flow is unknown, expired, finished, or not at the step asked for (S37): the
    /// person starts again from the app.
    #[error("the sign-in flow is gone or not at this step")]
    FlowGone,
    /// An upstream callback that matches no round trip of this browser and organization:
    /// missing, unknown, used, or bound elsewhere (S40). 400, and nothing happens.
    #[error("the sign-in callback does not match a sign-in of this browser")]
    UpstreamState,
    /// The emailed code could not be sent.
    #[error("mail could not be sent: {0}")]
    Mail(String),
    /// A store can not be reached. Never shown as "your sign-in has expired": an outage is
    /// not the user's doing (503 with Retry-After).
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// More passwords to check than the node can hash within its bounded wait: the person
    /// tries again after `retry_after_secs` (503 with Retry-After).
    #[error("password hashing is busy")]
    Busy { retry_after_secs: u64 },
    #[error("internal: {0}")]
    Internal(String),
}

impl From<StoreError> for SignInError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) => Self::Unavailable(e.to_string()),
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<MfaError> for SignInError {
    fn from(e: MfaError) -> Self {
        match e {
            MfaError::Store(store) => store.into(),
            MfaError::Mail(mail) => Self::Mail(mail.to_string()),
            MfaError::ChallengeGone | MfaError::TooManyTries => Self::FlowGone,
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<IdentityError> for SignInError {
    fn from(e: IdentityError) -> Self {
        match e {
            IdentityError::Store(store) => store.into(),
            // The flow names an account that is gone (deleted since the password step).
            IdentityError::NotFound => Self::FlowGone,
            IdentityError::Crypto(lanyard_crypto::CryptoError::Busy { retry_after_secs }) => {
                Self::Busy { retry_after_secs }
            }
            // The hashing threads are gone or failed: try again shortly.
            IdentityError::Crypto(crypto) => Self::Unavailable(crypto.to_string()),
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<serde_json::Error> for SignInError {
    fn from(e: serde_json::Error) -> Self {
        Self::Internal(format!("flow or session record: {e}"))
    }
}
