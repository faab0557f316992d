//! A signing key as stored: the private half is ciphertext under the key-encryption key.

use serde::{Deserialize, Serialize};

use crate::Timestamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SigningAlg {
    RS256,
    ES256,
    EdDSA,
}

impl SigningAlg {
    pub const ALL: [SigningAlg; 3] = [SigningAlg::RS256, SigningAlg::ES256, SigningAlg::EdDSA];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::RS256 => "RS256",
            Self::ES256 => "ES256",
            Self::EdDSA => "EdDSA",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "RS256" => Some(Self::RS256),
            "ES256" => Some(Self::ES256),
            "EdDSA" => Some(Self::EdDSA),
            _ => None,
        }
    }
}

/// Life cycle: published at `created_at`; signs from `active_from` (after every node and
/// relying party had time to fetch the JWKS); stops signing at `retired_at` when a newer key
/// takes over; leaves the JWKS at `remove_after`, once every token it signed has expired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKeyRecord {
    pub kid: String,
    pub alg: SigningAlg,
    /// AEAD ciphertext of the PKCS#8 private key (nonce-prefixed).
    pub private_key_encrypted: Vec<u8>,
    /// The public JWK as JSON text.
    pub public_jwk: String,
    pub created_at: Timestamp,
    pub active_from: Timestamp,
    pub retired_at: Option<Timestamp>,
    pub remove_after: Option<Timestamp>,
}

impl SigningKeyRecord {
    pub fn is_published(&self, now: Timestamp) -> bool {
        self.remove_after.is_none_or(|t| now < t)
    }

    pub fn can_sign(&self, now: Timestamp) -> bool {
        now >= self.active_from && self.retired_at.is_none_or(|t| now < t)
    }
}
