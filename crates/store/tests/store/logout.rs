//! Contract cases for LogoutRepo (D6, OIDC Back-Channel Logout 1.0): ending sessions turns
//! their client links into notices in one step, bounded by the capacity; a notice is
//! claimed once however many nodes race for it; rescheduling, delivery and purging.

use lanyard_core::model::{QueuedNotices, SessionsEnded};
use lanyard_core::ports::{ClientRepo, LogoutRepo};
use lanyard_core::{AccountId, ClientId, Timestamp};
use lanyard_store::SqlStore;

use crate::support::{self, NOW, account};

durable_contract!(
    ending_a_session_queues_one_notice_per_registered_client_once,
    ending_all_but_one_session_keeps_that_ones_links,
    a_full_outbox_drops_and_reports_the_rest,
    a_due_notice_is_claimed_once_by_racing_nodes,
    a_failed_notice_comes_back_when_rescheduled_and_goes_when_deleted,
    old_links_are_purged,
);

/// A client with a back-channel URI (`with_uri`) or without.
async fn client(store: &SqlStore, with_uri: bool) -> ClientId {
    let tag = support::random_id().simple().to_string();
    let mut c = support::client(&format!("c{}", &tag[..12]));
    if with_uri {
        c.backchannel_logout_uri = Some("https://rp.example.com/bc".to_owned());
    }
    store.insert_client(&c).await.unwrap();
    c.id
}

async fn new_account(store: &SqlStore) -> AccountId {
    let tag = support::random_id().simple().to_string();
    account(store, &format!("{tag}@example.com")).await
}

async fn ending_a_session_queues_one_notice_per_registered_client_once(store: &SqlStore) {
    let who = new_account(store).await;
    let (a, b, silent) = (
        client(store, true).await,
        client(store, true).await,
        client(store, false).await,
    );
    for c in [&a, &b, &silent, &a] {
        store
            .insert_session_client("s1", who, c, NOW)
            .await
            .unwrap();
    }
    store
        .insert_session_client("s2", who, &a, NOW)
        .await
        .unwrap();
    let ended = SessionsEnded::One { sid: "s1" };
    let queued = store.queue_logout_notices(ended, NOW, 100).await.unwrap();
    assert_eq!(
        queued,
        QueuedNotices {
            queued: 2,
            dropped: vec![]
        }
    );
    assert_eq!(store.count_logout_notices().await.unwrap(), 2);
    // The links went with it: ending the same session again queues nothing.
    let again = store.queue_logout_notices(ended, NOW, 100).await.unwrap();
    assert_eq!(again.queued, 0);
    let claimed = store
        .claim_logout_notices(NOW, Timestamp(NOW.seconds() + 60), 10)
        .await
        .unwrap();
    let mut clients: Vec<_> = claimed.iter().map(|n| n.client_id.clone()).collect();
    clients.sort_by(|x, y| x.as_str().cmp(y.as_str()));
    let mut expected = vec![a.clone(), b.clone()];
    expected.sort_by(|x, y| x.as_str().cmp(y.as_str()));
    assert_eq!(clients, expected);
    assert!(
        claimed
            .iter()
            .all(|n| n.sid == "s1" && n.account_id == who && n.attempts == 1)
    );
}

async fn ending_all_but_one_session_keeps_that_ones_links(store: &SqlStore) {
    let who = new_account(store).await;
    let other = new_account(store).await;
    let a = client(store, true).await;
    for sid in ["keep", "end1", "end2"] {
        store
            .insert_session_client(sid, who, &a, NOW)
            .await
            .unwrap();
    }
    store
        .insert_session_client("theirs", other, &a, NOW)
        .await
        .unwrap();
    let ended = SessionsEnded::AllOf {
        account: who,
        keep: Some("keep"),
    };
    assert_eq!(
        store
            .queue_logout_notices(ended, NOW, 100)
            .await
            .unwrap()
            .queued,
        2
    );
    let all = SessionsEnded::AllOf {
        account: who,
        keep: None,
    };
    assert_eq!(
        store
            .queue_logout_notices(all, NOW, 100)
            .await
            .unwrap()
            .queued,
        1
    );
    let theirs = SessionsEnded::AllOf {
        account: other,
        keep: None,
    };
    assert_eq!(
        store
            .queue_logout_notices(theirs, NOW, 100)
            .await
            .unwrap()
            .queued,
        1
    );
}

async fn a_full_outbox_drops_and_reports_the_rest(store: &SqlStore) {
    let who = new_account(store).await;
    let (a, b, c) = (
        client(store, true).await,
        client(store, true).await,
        client(store, true).await,
    );
    store
        .insert_session_client("s", who, &a, NOW)
        .await
        .unwrap();
    store
        .insert_session_client("s", who, &b, Timestamp(NOW.seconds() + 1))
        .await
        .unwrap();
    store
        .insert_session_client("s", who, &c, Timestamp(NOW.seconds() + 2))
        .await
        .unwrap();
    let queued = store
        .queue_logout_notices(SessionsEnded::One { sid: "s" }, NOW, 1)
        .await
        .unwrap();
    assert_eq!(queued.queued, 1);
    assert_eq!(queued.dropped, vec![b, c]);
    assert_eq!(store.count_logout_notices().await.unwrap(), 1);
}

async fn a_due_notice_is_claimed_once_by_racing_nodes(store: &SqlStore) {
    let who = new_account(store).await;
    let a = client(store, true).await;
    store
        .insert_session_client("s", who, &a, NOW)
        .await
        .unwrap();
    store
        .queue_logout_notices(SessionsEnded::One { sid: "s" }, NOW, 10)
        .await
        .unwrap();
    let lease = Timestamp(NOW.seconds() + 60);
    let racers = (0..8).map(|_| {
        let store = store.clone();
        tokio::spawn(async move { store.claim_logout_notices(NOW, lease, 10).await.unwrap() })
    });
    let mut won = 0;
    for r in racers {
        won += r.await.unwrap().len();
    }
    assert_eq!(won, 1);
    // Leased: not due again before the lease ends.
    assert!(
        store
            .claim_logout_notices(NOW, lease, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let retry = store
        .claim_logout_notices(lease, Timestamp(lease.seconds() + 60), 10)
        .await
        .unwrap();
    assert_eq!(retry.len(), 1);
    assert_eq!(retry[0].attempts, 2);
}

async fn a_failed_notice_comes_back_when_rescheduled_and_goes_when_deleted(store: &SqlStore) {
    let who = new_account(store).await;
    let a = client(store, true).await;
    store
        .insert_session_client("s", who, &a, NOW)
        .await
        .unwrap();
    store
        .queue_logout_notices(SessionsEnded::One { sid: "s" }, NOW, 10)
        .await
        .unwrap();
    let lease = Timestamp(NOW.seconds() + 60);
    let n = store
        .claim_logout_notices(NOW, lease, 10)
        .await
        .unwrap()
        .remove(0);
    let later = Timestamp(NOW.seconds() + 5);
    store.reschedule_logout_notice(n.id, later).await.unwrap();
    assert!(
        store
            .claim_logout_notices(NOW, lease, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let again = store.claim_logout_notices(later, lease, 10).await.unwrap();
    assert_eq!(again.len(), 1);
    store.delete_logout_notice(n.id).await.unwrap();
    assert_eq!(store.count_logout_notices().await.unwrap(), 0);
}

async fn old_links_are_purged(store: &SqlStore) {
    let who = new_account(store).await;
    let a = client(store, true).await;
    store
        .insert_session_client("old", who, &a, NOW)
        .await
        .unwrap();
    store
        .insert_session_client("new", who, &a, Timestamp(NOW.seconds() + 100))
        .await
        .unwrap();
    assert_eq!(
        store
            .purge_session_clients(Timestamp(NOW.seconds() + 50))
            .await
            .unwrap(),
        1
    );
    let all = SessionsEnded::AllOf {
        account: who,
        keep: None,
    };
    assert_eq!(
        store
            .queue_logout_notices(all, NOW, 10)
            .await
            .unwrap()
            .queued,
        1
    );
}
