//! Throttling failed token exchanges (S26): every failure is counted per source address and
//! per client and address in the ephemeral store (shared by all nodes). The second counter
//! is not per client alone: one attacker must not lock out every user of a shared public
//! tool. A caller past its limit is
//! remembered in-process until the window ends, so the throttled path costs no store call
//! and the successful path, while nobody is throttled, one uncontended lock and no
//! allocation.

use std::collections::HashMap;
use std::sync::Mutex;

use lanyard_core::{ClientId, EphemeralKey, Origin, Timestamp};

/// The ephemeral-store counters of a caller: its source address, then its client from
/// that address.
pub(crate) fn counter_keys(origin: &Origin, client: &ClientId) -> [String; 2] {
    let ip = origin.ip.as_deref().unwrap_or("unknown");
    [
        EphemeralKey::PatFailIp(ip).to_string(),
        EphemeralKey::PatFailClient(client, ip).to_string(),
    ]
}

#[derive(Debug, Default)]
pub(crate) struct ExchangeLimits {
    blocked: Mutex<Blocked>,
}

#[derive(Debug, Default)]
struct Blocked {
    /// Counter key → end of its window (seconds).
    until: HashMap<String, i64>,
    /// The latest end among them: past it, the whole map is stale and is dropped at once.
    last_end: i64,
}

impl ExchangeLimits {
    /// Seconds until the caller's address or client, if blocked at `now`, opens again.
    pub fn retry_after(&self, origin: &Origin, client: &ClientId, now: Timestamp) -> Option<u64> {
        let mut blocked = self.lock();
        if blocked.until.is_empty() {
            return None;
        }
        if blocked.last_end <= now.seconds() {
            blocked.until.clear();
            return None;
        }
        // Two lookups, never a sweep: many blocked addresses must not slow every exchange.
        counter_keys(origin, client)
            .iter()
            .filter_map(|key| blocked.until.get(key))
            .filter(|end| **end > now.seconds())
            .map(|end| u64::try_from(end - now.seconds()).unwrap_or(1))
            .max()
    }

    pub fn block(&self, key: String, until: Timestamp) {
        let mut blocked = self.lock();
        blocked.last_end = blocked.last_end.max(until.seconds());
        blocked.until.insert(key, until.seconds());
    }

    // The map holds plain numbers; a panic elsewhere can not leave it inconsistent.
    fn lock(&self) -> std::sync::MutexGuard<'_, Blocked> {
        self.blocked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(ip: &str) -> Origin {
        Origin {
            ip: Some(ip.to_owned()),
            ..Origin::default()
        }
    }

    #[test]
    fn a_block_lasts_until_its_window_ends() {
        let limits = ExchangeLimits::default();
        let tool = ClientId::parse("tool").unwrap();
        let other = ClientId::parse("other").unwrap();
        let a = from("192.0.2.1");
        assert_eq!(limits.retry_after(&a, &tool, Timestamp(100)), None);
        let [ip_key, client_key] = counter_keys(&a, &tool);
        limits.block(ip_key, Timestamp(1000));
        assert_eq!(limits.retry_after(&a, &other, Timestamp(100)), Some(900));
        assert_eq!(
            limits.retry_after(&from("192.0.2.2"), &tool, Timestamp(100)),
            None
        );
        limits.block(client_key, Timestamp(500));
        assert_eq!(limits.retry_after(&a, &tool, Timestamp(100)), Some(900));
        assert_eq!(limits.retry_after(&a, &tool, Timestamp(1000)), None);
        assert!(limits.lock().until.is_empty());
    }

    /// Issue 11 item 13: the client's counter is per address, so failures of one address
    /// never block another address using the same (public, shared) client.
    #[test]
    fn s26_a_blocked_client_stays_open_to_its_other_addresses() {
        let limits = ExchangeLimits::default();
        let tool = ClientId::parse("tool").unwrap();
        let attacker = from("192.0.2.1");
        let [_, client_key] = counter_keys(&attacker, &tool);
        assert_eq!(client_key, "pat_fail_client:tool:192.0.2.1");
        limits.block(client_key, Timestamp(500));
        assert_eq!(
            limits.retry_after(&attacker, &tool, Timestamp(100)),
            Some(400)
        );
        assert_eq!(
            limits.retry_after(&from("192.0.2.2"), &tool, Timestamp(100)),
            None
        );
        let [_, other_key] = counter_keys(&from("192.0.2.2"), &tool);
        assert_ne!(other_key, counter_keys(&attacker, &tool)[1]);
    }
}
