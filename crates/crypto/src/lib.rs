//! Lanyard's one place for key material and signatures: envelope encryption under the KEK,
//! keyed hashing of opaque tokens, argon2id passwords on a bounded pool, signing keys and
//! their rotation, and the single JWS sign/verify path.
//!
//! No cryptography is implemented here: AES-GCM, HMAC, ECDSA, RSA and Ed25519 come from
//! aws-lc-rs, argon2id from `argon2`, and JWS signature verification from `jsonwebtoken`.

pub mod envelope;
mod error;
pub mod jws;
pub mod keys;
pub mod password;
pub mod successor_seal;
pub mod token_hash;

pub use envelope::Kek;
pub use error::{CryptoError, JwtError};
pub use jws::{Signer, Validation, Verifier, verify_client_assertion, verify_jwt};
pub use keys::{KeyManager, KeyRing, RotationPolicy, SharedKeyRing, generate_signing_key};
pub use password::{PasswordCheck, PasswordHasher, PasswordPolicy};
pub use successor_seal::{open_successor, seal_successor};
pub use token_hash::TokenHasher;

#[cfg(test)]
mod test_support;
