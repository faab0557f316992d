//! Throttling failed token exchanges (S26): every failure is counted per source address and
//! per client in the ephemeral store (shared by all nodes). A caller past its limit is
//! remembered in-process until the window ends, so the throttled path costs no store call
//! and the successful path only a map lookup.

use std::collections::HashMap;
use std::sync::Mutex;

use lanyard_core::Timestamp;

#[derive(Debug, Default)]
pub(crate) struct ExchangeLimits {
    /// Counter key → end of its window (seconds).
    blocked: Mutex<HashMap<String, i64>>,
}

impl ExchangeLimits {
    /// Seconds until the first of `keys` that is blocked at `now` opens again.
    pub fn retry_after(&self, keys: &[&str], now: Timestamp) -> Option<u64> {
        let mut blocked = self.lock();
        if blocked.is_empty() {
            return None;
        }
        blocked.retain(|_, until| *until > now.seconds());
        keys.iter()
            .filter_map(|key| blocked.get(*key))
            .map(|until| u64::try_from(until - now.seconds()).unwrap_or(1))
            .max()
    }

    pub fn block(&self, key: String, until: Timestamp) {
        self.lock().insert(key, until.seconds());
    }

    // The map holds plain numbers; a panic elsewhere can not leave it inconsistent.
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, i64>> {
        self.blocked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_lasts_until_its_window_ends() {
        let limits = ExchangeLimits::default();
        assert_eq!(limits.retry_after(&["ip:a"], Timestamp(100)), None);
        limits.block("ip:a".to_owned(), Timestamp(1000));
        assert_eq!(
            limits.retry_after(&["ip:a", "client:x"], Timestamp(100)),
            Some(900)
        );
        assert_eq!(limits.retry_after(&["ip:b"], Timestamp(100)), None);
        assert_eq!(limits.retry_after(&["ip:a"], Timestamp(1000)), None);
        assert!(limits.lock().is_empty());
    }
}
