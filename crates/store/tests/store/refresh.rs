//! Contract cases for RefreshRepo: rotation, reuse detection (RFC 9700 §4.14.2), races, and
//! the optional grace window (S14, R10).

use std::sync::Arc;

use lanyard_core::model::GraceSeal;
use lanyard_core::model::{NewRefreshFamily, RotateOutcome};
use lanyard_core::ports::{ClientRepo, RefreshRepo};
use lanyard_core::{FamilyId, StoreError, Timestamp};
use lanyard_store::SqlStore;
use tokio::sync::Barrier;

use crate::support::{self, NOW, account, client, family, family_for};

durable_contract!(
    rotation_retires_the_token_and_moves_the_idle_expiry,
    idle_expiry_never_passes_the_absolute_expiry,
    presenting_a_retired_token_revokes_the_family,
    a_dead_family_changes_nothing,
    an_unknown_token_is_unknown,
    twenty_concurrent_rotations_of_one_token_rotate_once,
    revoke_family_reports_whether_it_was_live,
    revoking_an_accounts_families_spares_other_accounts,
    families_insert_with_or_without_a_first_token,
    deleting_a_client_removes_its_families,
    s14_grace_retry_of_the_previous_token_gets_the_same_sealed_successor,
    s14_grace_retry_after_the_window_is_reuse,
    s14_grace_covers_only_the_immediately_previous_token,
    s14_a_strict_rotation_keeps_nothing_for_a_retry,
    s14_a_strict_retry_ignores_what_a_grace_rotation_kept,
    s14_twenty_concurrent_rotations_with_grace_share_one_successor,
    s14_revocation_ends_the_grace,
);

async fn rotation_retires_the_token_and_moves_the_idle_expiry(store: &SqlStore) {
    let fam = family(store, "t0").await;
    assert_eq!(store.find_family(fam.id).await.unwrap(), Some(fam.clone()));
    assert_eq!(
        store.find_family_by_token("t0").await.unwrap(),
        Some(fam.clone())
    );

    let now = NOW.plus_secs(10);
    let RotateOutcome::Rotated(rotated) = store
        .rotate_refresh_token("t0", "t1", None, now, 100)
        .await
        .unwrap()
    else {
        panic!("expected Rotated");
    };
    assert_eq!(rotated.idle_expires_at, now.plus_secs(100));
    assert_eq!(rotated.revoked_at, None);
    assert_eq!(rotated.scope, fam.scope);
    assert_eq!(
        store.find_family(fam.id).await.unwrap(),
        Some(rotated.clone())
    );
    assert_eq!(
        store.find_family_by_token("t1").await.unwrap(),
        Some(rotated.clone())
    );
    // The retired token still names its family, but is no longer its current token.
    assert_eq!(
        store.find_family_by_current_token("t1").await.unwrap(),
        Some(rotated)
    );
    assert_eq!(
        store.find_family_by_current_token("t0").await.unwrap(),
        None
    );
    assert_eq!(
        store.find_family_by_current_token("nope").await.unwrap(),
        None
    );

    let later = now.plus_secs(50);
    let outcome = store
        .rotate_refresh_token("t1", "t2", None, later, 100)
        .await
        .unwrap();
    assert!(
        matches!(outcome, RotateOutcome::Rotated(f) if f.idle_expires_at == later.plus_secs(100))
    );
}

async fn idle_expiry_never_passes_the_absolute_expiry(store: &SqlStore) {
    let fam = family(store, "t0").await;
    let now = fam.absolute_expires_at.minus_secs(10);
    // Keep the family alive until `now` by rotating just inside each idle window.
    let mut current = "t0".to_owned();
    let mut at = NOW;
    let mut n = 0;
    while at < now {
        at = (at.plus_secs(90)).min(now);
        let next = format!("t{}", n + 1);
        let outcome = store
            .rotate_refresh_token(&current, &next, None, at, 100)
            .await
            .unwrap();
        assert!(matches!(outcome, RotateOutcome::Rotated(_)), "{outcome:?}");
        current = next;
        n += 1;
    }
    let family = store.find_family(fam.id).await.unwrap().unwrap();
    assert_eq!(family.idle_expires_at, fam.absolute_expires_at);
}

async fn presenting_a_retired_token_revokes_the_family(store: &SqlStore) {
    let fam = family(store, "t0").await;
    let now = NOW.plus_secs(10);
    let first = store
        .rotate_refresh_token("t0", "t1", None, now, 100)
        .await
        .unwrap();
    assert!(matches!(first, RotateOutcome::Rotated(_)));

    let replay_at = now.plus_secs(5);
    let RotateOutcome::Reused(revoked) = store
        .rotate_refresh_token("t0", "t-evil", None, replay_at, 100)
        .await
        .unwrap()
    else {
        panic!("expected Reused");
    };
    assert_eq!(revoked.revoked_at, Some(replay_at));
    assert_eq!(
        store.find_family(fam.id).await.unwrap(),
        Some(revoked.clone())
    );
    assert_eq!(store.find_family_by_token("t-evil").await.unwrap(), None);

    // The legitimate successor dies with the family.
    let outcome = store
        .rotate_refresh_token("t1", "t2", None, replay_at, 100)
        .await
        .unwrap();
    assert_eq!(outcome, RotateOutcome::Dead(revoked));
}

async fn a_dead_family_changes_nothing(store: &SqlStore) {
    // Idle-expired: the current token is refused and stays unused.
    let fam = family(store, "idle").await;
    let at = fam.idle_expires_at;
    let outcome = store
        .rotate_refresh_token("idle", "idle-2", None, at, 100)
        .await
        .unwrap();
    assert_eq!(outcome, RotateOutcome::Dead(fam.clone()));
    assert_eq!(store.find_family(fam.id).await.unwrap(), Some(fam.clone()));
    assert_eq!(store.find_family_by_token("idle-2").await.unwrap(), None);
    // Nothing was marked used: rewinding the clock, the token still rotates.
    let outcome = store
        .rotate_refresh_token("idle", "idle-3", None, NOW, 100)
        .await
        .unwrap();
    assert!(matches!(outcome, RotateOutcome::Rotated(_)), "{outcome:?}");

    // Revoked.
    let fam = family(store, "revoked").await;
    assert!(store.revoke_family(fam.id, NOW).await.unwrap());
    let outcome = store
        .rotate_refresh_token("revoked", "r2", None, NOW, 100)
        .await
        .unwrap();
    let RotateOutcome::Dead(dead) = outcome else {
        panic!("expected Dead")
    };
    assert_eq!(dead.revoked_at, Some(NOW));

    // Past the absolute expiry even though the idle window is open.
    let fam = family(store, "abs").await;
    let outcome = store
        .rotate_refresh_token("abs", "abs-2", None, fam.absolute_expires_at, 100)
        .await
        .unwrap();
    assert!(matches!(outcome, RotateOutcome::Dead(_)), "{outcome:?}");
}

async fn an_unknown_token_is_unknown(store: &SqlStore) {
    family(store, "t0").await;
    let outcome = store
        .rotate_refresh_token("nope", "t1", None, NOW, 100)
        .await
        .unwrap();
    assert_eq!(outcome, RotateOutcome::Unknown);
    assert_eq!(store.find_family_by_token("t1").await.unwrap(), None);
    assert_eq!(store.find_family_by_token("nope").await.unwrap(), None);
    assert_eq!(
        store
            .find_family(FamilyId(support::random_id()))
            .await
            .unwrap(),
        None
    );
}

async fn twenty_concurrent_rotations_of_one_token_rotate_once(store: &SqlStore) {
    let fam = family(store, "t0").await;
    let barrier = Arc::new(Barrier::new(20));
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let (store, barrier) = (store.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                store
                    .rotate_refresh_token("t0", &format!("succ-{i}"), None, NOW.plus_secs(1), 100)
                    .await
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap().unwrap());
    }
    let rotated = outcomes
        .iter()
        .filter(|o| matches!(o, RotateOutcome::Rotated(_)))
        .count();
    let reused = outcomes
        .iter()
        .filter(|o| matches!(o, RotateOutcome::Reused(_)))
        .count();
    assert_eq!(rotated, 1, "{outcomes:?}");
    // The losers either detected the reuse themselves or arrived after the family died.
    assert!(reused >= 1, "{outcomes:?}");
    assert!(
        outcomes
            .iter()
            .all(|o| !matches!(o, RotateOutcome::Unknown))
    );
    let family = store.find_family(fam.id).await.unwrap().unwrap();
    assert!(family.revoked_at.is_some());
    assert_eq!(store.count_current_tokens(fam.id).await.unwrap(), 1);
}

async fn revoke_family_reports_whether_it_was_live(store: &SqlStore) {
    let fam = family(store, "t0").await;
    assert!(store.revoke_family(fam.id, NOW.plus_secs(1)).await.unwrap());
    assert!(!store.revoke_family(fam.id, NOW.plus_secs(2)).await.unwrap());
    let revoked = store.find_family(fam.id).await.unwrap().unwrap();
    assert_eq!(
        revoked.revoked_at,
        Some(NOW.plus_secs(1)),
        "first revocation time kept"
    );
    assert!(
        !store
            .revoke_family(FamilyId(support::random_id()), NOW)
            .await
            .unwrap()
    );

    let expired = family(store, "t1").await;
    assert!(
        !store
            .revoke_family(expired.id, expired.idle_expires_at)
            .await
            .unwrap()
    );
}

async fn revoking_an_accounts_families_spares_other_accounts(store: &SqlStore) {
    let alice = account(store, "alice@example.com").await;
    let bob = account(store, "bob@example.com").await;
    let app = client("app");
    store.insert_client(&app).await.unwrap();
    let a1 = family_for(store, alice, &app.id, "a1").await;
    let a2 = family_for(store, alice, &app.id, "a2").await;
    let a3 = family_for(store, alice, &app.id, "a3").await;
    let b1 = family_for(store, bob, &app.id, "b1").await;
    assert!(store.revoke_family(a3.id, NOW).await.unwrap());

    let at = NOW.plus_secs(5);
    assert_eq!(
        store.revoke_families_of_account(alice, at).await.unwrap(),
        2
    );
    for id in [a1.id, a2.id] {
        let f = store.find_family(id).await.unwrap().unwrap();
        assert_eq!(f.revoked_at, Some(at));
    }
    let a3 = store.find_family(a3.id).await.unwrap().unwrap();
    assert_eq!(a3.revoked_at, Some(NOW), "an earlier revocation is kept");
    assert_eq!(
        store.find_family(b1.id).await.unwrap().unwrap().revoked_at,
        None
    );
    assert_eq!(
        store.revoke_families_of_account(alice, at).await.unwrap(),
        0
    );
    let outcome = store
        .rotate_refresh_token("a1", "a1'", None, at, 100)
        .await
        .unwrap();
    assert!(matches!(outcome, RotateOutcome::Dead(_)));
}

async fn families_insert_with_or_without_a_first_token(store: &SqlStore) {
    let fam = family(store, "first").await;
    let mut tokenless = fam.clone();
    tokenless.id = FamilyId(support::random_id());
    store
        .insert_family(NewRefreshFamily {
            family: tokenless.clone(),
            first_token_hash: None,
        })
        .await
        .unwrap();
    assert_eq!(
        store.find_family(tokenless.id).await.unwrap(),
        Some(tokenless.clone())
    );
    assert_eq!(store.count_current_tokens(fam.id).await.unwrap(), 1);
    assert_eq!(store.count_current_tokens(tokenless.id).await.unwrap(), 0);

    // Same family id again: conflict, and the token of the failed insert is not kept.
    let err = store
        .insert_family(NewRefreshFamily {
            family: tokenless,
            first_token_hash: Some("orphan".to_owned()),
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(store.find_family_by_token("orphan").await.unwrap(), None);

    // A family must belong to a known client and account.
    let mut stray = fam.clone();
    stray.id = FamilyId(support::random_id());
    stray.client_id = lanyard_core::ClientId::parse("ghost").unwrap();
    let err = store
        .insert_family(NewRefreshFamily {
            family: stray,
            first_token_hash: None,
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
}

async fn deleting_a_client_removes_its_families(store: &SqlStore) {
    let fam = family(store, "t0").await;
    assert!(store.delete_client(&fam.client_id).await.unwrap());
    assert_eq!(store.find_family(fam.id).await.unwrap(), None);
    let outcome = store
        .rotate_refresh_token("t0", "t1", None, NOW, 100)
        .await
        .unwrap();
    assert_eq!(outcome, RotateOutcome::Unknown);
}

const WINDOW: i64 = 10;

/// What the issuer would pass in grace mode; the store treats the seal as opaque bytes.
fn grace(successor: &str) -> Option<GraceSeal> {
    Some(GraceSeal {
        window_secs: WINDOW,
        sealed_successor: format!("sealed:{successor}").into_bytes(),
    })
}

async fn rotate_with_grace(
    store: &SqlStore,
    presented: &str,
    successor: &str,
    at: Timestamp,
) -> RotateOutcome {
    store
        .rotate_refresh_token(presented, successor, grace(successor), at, 100)
        .await
        .unwrap()
}

async fn s14_grace_retry_of_the_previous_token_gets_the_same_sealed_successor(store: &SqlStore) {
    let fam = family(store, "t0").await;
    let at = NOW.plus_secs(10);
    let RotateOutcome::Rotated(rotated) = rotate_with_grace(store, "t0", "t1", at).await else {
        panic!("expected Rotated");
    };

    for retry_at in [at, at.plus_secs(WINDOW - 1)] {
        let outcome = rotate_with_grace(store, "t0", "t1-bis", retry_at).await;
        assert_eq!(
            outcome,
            RotateOutcome::Replayed {
                family: rotated.clone(),
                sealed_successor: b"sealed:t1".to_vec(),
            },
            "the first rotation's successor, and the family untouched"
        );
    }
    assert_eq!(store.find_family_by_token("t1-bis").await.unwrap(), None);
    assert_eq!(
        store.find_family_by_current_token("t1").await.unwrap(),
        Some(rotated.clone())
    );
    assert_eq!(store.find_family(fam.id).await.unwrap(), Some(rotated));
    assert_eq!(store.count_current_tokens(fam.id).await.unwrap(), 1);

    // The successor rotates as usual afterwards.
    let outcome = rotate_with_grace(store, "t1", "t2", at.plus_secs(WINDOW)).await;
    assert!(matches!(outcome, RotateOutcome::Rotated(_)), "{outcome:?}");
    assert_eq!(store.count_current_tokens(fam.id).await.unwrap(), 1);
}

async fn s14_grace_retry_after_the_window_is_reuse(store: &SqlStore) {
    let fam = family(store, "t0").await;
    let at = NOW.plus_secs(10);
    assert!(matches!(
        rotate_with_grace(store, "t0", "t1", at).await,
        RotateOutcome::Rotated(_)
    ));
    let late = at.plus_secs(WINDOW);
    let RotateOutcome::Reused(revoked) = rotate_with_grace(store, "t0", "t1-bis", late).await
    else {
        panic!("expected Reused");
    };
    assert_eq!(revoked.revoked_at, Some(late));
    assert!(matches!(
        rotate_with_grace(store, "t1", "t2", late).await,
        RotateOutcome::Dead(_)
    ));
    assert_eq!(store.find_family_by_token("t1-bis").await.unwrap(), None);
    assert_eq!(store.find_family_by_token("t2").await.unwrap(), None);
    assert_eq!(
        store.find_family(fam.id).await.unwrap().unwrap().revoked_at,
        Some(late)
    );
}

async fn s14_grace_covers_only_the_immediately_previous_token(store: &SqlStore) {
    let fam = family(store, "t0").await;
    let at = NOW.plus_secs(10);
    for (from, to) in [("t0", "t1"), ("t1", "t2")] {
        let outcome = rotate_with_grace(store, from, to, at).await;
        assert!(matches!(outcome, RotateOutcome::Rotated(_)), "{outcome:?}");
    }
    let outcome = rotate_with_grace(store, "t1", "x", at.plus_secs(1)).await;
    assert!(
        matches!(&outcome, RotateOutcome::Replayed { sealed_successor, .. } if sealed_successor == b"sealed:t2"),
        "{outcome:?}"
    );
    // t0 was rotated within the window too, but it is no longer the previous token.
    let outcome = rotate_with_grace(store, "t0", "y", at.plus_secs(1)).await;
    assert!(matches!(outcome, RotateOutcome::Reused(_)), "{outcome:?}");
    let outcome = rotate_with_grace(store, "t2", "t3", at.plus_secs(1)).await;
    assert!(matches!(outcome, RotateOutcome::Dead(_)), "{outcome:?}");
    assert!(
        store
            .find_family(fam.id)
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_some()
    );
}

async fn s14_a_strict_rotation_keeps_nothing_for_a_retry(store: &SqlStore) {
    // Strict from the start.
    family(store, "a0").await;
    let at = NOW.plus_secs(10);
    let outcome = store
        .rotate_refresh_token("a0", "a1", None, at, 100)
        .await
        .unwrap();
    assert!(matches!(outcome, RotateOutcome::Rotated(_)));
    let outcome = rotate_with_grace(store, "a0", "a1-bis", at).await;
    assert!(matches!(outcome, RotateOutcome::Reused(_)), "{outcome:?}");

    // A strict rotation after a grace one clears what the grace one kept.
    family(store, "b0").await;
    assert!(matches!(
        rotate_with_grace(store, "b0", "b1", at).await,
        RotateOutcome::Rotated(_)
    ));
    let outcome = store
        .rotate_refresh_token("b1", "b2", None, at, 100)
        .await
        .unwrap();
    assert!(matches!(outcome, RotateOutcome::Rotated(_)));
    let outcome = rotate_with_grace(store, "b1", "b2-bis", at).await;
    assert!(matches!(outcome, RotateOutcome::Reused(_)), "{outcome:?}");
}

async fn s14_a_strict_retry_ignores_what_a_grace_rotation_kept(store: &SqlStore) {
    // The operator turned the window off between the rotation and the retry.
    family(store, "t0").await;
    let at = NOW.plus_secs(10);
    assert!(matches!(
        rotate_with_grace(store, "t0", "t1", at).await,
        RotateOutcome::Rotated(_)
    ));
    let outcome = store
        .rotate_refresh_token("t0", "t1-bis", None, at, 100)
        .await
        .unwrap();
    assert!(matches!(outcome, RotateOutcome::Reused(_)), "{outcome:?}");
}

async fn s14_twenty_concurrent_rotations_with_grace_share_one_successor(store: &SqlStore) {
    let fam = family(store, "t0").await;
    let barrier = Arc::new(Barrier::new(20));
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let (store, barrier) = (store.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                let successor = format!("succ-{i}");
                rotate_with_grace(&store, "t0", &successor, NOW.plus_secs(1)).await
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap());
    }
    let winners: Vec<_> = outcomes
        .iter()
        .filter_map(|o| match o {
            RotateOutcome::Rotated(f) => Some(f.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(winners.len(), 1, "{outcomes:?}");

    // Exactly one candidate successor was stored, and every other call got it back.
    let mut current = Vec::new();
    for i in 0..20 {
        let successor = format!("succ-{i}");
        if store
            .find_family_by_current_token(&successor)
            .await
            .unwrap()
            .is_some()
        {
            current.push(successor);
        } else {
            assert_eq!(store.find_family_by_token(&successor).await.unwrap(), None);
        }
    }
    assert_eq!(current.len(), 1, "{current:?}");
    let sealed = format!("sealed:{}", current[0]).into_bytes();
    for outcome in &outcomes {
        match outcome {
            RotateOutcome::Rotated(_) => {}
            RotateOutcome::Replayed {
                family,
                sealed_successor,
            } => {
                assert_eq!(sealed_successor, &sealed);
                assert_eq!(family, &winners[0]);
            }
            other => panic!("a retry within the window must not be {other:?}"),
        }
    }
    let family = store.find_family(fam.id).await.unwrap().unwrap();
    assert_eq!(family.revoked_at, None);
    assert_eq!(store.count_current_tokens(fam.id).await.unwrap(), 1);
}

async fn s14_revocation_ends_the_grace(store: &SqlStore) {
    let at = NOW.plus_secs(10);
    let one = family(store, "t0").await;
    assert!(matches!(
        rotate_with_grace(store, "t0", "t1", at).await,
        RotateOutcome::Rotated(_)
    ));
    assert!(store.revoke_family(one.id, at).await.unwrap());
    let outcome = rotate_with_grace(store, "t0", "t1-bis", at).await;
    assert!(matches!(outcome, RotateOutcome::Dead(_)), "{outcome:?}");

    let two = family(store, "u0").await;
    assert!(matches!(
        rotate_with_grace(store, "u0", "u1", at).await,
        RotateOutcome::Rotated(_)
    ));
    assert_eq!(
        store
            .revoke_families_of_account(two.account_id, at)
            .await
            .unwrap(),
        1
    );
    let outcome = rotate_with_grace(store, "u0", "u1-bis", at).await;
    assert!(matches!(outcome, RotateOutcome::Dead(_)), "{outcome:?}");
}
