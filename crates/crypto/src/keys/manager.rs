//! Key life cycle over the `SigningKeyRepo` port: first-start creation, rotation (new key
//! published before it signs, old key kept until its tokens expire), pruning, and loading
//! the ring (OIDC Core §10.1.1, test plan R05).
//!
//! Rotation is not coordinated between nodes here: run the scheduled job on one node (or
//! accept that two nodes rotating at once publish one extra key, which is harmless).

use std::sync::Arc;

use lanyard_core::model::{SigningAlg, SigningKeyRecord};
use lanyard_core::ports::SigningKeyRepo;
use lanyard_core::{Clock, Rng, Timestamp};

use super::{KeyRing, generate_signing_key, new_kid};
use crate::CryptoError;
use crate::envelope::Kek;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotationPolicy {
    /// Scheduled rotation: how long a new key is in the JWKS before it signs, so relying
    /// parties with a cached JWKS have refetched it.
    pub publish_ahead_secs: i64,
    /// Explicit `rotate` (operator, CLI): the shortest delay that still lets every node
    /// reload its ring before the new key signs. Never zero: a key must be published
    /// before it signs.
    pub propagation_delay_secs: i64,
    /// How long a retired key stays published: at least the longest token lifetime plus
    /// leeway plus the ring reload interval, so every token it signed still verifies.
    pub max_token_ttl_secs: i64,
    /// Scheduled rotation period; `None` rotates only on demand.
    pub rotate_every_secs: Option<i64>,
}

impl Default for RotationPolicy {
    fn default() -> Self {
        Self {
            publish_ahead_secs: 3_600,
            propagation_delay_secs: 60,
            max_token_ttl_secs: 86_400,
            rotate_every_secs: None,
        }
    }
}

pub struct KeyManager {
    repo: Arc<dyn SigningKeyRepo>,
    kek: Kek,
    clock: Arc<dyn Clock>,
    rng: Arc<dyn Rng>,
    policy: RotationPolicy,
}

impl KeyManager {
    pub fn new(
        repo: Arc<dyn SigningKeyRepo>,
        kek: Kek,
        clock: Arc<dyn Clock>,
        rng: Arc<dyn Rng>,
        policy: RotationPolicy,
    ) -> KeyManager {
        KeyManager {
            repo,
            kek,
            clock,
            rng,
            policy,
        }
    }

    pub fn policy(&self) -> &RotationPolicy {
        &self.policy
    }

    /// For every algorithm with no key able to sign now, creates one that signs at once.
    /// On first start nothing has been issued yet, so there is nothing to publish ahead of.
    /// Returns the created records.
    pub async fn ensure_keys(&self) -> Result<Vec<SigningKeyRecord>, CryptoError> {
        let now = self.clock.now();
        let records = self.repo.list_signing_keys().await?;
        let mut created = Vec::new();
        for alg in SigningAlg::ALL {
            if !records.iter().any(|r| r.alg == alg && r.can_sign(now)) {
                let record = self.generate(alg, now, now).await?;
                self.repo.insert_signing_key(&record).await?;
                tracing::info!(kid = %record.kid, alg = alg.as_str(), "created signing key");
                created.push(record);
            }
        }
        Ok(created)
    }

    /// Operator rotation of one algorithm or all: the new key signs after
    /// `propagation_delay_secs`, when the previous ones retire.
    pub async fn rotate(
        &self,
        alg: Option<SigningAlg>,
    ) -> Result<Vec<SigningKeyRecord>, CryptoError> {
        let algs = match alg {
            Some(alg) => vec![alg],
            None => SigningAlg::ALL.to_vec(),
        };
        let delay = self.policy.propagation_delay_secs.max(1);
        let records = self.repo.list_signing_keys().await?;
        let mut created = Vec::new();
        for alg in algs {
            created.push(self.rotate_one(alg, delay, &records).await?);
        }
        Ok(created)
    }

    /// Scheduled rotation: for each algorithm whose newest key will have signed for
    /// `rotate_every_secs` within `publish_ahead_secs`, publishes its successor now so it
    /// takes over on time. Does nothing without a period.
    pub async fn rotate_if_due(&self) -> Result<Vec<SigningKeyRecord>, CryptoError> {
        let Some(every) = self.policy.rotate_every_secs else {
            return Ok(Vec::new());
        };
        let now = self.clock.now();
        let ahead = self.policy.publish_ahead_secs.max(1);
        let records = self.repo.list_signing_keys().await?;
        let mut created = Vec::new();
        for alg in SigningAlg::ALL {
            let newest = records
                .iter()
                .filter(|r| r.alg == alg)
                .map(|r| r.active_from)
                .max();
            let due = newest.is_some_and(|from| now >= from.plus_secs(every).minus_secs(ahead));
            if due {
                created.push(self.rotate_one(alg, ahead, &records).await?);
            }
        }
        Ok(created)
    }

    /// Emergency removal of a compromised key: it leaves the JWKS at the next ring load and
    /// its tokens fail from then on. A replacement that signs at once is created when the
    /// algorithm would otherwise have none. True when the key existed.
    pub async fn revoke(&self, kid: &str) -> Result<bool, CryptoError> {
        let deleted = self.repo.delete_signing_key(kid).await?;
        if deleted {
            tracing::warn!(kid, "signing key revoked");
            self.ensure_keys().await?;
        }
        Ok(deleted)
    }

    /// Deletes keys past `remove_after`; returns how many.
    pub async fn prune(&self) -> Result<u64, CryptoError> {
        let now = self.clock.now();
        let mut removed = 0;
        for record in self.repo.list_signing_keys().await? {
            if record.remove_after.is_some_and(|t| now >= t)
                && self.repo.delete_signing_key(&record.kid).await?
            {
                tracing::info!(kid = %record.kid, "removed retired signing key");
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Builds the ring as of now from the stored records (decrypting and parsing keys, a few
    /// milliseconds for RSA, so off the async workers).
    pub async fn load_ring(&self) -> Result<KeyRing, CryptoError> {
        let records = self.repo.list_signing_keys().await?;
        let kek = self.kek.clone();
        let now = self.clock.now();
        tokio::task::spawn_blocking(move || KeyRing::load(&records, &kek, now))
            .await
            .map_err(|_| CryptoError::KeyGeneration)?
    }

    /// Inserts a successor of `alg` signing from now + `delay`, then retires every older key
    /// of `alg` at that instant. Insert first: a crash in between leaves an extra published
    /// key, never a gap.
    async fn rotate_one(
        &self,
        alg: SigningAlg,
        delay: i64,
        records: &[SigningKeyRecord],
    ) -> Result<SigningKeyRecord, CryptoError> {
        let now = self.clock.now();
        let active_from = now.plus_secs(delay);
        let record = self.generate(alg, now, active_from).await?;
        self.repo.insert_signing_key(&record).await?;
        let remove_after = active_from.plus_secs(self.policy.max_token_ttl_secs);
        for old in records
            .iter()
            .filter(|r| r.alg == alg && r.retired_at.is_none_or(|t| t > active_from))
        {
            self.repo
                .update_signing_key_retirement(&old.kid, active_from, remove_after)
                .await?;
        }
        tracing::info!(kid = %record.kid, alg = alg.as_str(), active_from = active_from.seconds(), "rotated signing key");
        Ok(record)
    }

    /// Key generation (RSA: up to a second) runs off the async workers.
    async fn generate(
        &self,
        alg: SigningAlg,
        now: Timestamp,
        active_from: Timestamp,
    ) -> Result<SigningKeyRecord, CryptoError> {
        let kid = new_kid(self.rng.as_ref());
        let kek = self.kek.clone();
        tokio::task::spawn_blocking(move || generate_signing_key(alg, kid, &kek, now, active_from))
            .await
            .map_err(|_| CryptoError::KeyGeneration)?
    }
}

impl std::fmt::Debug for KeyManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyManager")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}
