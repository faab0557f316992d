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

/// A configured value a domain refuses: the settings structs are the config sections, so
/// their checks name the operator's key (`mfa.hard_limit`) and say why in words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("configuration key `{key}`: {reason}")]
pub struct InvalidSetting {
    pub key: &'static str,
    pub reason: &'static str,
}

impl InvalidSetting {
    pub const fn new(key: &'static str, reason: &'static str) -> Self {
        Self { key, reason }
    }
}
