//! The error every port returns. Services wrap it into their own error enums.

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A unique key is already taken (email, client id, kid, ...).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The backend can't be reached; callers fail closed with 503.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A stored value could not be decoded; a bug or tampering, never user input.
    #[error("corrupt record: {0}")]
    Corrupt(String),
    #[error("store error: {0}")]
    Other(String),
}
