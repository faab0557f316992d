//! Keyed hashing of opaque high-entropy tokens (client secrets, refresh tokens, codes, PATs)
//! with HMAC-SHA-256 under a server key.
//!
//! Not a password hash on purpose: these tokens carry ≥ 256 random bits, so brute force is
//! hopeless and a slow KDF would only cost latency on hot paths. The key means a database
//! dump alone does not let anyone test guesses or recognize tokens seen elsewhere.

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use zeroize::Zeroizing;

use crate::CryptoError;

pub const TOKEN_HASH_KEY_LEN: usize = 32;

pub struct TokenHasher {
    key: hmac::Key,
}

impl TokenHasher {
    pub fn new(key: &[u8; TOKEN_HASH_KEY_LEN]) -> TokenHasher {
        TokenHasher {
            key: hmac::Key::new(hmac::HMAC_SHA256, key),
        }
    }

    /// Standard (padded) or URL-safe (unpadded) base64 of exactly 32 bytes.
    pub fn from_base64(text: &str) -> Result<TokenHasher, CryptoError> {
        let text = text.trim();
        let decoded = Zeroizing::new(
            STANDARD
                .decode(text)
                .or_else(|_| URL_SAFE_NO_PAD.decode(text))
                .map_err(|_| CryptoError::InvalidHashKey)?,
        );
        let key: &[u8; TOKEN_HASH_KEY_LEN] = decoded
            .as_slice()
            .try_into()
            .map_err(|_| CryptoError::InvalidHashKey)?;
        Ok(TokenHasher::new(key))
    }

    /// Lowercase hex of HMAC-SHA-256(key, token): 64 characters, safe to index and to log.
    pub fn hash(&self, token: &str) -> String {
        hex::encode(self.mac(token))
    }

    /// HMAC-SHA-256(key, token) as bytes, for identifiers derived from a secret.
    pub fn mac(&self, token: &str) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(hmac::sign(&self.key, token.as_bytes()).as_ref());
        out
    }

    /// Constant-time comparison of the token's MAC with a stored hex hash (as produced by
    /// [`TokenHasher::hash`]); a malformed stored value is simply "no match".
    pub fn verify(&self, token: &str, expected_hex: &str) -> bool {
        let mut expected = [0u8; 32];
        if hex::decode_to_slice(expected_hex, &mut expected).is_err() {
            return false;
        }
        hmac::verify(&self.key, token.as_bytes(), &expected).is_ok()
    }
}

impl std::fmt::Debug for TokenHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenHasher(***)")
    }
}

#[cfg(test)]
mod tests;
