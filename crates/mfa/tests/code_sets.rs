//! Sets of ten backup codes (C4) through `MfaService`, with real adapters and no HTTP: SQLite
//! in memory, the in-process ephemeral store, a manual clock, real keyed hashing and sealing.
//! S34 and S35 applied to sets: a code works once however many challenges race for it, a new
//! set refuses every old code, wrong codes count like any other, and nothing is kept in clear.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;
use lanyard_core::model::{Account, AccountKind, AccountStatus, NewAccount};
use lanyard_core::ports::{AccountRepo, AuditRepo, BackupCodeSetRepo, MfaRepo};
use lanyard_core::rng::random_token;
use lanyard_core::{
    Auditor, Clock, MailError, Mailer, ManualClock, Origin, OsRng, OutgoingMail, Timestamp,
};
use lanyard_crypto::{Kek, TokenHasher};
use lanyard_mfa::{Answer, Factor, MfaDeps, MfaError, MfaService, MfaSettings, Purpose};
use lanyard_store::{MemoryStore, SqlStore};
use tokio::sync::Barrier;

const START: Timestamp = Timestamp(1_700_000_010);

struct NoMail;

#[async_trait]
impl Mailer for NoMail {
    async fn send(&self, _: &OutgoingMail) -> Result<(), MailError> {
        Ok(())
    }
}

struct Harness {
    store: SqlStore,
    clock: Arc<ManualClock>,
    mfa: Arc<MfaService>,
}

async fn harness_with(settings: MfaSettings) -> Harness {
    let clock = Arc::new(ManualClock::new(START));
    let store = SqlStore::connect("sqlite::memory:", clock.clone(), Arc::new(OsRng))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let deps = MfaDeps {
        repo: Arc::new(store.clone()),
        ephemeral: Arc::new(MemoryStore::new(clock.clone())),
        mailer: Arc::new(NoMail),
        clock: clock.clone(),
        rng: Arc::new(OsRng),
        hasher: Arc::new(TokenHasher::new(&[7u8; 32])),
        kek: Arc::new(Kek::from_bytes([9u8; 32])),
        audit: Auditor::new(Arc::new(store.clone())),
        product_name: "Lanyard".to_owned(),
    };
    Harness {
        store,
        clock,
        mfa: Arc::new(MfaService::new(deps, settings)),
    }
}

async fn harness() -> Harness {
    harness_with(MfaSettings::default()).await
}

fn origin() -> Origin {
    Origin {
        ip: Some("198.51.100.10".to_owned()),
        user_agent: Some("test-agent".to_owned()),
        actor: None,
    }
}

macro_rules! assert_err {
    ($result:expr, $pattern:pat) => {
        match $result {
            Err($pattern) => {}
            other => panic!("expected Err({}), got {other:?}", stringify!($pattern)),
        }
    };
}

impl Harness {
    async fn account(&self, email: &str, kind: AccountKind) -> Account {
        let new = NewAccount {
            email: email.to_owned(),
            email_normalized: match kind {
                AccountKind::Person => email.to_lowercase(),
                AccountKind::SiteUser => format!("site-user:{email}"),
            },
            email_verified: true,
            name: "Test User".to_owned(),
            password_hash: None,
            status: AccountStatus::Active,
            kind,
        };
        self.store
            .insert_account(new, self.clock.now())
            .await
            .unwrap()
    }

    async fn principal(&self, email: &str) -> Account {
        self.account(email, AccountKind::SiteUser).await
    }

    /// A challenge that mails nothing (an app asking for a higher level).
    async fn challenge(&self, account: &Account) -> String {
        let id = random_token(&OsRng, 32);
        self.mfa
            .begin(&id, account, Purpose::RaiseAssurance, None, &origin())
            .await
            .unwrap();
        id
    }

    async fn answer(&self, account: &Account, typed: &str) -> Result<Factor, MfaError> {
        let id = self.challenge(account).await;
        let verified = self
            .mfa
            .verify(&id, Answer::BackupCode(typed), &origin())
            .await?;
        assert_eq!(
            verified.new_backup_code, None,
            "a set's code is not replaced"
        );
        Ok(verified.factor)
    }

    async fn audits(&self, kind: &str, account: &Account) -> usize {
        self.store
            .list_audit(Some(kind), 1000)
            .await
            .unwrap()
            .iter()
            .filter(|e| e.subject.as_deref() == Some(account.id.to_string().as_str()))
            .count()
    }

    async fn failures(&self, account: &Account) -> u32 {
        self.store.mfa_state(account.id).await.unwrap().failures
    }
}

fn assert_set_code_shape(code: &str) {
    assert_eq!(code.len(), 11, "{code}");
    let (left, right) = code.split_at(5);
    assert!(right.starts_with('-'), "{code}");
    for part in [left, &right[1..]] {
        assert!(
            part.bytes()
                .all(|b| b"0123456789ABCDEFGHJKMNPQRSTVWXYZ".contains(&b)),
            "{code}"
        );
    }
}

#[tokio::test]
async fn c4_a_new_set_has_ten_distinct_codes_shown_again_in_order() {
    let h = harness().await;
    let ann = h.principal("ann@site.example").await;
    assert_eq!(h.mfa.backup_code_set(ann.id).await.unwrap(), None);
    assert_eq!(h.mfa.unused_backup_set_codes(ann.id).await.unwrap(), 0);
    assert!(!h.mfa.has_backup_code_set(ann.id).await.unwrap());

    let codes = h.mfa.new_backup_code_set(ann.id, &origin()).await.unwrap();
    assert_eq!(codes.len(), 10);
    codes.iter().for_each(|c| assert_set_code_shape(c));
    assert_eq!(codes.iter().collect::<HashSet<_>>().len(), 10);
    assert_eq!(h.audits("mfa.backup_code_set.generated", &ann).await, 1);

    let shown = h.mfa.backup_code_set(ann.id).await.unwrap().unwrap();
    assert_eq!(shown.created_at, START);
    let again: Vec<&str> = shown.codes.iter().map(|c| c.code.as_str()).collect();
    assert_eq!(again, codes.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(shown.codes.iter().all(|c| !c.used));
    assert_eq!(shown.remaining(), 10);
    assert_eq!(h.mfa.unused_backup_set_codes(ann.id).await.unwrap(), 10);
}

#[tokio::test]
async fn s35_no_code_is_stored_in_clear_and_the_sealed_set_opens_only_for_its_account() {
    let h = harness().await;
    let ann = h.principal("ann@site.example").await;
    let bob = h.principal("bob@site.example").await;
    let codes = h.mfa.new_backup_code_set(ann.id, &origin()).await.unwrap();
    let stored = h.store.backup_code_set(ann.id).await.unwrap().unwrap();
    for code in &codes {
        for form in [code.clone(), code.replace('-', "")] {
            assert!(
                !stored
                    .sealed
                    .windows(form.len())
                    .any(|w| w == form.as_bytes()),
                "{form} in the sealed copy"
            );
        }
    }
    // The sealed copy moved to another account's row does not open there.
    h.store
        .replace_backup_code_set(bob.id, &stored.sealed, &["x".to_owned()], START)
        .await
        .unwrap();
    assert_err!(h.mfa.backup_code_set(bob.id).await, MfaError::Internal(_));
}

#[tokio::test]
async fn c4_each_code_works_once_however_it_is_typed_and_is_marked_used() {
    let h = harness().await;
    let ann = h.principal("ann@site.example").await;
    let codes = h.mfa.new_backup_code_set(ann.id, &origin()).await.unwrap();
    let id = h.challenge(&ann).await;
    assert!(h.mfa.view(&id).await.unwrap().has_backup_code);

    // Lower case, spaces for the dash, look-alikes: the same code.
    let typed = codes[2].to_lowercase().replace('-', " ").replace('0', "o");
    assert_eq!(h.answer(&ann, &typed).await.unwrap(), Factor::BackupCode);
    assert_eq!(h.audits("mfa.backup_code.used", &ann).await, 1);
    assert_eq!(h.mfa.unused_backup_set_codes(ann.id).await.unwrap(), 9);
    assert_err!(h.answer(&ann, &codes[2]).await, MfaError::WrongCode { .. });
    assert_eq!(h.failures(&ann).await, 1, "a used code is a wrong code");

    let shown = h.mfa.backup_code_set(ann.id).await.unwrap().unwrap();
    let used: Vec<bool> = shown.codes.iter().map(|c| c.used).collect();
    let mut expected = vec![false; 10];
    expected[2] = true;
    assert_eq!(used, expected);

    // Every other code still works, once each; then none is left to offer.
    for (i, code) in codes.iter().enumerate().filter(|(i, _)| *i != 2) {
        assert_eq!(
            h.answer(&ann, code).await.unwrap(),
            Factor::BackupCode,
            "{i}"
        );
    }
    assert_eq!(h.mfa.unused_backup_set_codes(ann.id).await.unwrap(), 0);
    let id = h.challenge(&ann).await;
    assert!(!h.mfa.view(&id).await.unwrap().has_backup_code);
    assert_eq!(h.audits("mfa.backup_code.used", &ann).await, 10);
}

#[tokio::test]
async fn s35_a_new_set_refuses_every_code_of_the_old_one() {
    let h = harness().await;
    let ann = h.principal("ann@site.example").await;
    let old = h.mfa.new_backup_code_set(ann.id, &origin()).await.unwrap();
    h.answer(&ann, &old[0]).await.unwrap();
    h.clock.advance(60);
    let new = h.mfa.new_backup_code_set(ann.id, &origin()).await.unwrap();
    assert!(old.iter().all(|c| !new.contains(c)));
    let shown = h.mfa.backup_code_set(ann.id).await.unwrap().unwrap();
    assert_eq!(shown.created_at, START.plus_secs(60));
    assert_eq!(shown.remaining(), 10, "the new set starts unused");
    // Four wrong answers stay below the backoff; the fifth old code would lock the account.
    for code in &old[1..5] {
        assert_err!(h.answer(&ann, code).await, MfaError::WrongCode { .. });
    }
    assert_eq!(h.failures(&ann).await, 4);
    h.answer(&ann, &new[0]).await.unwrap();
    assert_eq!(h.failures(&ann).await, 0, "a right answer clears the count");
}

#[tokio::test]
async fn s30_s35_wrong_set_codes_count_and_lock_like_any_code() {
    let h = harness().await;
    let ann = h.principal("ann@site.example").await;
    let codes = h.mfa.new_backup_code_set(ann.id, &origin()).await.unwrap();
    // Malformed input is refused before any guess is counted.
    for bad in [
        "",
        "ABCDE",
        "ABCDE-FGHJU",
        "ABCDE-FGHJK-M",
        &"A".repeat(500),
    ] {
        assert_err!(h.answer(&ann, bad).await, MfaError::Malformed);
    }
    assert_eq!(h.failures(&ann).await, 0);
    for _ in 0..5 {
        assert_err!(
            h.answer(&ann, "ZZZZZ-ZZZZZ").await,
            MfaError::WrongCode { .. }
        );
    }
    assert_eq!(h.failures(&ann).await, 5);
    assert_eq!(h.audits("mfa.backup_code.failed", &ann).await, 5);
    // Locked: even a right code is refused now, and stays unused.
    let id = random_token(&OsRng, 32);
    assert_err!(
        h.mfa
            .begin(&id, &ann, Purpose::RaiseAssurance, None, &origin())
            .await,
        MfaError::Locked { .. }
    );
    assert_eq!(h.mfa.unused_backup_set_codes(ann.id).await.unwrap(), 10);
    h.clock.advance(60);
    h.answer(&ann, &codes[0]).await.unwrap();
}

#[tokio::test]
async fn an_account_with_a_set_is_never_checked_against_a_single_code_nor_the_reverse() {
    let h = harness().await;
    let ann = h.principal("ann@site.example").await;
    let single = h.mfa.issue_backup_code(ann.id, &origin()).await.unwrap();
    let codes = h.mfa.new_backup_code_set(ann.id, &origin()).await.unwrap();
    assert_err!(h.answer(&ann, &single).await, MfaError::WrongCode { .. });
    h.answer(&ann, &codes[0]).await.unwrap();

    // A person with one backup code: a set-shaped code is a wrong code, counted.
    let bob = h.account("bob@example.com", AccountKind::Person).await;
    h.mfa.issue_backup_code(bob.id, &origin()).await.unwrap();
    assert_err!(h.answer(&bob, &codes[1]).await, MfaError::WrongCode { .. });
    assert_eq!(h.failures(&bob).await, 1);
}

#[tokio::test]
async fn another_accounts_code_is_a_wrong_code() {
    let h = harness().await;
    let ann = h.principal("ann@site.example").await;
    let bob = h.principal("bob@site.example").await;
    let anns = h.mfa.new_backup_code_set(ann.id, &origin()).await.unwrap();
    h.mfa.new_backup_code_set(bob.id, &origin()).await.unwrap();
    assert_err!(h.answer(&bob, &anns[0]).await, MfaError::WrongCode { .. });
    assert_eq!(h.mfa.unused_backup_set_codes(ann.id).await.unwrap(), 10);
}

#[tokio::test]
async fn s35_step_up_refuses_a_set_made_during_the_session_it_protects() {
    let h = harness().await;
    let ann = h.principal("ann@site.example").await;
    let session_started = h.clock.now();
    h.clock.advance(30);
    let codes = h.mfa.new_backup_code_set(ann.id, &origin()).await.unwrap();
    h.clock.advance(30);
    let id = random_token(&OsRng, 32);
    h.mfa
        .begin(&id, &ann, Purpose::StepUp, Some(session_started), &origin())
        .await
        .unwrap();
    assert_err!(
        h.mfa
            .verify(&id, Answer::BackupCode(&codes[0]), &origin())
            .await,
        MfaError::FactorTooNew
    );
    assert_eq!(h.failures(&ann).await, 0, "not a guess");
    assert_eq!(h.mfa.unused_backup_set_codes(ann.id).await.unwrap(), 10);

    // A session that began after the set was made may use it.
    let id = random_token(&OsRng, 32);
    h.mfa
        .begin(&id, &ann, Purpose::StepUp, Some(h.clock.now()), &origin())
        .await
        .unwrap();
    let ok = h
        .mfa
        .verify(&id, Answer::BackupCode(&codes[0]), &origin())
        .await
        .unwrap();
    assert_eq!(ok.factor, Factor::BackupCode);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn s34_one_set_code_sent_by_fifty_challenges_at_once_works_once() {
    // Room for 49 wrong answers without a lock: the test measures single use.
    let h = harness_with(MfaSettings {
        backoff_after: 60,
        hard_limit: 100,
        ..MfaSettings::default()
    })
    .await;
    let ann = h.principal("ann@site.example").await;
    let codes = h.mfa.new_backup_code_set(ann.id, &origin()).await.unwrap();
    let mut ids = Vec::new();
    for _ in 0..50 {
        ids.push(h.challenge(&ann).await);
    }
    let barrier = Arc::new(Barrier::new(ids.len()));
    let tasks: Vec<_> = ids
        .into_iter()
        .map(|id| {
            let (mfa, barrier, code) = (h.mfa.clone(), barrier.clone(), codes[4].clone());
            tokio::spawn(async move {
                barrier.wait().await;
                mfa.verify(&id, Answer::BackupCode(&code), &origin()).await
            })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap());
    }
    let won = results.iter().filter(|r| r.is_ok()).count();
    let wrong = results
        .iter()
        .filter(|r| matches!(r, Err(MfaError::WrongCode { .. })))
        .count();
    assert_eq!((won, wrong), (1, 49), "{results:?}");
    assert_eq!(h.mfa.unused_backup_set_codes(ann.id).await.unwrap(), 9);
    assert_eq!(h.audits("mfa.backup_code.used", &ann).await, 1);
    assert_eq!(h.audits("mfa.backup_code.verified", &ann).await, 1);
    assert_eq!(h.audits("mfa.backup_code.failed", &ann).await, 49);
}
