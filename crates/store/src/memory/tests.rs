//! Unit tests for what only the memory store has: its bound, purging and TTL rounding.

use std::sync::Arc;
use std::time::Duration;

use lanyard_core::ports::EphemeralStore;
use lanyard_core::{ManualClock, StoreError, Timestamp};

use super::{MemoryStore, ttl_secs};

fn store(max: usize) -> (MemoryStore, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(Timestamp(1_000)));
    (MemoryStore::with_max_entries(clock.clone(), max), clock)
}

#[tokio::test]
async fn a_full_store_refuses_new_keys_but_overwrites_existing_ones() {
    let (store, _) = store(2);
    let ttl = Duration::from_secs(60);
    store.put("a", b"1", ttl).await.unwrap();
    store.put("b", b"2", ttl).await.unwrap();
    let err = store.put("c", b"3", ttl).await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert!(matches!(
        store.increment("c", ttl).await,
        Err(StoreError::Unavailable(_))
    ));
    store.put("a", b"again", ttl).await.unwrap();
    assert_eq!(
        store.get("a").await.unwrap().as_deref(),
        Some(&b"again"[..])
    );
}

#[tokio::test]
async fn a_full_store_makes_room_by_purging_expired_entries() {
    let (store, clock) = store(1);
    store
        .put("old", b"1", Duration::from_secs(5))
        .await
        .unwrap();
    clock.advance(5);
    store
        .put("new", b"2", Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(store.len(), 1);
}

#[tokio::test]
async fn purge_removes_only_expired_entries() {
    let (store, clock) = store(10);
    store
        .put("short", b"1", Duration::from_secs(10))
        .await
        .unwrap();
    store
        .put("long", b"2", Duration::from_secs(100))
        .await
        .unwrap();
    clock.advance(10);
    assert_eq!(store.len(), 2, "expired entries linger until purged");
    assert_eq!(store.purge_expired(), 1);
    assert_eq!(store.len(), 1);
    assert!(store.get("long").await.unwrap().is_some());
}

#[tokio::test]
async fn the_purger_task_empties_an_idle_store_and_stops_with_it() {
    let (store, clock) = store(10);
    store.put("k", b"v", Duration::from_secs(1)).await.unwrap();
    clock.advance(1);
    let task = store.spawn_purger(Duration::from_millis(10));
    for _ in 0..500 {
        if store.is_empty() {
            break;
        }
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    assert!(store.is_empty());
    drop(store);
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap();
}

#[test]
fn ttls_round_up_to_whole_seconds() {
    assert_eq!(ttl_secs(Duration::ZERO), 1);
    assert_eq!(ttl_secs(Duration::from_millis(1)), 1);
    assert_eq!(ttl_secs(Duration::from_millis(1_001)), 2);
    assert_eq!(ttl_secs(Duration::from_secs(60)), 60);
    assert_eq!(ttl_secs(Duration::MAX), i64::MAX);
}
