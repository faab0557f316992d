//! The ephemeral store per operation: in process memory (`MemoryStore`) against the
//! database's table on SQLite (`SqlEphemeral`, WAL, the server's connection settings).
//! Figures and the choice they led to: docs/performance.md, docs/state.md.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use lanyard_core::ports::EphemeralStore;
use lanyard_core::{ManualClock, OsRng, Timestamp};
use lanyard_store::{MemoryStore, SqlStore};

const TTL: Duration = Duration::from_secs(600);
/// A value the size of a session record.
const VALUE: [u8; 300] = [7; 300];

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let clock = Arc::new(ManualClock::new(Timestamp(1_800_000_000)));
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/bench.db?mode=rwc", dir.path().display());
    let sql = runtime.block_on(async {
        let store = SqlStore::connect(&url, clock.clone(), Arc::new(OsRng))
            .await
            .unwrap();
        store.migrate().await.unwrap();
        store
    });
    let stores: [(&str, Arc<dyn EphemeralStore>); 2] = [
        ("memory", Arc::new(MemoryStore::new(clock.clone()))),
        ("sqlite", Arc::new(sql.ephemeral())),
    ];
    for (name, store) in stores {
        // 10,000 live keys, as a busy small deployment holds.
        runtime.block_on(async {
            for i in 0..10_000 {
                store
                    .put(&format!("session:{i:064}"), &VALUE, TTL)
                    .await
                    .unwrap();
            }
        });
        let mut group = c.benchmark_group(format!("ephemeral/{name}"));
        let n = AtomicU64::new(0);
        group.bench_function("put", |b| {
            b.iter(|| {
                let i = n.fetch_add(1, Ordering::Relaxed) % 10_000;
                runtime
                    .block_on(store.put(&format!("session:{i:064}"), &VALUE, TTL))
                    .unwrap();
            });
        });
        group.bench_function("get", |b| {
            b.iter(|| {
                let i = n.fetch_add(1, Ordering::Relaxed) % 10_000;
                black_box(
                    runtime
                        .block_on(store.get(&format!("session:{i:064}")))
                        .unwrap(),
                );
            });
        });
        group.bench_function("put+take", |b| {
            b.iter(|| {
                let key = format!("code:{:064}", n.fetch_add(1, Ordering::Relaxed));
                runtime.block_on(async {
                    store.put(&key, &VALUE, TTL).await.unwrap();
                    black_box(store.take(&key).await.unwrap());
                });
            });
        });
        group.bench_function("increment", |b| {
            b.iter(|| {
                let i = n.fetch_add(1, Ordering::Relaxed) % 100;
                black_box(
                    runtime
                        .block_on(store.increment(&format!("signin_fail_ip:{i}"), TTL))
                        .unwrap(),
                );
            });
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
