//! Signing keys: generation into encrypted records, and the in-memory [`KeyRing`] built from
//! them (signers, verifiers, the pre-serialized JWKS). Rotation lives in [`manager`].

mod manager;
pub(crate) mod material;

use std::collections::HashMap;
use std::sync::Arc;

use arc_swap::ArcSwap;
use bytes::Bytes;
use lanyard_core::model::{SigningAlg, SigningKeyRecord};
use lanyard_core::rng::random_token;
use lanyard_core::{Rng, Timestamp};
use serde::Serialize;

pub use manager::{KeyManager, RotationPolicy};
pub use material::PublicJwk;

use crate::CryptoError;
use crate::envelope::Kek;
use crate::jws::{Signer, Verifier};

/// Random bytes in a kid: 128 bits, so kids never collide and reveal nothing.
const KID_BYTES: usize = 16;

/// A fresh key id: 128 random bits, base64url (22 characters).
pub fn new_kid(rng: &dyn Rng) -> String {
    random_token(rng, KID_BYTES)
}

/// Generates a key pair for `alg` and seals its PKCS#8 form under `kek`, with the kid as
/// associated data so a ciphertext moved to another row does not decrypt. The key is
/// published from `now` and signs from `active_from`.
pub fn generate_signing_key(
    alg: SigningAlg,
    kid: String,
    kek: &Kek,
    now: Timestamp,
    active_from: Timestamp,
) -> Result<SigningKeyRecord, CryptoError> {
    let (key, pkcs8) = material::PrivateKey::generate(alg).ok_or(CryptoError::KeyGeneration)?;
    let jwk = key
        .public_jwk(alg, &kid)
        .ok_or(CryptoError::KeyGeneration)?;
    let public_jwk = serde_json::to_string(&jwk).map_err(|_| CryptoError::KeyGeneration)?;
    let private_key_encrypted = kek.encrypt(&pkcs8, kid.as_bytes())?;
    Ok(SigningKeyRecord {
        kid,
        alg,
        private_key_encrypted,
        public_jwk,
        created_at: now,
        active_from,
        retired_at: None,
        remove_after: None,
    })
}

/// The keys in force at one instant: one signer per algorithm, a verifier per published
/// key, and the JWK Set as bytes. Immutable; share it as `Arc<KeyRing>` (see
/// [`SharedKeyRing`]) and build a new one when the records or the time window change.
pub struct KeyRing {
    signers: Vec<Signer>,
    verifiers: HashMap<String, Verifier>,
    jwks: Bytes,
    loaded_at: Timestamp,
    next_transition: Option<Timestamp>,
}

#[derive(Serialize)]
struct JwkSet<'a> {
    keys: Vec<&'a PublicJwk>,
}

impl KeyRing {
    /// Decrypts and parses every published record. Any record that does not decrypt under
    /// `kek` fails the whole load (a wrong KEK must stop the server, R05), as does a stored
    /// public JWK that does not match its private key (a swapped row would otherwise let
    /// someone else's key verify our tokens).
    pub fn load(
        records: &[SigningKeyRecord],
        kek: &Kek,
        now: Timestamp,
    ) -> Result<KeyRing, CryptoError> {
        let mut published: Vec<(&SigningKeyRecord, PublicJwk)> = Vec::new();
        let mut verifiers = HashMap::new();
        let mut newest: HashMap<SigningAlg, (&SigningKeyRecord, material::PrivateKey)> =
            HashMap::new();
        for record in records.iter().filter(|r| r.is_published(now)) {
            let corrupt = |reason| CryptoError::CorruptKey {
                kid: record.kid.clone(),
                reason,
            };
            let pkcs8 = kek
                .decrypt(&record.private_key_encrypted, record.kid.as_bytes())
                .map_err(|_| CryptoError::KeyDecrypt {
                    kid: record.kid.clone(),
                })?;
            let key = material::PrivateKey::from_pkcs8(record.alg, &pkcs8)
                .ok_or_else(|| corrupt("private key is not a key of its algorithm"))?;
            let jwk = key
                .public_jwk(record.alg, &record.kid)
                .ok_or_else(|| corrupt("public key cannot be encoded"))?;
            let stored: PublicJwk = serde_json::from_str(&record.public_jwk)
                .map_err(|_| corrupt("stored public JWK does not parse"))?;
            if stored != jwk {
                return Err(corrupt("stored public JWK does not match the private key"));
            }
            let (alg, decoding_key) = jwk
                .decoding_key()
                .ok_or_else(|| corrupt("public JWK is not usable"))?;
            let verifier = Verifier::new(record.kid.clone(), alg, decoding_key);
            if verifiers.insert(record.kid.clone(), verifier).is_some() {
                return Err(corrupt("duplicate kid"));
            }
            published.push((record, jwk));
            if record.can_sign(now) {
                let is_newer = newest.get(&record.alg).is_none_or(|(current, _)| {
                    (record.active_from, record.created_at, &record.kid)
                        > (current.active_from, current.created_at, &current.kid)
                });
                if is_newer {
                    newest.insert(record.alg, (record, key));
                }
            }
        }
        // Newest first, so a cache-less reader meets the current key before the old one.
        published.sort_by(|(a, _), (b, _)| (b.active_from, &b.kid).cmp(&(a.active_from, &a.kid)));
        let jwks = serde_json::to_vec(&JwkSet {
            keys: published.iter().map(|(_, jwk)| jwk).collect(),
        })
        .map_err(|_| CryptoError::KeyGeneration)?;
        let mut signers: Vec<Signer> = newest
            .into_values()
            .map(|(record, key)| Signer::new(record.kid.clone(), record.alg, key))
            .collect();
        signers.sort_by_key(|s| s.alg().as_str());
        let next_transition = records
            .iter()
            .flat_map(|r| [Some(r.active_from), r.retired_at, r.remove_after])
            .flatten()
            .filter(|t| *t > now)
            .min();
        Ok(KeyRing {
            signers,
            verifiers,
            jwks: Bytes::from(jwks),
            loaded_at: now,
            next_transition,
        })
    }

    /// The newest key of `alg` that could sign at load time.
    pub fn signer(&self, alg: SigningAlg) -> Option<&Signer> {
        self.signers.iter().find(|s| s.alg() == alg)
    }

    /// The published key with this kid. Unknown kids (including hostile ones: paths, SQL,
    /// 8 KiB strings) are simply absent: the map is never a query.
    pub fn verifier(&self, kid: &str) -> Option<&Verifier> {
        self.verifiers.get(kid)
    }

    /// `{"keys":[...]}` of every published key, built once per load; clone the `Bytes`
    /// (a reference-count bump) to serve it.
    pub fn jwks_json(&self) -> &Bytes {
        &self.jwks
    }

    pub fn loaded_at(&self) -> Timestamp {
        self.loaded_at
    }

    /// The next instant at which this ring goes stale (a key starts or stops signing, or
    /// leaves the JWKS): reload at or after it, and at least periodically for changes made
    /// by other nodes.
    pub fn next_transition(&self) -> Option<Timestamp> {
        self.next_transition
    }

    pub fn kids(&self) -> impl Iterator<Item = &str> {
        self.verifiers.keys().map(String::as_str)
    }
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing")
            .field("signers", &self.signers)
            .field("published", &self.verifiers.len())
            .field("loaded_at", &self.loaded_at)
            .finish_non_exhaustive()
    }
}

/// The current ring, swapped atomically on reload; readers never block.
pub struct SharedKeyRing {
    current: ArcSwap<KeyRing>,
}

impl SharedKeyRing {
    pub fn new(ring: KeyRing) -> SharedKeyRing {
        SharedKeyRing {
            current: ArcSwap::from_pointee(ring),
        }
    }

    /// The ring now in force (one atomic reference-count bump).
    pub fn current(&self) -> Arc<KeyRing> {
        self.current.load_full()
    }

    pub fn replace(&self, ring: KeyRing) {
        self.current.store(Arc::new(ring));
    }
}

impl std::fmt::Debug for SharedKeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("SharedKeyRing")
            .field(&self.current.load())
            .finish()
    }
}

#[cfg(test)]
mod tests;
