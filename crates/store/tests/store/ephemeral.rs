//! Contract cases for EphemeralStore: MemoryStore and the database's store on SQLite always,
//! RedisStore and the database's store on PostgreSQL when configured.

use std::sync::Arc;
use std::time::Duration;

use lanyard_core::OsRng;
use lanyard_core::ports::EphemeralStore as _;
use lanyard_store::{RedisStore, SqlStore};
use tokio::sync::Barrier;

use crate::support::Ephemeral;

const MINUTE: Duration = Duration::from_secs(60);

ephemeral_contract!(
    put_then_get_returns_the_latest_value,
    take_returns_the_value_exactly_once,
    twenty_concurrent_takes_yield_one_value,
    put_if_absent_stores_only_the_first,
    twenty_concurrent_put_if_absent_admit_one,
    delete_reports_whether_it_removed,
    increment_counts_from_one,
    increment_keeps_the_ttl_of_the_first_increment,
    entries_expire_after_their_ttl,
    put_if_absent_keeps_the_original_expiry,
    keys_with_odd_bytes_are_distinct_and_work,
    large_and_empty_values_round_trip,
    an_expired_entry_is_absent_for_every_operation,
);

async fn put_then_get_returns_the_latest_value(eph: &Ephemeral) {
    let s = &eph.store;
    assert_eq!(s.get("k").await.unwrap(), None);
    s.put("k", b"one", MINUTE).await.unwrap();
    assert_eq!(s.get("k").await.unwrap().as_deref(), Some(&b"one"[..]));
    s.put("k", b"two", MINUTE).await.unwrap();
    assert_eq!(s.get("k").await.unwrap().as_deref(), Some(&b"two"[..]));
    assert_eq!(
        s.get("k").await.unwrap().as_deref(),
        Some(&b"two"[..]),
        "get keeps it"
    );
}

async fn take_returns_the_value_exactly_once(eph: &Ephemeral) {
    let s = &eph.store;
    s.put("code", b"grant", MINUTE).await.unwrap();
    assert_eq!(
        s.take("code").await.unwrap().as_deref(),
        Some(&b"grant"[..])
    );
    assert_eq!(s.take("code").await.unwrap(), None);
    assert_eq!(s.get("code").await.unwrap(), None);
    assert_eq!(s.take("never").await.unwrap(), None);
}

async fn twenty_concurrent_takes_yield_one_value(eph: &Ephemeral) {
    eph.store.put("code", b"grant", MINUTE).await.unwrap();
    let barrier = Arc::new(Barrier::new(20));
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (store, barrier) = (eph.store.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                store.take("code").await
            })
        })
        .collect();
    let mut winners = 0;
    for task in tasks {
        if let Some(value) = task.await.unwrap().unwrap() {
            assert_eq!(value, b"grant");
            winners += 1;
        }
    }
    assert_eq!(winners, 1);
}

async fn put_if_absent_stores_only_the_first(eph: &Ephemeral) {
    let s = &eph.store;
    assert!(s.put_if_absent("jti", b"first", MINUTE).await.unwrap());
    assert!(!s.put_if_absent("jti", b"second", MINUTE).await.unwrap());
    assert_eq!(s.get("jti").await.unwrap().as_deref(), Some(&b"first"[..]));
    assert!(s.delete("jti").await.unwrap());
    assert!(
        s.put_if_absent("jti", b"third", MINUTE).await.unwrap(),
        "free again"
    );
}

async fn twenty_concurrent_put_if_absent_admit_one(eph: &Ephemeral) {
    let barrier = Arc::new(Barrier::new(20));
    let tasks: Vec<_> = (0..20_u8)
        .map(|i| {
            let (store, barrier) = (eph.store.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                store.put_if_absent("nonce", &[i], MINUTE).await
            })
        })
        .collect();
    let mut stored = 0;
    for task in tasks {
        stored += usize::from(task.await.unwrap().unwrap());
    }
    assert_eq!(stored, 1);
}

async fn delete_reports_whether_it_removed(eph: &Ephemeral) {
    let s = &eph.store;
    assert!(!s.delete("k").await.unwrap());
    s.put("k", b"v", MINUTE).await.unwrap();
    assert!(s.delete("k").await.unwrap());
    assert!(!s.delete("k").await.unwrap());
    assert_eq!(s.get("k").await.unwrap(), None);
}

async fn increment_counts_from_one(eph: &Ephemeral) {
    let s = &eph.store;
    for expected in 1..=5 {
        assert_eq!(s.increment("rate:ip", MINUTE).await.unwrap(), expected);
    }
    assert_eq!(s.increment("rate:other", MINUTE).await.unwrap(), 1);
    assert!(s.delete("rate:ip").await.unwrap());
    assert_eq!(
        s.increment("rate:ip", MINUTE).await.unwrap(),
        1,
        "a new window"
    );
}

async fn increment_keeps_the_ttl_of_the_first_increment(eph: &Ephemeral) {
    let s = &eph.store;
    assert_eq!(s.increment("window", MINUTE).await.unwrap(), 1);
    // A later, longer TTL must not extend the window.
    assert_eq!(s.increment("window", MINUTE * 10).await.unwrap(), 2);
    eph.assert_expires_after("window", MINUTE).await;
}

async fn entries_expire_after_their_ttl(eph: &Ephemeral) {
    let s = &eph.store;
    s.put("session", b"v", MINUTE * 5).await.unwrap();
    eph.assert_expires_after("session", MINUTE * 5).await;
}

async fn put_if_absent_keeps_the_original_expiry(eph: &Ephemeral) {
    let s = &eph.store;
    assert!(s.put_if_absent("replay", b"1", MINUTE).await.unwrap());
    assert!(!s.put_if_absent("replay", b"2", MINUTE * 10).await.unwrap());
    eph.assert_expires_after("replay", MINUTE).await;
}

async fn keys_with_odd_bytes_are_distinct_and_work(eph: &Ephemeral) {
    let long = "k".repeat(2_000);
    let keys = [
        "",
        " ",
        "a b",
        "line\nbreak",
        "nul\0byte",
        "tab\there",
        "glob*?[x]",
        "quote'\"\\",
        "ünïcödé-🦀",
        "prefix:",
        "prefix:nested:key",
        long.as_str(),
    ];
    let s = &eph.store;
    for (i, key) in keys.iter().enumerate() {
        s.put(key, i.to_string().as_bytes(), MINUTE).await.unwrap();
    }
    for (i, key) in keys.iter().enumerate() {
        let value = s.get(key).await.unwrap();
        assert_eq!(value.as_deref(), Some(i.to_string().as_bytes()), "{key:?}");
    }
    assert_eq!(
        s.take("glob*?[x]").await.unwrap().as_deref(),
        Some(&b"6"[..])
    );
    assert_eq!(s.get("glob").await.unwrap(), None, "no pattern matching");
    assert_eq!(s.increment("nul\0byte:count", MINUTE).await.unwrap(), 1);
}

async fn large_and_empty_values_round_trip(eph: &Ephemeral) {
    let s = &eph.store;
    let big: Vec<u8> = (0..1_048_576_u32).map(|i| (i % 251) as u8).collect();
    s.put("big", &big, MINUTE).await.unwrap();
    assert_eq!(s.get("big").await.unwrap(), Some(big.clone()));
    assert_eq!(s.take("big").await.unwrap(), Some(big));

    let binary: Vec<u8> = (0..=255).collect();
    s.put("bin", &binary, MINUTE).await.unwrap();
    assert_eq!(s.get("bin").await.unwrap(), Some(binary));

    s.put("empty", b"", MINUTE).await.unwrap();
    assert_eq!(
        s.get("empty").await.unwrap(),
        Some(Vec::new()),
        "empty is not absent"
    );
    assert!(!s.put_if_absent("empty", b"x", MINUTE).await.unwrap());
}

/// Once the clock reaches an entry's expiry, every operation sees it absent: a replay guard
/// can be taken again, a take finds nothing, a counter starts a new window. (Stores with an
/// injected clock; Redis keeps its own time, and its PTTL is checked above.)
async fn an_expired_entry_is_absent_for_every_operation(eph: &Ephemeral) {
    let Some(clock) = eph.clock() else { return };
    let s = &eph.store;
    s.put("code", b"v", MINUTE).await.unwrap();
    assert!(s.put_if_absent("jti", b"1", MINUTE).await.unwrap());
    assert_eq!(s.increment("count", MINUTE).await.unwrap(), 1);
    assert_eq!(s.increment("count", MINUTE).await.unwrap(), 2);
    clock.advance(60);
    assert_eq!(s.get("code").await.unwrap(), None);
    assert_eq!(s.take("code").await.unwrap(), None);
    assert!(!s.delete("code").await.unwrap());
    assert!(
        s.put_if_absent("jti", b"2", MINUTE).await.unwrap(),
        "free again"
    );
    assert_eq!(s.get("jti").await.unwrap().as_deref(), Some(&b"2"[..]));
    assert_eq!(
        s.increment("count", MINUTE).await.unwrap(),
        1,
        "a new window"
    );
    eph.assert_expires_after("count", MINUTE).await;
}

/// R02 / H2 at the store layer: what the database's ephemeral store holds is there for a new
/// process (a new pool on the same database), live entries only, and the purge removes
/// expired rows and nothing else.
async fn sql_entries_outlive_the_process_and_the_purge_takes_only_expired_ones(url: &str) {
    let clock = Arc::new(lanyard_core::ManualClock::new(crate::support::NOW));
    let first = SqlStore::connect(url, clock.clone(), Arc::new(OsRng))
        .await
        .unwrap();
    first.migrate().await.unwrap();
    let eph = first.ephemeral();
    eph.put("revoked_jti:a", b"1", MINUTE * 10).await.unwrap();
    assert!(eph.put_if_absent("jti:rp:h", b"1", MINUTE).await.unwrap());
    eph.put("session:short", b"s", MINUTE).await.unwrap();
    assert_eq!(
        eph.increment("signin_fail_ip:x", MINUTE * 10)
            .await
            .unwrap(),
        1
    );
    drop(eph);
    drop(first);

    let second = SqlStore::connect(url, clock.clone(), Arc::new(OsRng))
        .await
        .unwrap();
    let eph = second.ephemeral();
    assert_eq!(
        eph.get("revoked_jti:a").await.unwrap().as_deref(),
        Some(&b"1"[..])
    );
    assert!(
        !eph.put_if_absent("jti:rp:h", b"2", MINUTE).await.unwrap(),
        "still used"
    );
    assert_eq!(eph.increment("signin_fail_ip:x", MINUTE).await.unwrap(), 2);
    clock.advance(60);
    assert_eq!(
        eph.purge_expired().await.unwrap(),
        2,
        "the session and the jti"
    );
    assert_eq!(
        eph.live_keys().await.unwrap(),
        ["revoked_jti:a", "signin_fail_ip:x"]
    );
    assert_eq!(eph.purge_expired().await.unwrap(), 0);
}

#[tokio::test]
async fn r02_sqlite_ephemeral_entries_outlive_the_process() {
    let db = crate::support::sqlite_unmigrated().await;
    sql_entries_outlive_the_process_and_the_purge_takes_only_expired_ones(&db.url).await;
    db.cleanup().await;
}

#[tokio::test]
async fn r02_postgres_ephemeral_entries_outlive_the_process() {
    let Some(db) = crate::support::postgres_unmigrated().await else {
        return;
    };
    sql_entries_outlive_the_process_and_the_purge_takes_only_expired_ones(&db.url).await;
    db.cleanup().await;
}

#[tokio::test]
async fn redis_prefixes_isolate_stores_and_cleanup_removes_only_its_own() {
    let Some(a) = crate::support::redis().await else {
        return;
    };
    let Some(b) = crate::support::redis().await else {
        return;
    };
    a.store.put("shared", b"a", MINUTE).await.unwrap();
    assert_eq!(b.store.get("shared").await.unwrap(), None);
    b.store.put("shared", b"b", MINUTE).await.unwrap();
    let (url, prefix) = b.redis().unwrap().clone();
    assert_eq!(
        lanyard_store::testing::cleanup_redis_prefix(&url, &prefix)
            .await
            .unwrap(),
        1
    );
    assert_eq!(b.store.get("shared").await.unwrap(), None);
    assert_eq!(
        a.store.get("shared").await.unwrap().as_deref(),
        Some(&b"a"[..])
    );
    a.cleanup().await;
}

#[tokio::test]
async fn an_unreachable_redis_is_unavailable() {
    let err = RedisStore::connect("redis://:hunter2@127.0.0.1:1/", "x:")
        .await
        .unwrap_err();
    assert!(
        matches!(err, lanyard_core::StoreError::Unavailable(_)),
        "{err:?}"
    );
    assert!(!err.to_string().contains("hunter2"), "{err}");
}
