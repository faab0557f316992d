//! [`MemoryStore`]: the in-process [`EphemeralStore`] for a single-node deployment.
//!
//! One mutex guards a map of entries plus an index of expiry times (the shape of mini-redis's
//! `db.rs`), so purging costs only the entries that actually expired. Time comes from the
//! injected [`Clock`], which makes expiry testable by moving a `ManualClock`.
//!
//! Expired entries are invisible at once (every read checks the clock) and are removed from
//! memory on the next write (purge-on-write, amortised O(1) per entry) or by the optional
//! background task from [`MemoryStore::spawn_purger`], which keeps an idle store small.
//!
//! Memory is bounded by [`MemoryStore::with_max_entries`]: when the store is full after a
//! purge, new keys are **refused** with [`StoreError::Unavailable`] (existing keys can still
//! be overwritten). It never evicts live entries, because evicting a replay guard or a used
//! authorization code marker would silently reopen a replay window; failing closed is safer.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use async_trait::async_trait;
use lanyard_core::ports::EphemeralStore;
use lanyard_core::{Clock, StoreError};

/// The default bound: about a million entries, a few hundred MB at the sizes Lanyard stores.
pub const DEFAULT_MAX_ENTRIES: usize = 1_000_000;

#[derive(Clone)]
pub struct MemoryStore {
    inner: Arc<Inner>,
}

struct Inner {
    clock: Arc<dyn Clock>,
    max_entries: usize,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    entries: HashMap<String, Entry>,
    /// (expires_at, key) for every entry, ordered so the next to expire comes first.
    expirations: BTreeSet<(i64, String)>,
}

struct Entry {
    value: Vec<u8>,
    /// Unix seconds; the entry is gone once the clock reaches this.
    expires_at: i64,
}

impl State {
    fn purge(&mut self, now: i64) -> usize {
        let mut purged = 0;
        while let Some((at, _)) = self.expirations.first() {
            if *at > now {
                break;
            }
            if let Some((_, key)) = self.expirations.pop_first() {
                self.entries.remove(&key);
                purged += 1;
            }
        }
        purged
    }

    fn live(&self, key: &str, now: i64) -> Option<&Entry> {
        self.entries.get(key).filter(|e| e.expires_at > now)
    }

    fn remove(&mut self, key: &str) -> Option<Entry> {
        let entry = self.entries.remove(key)?;
        self.expirations.remove(&(entry.expires_at, key.to_owned()));
        Some(entry)
    }

    /// Inserts or replaces; refuses a new key when the store is full.
    fn insert(&mut self, key: &str, entry: Entry, max: usize) -> Result<(), StoreError> {
        if !self.entries.contains_key(key) && self.entries.len() >= max {
            return Err(StoreError::Unavailable("memory store is full".to_owned()));
        }
        self.remove(key);
        self.expirations.insert((entry.expires_at, key.to_owned()));
        self.entries.insert(key.to_owned(), entry);
        Ok(())
    }
}

/// The clock counts whole seconds, so a TTL is rounded up to at least one second: an entry
/// lives for its TTL, give or take the fraction of the current second already gone.
fn ttl_secs(ttl: Duration) -> i64 {
    let secs = ttl
        .as_secs()
        .saturating_add(u64::from(ttl.subsec_nanos() > 0));
    i64::try_from(secs.max(1)).unwrap_or(i64::MAX)
}

fn parse_counter(value: &[u8]) -> Result<u64, StoreError> {
    std::str::from_utf8(value)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| StoreError::Corrupt("counter value is not an integer".to_owned()))
}

impl MemoryStore {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self::with_max_entries(clock, DEFAULT_MAX_ENTRIES)
    }

    /// A store that refuses new keys once it holds `max_entries` live entries.
    pub fn with_max_entries(clock: Arc<dyn Clock>, max_entries: usize) -> Self {
        Self {
            inner: Arc::new(Inner {
                clock,
                max_entries,
                state: Mutex::new(State::default()),
            }),
        }
    }

    /// Entries held, including expired ones not yet purged.
    pub fn len(&self) -> usize {
        self.inner.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops every expired entry now; returns how many.
    pub fn purge_expired(&self) -> usize {
        self.inner.purge()
    }

    /// Purges expired entries every `every` on the current tokio runtime. The task holds
    /// only a weak reference and ends by itself once the last clone of the store is dropped.
    pub fn spawn_purger(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        let weak: Weak<Inner> = Arc::downgrade(&self.inner);
        // tokio's interval refuses a zero period.
        let every = every.max(Duration::from_millis(10));
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(every);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                match weak.upgrade() {
                    Some(inner) => {
                        inner.purge();
                    }
                    None => break,
                }
            }
        })
    }

    /// Runs `f` on the state after purging what has expired, all under one lock: that lock
    /// is what makes take, put_if_absent and increment atomic.
    fn write<T>(&self, f: impl FnOnce(&mut State, i64, usize) -> T) -> T {
        let now = self.inner.clock.now().seconds();
        let mut state = self.inner.lock();
        state.purge(now);
        f(&mut state, now, self.inner.max_entries)
    }
}

impl Inner {
    /// A panic while holding the lock can not leave the state half-updated (every mutation
    /// keeps map and index in step before anything can fail), so a poisoned lock is usable.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn purge(&self) -> usize {
        let now = self.clock.now().seconds();
        self.lock().purge(now)
    }
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("entries", &self.len())
            .field("max_entries", &self.inner.max_entries)
            .finish()
    }
}

#[async_trait]
impl EphemeralStore for MemoryStore {
    async fn put(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), StoreError> {
        self.write(|state, now, max| {
            let entry = Entry {
                value: value.to_vec(),
                expires_at: now.saturating_add(ttl_secs(ttl)),
            };
            state.insert(key, entry, max)
        })
    }

    async fn put_if_absent(
        &self,
        key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        self.write(|state, now, max| {
            if state.live(key, now).is_some() {
                return Ok(false);
            }
            let entry = Entry {
                value: value.to_vec(),
                expires_at: now.saturating_add(ttl_secs(ttl)),
            };
            state.insert(key, entry, max).map(|()| true)
        })
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let now = self.inner.clock.now().seconds();
        let state = self.inner.lock();
        Ok(state.live(key, now).map(|e| e.value.clone()))
    }

    async fn take(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        // `write` purged expired entries first, so whatever is left is live.
        Ok(self.write(|state, _, _| state.remove(key).map(|e| e.value)))
    }

    async fn delete(&self, key: &str) -> Result<bool, StoreError> {
        Ok(self.write(|state, _, _| state.remove(key).is_some()))
    }

    async fn increment(&self, key: &str, ttl: Duration) -> Result<u64, StoreError> {
        self.write(|state, now, max| {
            // The window's expiry is fixed by the first increment and carried over.
            let (count, expires_at) = match state.live(key, now) {
                Some(entry) => (parse_counter(&entry.value)?, entry.expires_at),
                None => (0, now.saturating_add(ttl_secs(ttl))),
            };
            let count = count.saturating_add(1);
            let entry = Entry {
                value: count.to_string().into_bytes(),
                expires_at,
            };
            state.insert(key, entry, max).map(|()| count)
        })
    }
}

#[cfg(test)]
mod tests;
