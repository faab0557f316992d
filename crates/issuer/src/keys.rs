//! The signing keys as operators see them (the CLI's `lanyard keys` and the admin API):
//! list the public half, rotate, retire a key at once. Each change is audited here, so both
//! callers record `key.rotated` / `key.retired`, and this node's ring is reloaded at once
//! (the others reload on their `keys.reload_every_secs` tick).

use std::sync::Arc;

use lanyard_core::model::{AuditEvent, SigningAlg};
use lanyard_core::ports::SigningKeyRepo;
use lanyard_core::{Auditor, Clock, Origin, StoreError, Timestamp};
use lanyard_crypto::CryptoError;
use lanyard_crypto::keys::{KeyManager, SharedKeyRing};

/// The public facts of one key; never its private half.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    pub kid: String,
    pub alg: SigningAlg,
    pub created_at: Timestamp,
    pub active_from: Timestamp,
    pub retired_at: Option<Timestamp>,
    pub remove_after: Option<Timestamp>,
    /// The public JWK as JSON text.
    pub public_jwk: String,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("keys: {0}")]
    Crypto(#[from] CryptoError),
}

pub struct KeyService {
    manager: Arc<KeyManager>,
    repo: Arc<dyn SigningKeyRepo>,
    ring: Arc<SharedKeyRing>,
    audit: Auditor,
    clock: Arc<dyn Clock>,
}

impl KeyService {
    pub fn new(
        manager: Arc<KeyManager>,
        repo: Arc<dyn SigningKeyRepo>,
        ring: Arc<SharedKeyRing>,
        audit: Auditor,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            manager,
            repo,
            ring,
            audit,
            clock,
        }
    }

    /// Every stored key, oldest first.
    pub async fn list(&self) -> Result<Vec<KeyInfo>, KeyError> {
        let mut keys: Vec<KeyInfo> = self
            .repo
            .list_signing_keys()
            .await?
            .into_iter()
            .map(|r| KeyInfo {
                kid: r.kid,
                alg: r.alg,
                created_at: r.created_at,
                active_from: r.active_from,
                retired_at: r.retired_at,
                remove_after: r.remove_after,
                public_jwk: r.public_jwk,
            })
            .collect();
        keys.sort_by(|a, b| (a.created_at, &a.kid).cmp(&(b.created_at, &b.kid)));
        Ok(keys)
    }

    /// Publishes a successor for `alg` (or every algorithm); it signs after the
    /// propagation delay, when its predecessors retire.
    pub async fn rotate(
        &self,
        alg: Option<SigningAlg>,
        origin: &Origin,
    ) -> Result<Vec<KeyInfo>, KeyError> {
        let created = self.manager.rotate(alg).await?;
        for key in &created {
            let event = AuditEvent::new(self.clock.now(), "key.rotated", "success")
                .subject(format!("key:{}", key.kid))
                .reason(key.alg.as_str());
            self.audit.record(event, origin).await;
        }
        self.reload().await?;
        let kids: Vec<&str> = created.iter().map(|k| k.kid.as_str()).collect();
        Ok(self
            .list()
            .await?
            .into_iter()
            .filter(|k| kids.contains(&k.kid.as_str()))
            .collect())
    }

    /// Removes a key at once (a compromised key): it leaves the JWKS and its tokens stop
    /// verifying. False when there was no such key.
    pub async fn retire(&self, kid: &str, origin: &Origin) -> Result<bool, KeyError> {
        let removed = self.manager.revoke(kid).await?;
        if removed {
            let event = AuditEvent::new(self.clock.now(), "key.retired", "success")
                .subject(format!("key:{kid}"));
            self.audit.record(event, origin).await;
            self.reload().await?;
        }
        Ok(removed)
    }

    async fn reload(&self) -> Result<(), KeyError> {
        self.ring.replace(self.manager.load_ring().await?);
        Ok(())
    }
}
