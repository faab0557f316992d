//! [`RoutingStore`]: one [`EphemeralStore`] over two, chosen per key by its family's
//! [`Durability`] (decided in `lanyard_core::ephemeral_key`, nowhere else). In production
//! the volatile families live in Redis (fast, shared, keeps nothing on disk) and the
//! durable ones, whose absence would mean "allowed" (revoked token ids, used client
//! assertions, replayed codes, "sign out everywhere"), in the database, so a Redis restart
//! reopens nothing.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use lanyard_core::ports::EphemeralStore;
use lanyard_core::{Durability, StoreError};

#[derive(Clone)]
pub struct RoutingStore {
    durable: Arc<dyn EphemeralStore>,
    volatile: Arc<dyn EphemeralStore>,
}

impl std::fmt::Debug for RoutingStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoutingStore").finish_non_exhaustive()
    }
}

impl RoutingStore {
    /// `durable` must survive restarts (the database); `volatile` may lose keys (Redis).
    pub fn new(durable: Arc<dyn EphemeralStore>, volatile: Arc<dyn EphemeralStore>) -> Self {
        Self { durable, volatile }
    }

    fn for_key(&self, key: &str) -> &dyn EphemeralStore {
        match Durability::of_rendered(key) {
            Durability::Durable => &*self.durable,
            Durability::Volatile => &*self.volatile,
        }
    }
}

#[async_trait]
impl EphemeralStore for RoutingStore {
    async fn put(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), StoreError> {
        self.for_key(key).put(key, value, ttl).await
    }

    async fn put_if_absent(
        &self,
        key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        self.for_key(key).put_if_absent(key, value, ttl).await
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.for_key(key).get(key).await
    }

    async fn take(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.for_key(key).take(key).await
    }

    async fn delete(&self, key: &str) -> Result<bool, StoreError> {
        self.for_key(key).delete(key).await
    }

    async fn increment(&self, key: &str, ttl: Duration) -> Result<u64, StoreError> {
        self.for_key(key).increment(key, ttl).await
    }
}

#[cfg(test)]
mod tests {
    use lanyard_core::{ClientId, EphemeralKey, ManualClock, Timestamp};

    use super::*;
    use crate::MemoryStore;

    #[tokio::test]
    async fn durable_families_go_to_the_durable_store_and_the_rest_to_the_volatile_one() {
        let clock = Arc::new(ManualClock::new(Timestamp(1_700_000_000)));
        let durable = Arc::new(MemoryStore::new(clock.clone()));
        let volatile = Arc::new(MemoryStore::new(clock));
        let routed = RoutingStore::new(durable.clone(), volatile.clone());
        let client = ClientId::parse("rp").unwrap();
        let minute = Duration::from_secs(60);
        let revoked = EphemeralKey::RevokedJti("abc").to_string();
        let jti = EphemeralKey::AssertionJti {
            client: &client,
            jti: "h",
        }
        .to_string();
        let session = EphemeralKey::Session("h").to_string();
        routed.put(&revoked, b"1", minute).await.unwrap();
        assert!(routed.put_if_absent(&jti, b"1", minute).await.unwrap());
        routed.put(&session, b"s", minute).await.unwrap();
        assert_eq!(
            routed
                .increment("signin_fail_ip:192.0.2.1", minute)
                .await
                .unwrap(),
            1
        );
        assert!(durable.get(&revoked).await.unwrap().is_some());
        assert!(durable.get(&jti).await.unwrap().is_some());
        assert!(volatile.get(&session).await.unwrap().is_some());
        assert_eq!((durable.len(), volatile.len()), (2, 2));
        assert_eq!(
            routed.take(&session).await.unwrap().as_deref(),
            Some(&b"s"[..])
        );
        assert!(routed.delete(&revoked).await.unwrap());
        assert_eq!((durable.len(), volatile.len()), (1, 1));
    }
}
