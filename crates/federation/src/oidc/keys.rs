//! R12: an ID token signed with a `kid` we do not have refetches the upstream's key set
//! (its keys rotated), but at most once per `kid` per interval, so a stream of forged
//! `kid`s can not turn us into a loop of requests to the upstream.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use lanyard_core::Timestamp;
use lanyard_core::locks::lock;

/// More distinct `kid`s than this in one interval are refused without a fetch.
const MAX_TRACKED: usize = 64;

pub(crate) struct RefetchLimiter {
    interval_secs: i64,
    last: Mutex<HashMap<String, Timestamp>>,
}

impl RefetchLimiter {
    pub(crate) fn new(interval: Duration) -> Self {
        Self {
            interval_secs: interval.as_secs() as i64,
            last: Mutex::new(HashMap::new()),
        }
    }

    /// True when `kid` may cause a fetch now (and records it).
    pub(crate) fn allow(&self, kid: &str, now: Timestamp) -> bool {
        let mut last = lock(&self.last);
        let interval = self.interval_secs;
        last.retain(|_, at| now.seconds() - at.seconds() < interval);
        if last.contains_key(kid) || last.len() >= MAX_TRACKED {
            return false;
        }
        last.insert(kid.to_owned(), now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_refetch_per_kid_per_interval() {
        let limiter = RefetchLimiter::new(Duration::from_secs(60));
        let t = Timestamp(1_000);
        assert!(limiter.allow("k1", t));
        assert!(!limiter.allow("k1", Timestamp(1_059)));
        assert!(limiter.allow("k2", Timestamp(1_059)));
        assert!(limiter.allow("k1", Timestamp(1_060)));
    }

    #[test]
    fn a_flood_of_new_kids_is_bounded() {
        let limiter = RefetchLimiter::new(Duration::from_secs(60));
        let allowed = (0..1_000)
            .filter(|i| limiter.allow(&format!("k{i}"), Timestamp(5)))
            .count();
        assert_eq!(allowed, MAX_TRACKED);
    }
}
