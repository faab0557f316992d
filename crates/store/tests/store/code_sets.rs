//! Contract cases for BackupCodeSetRepo (C4, S34, S35 applied to sets of ten): a code is used
//! once however many race for it, on one store or two; a new set replaces every code of the
//! old one in one step, with no moment without a set; a first set is made once however many
//! tabs ask for it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use lanyard_core::AccountId;
use lanyard_core::ports::BackupCodeSetRepo;
use lanyard_store::SqlStore;
use tokio::sync::Barrier;

use crate::support::{self, NOW, account};

durable_contract!(
    an_account_without_a_set_has_none_and_no_unused_codes,
    a_set_keeps_its_sealed_copy_and_marks_used_codes_by_position,
    a_set_code_works_once_and_only_for_its_account,
    s34_fifty_concurrent_uses_of_one_set_code_succeed_once,
    s35_a_new_set_refuses_every_code_of_the_old_one,
    s35_old_codes_raced_against_a_new_set_never_work_after_it,
    s35_concurrent_new_sets_leave_exactly_one_and_never_none,
    ten_concurrent_first_sets_make_one_and_never_replace_it,
    deleting_a_set_removes_its_codes,
);

async fn new_account(store: &SqlStore) -> AccountId {
    let tag = support::random_id().simple().to_string();
    account(store, &format!("{tag}@example.com")).await
}

/// Ten distinct hashes for a set tagged `tag`.
fn hashes(tag: &str) -> Vec<String> {
    (0..10).map(|i| format!("{tag}-hash-{i}")).collect()
}

async fn an_account_without_a_set_has_none_and_no_unused_codes(store: &SqlStore) {
    let id = new_account(store).await;
    assert!(store.backup_code_set(id).await.unwrap().is_none());
    assert_eq!(store.unused_set_codes(id).await.unwrap(), 0);
    assert!(!store.consume_set_code(id, "anything", NOW).await.unwrap());
    assert!(!store.delete_backup_code_set(id).await.unwrap());
}

async fn a_set_keeps_its_sealed_copy_and_marks_used_codes_by_position(store: &SqlStore) {
    let id = new_account(store).await;
    store
        .replace_backup_code_set(id, b"sealed-one", &hashes("one"), NOW)
        .await
        .unwrap();
    let set = store.backup_code_set(id).await.unwrap().unwrap();
    assert_eq!(set.account_id, id);
    assert_eq!(set.sealed, b"sealed-one");
    assert_eq!(set.created_at, NOW);
    assert_eq!(set.used_at, vec![None; 10]);
    assert_eq!(set.remaining(), 10);
    assert_eq!(store.unused_set_codes(id).await.unwrap(), 10);

    let at = NOW.plus_secs(30);
    assert!(store.consume_set_code(id, "one-hash-3", at).await.unwrap());
    let set = store.backup_code_set(id).await.unwrap().unwrap();
    let mut expected = vec![None; 10];
    expected[3] = Some(at);
    assert_eq!(set.used_at, expected);
    assert_eq!(set.remaining(), 9);
    assert_eq!(store.unused_set_codes(id).await.unwrap(), 9);
}

async fn a_set_code_works_once_and_only_for_its_account(store: &SqlStore) {
    let id = new_account(store).await;
    let other = new_account(store).await;
    store
        .replace_backup_code_set(id, b"sealed", &hashes("mine"), NOW)
        .await
        .unwrap();
    store
        .replace_backup_code_set(other, b"sealed", &hashes("theirs"), NOW)
        .await
        .unwrap();
    assert!(
        !store
            .consume_set_code(id, "theirs-hash-0", NOW)
            .await
            .unwrap(),
        "another account's code"
    );
    assert!(!store.consume_set_code(id, "unknown", NOW).await.unwrap());
    assert!(
        store
            .consume_set_code(id, "mine-hash-0", NOW)
            .await
            .unwrap()
    );
    assert!(
        !store
            .consume_set_code(id, "mine-hash-0", NOW)
            .await
            .unwrap(),
        "used"
    );
    assert_eq!(store.unused_set_codes(id).await.unwrap(), 9);
    assert_eq!(store.unused_set_codes(other).await.unwrap(), 10);
}

/// Runs `n` copies of `call` released together by a barrier; returns their results.
async fn race<T, F, Fut>(stores: &[SqlStore], n: usize, call: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(SqlStore, usize) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    let barrier = Arc::new(Barrier::new(n));
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let barrier = barrier.clone();
            let call = call(stores[i % stores.len()].clone(), i);
            tokio::spawn(async move {
                barrier.wait().await;
                call.await
            })
        })
        .collect();
    let mut results = Vec::with_capacity(n);
    for task in tasks {
        results.push(task.await.unwrap());
    }
    results
}

async fn fifty_uses_of_one_code(stores: &[SqlStore]) {
    let store = &stores[0];
    let id = new_account(store).await;
    store
        .replace_backup_code_set(id, b"sealed", &hashes("raced"), NOW)
        .await
        .unwrap();
    let at = NOW.plus_secs(5);
    let won = race(stores, 50, |store, _| async move {
        store
            .consume_set_code(id, "raced-hash-7", at)
            .await
            .unwrap()
    })
    .await;
    assert_eq!(won.iter().filter(|ok| **ok).count(), 1);
    assert_eq!(store.unused_set_codes(id).await.unwrap(), 9);
    let set = store.backup_code_set(id).await.unwrap().unwrap();
    assert_eq!(set.used_at[7], Some(at));
}

async fn s34_fifty_concurrent_uses_of_one_set_code_succeed_once(store: &SqlStore) {
    fifty_uses_of_one_code(std::slice::from_ref(store)).await;
}

async fn s35_a_new_set_refuses_every_code_of_the_old_one(store: &SqlStore) {
    let id = new_account(store).await;
    store
        .replace_backup_code_set(id, b"old", &hashes("old"), NOW)
        .await
        .unwrap();
    assert!(store.consume_set_code(id, "old-hash-0", NOW).await.unwrap());
    let later = NOW.plus_secs(60);
    store
        .replace_backup_code_set(id, b"new", &hashes("new"), later)
        .await
        .unwrap();
    let set = store.backup_code_set(id).await.unwrap().unwrap();
    assert_eq!(set.sealed, b"new");
    assert_eq!(set.created_at, later);
    assert_eq!(set.used_at, vec![None; 10], "the new set starts unused");
    for hash in hashes("old") {
        assert!(
            !store.consume_set_code(id, &hash, later).await.unwrap(),
            "{hash}"
        );
    }
    for hash in hashes("new") {
        assert!(
            store.consume_set_code(id, &hash, later).await.unwrap(),
            "{hash}"
        );
    }
    assert_eq!(store.unused_set_codes(id).await.unwrap(), 0);
}

async fn s35_old_codes_raced_against_a_new_set_never_work_after_it(store: &SqlStore) {
    let id = new_account(store).await;
    store
        .replace_backup_code_set(id, b"old", &hashes("old"), NOW)
        .await
        .unwrap();
    let regenerated = Arc::new(AtomicBool::new(false));
    // Ten uses of the ten old codes (each twice) and one regeneration, released together.
    let outcomes = race(std::slice::from_ref(store), 21, |store, i| {
        let regenerated = regenerated.clone();
        async move {
            if i == 20 {
                store
                    .replace_backup_code_set(id, b"new", &hashes("new"), NOW)
                    .await
                    .unwrap();
                regenerated.store(true, Ordering::SeqCst);
                return None;
            }
            let done_before = regenerated.load(Ordering::SeqCst);
            let ok = store
                .consume_set_code(id, &format!("old-hash-{}", i % 10), NOW)
                .await
                .unwrap();
            Some((done_before, ok))
        }
    })
    .await;
    for (done_before, ok) in outcomes.into_iter().flatten() {
        assert!(!(done_before && ok), "an old code worked after the new set");
    }
    // Whatever won before the swap was on the old rows: the new set is whole and unused.
    let set = store.backup_code_set(id).await.unwrap().unwrap();
    assert_eq!(set.sealed, b"new");
    assert_eq!(set.remaining(), 10);
    for hash in hashes("old") {
        assert!(!store.consume_set_code(id, &hash, NOW).await.unwrap());
    }
}

async fn s35_concurrent_new_sets_leave_exactly_one_and_never_none(store: &SqlStore) {
    let id = new_account(store).await;
    store
        .replace_backup_code_set(id, b"first", &hashes("first"), NOW)
        .await
        .unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let watcher = {
        let store = store.clone();
        let done = done.clone();
        tokio::spawn(async move {
            let mut looks = 0;
            // At least a few looks, and keep looking while replacements run.
            while looks < 5 || !done.load(Ordering::SeqCst) {
                let unused = store.unused_set_codes(id).await.unwrap();
                assert_eq!(unused, 10, "a moment with {unused} usable codes");
                assert!(store.backup_code_set(id).await.unwrap().is_some());
                looks += 1;
                tokio::task::yield_now().await;
            }
        })
    };
    race(std::slice::from_ref(store), 10, |store, i| async move {
        let tag = format!("set{i}");
        store
            .replace_backup_code_set(id, tag.as_bytes(), &hashes(&tag), NOW)
            .await
            .unwrap();
    })
    .await;
    done.store(true, Ordering::SeqCst);
    watcher.await.unwrap();

    let set = store.backup_code_set(id).await.unwrap().unwrap();
    let winner = String::from_utf8(set.sealed.clone()).unwrap();
    for i in 0..10 {
        let tag = format!("set{i}");
        let works = store
            .consume_set_code(id, &format!("{tag}-hash-0"), NOW)
            .await
            .unwrap();
        assert_eq!(works, tag == winner, "{tag} (the kept set is {winner})");
    }
}

/// Two tabs finishing one set-up: of ten racing first sets one is written, the others write
/// nothing; once there is a set, a first set never replaces it (only "Generate new codes").
async fn ten_concurrent_first_sets_make_one_and_never_replace_it(store: &SqlStore) {
    let id = new_account(store).await;
    let made = race(std::slice::from_ref(store), 10, |store, i| async move {
        let tag = format!("first{i}");
        let made = store
            .create_first_backup_code_set(id, tag.as_bytes(), &hashes(&tag), NOW)
            .await
            .unwrap();
        (tag, made)
    })
    .await;
    let winners: Vec<&String> = made.iter().filter(|(_, m)| *m).map(|(t, _)| t).collect();
    assert_eq!(winners.len(), 1, "{made:?}");
    let set = store.backup_code_set(id).await.unwrap().unwrap();
    assert_eq!(set.sealed, winners[0].as_bytes());
    assert_eq!(store.unused_set_codes(id).await.unwrap(), 10);
    for (tag, _) in &made {
        let works = store
            .consume_set_code(id, &format!("{tag}-hash-0"), NOW)
            .await
            .unwrap();
        assert_eq!(works, tag == winners[0], "{tag}");
    }

    assert!(
        !store
            .create_first_backup_code_set(id, b"late", &hashes("late"), NOW)
            .await
            .unwrap()
    );
    assert_eq!(
        store.backup_code_set(id).await.unwrap().unwrap().sealed,
        winners[0].as_bytes()
    );
}

async fn deleting_a_set_removes_its_codes(store: &SqlStore) {
    let id = new_account(store).await;
    store
        .replace_backup_code_set(id, b"sealed", &hashes("gone"), NOW)
        .await
        .unwrap();
    assert!(store.delete_backup_code_set(id).await.unwrap());
    assert!(store.backup_code_set(id).await.unwrap().is_none());
    assert_eq!(store.unused_set_codes(id).await.unwrap(), 0);
    assert!(
        !store
            .consume_set_code(id, "gone-hash-0", NOW)
            .await
            .unwrap()
    );
    // A set can be made again afterwards (the codes' hashes were freed too).
    store
        .replace_backup_code_set(id, b"again", &hashes("gone"), NOW)
        .await
        .unwrap();
    assert_eq!(store.unused_set_codes(id).await.unwrap(), 10);
}

/// S34 across two store instances (two nodes' pools) on one database.
mod two_stores {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn s34_fifty_uses_of_one_set_code_across_two_stores_succeed_once_sqlite() {
        let db = crate::support::sqlite().await;
        let second = crate::support::connect(&db.url).await.unwrap();
        super::fifty_uses_of_one_code(&[db.store.clone(), second]).await;
        db.cleanup().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn s34_fifty_uses_of_one_set_code_across_two_stores_succeed_once_postgres() {
        let Some(db) = crate::support::postgres().await else {
            return;
        };
        let second = crate::support::connect(&db.url).await.unwrap();
        super::fifty_uses_of_one_code(&[db.store.clone(), second]).await;
        db.cleanup().await;
    }
}
