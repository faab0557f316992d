//! The `[backchannel]` section: how the logout outbox is bounded and retried.

use lanyard_core::InvalidSetting;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BackchannelSettings {
    /// At most this many notices wait in the outbox; beyond it new ones are dropped (and
    /// audited) rather than holding up a sign-out.
    pub queue_capacity: u64,
    /// Attempts per notice, the first included.
    pub max_attempts: u32,
    /// The wait after the first failure; it doubles after each one...
    pub backoff_base_secs: i64,
    /// ...up to this.
    pub backoff_max_secs: i64,
    /// Per request, connecting included.
    pub timeout_secs: u64,
    /// Requests in flight at once, per node.
    pub concurrency: usize,
    /// Notices claimed per round.
    pub batch_size: u64,
    /// How often the sender looks for due notices.
    pub poll_interval_ms: u64,
    /// `exp - iat` of a logout token: short, it is sent at once (§2.4 recommends minutes).
    pub token_ttl_secs: i64,
}

impl Default for BackchannelSettings {
    fn default() -> Self {
        Self {
            queue_capacity: 10_000,
            max_attempts: 8,
            backoff_base_secs: 5,
            backoff_max_secs: 3600,
            timeout_secs: 5,
            concurrency: 8,
            batch_size: 64,
            poll_interval_ms: 1000,
            token_ttl_secs: 120,
        }
    }
}

impl BackchannelSettings {
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        let bad = |key, reason| Err(InvalidSetting::new(key, reason));
        if self.queue_capacity == 0 {
            return bad("backchannel.queue_capacity", "must be at least 1");
        }
        if !(1..=50).contains(&self.max_attempts) {
            return bad("backchannel.max_attempts", "must be 1-50");
        }
        if self.backoff_base_secs < 1 || self.backoff_max_secs < self.backoff_base_secs {
            return bad(
                "backchannel.backoff_base_secs",
                "must be at least 1 and at most backoff_max_secs",
            );
        }
        if !(1..=60).contains(&self.timeout_secs) {
            return bad("backchannel.timeout_secs", "must be 1-60");
        }
        if !(1..=256).contains(&self.concurrency) || !(1..=1000).contains(&self.batch_size) {
            return bad(
                "backchannel.concurrency",
                "concurrency must be 1-256 and batch_size 1-1000",
            );
        }
        if !(10..=60_000).contains(&self.poll_interval_ms) {
            return bad("backchannel.poll_interval_ms", "must be 10-60000");
        }
        if !(10..=600).contains(&self.token_ttl_secs) {
            return bad("backchannel.token_ttl_secs", "must be 10-600");
        }
        Ok(())
    }

    /// The wait after the `attempts`-th failure: base · 2^(attempts-1), capped.
    pub fn backoff_secs(&self, attempts: u32) -> i64 {
        let doublings = attempts.saturating_sub(1).min(30);
        self.backoff_base_secs
            .saturating_mul(1_i64 << doublings)
            .min(self.backoff_max_secs)
    }

    /// A claimed notice is not due again before this: longer than one attempt can take, so
    /// only a node that died mid-send leaves it to another.
    pub fn lease_secs(&self) -> i64 {
        self.timeout_secs as i64 * 2 + 30
    }
}

#[cfg(test)]
mod tests {
    use super::BackchannelSettings;

    #[test]
    fn backoff_doubles_from_the_base_and_stops_at_the_cap() {
        let s = BackchannelSettings {
            backoff_base_secs: 5,
            backoff_max_secs: 60,
            ..BackchannelSettings::default()
        };
        let waits: Vec<i64> = (1..=6).map(|n| s.backoff_secs(n)).collect();
        assert_eq!(waits, [5, 10, 20, 40, 60, 60]);
        assert_eq!(s.backoff_secs(u32::MAX), 60);
        assert!(BackchannelSettings::default().validate().is_ok());
    }
}
