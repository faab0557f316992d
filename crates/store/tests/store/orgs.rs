//! Contract cases for OrgRepo (G1, S54): unique slugs, membership upserts that keep the join
//! time, the policy switch that reports only real changes, and "since when must this account
//! have an authenticator app" over several organizations.

use lanyard_core::model::{Membership, OrgId, OrgRole, Organization};
use lanyard_core::ports::OrgRepo;
use lanyard_core::{AccountId, ManualClock, OsRng, StoreError, Timestamp};
use lanyard_store::SqlStore;

use crate::support::{self, NOW, account};

durable_contract!(
    a_slug_is_taken_once,
    a_member_keeps_the_first_join_time_when_the_role_changes,
    removing_a_member_reports_whether_it_was_one,
    the_policy_switch_reports_only_changes,
    required_since_is_the_latest_of_policy_and_join_over_requiring_orgs,
);

fn org(slug: &str) -> Organization {
    Organization {
        id: OrgId::new(&ManualClock::new(NOW), &OsRng),
        slug: slug.to_owned(),
        name: format!("Org {slug}"),
        authenticator_required_since: None,
        created_at: NOW,
    }
}

async fn new_account(store: &SqlStore) -> AccountId {
    let tag = support::random_id().simple().to_string();
    account(store, &format!("{tag}@example.com")).await
}

fn member(org: &Organization, account: AccountId, role: OrgRole, at: i64) -> Membership {
    Membership {
        org_id: org.id,
        account_id: account,
        role,
        joined_at: Timestamp(at),
    }
}

async fn a_slug_is_taken_once(store: &SqlStore) {
    let first = org("acme");
    store.insert_org(&first).await.unwrap();
    let err = store.insert_org(&org("acme")).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(store.org_by_slug("acme").await.unwrap(), Some(first));
    assert_eq!(store.org_by_slug("ACME").await.unwrap(), None);
    assert_eq!(store.org_by_slug("nope").await.unwrap(), None);
}

async fn a_member_keeps_the_first_join_time_when_the_role_changes(store: &SqlStore) {
    let o = org("acme");
    store.insert_org(&o).await.unwrap();
    let a = new_account(store).await;
    store
        .put_member(&member(&o, a, OrgRole::Member, 100))
        .await
        .unwrap();
    store
        .put_member(&member(&o, a, OrgRole::Admin, 900))
        .await
        .unwrap();
    assert_eq!(
        store.member_role(o.id, a).await.unwrap(),
        Some(OrgRole::Admin)
    );
    let members = store.list_members(o.id).await.unwrap();
    assert_eq!(members, [member(&o, a, OrgRole::Admin, 100)]);
    let stranger = new_account(store).await;
    assert_eq!(store.member_role(o.id, stranger).await.unwrap(), None);
    // A membership of an account that does not exist is refused by the foreign key.
    let ghost = member(&o, AccountId(support::random_id()), OrgRole::Member, 100);
    assert!(store.put_member(&ghost).await.is_err());
}

async fn removing_a_member_reports_whether_it_was_one(store: &SqlStore) {
    let o = org("acme");
    store.insert_org(&o).await.unwrap();
    let a = new_account(store).await;
    store
        .put_member(&member(&o, a, OrgRole::Member, 100))
        .await
        .unwrap();
    assert!(store.remove_member(o.id, a).await.unwrap());
    assert!(!store.remove_member(o.id, a).await.unwrap());
    assert!(store.list_members(o.id).await.unwrap().is_empty());
}

async fn the_policy_switch_reports_only_changes(store: &SqlStore) {
    let o = org("acme");
    store.insert_org(&o).await.unwrap();
    assert!(!store.set_authenticator_required(o.id, None).await.unwrap());
    assert!(
        store
            .set_authenticator_required(o.id, Some(Timestamp(500)))
            .await
            .unwrap()
    );
    // On again keeps the first time: grants between the two stay judged by it.
    assert!(
        !store
            .set_authenticator_required(o.id, Some(Timestamp(800)))
            .await
            .unwrap()
    );
    let stored = store.org_by_slug("acme").await.unwrap().unwrap();
    assert_eq!(stored.authenticator_required_since, Some(Timestamp(500)));
    assert!(store.set_authenticator_required(o.id, None).await.unwrap());
    assert!(
        !store
            .set_authenticator_required(OrgId(support::random_id()), Some(Timestamp(1)))
            .await
            .unwrap()
    );
}

async fn required_since_is_the_latest_of_policy_and_join_over_requiring_orgs(store: &SqlStore) {
    let (relaxed, strict, later) = (org("relaxed"), org("strict"), org("later"));
    for o in [&relaxed, &strict, &later] {
        store.insert_org(o).await.unwrap();
    }
    let a = new_account(store).await;
    let loner = new_account(store).await;
    assert_eq!(store.authenticator_required_since(a).await.unwrap(), None);
    store
        .put_member(&member(&relaxed, a, OrgRole::Member, 100))
        .await
        .unwrap();
    store
        .put_member(&member(&strict, a, OrgRole::Member, 100))
        .await
        .unwrap();
    store
        .put_member(&member(&later, a, OrgRole::Member, 700))
        .await
        .unwrap();
    assert_eq!(store.authenticator_required_since(a).await.unwrap(), None);

    store
        .set_authenticator_required(strict.id, Some(Timestamp(300)))
        .await
        .unwrap();
    assert_eq!(
        store.authenticator_required_since(a).await.unwrap(),
        Some(Timestamp(300))
    );
    // `later` required it from 200, but the account joined at 700: 700 counts, the latest.
    store
        .set_authenticator_required(later.id, Some(Timestamp(200)))
        .await
        .unwrap();
    assert_eq!(
        store.authenticator_required_since(a).await.unwrap(),
        Some(Timestamp(700))
    );
    assert_eq!(
        store.authenticator_required_since(loner).await.unwrap(),
        None
    );
    store
        .set_authenticator_required(strict.id, None)
        .await
        .unwrap();
    store
        .set_authenticator_required(later.id, None)
        .await
        .unwrap();
    assert_eq!(store.authenticator_required_since(a).await.unwrap(), None);
}
