//! The per-node cache of the exchange's lookup: token hash → live PAT of an active account.
//!
//! Entries are dropped when any node publishes an invalidation for their PAT or account, and
//! are trusted only under the subscription epoch they were read in, only for `ttl`, and only
//! while the PAT itself is live. A lookup that races an invalidation does not store what it
//! read: the invalidation counter must be unchanged between the read and the insert.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::RwLock;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use lanyard_core::locks::{read, write};
use lanyard_core::model::{Pat, PatId};
use lanyard_core::{AccountId, Timestamp};

#[derive(Debug)]
pub(crate) struct Entry {
    pub pat: Arc<Pat>,
    epoch: u64,
    fetched_at: Timestamp,
    /// When this node last wrote `last_used_at` for the PAT (seconds).
    pub last_written: AtomicI64,
}

#[derive(Debug)]
pub(crate) struct PatCache {
    entries: RwLock<HashMap<String, Arc<Entry>>>,
    invalidations: AtomicU64,
    max_entries: usize,
    ttl_secs: i64,
}

/// What the caller saw before reading the database; [`PatCache::insert`] checks it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ticket {
    invalidations: u64,
    epoch: u64,
}

impl PatCache {
    pub fn new(max_entries: usize, ttl_secs: i64) -> Self {
        Self {
            entries: RwLock::new(HashMap::new()),
            invalidations: AtomicU64::new(0),
            max_entries,
            ttl_secs,
        }
    }

    pub fn get(&self, token_hash: &str, epoch: u64, now: Timestamp) -> Option<Arc<Entry>> {
        let entry = read(&self.entries).get(token_hash).cloned()?;
        let fresh = entry.epoch == epoch
            && now.seconds() < entry.fetched_at.seconds() + self.ttl_secs
            && entry.pat.is_live(now);
        fresh.then_some(entry)
    }

    pub fn ticket(&self, epoch: u64) -> Ticket {
        Ticket {
            invalidations: self.invalidations.load(Ordering::SeqCst),
            epoch,
        }
    }

    /// Stores what was read under `ticket`, unless an invalidation arrived meanwhile.
    pub fn insert(
        &self,
        token_hash: &str,
        pat: Arc<Pat>,
        ticket: Ticket,
        now: Timestamp,
    ) -> Arc<Entry> {
        let entry = Arc::new(Entry {
            last_written: AtomicI64::new(pat.last_used_at.map_or(i64::MIN, |t| t.seconds())),
            pat,
            epoch: ticket.epoch,
            fetched_at: now,
        });
        let mut entries = write(&self.entries);
        if self.invalidations.load(Ordering::SeqCst) != ticket.invalidations {
            return entry;
        }
        if entries.len() >= self.max_entries {
            entries.retain(|_, e| e.pat.is_live(now) && e.epoch == ticket.epoch);
            if entries.len() >= self.max_entries {
                // Simple and rare: a node with more hot PATs than room starts over.
                entries.clear();
            }
        }
        entries.insert(token_hash.to_owned(), entry.clone());
        entry
    }

    pub fn forget_pat(&self, id: PatId) {
        self.forget(|pat| pat.id == id);
    }

    pub fn forget_account(&self, account: AccountId) {
        self.forget(|pat| pat.account_id == account);
    }

    fn forget(&self, matches: impl Fn(&Pat) -> bool) {
        let mut entries = write(&self.entries);
        // Counted under the lock, so an insert either sees the new count or is removed here.
        self.invalidations.fetch_add(1, Ordering::SeqCst);
        entries.retain(|_, e| !matches(&e.pat));
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        read(&self.entries).len()
    }
}

#[cfg(test)]
mod tests {
    use lanyard_core::OsRng;
    use lanyard_core::ids::random_uuid;

    use super::*;

    fn pat(account: AccountId) -> Arc<Pat> {
        Arc::new(Pat {
            id: PatId(random_uuid(&OsRng)),
            account_id: account,
            name: "ci".to_owned(),
            token_hash: "h".to_owned(),
            display: "lyd_pat_…".to_owned(),
            scopes: vec![],
            audiences: vec![],
            site_user: None,
            created_at: Timestamp(0),
            expires_at: Some(Timestamp(1000)),
            last_used_at: None,
            revoked_at: None,
        })
    }

    #[test]
    fn entries_live_within_their_epoch_ttl_and_the_pats_lifetime() {
        let cache = PatCache::new(10, 60);
        let p = pat(AccountId(random_uuid(&OsRng)));
        cache.insert("a", p, cache.ticket(1), Timestamp(100));
        assert!(cache.get("a", 1, Timestamp(159)).is_some());
        assert!(cache.get("a", 1, Timestamp(160)).is_none(), "ttl");
        assert!(cache.get("a", 2, Timestamp(100)).is_none(), "another epoch");
        let late = PatCache::new(10, 5000);
        late.insert(
            "a",
            pat(AccountId(random_uuid(&OsRng))),
            late.ticket(1),
            Timestamp(100),
        );
        assert!(
            late.get("a", 1, Timestamp(1000)).is_none(),
            "the PAT expired"
        );
    }

    #[test]
    fn invalidations_remove_entries_and_stop_racing_inserts() {
        let cache = PatCache::new(10, 60);
        let (owner, other) = (
            AccountId(random_uuid(&OsRng)),
            AccountId(random_uuid(&OsRng)),
        );
        let first = pat(owner);
        cache.insert("a", first.clone(), cache.ticket(1), Timestamp(0));
        cache.insert("b", pat(owner), cache.ticket(1), Timestamp(0));
        cache.insert("c", pat(other), cache.ticket(1), Timestamp(0));
        cache.forget_pat(first.id);
        assert_eq!(cache.len(), 2);
        cache.forget_account(owner);
        assert_eq!(cache.len(), 1);
        // A lookup that read the database before an invalidation must not store its result.
        let ticket = cache.ticket(1);
        cache.forget_pat(PatId(random_uuid(&OsRng)));
        cache.insert("d", pat(other), ticket, Timestamp(0));
        assert!(cache.get("d", 1, Timestamp(0)).is_none());
    }

    #[test]
    fn a_full_cache_starts_over_rather_than_growing() {
        let cache = PatCache::new(2, 60);
        for key in ["a", "b", "c"] {
            cache.insert(
                key,
                pat(AccountId(random_uuid(&OsRng))),
                cache.ticket(1),
                Timestamp(0),
            );
        }
        assert_eq!(cache.len(), 1);
        assert!(cache.get("c", 1, Timestamp(0)).is_some());
    }
}
