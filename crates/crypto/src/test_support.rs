//! Shared fixtures for the unit tests: a fixed KEK, one key per algorithm generated once per
//! test binary, and an in-memory `SigningKeyRepo`.

use std::sync::{Mutex, OnceLock};

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use lanyard_core::model::{SigningAlg, SigningKeyRecord};
use lanyard_core::ports::SigningKeyRepo;
use lanyard_core::{StoreError, Timestamp};
use serde_json::json;

use crate::envelope::Kek;
use crate::jws::Validation;
use crate::keys::{KeyRing, generate_signing_key};

pub(crate) const ISSUER: &str = "https://id.example.com";
pub(crate) const AUDIENCE: &str = "https://api.example.com";
pub(crate) const NOW: Timestamp = Timestamp(1_800_000_000);

pub(crate) fn kek() -> Kek {
    Kek::from_bytes([7u8; 32])
}

/// One key per algorithm, kid = the algorithm name, signing since NOW - 100 (RSA generation
/// is slow, so once per test binary).
pub(crate) fn records() -> &'static [SigningKeyRecord] {
    static RECORDS: OnceLock<Vec<SigningKeyRecord>> = OnceLock::new();
    RECORDS.get_or_init(|| {
        SigningAlg::ALL
            .iter()
            .map(|alg| {
                let start = NOW.minus_secs(100);
                generate_signing_key(*alg, format!("kid-{}", alg.as_str()), &kek(), start, start)
                    .unwrap()
            })
            .collect()
    })
}

pub(crate) fn ring() -> &'static KeyRing {
    static RING: OnceLock<KeyRing> = OnceLock::new();
    RING.get_or_init(|| KeyRing::load(records(), &kek(), NOW).unwrap())
}

pub(crate) fn validation() -> Validation<'static> {
    Validation {
        issuer: ISSUER,
        audience: Some(AUDIENCE),
        leeway_secs: 30,
        now: NOW,
    }
}

/// Claims of a valid access token at NOW.
pub(crate) fn claims() -> serde_json::Value {
    json!({
        "iss": ISSUER,
        "sub": "user-1",
        "aud": AUDIENCE,
        "exp": NOW.seconds() + 300,
        "iat": NOW.seconds(),
        "jti": "jti-1",
        "client_id": "app",
    })
}

pub(crate) fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A `SigningKeyRepo` over a vector.
#[derive(Default)]
pub(crate) struct MemoryKeys {
    pub keys: Mutex<Vec<SigningKeyRecord>>,
}

impl MemoryKeys {
    pub fn snapshot(&self) -> Vec<SigningKeyRecord> {
        self.keys.lock().unwrap().clone()
    }
}

#[async_trait]
impl SigningKeyRepo for MemoryKeys {
    async fn insert_signing_key(&self, key: &SigningKeyRecord) -> Result<(), StoreError> {
        let mut keys = self.keys.lock().unwrap();
        if keys.iter().any(|k| k.kid == key.kid) {
            return Err(StoreError::Conflict("kid".into()));
        }
        keys.push(key.clone());
        Ok(())
    }

    async fn list_signing_keys(&self) -> Result<Vec<SigningKeyRecord>, StoreError> {
        Ok(self.snapshot())
    }

    async fn update_signing_key_retirement(
        &self,
        kid: &str,
        retired_at: Timestamp,
        remove_after: Timestamp,
    ) -> Result<(), StoreError> {
        let mut keys = self.keys.lock().unwrap();
        let key = keys
            .iter_mut()
            .find(|k| k.kid == kid)
            .ok_or(StoreError::NotFound)?;
        key.retired_at = Some(retired_at);
        key.remove_after = Some(remove_after);
        Ok(())
    }

    async fn delete_signing_key(&self, kid: &str) -> Result<bool, StoreError> {
        let mut keys = self.keys.lock().unwrap();
        let before = keys.len();
        keys.retain(|k| k.kid != kid);
        Ok(keys.len() < before)
    }
}
