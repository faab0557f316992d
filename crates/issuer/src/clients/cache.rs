//! The per-node cache of client records (the token endpoint's hot path must not hit the
//! database for every request).
//!
//! A cached client carries its site, and the issuer asks about sites only for a client of a
//! site, so a stale "of no site" would give a site's client tokens naming the account instead
//! of the site user. Entries are therefore dropped when any process publishes `client:<id>`
//! (core's `client_invalidation`: a site created for it, the client deleted), and are trusted only under the subscription
//! epoch they were read in and only for the TTL. A lookup that races an invalidation does not
//! store what it read: the invalidation counter must be unchanged between the read and the
//! insert (as in identity's PAT cache).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use lanyard_core::locks::{read, write};
use lanyard_core::model::Client;
use lanyard_core::ports::invalidated_client;
use lanyard_core::{ClientId, Timestamp};

/// Bound on cached clients: a flood of lookups for distinct (existing) ids can not grow it
/// without limit.
const MAX_ENTRIES: usize = 10_000;

struct Entry {
    client: Arc<Client>,
    epoch: u64,
    fetched_at: Timestamp,
}

pub(crate) struct ClientCache {
    ttl_secs: i64,
    entries: RwLock<HashMap<ClientId, Entry>>,
    invalidations: AtomicU64,
}

/// What the caller saw before reading the database; [`ClientCache::put`] checks it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ticket {
    invalidations: u64,
    epoch: u64,
}

impl ClientCache {
    pub fn new(ttl_secs: i64) -> Self {
        Self {
            ttl_secs,
            entries: RwLock::new(HashMap::new()),
            invalidations: AtomicU64::new(0),
        }
    }

    pub fn get(&self, id: &ClientId, epoch: u64, now: Timestamp) -> Option<Arc<Client>> {
        let entries = read(&self.entries);
        let entry = entries.get(id)?;
        let fresh =
            entry.epoch == epoch && now.seconds() - entry.fetched_at.seconds() < self.ttl_secs;
        fresh.then(|| entry.client.clone())
    }

    pub fn ticket(&self, epoch: u64) -> Ticket {
        Ticket {
            invalidations: self.invalidations.load(Ordering::SeqCst),
            epoch,
        }
    }

    /// Stores what was read under `ticket`, unless an invalidation arrived meanwhile.
    pub fn put(&self, client: Arc<Client>, ticket: Ticket, now: Timestamp) {
        if self.ttl_secs <= 0 {
            return;
        }
        let mut entries = write(&self.entries);
        if self.invalidations.load(Ordering::SeqCst) != ticket.invalidations {
            return;
        }
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(
            client.id.clone(),
            Entry {
                client,
                epoch: ticket.epoch,
                fetched_at: now,
            },
        );
    }

    pub fn forget(&self, id: &ClientId) {
        let mut entries = write(&self.entries);
        // Counted under the lock, so a put either sees the new count or is removed here.
        self.invalidations.fetch_add(1, Ordering::SeqCst);
        entries.remove(id);
    }

    /// Core's `client_invalidation`; other kinds belong to other caches.
    pub fn invalidated(&self, message: &str) {
        if let Some(id) = invalidated_client(message) {
            match ClientId::parse(id) {
                Some(id) => self.forget(&id),
                None => tracing::warn!("a client invalidation without a valid id was ignored"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use lanyard_core::model::SiteId;

    use super::*;

    fn client(id: &str) -> Arc<Client> {
        Arc::new(crate::test_support::client(id))
    }

    fn id(id: &str) -> ClientId {
        ClientId::parse(id).unwrap()
    }

    #[test]
    fn entries_live_within_their_epoch_and_ttl() {
        let cache = ClientCache::new(10);
        cache.put(client("rp"), cache.ticket(1), Timestamp(100));
        assert!(cache.get(&id("rp"), 1, Timestamp(109)).is_some());
        assert!(cache.get(&id("rp"), 1, Timestamp(110)).is_none(), "ttl");
        assert!(
            cache.get(&id("rp"), 2, Timestamp(100)).is_none(),
            "read under an older subscription"
        );
        let off = ClientCache::new(0);
        off.put(client("rp"), off.ticket(1), Timestamp(100));
        assert!(off.get(&id("rp"), 1, Timestamp(100)).is_none(), "ttl 0");
    }

    /// A site created for a cached client: the message drops it, and a lookup that read the
    /// client (of no site) before the message does not store it afterwards.
    #[test]
    fn a_client_invalidation_drops_the_entry_and_stops_a_racing_put() {
        let cache = ClientCache::new(10);
        cache.put(client("rp"), cache.ticket(1), Timestamp(0));
        cache.put(client("other"), cache.ticket(1), Timestamp(0));
        let before = cache.ticket(1);
        cache.invalidated("client:rp");
        assert!(cache.get(&id("rp"), 1, Timestamp(0)).is_none());
        assert!(cache.get(&id("other"), 1, Timestamp(0)).is_some());
        cache.put(client("rp"), before, Timestamp(0));
        assert!(cache.get(&id("rp"), 1, Timestamp(0)).is_none(), "raced");
        let mut of_site = (*client("rp")).clone();
        of_site.site = Some(SiteId(uuid::Uuid::from_u128(1)));
        cache.put(Arc::new(of_site), cache.ticket(1), Timestamp(0));
        let cached = cache.get(&id("rp"), 1, Timestamp(0)).unwrap();
        assert!(cached.site.is_some());
        // Other caches' messages, and a malformed id, change nothing here.
        for message in ["pat:rp", "account:rp", "client:", "client:a b", "rp"] {
            cache.invalidated(message);
        }
        assert!(cache.get(&id("rp"), 1, Timestamp(0)).is_some());
        assert!(cache.get(&id("other"), 1, Timestamp(0)).is_some());
    }
}
