//! Contract cases for AuditLog (A5: the log's filters, its newest-first keyset pages and the
//! retention purge) and AdminRoleRepo (the admin role, the admin API's account search).

use lanyard_core::model::{AccountStatus, AuditEvent, AuditPosition, AuditQuery};
use lanyard_core::ports::{AccountFilter, AccountRepo, AdminRoleRepo, AuditLog, AuditRepo};
use lanyard_core::{AccountId, Timestamp};
use lanyard_store::SqlStore;

use crate::support::{NOW, account};

durable_contract!(
    a5_audit_query_filters_by_account_site_org_kind_and_time,
    a5_audit_pages_are_newest_first_and_stable_under_new_inserts,
    a5_audit_purge_deletes_only_what_is_older_than_the_cutoff,
    admin_role_is_granted_once_and_revoked,
    s50_account_search_matches_a_prefix_literally,
);

fn event(at: i64, kind: &str) -> AuditEvent {
    AuditEvent::new(Timestamp(at), kind, "success")
}

fn query() -> AuditQuery {
    AuditQuery {
        limit: 100,
        ..AuditQuery::default()
    }
}

async fn kinds(store: &SqlStore, q: &AuditQuery) -> Vec<String> {
    let rows = store.query_audit(q).await.unwrap();
    rows.into_iter().map(|r| r.event.kind).collect()
}

async fn a5_audit_query_filters_by_account_site_org_kind_and_time(store: &SqlStore) {
    for e in [
        event(100, "login.ok").actor("acct-1"),
        event(101, "pat.created").subject("acct-1"),
        event(102, "login.ok").actor("acct-2"),
        event(103, "site.created").site("site-1"),
        event(104, "org.created").org("org-1"),
        event(105, "login.failed").subject("acct-2"),
    ] {
        store.insert_audit(&e).await.unwrap();
    }
    let q = |f: fn(&mut AuditQuery)| {
        let mut q = query();
        f(&mut q);
        q
    };
    assert_eq!(
        kinds(store, &q(|q| q.account = Some("acct-1".into()))).await,
        ["pat.created", "login.ok"]
    );
    assert_eq!(
        kinds(store, &q(|q| q.site_id = Some("site-1".into()))).await,
        ["site.created"]
    );
    assert_eq!(
        kinds(store, &q(|q| q.org_id = Some("org-1".into()))).await,
        ["org.created"]
    );
    assert_eq!(
        kinds(store, &q(|q| q.kind = Some("login.ok".into()))).await,
        ["login.ok", "login.ok"]
    );
    assert_eq!(
        kinds(
            store,
            &q(|q| {
                q.since = Some(Timestamp(102));
                q.until = Some(Timestamp(105));
            })
        )
        .await,
        ["org.created", "site.created", "login.ok"]
    );
    // Values are parameters, never SQL.
    assert!(
        kinds(store, &q(|q| q.kind = Some("' OR 1=1--".into())))
            .await
            .is_empty()
    );
    let stored = store
        .query_audit(&q(|q| q.site_id = Some("site-1".into())))
        .await;
    assert_eq!(stored.unwrap()[0].event.site_id.as_deref(), Some("site-1"));
}

async fn a5_audit_pages_are_newest_first_and_stable_under_new_inserts(store: &SqlStore) {
    // Several events in one second: the UUIDv7 id orders them.
    for i in 0..5 {
        store
            .insert_audit(&event(200 + i / 2, &format!("e{i}")))
            .await
            .unwrap();
    }
    let mut q = AuditQuery {
        limit: 2,
        ..query()
    };
    let first = store.query_audit(&q).await.unwrap();
    assert_eq!(
        first
            .iter()
            .map(|r| r.event.kind.as_str())
            .collect::<Vec<_>>(),
        ["e4", "e3"]
    );
    // A newer event arrives between pages: the next page does not shift.
    store.insert_audit(&event(300, "late")).await.unwrap();
    let last = first.last().unwrap();
    q.after = Some(AuditPosition {
        at: last.event.at.seconds(),
        id: last.id,
    });
    q.limit = 10;
    assert_eq!(kinds(store, &q).await, ["e2", "e1", "e0"]);
}

async fn a5_audit_purge_deletes_only_what_is_older_than_the_cutoff(store: &SqlStore) {
    for at in [10, 20, 30] {
        store.insert_audit(&event(at, "x")).await.unwrap();
    }
    assert_eq!(store.purge_audit(Timestamp(20)).await.unwrap(), 1);
    // A second node purging at once finds nothing left to delete.
    assert_eq!(store.purge_audit(Timestamp(20)).await.unwrap(), 0);
    let left: Vec<i64> = store
        .query_audit(&query())
        .await
        .unwrap()
        .iter()
        .map(|r| r.event.at.seconds())
        .collect();
    assert_eq!(left, [30, 20]);
}

async fn admin_role_is_granted_once_and_revoked(store: &SqlStore) {
    let id = account(store, "admin@example.com").await;
    assert!(!store.is_admin(id).await.unwrap());
    assert!(store.update_admin(id, true, NOW).await.unwrap());
    assert!(!store.update_admin(id, true, NOW).await.unwrap());
    assert!(store.is_admin(id).await.unwrap());
    assert!(store.update_admin(id, false, NOW).await.unwrap());
    assert!(!store.update_admin(id, false, NOW).await.unwrap());
    assert!(!store.is_admin(id).await.unwrap());
    assert!(
        !store
            .is_admin(AccountId(uuid::Uuid::from_u128(1)))
            .await
            .unwrap()
    );
}

async fn s50_account_search_matches_a_prefix_literally(store: &SqlStore) {
    let ann = account(store, "ann@example.com").await;
    let percent = account(store, "a%b@example.com").await;
    account(store, "bob@example.com").await;
    store
        .update_account_status(ann, AccountStatus::Disabled, NOW)
        .await
        .unwrap();
    let search = |prefix: &str, status: Option<AccountStatus>| AccountFilter {
        email_prefix: Some(prefix.to_owned()),
        status,
        after: None,
        limit: 10,
    };
    let ids = |found: Vec<lanyard_core::model::Account>| -> Vec<AccountId> {
        found.into_iter().map(|a| a.id).collect()
    };
    assert_eq!(
        ids(store.search_accounts(&search("a", None)).await.unwrap()),
        [ann, percent]
    );
    // `%` and `_` are characters, not patterns.
    assert_eq!(
        ids(store.search_accounts(&search("a%", None)).await.unwrap()),
        [percent]
    );
    assert!(
        store
            .search_accounts(&search("_", None))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .search_accounts(&search("' OR 1=1--", None))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        ids(store
            .search_accounts(&search("a", Some(AccountStatus::Disabled)))
            .await
            .unwrap()),
        [ann]
    );
    let after = AccountFilter {
        email_prefix: None,
        status: None,
        after: Some(ann),
        limit: 10,
    };
    assert_eq!(store.search_accounts(&after).await.unwrap().len(), 2);
}
