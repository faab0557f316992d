//! The crate's two error enums. Messages name what failed, never key, password or token
//! material: they end up in logs and, for `JwtError`, may drive an HTTP 401 body.

use lanyard_core::StoreError;

/// Failures of key handling, hashing and signing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// The configured key-encryption key is not 32 bytes of base64.
    #[error("the key-encryption key must be 32 bytes, base64-encoded")]
    InvalidKek,
    /// AEAD open failed: wrong KEK, wrong associated data or tampered ciphertext.
    #[error("decryption failed: wrong key or tampered ciphertext")]
    Decrypt,
    /// AEAD seal failed (only possible for absurdly large inputs).
    #[error("encryption failed")]
    Encrypt,
    /// The token-hash key is not 32 bytes.
    #[error("the token-hash key must be 32 bytes")]
    InvalidHashKey,
    /// Refused before hashing: argon2 over megabytes is a denial-of-service lever (S51).
    #[error("password is too long")]
    PasswordTooLong,
    #[error("password is shorter than {min} characters")]
    PasswordTooShort { min: usize },
    /// A stored password hash is not a PHC string argon2 understands (bug or tampering).
    #[error("stored password hash is not a valid argon2 PHC string")]
    InvalidPasswordHash,
    #[error("invalid password policy: {0}")]
    InvalidPolicy(&'static str),
    #[error("password hashing failed")]
    PasswordHash,
    /// The hashing threads are gone (shutting down) or could not be started.
    #[error("password hashing pool unavailable")]
    PoolUnavailable,
    /// The hashing queue is full, or the hash waited its longest: sign-ins beyond what the
    /// node can hash are refused, never queued without bound.
    #[error("password hashing is busy; retry in {retry_after_secs} s")]
    Busy { retry_after_secs: u64 },
    #[error("key generation failed")]
    KeyGeneration,
    /// A signing key record could not be decrypted: a wrong KEK must stop the server.
    #[error("signing key {kid} could not be decrypted: wrong KEK or corrupt record")]
    KeyDecrypt { kid: String },
    /// A signing key record decrypted but is inconsistent (wrong algorithm, public JWK not
    /// matching the private key, ...).
    #[error("signing key {kid} is corrupt: {reason}")]
    CorruptKey { kid: String, reason: &'static str },
    #[error("signing failed")]
    Sign,
    #[error("JWT claims could not be serialized")]
    SerializeClaims,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a JWT was rejected. Every variant maps to `invalid_token` / `invalid_client` at the
/// edge; the distinction is for logs and tests only.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwtError {
    /// Longer than [`crate::jws::MAX_TOKEN_LEN`]; refused before any parsing.
    #[error("token too long")]
    TooLong,
    /// Not three base64url segments, or a header/claims segment that is not a JSON object
    /// of the expected shape (duplicate members included).
    #[error("malformed token")]
    Malformed,
    /// The header names an algorithm other than the one bound to the key.
    #[error("algorithm not allowed for this key")]
    AlgorithmMismatch,
    /// No key for this `kid` (or no `kid` where one is needed).
    #[error("unknown signing key")]
    UnknownKey,
    /// `crit` lists extensions; we understand none (RFC 7515 §4.1.11).
    #[error("unsupported critical header")]
    UnsupportedCritical,
    /// `typ` differs from what this kind of token must carry (RFC 8725 §3.11).
    #[error("wrong token type")]
    WrongType,
    #[error("invalid signature")]
    BadSignature,
    #[error("missing claim {0}")]
    MissingClaim(&'static str),
    #[error("token expired")]
    Expired,
    #[error("token not yet valid")]
    NotYetValid,
    #[error("token issued in the future")]
    IssuedInFuture,
    #[error("wrong issuer")]
    WrongIssuer,
    #[error("wrong audience")]
    WrongAudience,
    /// The claims are valid JSON but do not fit the caller's claims type. The serde message
    /// is dropped on purpose: it can quote claim values.
    #[error("claims do not match the expected shape")]
    InvalidClaims,
    /// The client's registered JWKS is unusable (no signing key, unsupported key type).
    #[error("client key set unusable")]
    InvalidClientKeys,
}
