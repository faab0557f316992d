//! Identifier newtypes so an account id can never be passed where a client id belongs, and
//! the one way new ids are made: from the injected [`Clock`] and [`Rng`], so that tests
//! control them and nothing reads the system clock or the OS generator behind their back.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{Clock, Rng};

/// The last (millisecond, sequence) pair handed out, as `millis << 12 | sequence`.
///
/// The clock has one-second resolution, but ids must still sort in the order they were made
/// (audit events within a second, "newest first" listings, keyset pagination). So the 48-bit
/// time field holds the clock's second × 1000 and the 12-bit `rand_a` field a sequence
/// (RFC 9562 §6.2, method 1); when a second's 4096 values run out the sequence carries into
/// the millisecond field (method 3's "borrow from the future"), which lasts for four million
/// ids a second. This holds no time and no randomness, only the last value, so it is the one
/// piece of process-wide state here — as in the `uuid` crate's own v7 context — and it
/// orders ids within a process; across nodes they are ordered to the second.
static LAST_V7: AtomicU64 = AtomicU64::new(0);

const SEQUENCE_BITS: u32 = 12;

/// A new UUIDv7 for a row or record: time from `clock`, a per-process sequence (see
/// [`LAST_V7`]) and 62 random bits from `rng`.
pub fn uuid_v7(clock: &dyn Clock, rng: &dyn Rng) -> Uuid {
    let millis = u64::try_from(clock.now().seconds())
        .unwrap_or(0)
        .saturating_mul(1000);
    let floor = millis << SEQUENCE_BITS;
    let previous = LAST_V7
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |last| {
            Some(floor.max(last.saturating_add(1)))
        })
        .unwrap_or_else(|last| last);
    let ticket = floor.max(previous.saturating_add(1));
    let mut bytes = [0u8; 10];
    rng.fill(&mut bytes);
    // The builder keeps the low 4 bits of byte 0 and all of byte 1 as `rand_a`.
    let sequence = ticket & ((1 << SEQUENCE_BITS) - 1);
    bytes[0] = (sequence >> 8) as u8;
    bytes[1] = sequence as u8;
    uuid::Builder::from_unix_timestamp_millis(ticket >> SEQUENCE_BITS, &bytes).into_uuid()
}

/// A random (version 4) UUID from `rng`, for names that only need to be unique.
pub fn random_uuid(rng: &dyn Rng) -> Uuid {
    let mut bytes = [0u8; 16];
    rng.fill(&mut bytes);
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AccountId(pub Uuid);

impl AccountId {
    /// A new account's id (a UUIDv7, see [`uuid_v7`]).
    pub fn new(clock: &dyn Clock, rng: &dyn Rng) -> Self {
        Self(uuid_v7(clock, rng))
    }
}

impl std::fmt::Display for AccountId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// An OAuth client identifier: 1–128 characters from a conservative set, so it is safe in
/// URLs, logs and Basic authentication.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ClientId(String);

impl ClientId {
    pub fn parse(value: &str) -> Option<Self> {
        let ok = !value.is_empty()
            && value.len() <= 128
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~'));
        ok.then(|| Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ClientId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A grant: everything issued from one authorization (its refresh tokens and the access
/// tokens minted alongside them). Revoking it revokes them all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FamilyId(pub Uuid);

impl FamilyId {
    pub fn new(clock: &dyn Clock, rng: &dyn Rng) -> Self {
        Self(uuid_v7(clock, rng))
    }
}

impl std::fmt::Display for FamilyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ManualClock, Timestamp};

    /// Always the same bytes: order and uniqueness must not depend on the randomness.
    struct Zeros;

    impl Rng for Zeros {
        fn fill(&self, buf: &mut [u8]) {
            buf.fill(0);
        }
    }

    #[test]
    fn v7_ids_carry_the_clock_and_sort_in_the_order_they_were_made() {
        // Far ahead of any other test's clock, so the first id starts its own second.
        let clock = ManualClock::new(Timestamp(4_000_000_000));
        let ids: Vec<Uuid> = (0..5000).map(|_| uuid_v7(&clock, &Zeros)).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "strictly increasing");
        for id in [ids[0], ids[4999]] {
            assert_eq!(id.get_version_num(), 7);
            assert_eq!(id.get_variant(), uuid::Variant::RFC4122);
            let (secs, _) = id.get_timestamp().map(|t| t.to_unix()).unwrap();
            assert_eq!(secs, 4_000_000_000, "{id}");
        }
        clock.advance(1);
        let later = uuid_v7(&clock, &Zeros);
        assert!(later > ids[4999]);
        assert_eq!(
            later.get_timestamp().map(|t| t.to_unix().0),
            Some(4_000_000_001)
        );
        // A clock set back does not break the order of what is made afterwards.
        clock.set(Timestamp(1_000));
        assert!(uuid_v7(&clock, &Zeros) > later);
    }

    #[test]
    fn random_uuids_come_from_the_rng() {
        let id = random_uuid(&Zeros);
        assert_eq!(id.get_version_num(), 4);
        assert_eq!(id, random_uuid(&Zeros));
        assert_ne!(random_uuid(&crate::OsRng), random_uuid(&crate::OsRng));
    }

    #[test]
    fn client_id_refuses_unsafe_characters() {
        assert!(ClientId::parse("my-app_1.x~").is_some());
        for bad in ["", "a b", "a:b", "a/b", "é", "' OR 1=1--", "a\0"] {
            assert!(ClientId::parse(bad).is_none(), "{bad:?}");
        }
        assert!(ClientId::parse(&"a".repeat(129)).is_none());
    }
}
