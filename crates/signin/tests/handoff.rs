//! What one page hands to the next (issue 12 items 5 and 6): a secret shown once per
//! session, sealed in the store; a missed backup-code tick shows the same code again; a
//! notice read once. ManualClock and the in-process store.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use lanyard_core::ports::EphemeralStore;
use lanyard_core::{ManualClock, OsRng, StoreError, Timestamp};
use lanyard_crypto::{Kek, TokenHasher};
use lanyard_signin::handoff::SHOWN_ONCE_TTL_SECS;
use lanyard_signin::{Handoffs, Showing, ShownId, ShownKind};
use lanyard_store::MemoryStore;

const MINE: Option<&str> = Some("session-one");
const THEIRS: Option<&str> = Some("session-two");
const TOKEN: &str = "lyd_pat_0123456789abcdefghijklmnopqrstuvwxyz";
const CODE: &str = "ABCD-EFGH-JKMN-PQRS-TVWX-YZ01";

/// The in-process store, keeping a copy of every value written (to look for secrets).
struct Peek {
    inner: MemoryStore,
    written: Mutex<Vec<Vec<u8>>>,
}

#[async_trait]
impl EphemeralStore for Peek {
    async fn put(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), StoreError> {
        self.written.lock().unwrap().push(value.to_vec());
        self.inner.put(key, value, ttl).await
    }
    async fn put_if_absent(
        &self,
        key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        self.written.lock().unwrap().push(value.to_vec());
        self.inner.put_if_absent(key, value, ttl).await
    }
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.get(key).await
    }
    async fn take(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.take(key).await
    }
    async fn delete(&self, key: &str) -> Result<bool, StoreError> {
        self.inner.delete(key).await
    }
    async fn increment(&self, key: &str, ttl: Duration) -> Result<u64, StoreError> {
        self.inner.increment(key, ttl).await
    }
}

fn handoffs() -> (Handoffs, Arc<ManualClock>, Arc<Peek>) {
    let clock = Arc::new(ManualClock::new(Timestamp(1_700_000_000)));
    let store = Arc::new(Peek {
        inner: MemoryStore::new(clock.clone()),
        written: Mutex::new(Vec::new()),
    });
    let handoffs = Handoffs::new(
        store.clone(),
        Arc::new(TokenHasher::new(&[7u8; 32])),
        Arc::new(Kek::from_bytes([9u8; 32])),
        clock.clone(),
        Arc::new(OsRng),
    );
    (handoffs, clock, store)
}

fn secret_of(showing: Option<Showing>) -> (String, bool) {
    match showing {
        Some(Showing::Secret { secret, again, .. }) => (secret.expose().to_owned(), again),
        other => panic!("expected the secret, got {other:?}"),
    }
}

fn label_of(showing: Option<Showing>) -> String {
    match showing {
        Some(Showing::ShownBefore { label }) => label,
        other => panic!("expected \"shown before\", got {other:?}"),
    }
}

#[tokio::test]
async fn a_token_is_shown_once_to_its_session_only() {
    let (h, _, store) = handoffs();
    let id = h.keep(MINE, ShownKind::Pat, "laptop", TOKEN).await.unwrap();

    // Another session, no session, another kind, a reused-looking unknown id: nothing, and
    // the entry is left for its own session.
    assert!(h.show(THEIRS, ShownKind::Pat, &id).await.unwrap().is_none());
    assert!(h.show(None, ShownKind::Pat, &id).await.unwrap().is_none());
    assert!(
        h.show(MINE, ShownKind::BackupCode, &id)
            .await
            .unwrap()
            .is_none()
    );
    let unknown = ShownId::parse(&"A".repeat(43)).unwrap();
    assert!(
        h.show(MINE, ShownKind::Pat, &unknown)
            .await
            .unwrap()
            .is_none()
    );
    assert!(ShownId::parse("short").is_none() && ShownId::parse(&"a/".repeat(22)).is_none());

    assert_eq!(
        secret_of(h.show(MINE, ShownKind::Pat, &id).await.unwrap()).0,
        TOKEN
    );
    // A reload: the name, never the token again; a token can not be "shown again".
    for _ in 0..2 {
        assert_eq!(
            label_of(h.show(MINE, ShownKind::Pat, &id).await.unwrap()),
            "laptop"
        );
    }
    assert!(!h.show_again(MINE, ShownKind::Pat, &id).await.unwrap());
    assert_eq!(
        label_of(h.show(MINE, ShownKind::Pat, &id).await.unwrap()),
        "laptop"
    );

    // Never in clear in the store.
    let written = store.written.lock().unwrap();
    assert!(!written.is_empty());
    for value in written.iter() {
        assert!(!value.windows(TOKEN.len()).any(|w| w == TOKEN.as_bytes()));
        assert!(
            !value.windows(6).any(|w| w == b"laptop"),
            "the entry is sealed whole"
        );
    }
}

#[tokio::test]
async fn a_missed_backup_code_tick_shows_the_same_code_until_it_is_saved() {
    let (h, _, _) = handoffs();
    assert!(
        h.keep(None, ShownKind::BackupCode, "backup code", CODE)
            .await
            .is_err()
    );
    let id = h
        .keep(MINE, ShownKind::BackupCode, "backup code", CODE)
        .await
        .unwrap();
    assert_eq!(
        secret_of(h.show(MINE, ShownKind::BackupCode, &id).await.unwrap()),
        (CODE.to_owned(), false)
    );
    label_of(h.show(MINE, ShownKind::BackupCode, &id).await.unwrap());

    // Another session can neither re-show nor finish it.
    assert!(
        !h.show_again(THEIRS, ShownKind::BackupCode, &id)
            .await
            .unwrap()
    );
    assert!(
        h.finish(THEIRS, ShownKind::BackupCode, &id)
            .await
            .unwrap()
            .is_none()
    );

    assert!(
        h.show_again(MINE, ShownKind::BackupCode, &id)
            .await
            .unwrap()
    );
    assert_eq!(
        secret_of(h.show(MINE, ShownKind::BackupCode, &id).await.unwrap()),
        (CODE.to_owned(), true)
    );
    assert_eq!(
        h.finish(MINE, ShownKind::BackupCode, &id)
            .await
            .unwrap()
            .as_deref(),
        Some("backup code")
    );
    // Used up: Back, a replayed post.
    assert!(
        h.show(MINE, ShownKind::BackupCode, &id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        !h.show_again(MINE, ShownKind::BackupCode, &id)
            .await
            .unwrap()
    );
    assert!(
        h.finish(MINE, ShownKind::BackupCode, &id)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn entries_last_minutes_and_notices_are_read_once_by_their_session() {
    let (h, clock, _) = handoffs();
    let id = h.keep(MINE, ShownKind::Pat, "ci", TOKEN).await.unwrap();
    clock.advance(SHOWN_ONCE_TTL_SECS);
    assert!(h.show(MINE, ShownKind::Pat, &id).await.unwrap().is_none());

    h.set_notice(MINE, &"Token 'ci' revoked").await.unwrap();
    h.set_notice(None, &"nobody").await.unwrap();
    assert_eq!(h.take_notice::<String>(THEIRS).await.unwrap(), None);
    assert_eq!(
        h.take_notice::<String>(MINE).await.unwrap().as_deref(),
        Some("Token 'ci' revoked")
    );
    assert_eq!(h.take_notice::<String>(MINE).await.unwrap(), None);
    assert_eq!(h.take_notice::<String>(None).await.unwrap(), None);
}

#[tokio::test]
async fn a_kept_set_can_be_downloaded_by_its_session_until_it_is_saved() {
    let (h, _, store) = handoffs();
    let set = "ABCDE-FGHJK\nMNPQR-STVWX used";
    let id = h
        .keep(MINE, ShownKind::BackupCodeSet, "backup codes", set)
        .await
        .unwrap();
    assert!(
        store
            .written
            .lock()
            .unwrap()
            .iter()
            .all(|v| !v.windows(11).any(|w| w == b"ABCDE-FGHJK")),
        "sealed in the store"
    );
    // Another session, another kind, a malformed or unknown id: nothing.
    assert!(
        h.peek(THEIRS, ShownKind::BackupCodeSet, &id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        h.peek(MINE, ShownKind::BackupCode, &id)
            .await
            .unwrap()
            .is_none()
    );
    let unknown = ShownId::parse(&"A".repeat(43)).unwrap();
    assert!(
        h.peek(MINE, ShownKind::BackupCodeSet, &unknown)
            .await
            .unwrap()
            .is_none()
    );
    // Before and after the page showed it, as often as asked; the page still shows it once.
    let (peeked, _) = h
        .peek(MINE, ShownKind::BackupCodeSet, &id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(peeked.expose(), set);
    assert_eq!(
        secret_of(h.show(MINE, ShownKind::BackupCodeSet, &id).await.unwrap()),
        (set.to_owned(), false)
    );
    assert_eq!(
        label_of(h.show(MINE, ShownKind::BackupCodeSet, &id).await.unwrap()),
        "backup codes"
    );
    let (peeked, _) = h
        .peek(MINE, ShownKind::BackupCodeSet, &id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(peeked.expose(), set);
    // Saved: gone.
    h.finish(MINE, ShownKind::BackupCodeSet, &id).await.unwrap();
    assert!(
        h.peek(MINE, ShownKind::BackupCodeSet, &id)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_shown_token_can_not_be_peeked() {
    let (h, _, _) = handoffs();
    let id = h.keep(MINE, ShownKind::Pat, "ci", TOKEN).await.unwrap();
    secret_of(h.show(MINE, ShownKind::Pat, &id).await.unwrap());
    assert!(h.peek(MINE, ShownKind::Pat, &id).await.unwrap().is_none());
}
