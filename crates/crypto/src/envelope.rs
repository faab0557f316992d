//! Envelope encryption of secrets at rest (signing keys, TOTP seeds) under the operator's
//! key-encryption key, with AES-256-GCM from aws-lc-rs.
//!
//! Wire format: `nonce (12 bytes) || ciphertext || tag (16 bytes)`. The nonce is drawn by
//! aws-lc-rs itself (`RandomizedNonceKey`), not by the injected `Rng`: a deterministic test
//! RNG must never be able to cause nonce reuse under a real key. Random 96-bit nonces are
//! safe for far more than the few thousand records one KEK will ever seal (NIST SP 800-38D
//! §8.3 bounds it at 2^32 messages).

use aws_lc_rs::aead::{AES_256_GCM, Aad, NONCE_LEN, Nonce, RandomizedNonceKey};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use lanyard_core::Rng;
use zeroize::Zeroizing;

use crate::CryptoError;

/// Length of a KEK in bytes (AES-256).
pub const KEK_LEN: usize = 32;

/// The key-encryption key. `Debug` is redacted and the bytes are wiped on drop.
#[derive(Clone)]
pub struct Kek {
    bytes: Zeroizing<[u8; KEK_LEN]>,
}

impl Kek {
    pub fn generate(rng: &dyn Rng) -> Kek {
        let mut bytes = Zeroizing::new([0u8; KEK_LEN]);
        rng.fill(bytes.as_mut());
        Kek { bytes }
    }

    pub fn from_bytes(bytes: [u8; KEK_LEN]) -> Kek {
        Kek {
            bytes: Zeroizing::new(bytes),
        }
    }

    /// Accepts standard (padded) or URL-safe (unpadded) base64 of exactly 32 bytes, so an
    /// operator can paste the output of `openssl rand -base64 32` or of [`Kek::to_base64`].
    pub fn from_base64(text: &str) -> Result<Kek, CryptoError> {
        let text = text.trim();
        let decoded = Zeroizing::new(
            STANDARD
                .decode(text)
                .or_else(|_| URL_SAFE_NO_PAD.decode(text))
                .map_err(|_| CryptoError::InvalidKek)?,
        );
        let bytes: [u8; KEK_LEN] = decoded
            .as_slice()
            .try_into()
            .map_err(|_| CryptoError::InvalidKek)?;
        Ok(Kek::from_bytes(bytes))
    }

    /// Standard padded base64 (what `lanyard keygen` prints).
    pub fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(STANDARD.encode(self.bytes.as_ref()))
    }

    fn aead_key(&self) -> Result<RandomizedNonceKey, CryptoError> {
        // Building the key schedule per call costs well under a microsecond and keeps the
        // expanded key out of long-lived memory.
        RandomizedNonceKey::new(&AES_256_GCM, self.bytes.as_ref())
            .map_err(|_| CryptoError::InvalidKek)
    }

    /// Seals `plaintext`; `aad` binds the ciphertext to its context (a kid, a row id) so a
    /// ciphertext copied to another row fails to open.
    pub fn encrypt(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let key = self.aead_key()?;
        let mut in_out = Vec::with_capacity(plaintext.len() + AES_256_GCM.tag_len());
        in_out.extend_from_slice(plaintext);
        let nonce = key
            .seal_in_place_append_tag(Aad::from(aad), &mut in_out)
            .map_err(|_| CryptoError::Encrypt)?;
        let mut out = Vec::with_capacity(NONCE_LEN + in_out.len());
        out.extend_from_slice(nonce.as_ref());
        out.extend_from_slice(&in_out);
        Ok(out)
    }

    /// Opens what [`Kek::encrypt`] sealed with the same `aad`. A wrong key, a different `aad`
    /// or any flipped bit is [`CryptoError::Decrypt`].
    pub fn decrypt(&self, sealed: &[u8], aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        if sealed.len() < NONCE_LEN + AES_256_GCM.tag_len() {
            return Err(CryptoError::Decrypt);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| CryptoError::Decrypt)?;
        let key = self.aead_key()?;
        let mut in_out = Zeroizing::new(ciphertext.to_vec());
        let plaintext_len = key
            .open_in_place(nonce, Aad::from(aad), in_out.as_mut_slice())
            .map_err(|_| CryptoError::Decrypt)?
            .len();
        in_out.truncate(plaintext_len);
        Ok(in_out)
    }
}

impl std::fmt::Debug for Kek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Kek(***)")
    }
}

#[cfg(test)]
mod tests;
