//! The account-wide limit on failed second steps (S30, S53): consecutive failures, counted in
//! the durable store across challenges and methods, buy an exponentially growing wait; at
//! the hard limit the account stays locked until an operator unlocks it. A successful second
//! step clears the count; a correct password does not.

use lanyard_core::Timestamp;
use lanyard_core::model::MfaState;

use crate::MfaSettings;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    Open,
    /// Wait until then; even a correct code is refused meanwhile.
    Until(Timestamp),
    /// The hard limit: only `lanyard user unlock` (or an MFA reset) opens it.
    Hard,
}

/// The wait after `failures` consecutive failures: nothing below `backoff_after`, then one
/// minute doubling every `backoff_after` further failures, capped at `max_backoff_secs`.
pub fn backoff_secs(failures: u32, settings: &MfaSettings) -> i64 {
    let per_step = settings.backoff_after.max(1);
    if failures < per_step {
        return 0;
    }
    let doublings = (failures / per_step - 1).min(20);
    (60_i64 << doublings).min(settings.max_backoff_secs)
}

pub fn lock(state: &MfaState, now: Timestamp, settings: &MfaSettings) -> Lock {
    if state.failures >= settings.hard_limit {
        return Lock::Hard;
    }
    let wait = backoff_secs(state.failures, settings);
    // No wait owed: open, even when the last failure carries a later time (another node's
    // clock a second ahead must not lock anyone).
    let Some(last) = state.last_failure_at.filter(|_| wait > 0) else {
        return Lock::Open;
    };
    let until = last.plus_secs(wait);
    if now < until {
        Lock::Until(until)
    } else {
        Lock::Open
    }
}

#[cfg(test)]
mod tests {
    use lanyard_core::ids::random_uuid;
    use lanyard_core::{AccountId, OsRng};

    use super::*;

    fn state(failures: u32, last: i64) -> MfaState {
        MfaState {
            failures,
            last_failure_at: Some(Timestamp(last)),
            ..MfaState::new(AccountId(random_uuid(&OsRng)))
        }
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let s = MfaSettings::default();
        assert_eq!(backoff_secs(4, &s), 0);
        assert_eq!(backoff_secs(5, &s), 60);
        assert_eq!(backoff_secs(9, &s), 60);
        assert_eq!(backoff_secs(10, &s), 120);
        assert_eq!(backoff_secs(15, &s), 240);
        assert_eq!(backoff_secs(99, &s), 3600);
    }

    #[test]
    fn locked_until_the_wait_has_passed() {
        let s = MfaSettings::default();
        assert_eq!(lock(&state(4, 1000), Timestamp(1000), &s), Lock::Open);
        assert_eq!(
            lock(&state(5, 1000), Timestamp(1059), &s),
            Lock::Until(Timestamp(1060))
        );
        assert_eq!(lock(&state(5, 1000), Timestamp(1060), &s), Lock::Open);
    }

    #[test]
    fn below_the_backoff_a_failure_stamped_in_the_future_locks_nothing() {
        let s = MfaSettings::default();
        assert_eq!(lock(&state(4, 1001), Timestamp(1000), &s), Lock::Open);
        assert_eq!(
            lock(&state(5, 1001), Timestamp(1000), &s),
            Lock::Until(Timestamp(1061))
        );
    }

    #[test]
    fn the_hard_limit_never_opens_by_itself() {
        let s = MfaSettings::default();
        assert_eq!(lock(&state(100, 0), Timestamp(10_000_000), &s), Lock::Hard);
    }
}
