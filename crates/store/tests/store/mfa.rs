//! Contract cases for MfaRepo (requirements B2–B7): the failure counter, the credential
//! epoch, authenticator-app credentials and their time steps, the backup code and trusted
//! devices, including the races each "exactly once" rule must survive.

use std::sync::Arc;

use lanyard_core::model::{DeviceId, MfaMethod, MfaState, TrustedDevice};
use lanyard_core::ports::MfaRepo;
use lanyard_core::{AccountId, ManualClock, OsRng, StoreError, Timestamp};
use lanyard_store::SqlStore;
use tokio::sync::Barrier;

use crate::support::{self, NOW, account};

durable_contract!(
    an_account_without_mfa_rows_has_the_default_state,
    failures_count_up_and_clear,
    two_hundred_concurrent_failures_all_count,
    an_attempt_is_reserved_only_while_open_and_a_release_restores_the_time,
    concurrent_reservations_stop_at_the_budget,
    the_credential_epoch_bumps,
    set_mfa_method_switches_only_the_method,
    a_pending_totp_is_replaced_and_activated_once,
    activation_replaces_the_active_credential,
    totp_steps_only_move_forward,
    sixteen_concurrent_uses_of_one_step_accept_one,
    delete_totp_removes_both_credentials,
    a_backup_code_is_consumed_once_and_replaced,
    fifty_concurrent_consumes_of_one_code_succeed_once,
    replacing_the_backup_code_retires_the_old_one,
    trusted_devices_insert_find_touch_and_list,
    revoking_a_trusted_device_needs_its_own_account,
    revoking_all_trusted_devices_counts_the_live_ones,
    a_duplicate_device_token_conflicts,
);

async fn new_account(store: &SqlStore) -> AccountId {
    let tag = support::random_id().simple().to_string();
    account(store, &format!("{tag}@example.com")).await
}

/// Runs `n` copies of `call` released together by a barrier; returns their results.
async fn race<T, F, Fut>(store: &SqlStore, n: usize, call: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(SqlStore, usize) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    let barrier = Arc::new(Barrier::new(n));
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let barrier = barrier.clone();
            let call = call(store.clone(), i);
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

async fn an_account_without_mfa_rows_has_the_default_state(store: &SqlStore) {
    let id = new_account(store).await;
    let state = store.mfa_state(id).await.unwrap();
    assert_eq!(state, MfaState::new(id));
    assert_eq!(state.method, MfaMethod::Email);
    assert_eq!(state.credential_epoch, 0);
    assert_eq!(state.failures, 0);
    assert_eq!(state.last_failure_at, None);
    assert_eq!(store.totp_credential(id, false).await.unwrap(), None);
    assert_eq!(store.totp_credential(id, true).await.unwrap(), None);
    assert_eq!(store.backup_code(id).await.unwrap(), None);
    assert!(
        store
            .list_trusted_devices(id, NOW)
            .await
            .unwrap()
            .is_empty()
    );
    // An account nobody created has the default too (reads never fail on absence).
    let ghost = AccountId(support::random_id());
    assert_eq!(store.mfa_state(ghost).await.unwrap(), MfaState::new(ghost));
    // Clearing failures creates nothing.
    store.clear_mfa_failures(id).await.unwrap();
    assert_eq!(store.mfa_state(id).await.unwrap(), MfaState::new(id));
}

async fn failures_count_up_and_clear(store: &SqlStore) {
    let id = new_account(store).await;
    let other = new_account(store).await;
    for n in 1..=3_u32 {
        let at = NOW.plus_secs(i64::from(n));
        let state = store.record_mfa_failure(id, at).await.unwrap();
        assert_eq!(state.failures, n);
        assert_eq!(state.last_failure_at, Some(at));
        assert_eq!(state.method, MfaMethod::Email);
        assert_eq!(state.credential_epoch, 0);
        assert_eq!(store.mfa_state(id).await.unwrap(), state);
    }
    assert_eq!(store.mfa_state(other).await.unwrap(), MfaState::new(other));

    store.clear_mfa_failures(id).await.unwrap();
    let cleared = store.mfa_state(id).await.unwrap();
    assert_eq!(cleared.failures, 0);
    assert_eq!(cleared.last_failure_at, None);

    let again = store
        .record_mfa_failure(id, NOW.plus_secs(10))
        .await
        .unwrap();
    assert_eq!(again.failures, 1, "counting starts over after a success");

    // Clearing keeps what is not a failure.
    store.bump_credential_epoch(id).await.unwrap();
    store.set_mfa_method(id, MfaMethod::Totp).await.unwrap();
    store.clear_mfa_failures(id).await.unwrap();
    let state = store.mfa_state(id).await.unwrap();
    assert_eq!(
        (state.failures, state.credential_epoch, state.method),
        (0, 1, MfaMethod::Totp)
    );
}

async fn two_hundred_concurrent_failures_all_count(store: &SqlStore) {
    let id = new_account(store).await;
    let states = race(store, 200, |store, i| async move {
        let at = NOW.plus_secs(i64::try_from(i).unwrap());
        store.record_mfa_failure(id, at).await.unwrap()
    })
    .await;
    // Each call saw its own increment: the counts returned are exactly 1..=200.
    let mut counts: Vec<u32> = states.iter().map(|s| s.failures).collect();
    counts.sort_unstable();
    assert_eq!(counts, (1..=200).collect::<Vec<u32>>());
    assert_eq!(store.mfa_state(id).await.unwrap().failures, 200);
}

async fn the_credential_epoch_bumps(store: &SqlStore) {
    let id = new_account(store).await;
    let other = new_account(store).await;
    assert_eq!(store.bump_credential_epoch(id).await.unwrap(), 1);
    assert_eq!(store.bump_credential_epoch(id).await.unwrap(), 2);
    assert_eq!(store.mfa_state(id).await.unwrap().credential_epoch, 2);
    assert_eq!(store.mfa_state(other).await.unwrap().credential_epoch, 0);

    let epochs = race(store, 10, |store, _| async move {
        store.bump_credential_epoch(id).await.unwrap()
    })
    .await;
    let mut epochs = epochs;
    epochs.sort_unstable();
    assert_eq!(epochs, (3..=12).collect::<Vec<i64>>());
}

async fn set_mfa_method_switches_only_the_method(store: &SqlStore) {
    let id = new_account(store).await;
    store.set_mfa_method(id, MfaMethod::Totp).await.unwrap();
    let state = store.mfa_state(id).await.unwrap();
    assert_eq!(state.method, MfaMethod::Totp);
    assert_eq!(state.credential_epoch, 0);
    store.set_mfa_method(id, MfaMethod::Email).await.unwrap();
    assert_eq!(store.mfa_state(id).await.unwrap(), MfaState::new(id));
}

async fn a_pending_totp_is_replaced_and_activated_once(store: &SqlStore) {
    let id = new_account(store).await;
    // Nothing pending: nothing to activate, and nothing changes.
    assert!(
        !store
            .activate_pending_totp(id, b"none", 5, NOW)
            .await
            .unwrap()
    );
    assert_eq!(store.mfa_state(id).await.unwrap(), MfaState::new(id));

    store.put_pending_totp(id, b"first", NOW).await.unwrap();
    let later = NOW.plus_secs(30);
    // Every byte value must survive the blob column.
    let secret: Vec<u8> = (0..=255).collect();
    store.put_pending_totp(id, &secret, later).await.unwrap();
    let pending = store.totp_credential(id, true).await.unwrap().unwrap();
    assert_eq!(pending.account_id, id);
    assert_eq!(
        pending.secret_sealed, secret,
        "the second setup replaced the first"
    );
    assert_eq!(pending.created_at, later);
    assert_eq!(pending.confirmed_at, None);
    assert_eq!(pending.last_used_step, None);
    assert_eq!(store.totp_credential(id, false).await.unwrap(), None);
    assert_eq!(
        store.mfa_state(id).await.unwrap().method,
        MfaMethod::Email,
        "a pending credential changes nothing yet"
    );

    let confirmed_at = later.plus_secs(20);
    // A confirm that checked the code against the replaced secret activates nothing.
    assert!(
        !store
            .activate_pending_totp(id, b"first", 42, confirmed_at)
            .await
            .unwrap()
    );
    assert!(
        store
            .activate_pending_totp(id, &secret, 42, confirmed_at)
            .await
            .unwrap()
    );
    assert!(
        !store
            .activate_pending_totp(id, &secret, 43, confirmed_at)
            .await
            .unwrap()
    );
    assert_eq!(store.totp_credential(id, true).await.unwrap(), None);
    let active = store.totp_credential(id, false).await.unwrap().unwrap();
    assert_eq!(active.secret_sealed, secret);
    assert_eq!(active.last_used_step, Some(42));
    assert_eq!(active.created_at, later);
    assert_eq!(active.confirmed_at, Some(confirmed_at));
    let state = store.mfa_state(id).await.unwrap();
    assert_eq!(state.method, MfaMethod::Totp);
    assert_eq!(
        state.credential_epoch, 1,
        "activation bumped the epoch once"
    );
    // The code that confirmed it can not be used again.
    assert!(!store.advance_totp_step(id, 42).await.unwrap());
    assert!(store.advance_totp_step(id, 43).await.unwrap());

    // Concurrent confirms of one pending credential: one wins, one epoch bump.
    store.put_pending_totp(id, b"third", NOW).await.unwrap();
    let won = race(store, 8, |store, _| async move {
        store
            .activate_pending_totp(id, b"third", 100, NOW)
            .await
            .unwrap()
    })
    .await;
    assert_eq!(won.iter().filter(|w| **w).count(), 1);
    assert_eq!(store.mfa_state(id).await.unwrap().credential_epoch, 2);
    let active = store.totp_credential(id, false).await.unwrap().unwrap();
    assert_eq!(active.secret_sealed, b"third");
}

async fn activation_replaces_the_active_credential(store: &SqlStore) {
    let id = new_account(store).await;
    store.put_pending_totp(id, b"old", NOW).await.unwrap();
    assert!(
        store
            .activate_pending_totp(id, b"old", 10, NOW)
            .await
            .unwrap()
    );

    // A new setup leaves the active credential working until it is confirmed.
    store
        .put_pending_totp(id, b"new", NOW.plus_secs(60))
        .await
        .unwrap();
    let active = store.totp_credential(id, false).await.unwrap().unwrap();
    assert_eq!(active.secret_sealed, b"old");
    assert!(store.advance_totp_step(id, 11).await.unwrap());
    assert_eq!(
        store
            .totp_credential(id, true)
            .await
            .unwrap()
            .unwrap()
            .secret_sealed,
        b"new"
    );

    assert!(
        store
            .activate_pending_totp(id, b"new", 5, NOW.plus_secs(90))
            .await
            .unwrap()
    );
    let active = store.totp_credential(id, false).await.unwrap().unwrap();
    assert_eq!(active.secret_sealed, b"new");
    assert_eq!(
        active.last_used_step,
        Some(5),
        "the new credential's own step"
    );
    assert_eq!(active.confirmed_at, Some(NOW.plus_secs(90)));
    assert_eq!(store.totp_credential(id, true).await.unwrap(), None);
    let state = store.mfa_state(id).await.unwrap();
    assert_eq!((state.method, state.credential_epoch), (MfaMethod::Totp, 2));
}

async fn totp_steps_only_move_forward(store: &SqlStore) {
    let id = new_account(store).await;
    assert!(
        !store.advance_totp_step(id, 1).await.unwrap(),
        "no credential"
    );
    store.put_pending_totp(id, b"s", NOW).await.unwrap();
    assert!(
        !store.advance_totp_step(id, 1).await.unwrap(),
        "a pending credential accepts no step"
    );
    assert_eq!(
        store
            .totp_credential(id, true)
            .await
            .unwrap()
            .unwrap()
            .last_used_step,
        None
    );
    assert!(
        store
            .activate_pending_totp(id, b"s", 100, NOW)
            .await
            .unwrap()
    );

    assert!(store.advance_totp_step(id, 101).await.unwrap());
    assert!(
        !store.advance_totp_step(id, 101).await.unwrap(),
        "same step"
    );
    assert!(
        !store.advance_totp_step(id, 99).await.unwrap(),
        "lower step"
    );
    assert!(
        !store.advance_totp_step(id, 100).await.unwrap(),
        "lower step"
    );
    assert!(store.advance_totp_step(id, 150).await.unwrap());
    assert_eq!(
        store
            .totp_credential(id, false)
            .await
            .unwrap()
            .unwrap()
            .last_used_step,
        Some(150)
    );

    let other = new_account(store).await;
    assert!(!store.advance_totp_step(other, 200).await.unwrap());
}

async fn sixteen_concurrent_uses_of_one_step_accept_one(store: &SqlStore) {
    let id = new_account(store).await;
    store.put_pending_totp(id, b"s", NOW).await.unwrap();
    assert!(store.activate_pending_totp(id, b"s", 1, NOW).await.unwrap());
    let accepted = race(store, 16, |store, _| async move {
        store.advance_totp_step(id, 2).await.unwrap()
    })
    .await;
    assert_eq!(accepted.iter().filter(|a| **a).count(), 1);
    assert_eq!(
        store
            .totp_credential(id, false)
            .await
            .unwrap()
            .unwrap()
            .last_used_step,
        Some(2)
    );
}

async fn delete_totp_removes_both_credentials(store: &SqlStore) {
    let id = new_account(store).await;
    store.put_pending_totp(id, b"a", NOW).await.unwrap();
    assert!(store.activate_pending_totp(id, b"a", 1, NOW).await.unwrap());
    store.put_pending_totp(id, b"b", NOW).await.unwrap();
    assert_eq!(store.mfa_state(id).await.unwrap().credential_epoch, 1);

    assert!(store.delete_totp(id).await.unwrap());
    assert_eq!(store.totp_credential(id, false).await.unwrap(), None);
    assert_eq!(store.totp_credential(id, true).await.unwrap(), None);
    let state = store.mfa_state(id).await.unwrap();
    assert_eq!(
        (state.method, state.credential_epoch),
        (MfaMethod::Email, 2)
    );
    assert!(!store.advance_totp_step(id, 5).await.unwrap());

    // Only a pending credential: removed, but no active one was.
    store.put_pending_totp(id, b"c", NOW).await.unwrap();
    assert!(!store.delete_totp(id).await.unwrap());
    assert_eq!(store.totp_credential(id, true).await.unwrap(), None);
    let state = store.mfa_state(id).await.unwrap();
    assert_eq!(
        (state.method, state.credential_epoch),
        (MfaMethod::Email, 2),
        "nothing was on: the devices keep their trust"
    );
}

async fn a_backup_code_is_consumed_once_and_replaced(store: &SqlStore) {
    let id = new_account(store).await;
    let other = new_account(store).await;
    assert!(
        !store
            .consume_backup_code(id, "h0", "h1", NOW)
            .await
            .unwrap(),
        "no code yet"
    );
    assert_eq!(store.backup_code(id).await.unwrap(), None);

    store.replace_backup_code(id, "h0", NOW).await.unwrap();
    store.replace_backup_code(other, "x0", NOW).await.unwrap();
    assert_eq!(
        store.backup_code(id).await.unwrap().unwrap().created_at,
        NOW
    );

    let at = NOW.plus_secs(60);
    assert!(
        !store
            .consume_backup_code(id, "nope", "h1", at)
            .await
            .unwrap()
    );
    assert!(
        !store.consume_backup_code(id, "x0", "h1", at).await.unwrap(),
        "another account's code"
    );
    assert!(
        !store
            .consume_backup_code(other, "h0", "h1", at)
            .await
            .unwrap(),
        "not the other account's code"
    );
    assert_eq!(
        store.backup_code(id).await.unwrap().unwrap().created_at,
        NOW
    );

    assert!(store.consume_backup_code(id, "h0", "h1", at).await.unwrap());
    assert_eq!(
        store.backup_code(id).await.unwrap().unwrap().created_at,
        at,
        "the replacement is now the code"
    );
    let later = at.plus_secs(1);
    assert!(
        !store
            .consume_backup_code(id, "h0", "h2", later)
            .await
            .unwrap(),
        "a used code stays used"
    );
    assert_eq!(store.backup_code(id).await.unwrap().unwrap().created_at, at);
    assert!(
        store
            .consume_backup_code(id, "h1", "h2", later)
            .await
            .unwrap()
    );
    assert_eq!(
        store.backup_code(id).await.unwrap().unwrap().created_at,
        later
    );
    // The other account's code was never touched.
    assert!(
        store
            .consume_backup_code(other, "x0", "x1", at)
            .await
            .unwrap()
    );

    // A replacement equal to a stored hash is refused and changes nothing.
    let err = store
        .consume_backup_code(id, "h2", "h0", later)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert!(!err.to_string().contains("h0"), "{err}");
    assert!(
        store
            .consume_backup_code(id, "h2", "h3", later)
            .await
            .unwrap()
    );
}

async fn fifty_concurrent_consumes_of_one_code_succeed_once(store: &SqlStore) {
    let id = new_account(store).await;
    store.replace_backup_code(id, "code", NOW).await.unwrap();
    let at = NOW.plus_secs(5);
    let won = race(store, 50, |store, i| async move {
        let replacement = format!("replacement-{i}");
        let ok = store
            .consume_backup_code(id, "code", &replacement, at)
            .await
            .unwrap();
        (ok, replacement)
    })
    .await;
    let winners: Vec<&String> = won.iter().filter(|(ok, _)| *ok).map(|(_, r)| r).collect();
    assert_eq!(winners.len(), 1);
    assert_eq!(store.backup_code(id).await.unwrap().unwrap().created_at, at);
    // Exactly the winner's replacement is the account's unused code.
    for (_, replacement) in &won {
        let usable = store
            .consume_backup_code(id, replacement, "after", at.plus_secs(1))
            .await
            .unwrap();
        assert_eq!(usable, replacement == winners[0], "{replacement}");
    }
}

async fn replacing_the_backup_code_retires_the_old_one(store: &SqlStore) {
    let id = new_account(store).await;
    store.replace_backup_code(id, "old", NOW).await.unwrap();
    let later = NOW.plus_secs(100);
    store.replace_backup_code(id, "new", later).await.unwrap();
    assert_eq!(
        store.backup_code(id).await.unwrap().unwrap().created_at,
        later
    );
    assert!(
        !store
            .consume_backup_code(id, "old", "r1", later)
            .await
            .unwrap()
    );
    assert!(
        store
            .consume_backup_code(id, "new", "r1", later)
            .await
            .unwrap()
    );

    // Concurrent replacements leave exactly one unused code: one of theirs.
    let hashes = race(store, 10, |store, i| async move {
        let hash = format!("concurrent-{i}");
        store.replace_backup_code(id, &hash, later).await.unwrap();
        hash
    })
    .await;
    assert!(
        !store
            .consume_backup_code(id, "r1", "x", later)
            .await
            .unwrap(),
        "retired"
    );
    // Were two of them unused, consuming would succeed for both.
    let mut usable = Vec::new();
    for hash in &hashes {
        let next = format!("{hash}-next");
        if store
            .consume_backup_code(id, hash, &next, later)
            .await
            .unwrap()
        {
            usable.push(hash);
        }
    }
    assert_eq!(usable.len(), 1, "{usable:?}");
}

fn device(account: AccountId, token_hash: &str, created_at: Timestamp) -> TrustedDevice {
    TrustedDevice {
        id: DeviceId::new(&ManualClock::new(created_at), &OsRng),
        account_id: account,
        token_hash: token_hash.to_owned(),
        label: "Firefox on Linux — Zoë's \"laptop\" 🦀".to_owned(),
        credential_epoch: 3,
        acr: "urn:lanyard:acr:mfa".to_owned(),
        created_at,
        expires_at: created_at.plus_secs(1_000),
        last_used_at: created_at,
        revoked_at: None,
    }
}

async fn trusted_devices_insert_find_touch_and_list(store: &SqlStore) {
    let id = new_account(store).await;
    let other = new_account(store).await;
    let first = device(id, "d1", NOW);
    let second = device(id, "d2", NOW.plus_secs(10));
    // Same second as `second`: the later insert (larger UUIDv7) lists first.
    let third = device(id, "d3", NOW.plus_secs(10));
    let mut expired = device(id, "d4", NOW.plus_secs(20));
    expired.expires_at = NOW.plus_secs(50);
    let mut revoked = device(id, "d5", NOW.plus_secs(30));
    revoked.revoked_at = Some(NOW.plus_secs(31));
    let foreign = device(other, "d6", NOW.plus_secs(40));
    for d in [&first, &second, &third, &expired, &revoked, &foreign] {
        store.insert_trusted_device(d).await.unwrap();
    }

    assert_eq!(
        store.find_trusted_device("d1").await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        store.find_trusted_device("d5").await.unwrap(),
        Some(revoked.clone()),
        "revoked devices are still found"
    );
    assert_eq!(store.find_trusted_device("nope").await.unwrap(), None);

    let used = NOW.plus_secs(45);
    store.touch_trusted_device(first.id, used).await.unwrap();
    let touched = store.find_trusted_device("d1").await.unwrap().unwrap();
    assert_eq!(touched.last_used_at, used);
    assert_eq!(touched.created_at, NOW);
    store
        .touch_trusted_device(DeviceId(support::random_id()), used)
        .await
        .unwrap();

    let ids = |list: Vec<TrustedDevice>| list.into_iter().map(|d| d.id).collect::<Vec<_>>();
    let listed = store
        .list_trusted_devices(id, NOW.plus_secs(49))
        .await
        .unwrap();
    assert_eq!(listed[1], third, "full records come back");
    assert_eq!(ids(listed), vec![expired.id, third.id, second.id, first.id]);
    assert_eq!(
        ids(store
            .list_trusted_devices(id, NOW.plus_secs(50))
            .await
            .unwrap()),
        vec![third.id, second.id, first.id],
        "expired at expires_at"
    );
    assert_eq!(
        ids(store.list_trusted_devices(other, NOW).await.unwrap()),
        vec![foreign.id]
    );
}

async fn revoking_a_trusted_device_needs_its_own_account(store: &SqlStore) {
    let id = new_account(store).await;
    let other = new_account(store).await;
    let mine = device(id, "mine", NOW);
    let theirs = device(other, "theirs", NOW);
    store.insert_trusted_device(&mine).await.unwrap();
    store.insert_trusted_device(&theirs).await.unwrap();

    let at = NOW.plus_secs(5);
    assert!(
        !store
            .revoke_trusted_device(id, theirs.id, at)
            .await
            .unwrap(),
        "a foreign id changes nothing"
    );
    assert_eq!(
        store
            .find_trusted_device("theirs")
            .await
            .unwrap()
            .unwrap()
            .revoked_at,
        None
    );
    assert!(
        !store
            .revoke_trusted_device(id, DeviceId(support::random_id()), at)
            .await
            .unwrap()
    );

    assert!(store.revoke_trusted_device(id, mine.id, at).await.unwrap());
    assert!(
        !store
            .revoke_trusted_device(id, mine.id, at.plus_secs(1))
            .await
            .unwrap(),
        "already revoked"
    );
    assert_eq!(
        store
            .find_trusted_device("mine")
            .await
            .unwrap()
            .unwrap()
            .revoked_at,
        Some(at),
        "the first revocation's time stays"
    );
    assert!(store.list_trusted_devices(id, at).await.unwrap().is_empty());
    assert_eq!(
        store.list_trusted_devices(other, at).await.unwrap().len(),
        1
    );
}

async fn revoking_all_trusted_devices_counts_the_live_ones(store: &SqlStore) {
    let id = new_account(store).await;
    let other = new_account(store).await;
    for n in 0..3 {
        let d = device(id, &format!("live-{n}"), NOW.plus_secs(n));
        store.insert_trusted_device(&d).await.unwrap();
    }
    let mut gone = device(id, "revoked", NOW);
    gone.revoked_at = Some(NOW);
    store.insert_trusted_device(&gone).await.unwrap();
    let mut expired = device(id, "expired", NOW);
    expired.expires_at = NOW.plus_secs(1);
    store.insert_trusted_device(&expired).await.unwrap();
    store
        .insert_trusted_device(&device(other, "other", NOW))
        .await
        .unwrap();

    let at = NOW.plus_secs(10);
    assert_eq!(store.revoke_trusted_devices(id, at).await.unwrap(), 3);
    assert_eq!(store.revoke_trusted_devices(id, at).await.unwrap(), 0);
    assert!(store.list_trusted_devices(id, at).await.unwrap().is_empty());
    for n in 0..3 {
        let d = store
            .find_trusted_device(&format!("live-{n}"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(d.revoked_at, Some(at));
    }
    assert_eq!(
        store
            .find_trusted_device("revoked")
            .await
            .unwrap()
            .unwrap()
            .revoked_at,
        Some(NOW),
        "an earlier revocation keeps its time"
    );
    assert_eq!(
        store.list_trusted_devices(other, at).await.unwrap().len(),
        1
    );
}

async fn a_duplicate_device_token_conflicts(store: &SqlStore) {
    let id = new_account(store).await;
    store
        .insert_trusted_device(&device(id, "same", NOW))
        .await
        .unwrap();
    let err = store
        .insert_trusted_device(&device(id, "same", NOW))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    // A device of an account that does not exist is refused by the foreign key.
    let err = store
        .insert_trusted_device(&device(AccountId(support::random_id()), "orphan", NOW))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
}

async fn an_attempt_is_reserved_only_while_open_and_a_release_restores_the_time(store: &SqlStore) {
    let id = new_account(store).await;
    let open = |s: &MfaState| s.failures < 2;
    let (before, after) = store
        .reserve_mfa_attempt(id, NOW, &open)
        .await
        .unwrap()
        .expect("open: reserved");
    assert_eq!((before.failures, after.failures), (0, 1));
    assert_eq!(after.last_failure_at, Some(NOW));
    let later = NOW.plus_secs(30);
    store
        .reserve_mfa_attempt(id, later, &open)
        .await
        .unwrap()
        .unwrap();
    // Closed: nothing changes.
    assert_eq!(
        store
            .reserve_mfa_attempt(id, NOW.plus_secs(60), &open)
            .await
            .unwrap(),
        None
    );
    let state = store.mfa_state(id).await.unwrap();
    assert_eq!((state.failures, state.last_failure_at), (2, Some(later)));

    // Releasing the latest reservation restores the time of the one before it.
    store
        .release_mfa_attempt(id, later, Some(NOW))
        .await
        .unwrap();
    let state = store.mfa_state(id).await.unwrap();
    assert_eq!((state.failures, state.last_failure_at), (1, Some(NOW)));
    // A release whose stamp was overtaken by a newer failure keeps the newer time.
    store
        .record_mfa_failure(id, later.plus_secs(5))
        .await
        .unwrap();
    store.release_mfa_attempt(id, NOW, None).await.unwrap();
    let state = store.mfa_state(id).await.unwrap();
    assert_eq!(
        (state.failures, state.last_failure_at),
        (1, Some(later.plus_secs(5)))
    );
    // Never below zero.
    store.clear_mfa_failures(id).await.unwrap();
    store.release_mfa_attempt(id, NOW, None).await.unwrap();
    assert_eq!(store.mfa_state(id).await.unwrap().failures, 0);
}

async fn concurrent_reservations_stop_at_the_budget(store: &SqlStore) {
    let id = new_account(store).await;
    let won = race(store, 40, |store, _| async move {
        let open = |s: &MfaState| s.failures < 5;
        store
            .reserve_mfa_attempt(id, NOW, &open)
            .await
            .unwrap()
            .is_some()
    })
    .await;
    assert_eq!(won.iter().filter(|w| **w).count(), 5);
    assert_eq!(store.mfa_state(id).await.unwrap().failures, 5);
}
