//! Contract cases for the linked identities of FederationRepo (G3, S39): a link is keyed by
//! issuer and `sub` and comes with its membership; just-in-time provisioning creates the
//! account, its link and its membership together or not at all.

use lanyard_core::model::{FederatedIdentity, Membership, OrgRole, Organization};
use lanyard_core::ports::{AccountRepo, FederationRepo, OrgRepo};
use lanyard_core::{AccountId, StoreError, Timestamp};
use lanyard_store::SqlStore;

use super::new_org;
use crate::support::{self, NOW, account, new_account};

const ISSUER: &str = "https://idp.example";

durable_contract!(
    linking_adds_the_identity_and_the_membership,
    an_identity_is_linked_once,
    a_failed_link_leaves_no_identity,
    provisioning_creates_the_account_its_link_and_its_membership,
    provisioning_with_a_taken_email_creates_nothing,
    provisioning_a_linked_identity_creates_nothing,
    a_sign_in_records_the_last_email_and_time,
);

fn identity(org: &Organization, account: AccountId, subject: &str) -> FederatedIdentity {
    FederatedIdentity {
        issuer: ISSUER.to_owned(),
        subject: subject.to_owned(),
        account_id: account,
        org_id: org.id,
        email: Some(format!("{subject}@acme.example")),
        linked_at: NOW,
        last_sign_in: NOW,
    }
}

fn member(org: &Organization, account: AccountId, role: OrgRole, at: Timestamp) -> Membership {
    Membership {
        org_id: org.id,
        account_id: account,
        role,
        joined_at: at,
    }
}

async fn linking_adds_the_identity_and_the_membership(store: &SqlStore) {
    let acme = new_org(store, "acme").await;
    let alice = account(store, "alice@acme.example").await;
    let link = identity(&acme, alice, "alice");
    store
        .link_federated(&link, &member(&acme, alice, OrgRole::Member, NOW))
        .await
        .unwrap();
    assert_eq!(
        store.find_federated(ISSUER, "alice").await.unwrap(),
        Some(link.clone())
    );
    assert_eq!(store.find_federated(ISSUER, "bob").await.unwrap(), None);
    assert_eq!(
        store
            .find_federated("https://other.example", "alice")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.list_members(acme.id).await.unwrap(),
        [member(&acme, alice, OrgRole::Member, NOW)]
    );

    // A second identity of the same account (another upstream): the existing membership
    // keeps its join time and takes the role.
    let later = NOW.plus_secs(100);
    let second = FederatedIdentity {
        issuer: "https://other.example".to_owned(),
        linked_at: later,
        ..link.clone()
    };
    store
        .link_federated(&second, &member(&acme, alice, OrgRole::Admin, later))
        .await
        .unwrap();
    assert_eq!(
        store.list_members(acme.id).await.unwrap(),
        [member(&acme, alice, OrgRole::Admin, NOW)]
    );
    assert_eq!(store.federated_of(alice).await.unwrap(), [link, second]);
    let stranger = account(store, "stranger@example.com").await;
    assert!(store.federated_of(stranger).await.unwrap().is_empty());
}

async fn an_identity_is_linked_once(store: &SqlStore) {
    let acme = new_org(store, "acme").await;
    let alice = account(store, "alice@acme.example").await;
    let mallory = account(store, "mallory@example.com").await;
    let link = identity(&acme, alice, "alice");
    store
        .link_federated(&link, &member(&acme, alice, OrgRole::Member, NOW))
        .await
        .unwrap();
    // The same issuer and `sub` for another account: refused, and the membership that came
    // with it is not left behind.
    let err = store
        .link_federated(
            &identity(&acme, mallory, "alice"),
            &member(&acme, mallory, OrgRole::Admin, NOW),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(
        store.find_federated(ISSUER, "alice").await.unwrap(),
        Some(link)
    );
    assert_eq!(store.member_role(acme.id, mallory).await.unwrap(), None);
    assert!(store.federated_of(mallory).await.unwrap().is_empty());
}

async fn a_failed_link_leaves_no_identity(store: &SqlStore) {
    let acme = new_org(store, "acme").await;
    let alice = account(store, "alice@acme.example").await;
    // The membership refers to an organization that does not exist: the identity written
    // before it in the same transaction goes too.
    let ghost = Organization {
        id: lanyard_core::model::OrgId(support::random_id()),
        ..acme.clone()
    };
    let result = store
        .link_federated(
            &identity(&acme, alice, "alice"),
            &member(&ghost, alice, OrgRole::Member, NOW),
        )
        .await;
    assert!(result.is_err(), "{result:?}");
    assert_eq!(store.find_federated(ISSUER, "alice").await.unwrap(), None);
    assert!(store.list_members(acme.id).await.unwrap().is_empty());
}

async fn provisioning_creates_the_account_its_link_and_its_membership(store: &SqlStore) {
    let acme = new_org(store, "acme").await;
    // The caller does not know the new account's id yet: whatever it passes is replaced.
    let placeholder = AccountId(support::random_id());
    let mut new = new_account("Carol@Acme.example");
    new.password_hash = None;
    new.email_verified = true;
    let at = NOW.plus_secs(5);
    let account = store
        .provision_federated(
            new.clone(),
            &identity(&acme, placeholder, "carol"),
            &member(&acme, placeholder, OrgRole::Admin, at),
            at,
        )
        .await
        .unwrap();
    assert_eq!(account.email, new.email);
    assert_eq!(account.email_normalized, "carol@acme.example");
    assert!(account.email_verified);
    assert_eq!(account.password_hash, None);
    assert_eq!((account.created_at, account.updated_at), (at, at));
    assert_eq!(store.get_account(account.id).await.unwrap(), account);
    assert_eq!(
        store.find_federated(ISSUER, "carol").await.unwrap(),
        Some(identity(&acme, account.id, "carol"))
    );
    assert_eq!(
        store.list_members(acme.id).await.unwrap(),
        [member(&acme, account.id, OrgRole::Admin, at)]
    );
    assert!(store.federated_of(placeholder).await.unwrap().is_empty());
}

async fn provisioning_with_a_taken_email_creates_nothing(store: &SqlStore) {
    let acme = new_org(store, "acme").await;
    let existing = account(store, "carol@acme.example").await;
    let placeholder = AccountId(support::random_id());
    let err = store
        .provision_federated(
            new_account("CAROL@acme.example"),
            &identity(&acme, placeholder, "carol"),
            &member(&acme, placeholder, OrgRole::Member, NOW),
            NOW,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(store.find_federated(ISSUER, "carol").await.unwrap(), None);
    assert!(store.list_members(acme.id).await.unwrap().is_empty());
    assert!(store.federated_of(existing).await.unwrap().is_empty());
    assert_eq!(store.count_accounts().await.unwrap(), 1);
}

async fn provisioning_a_linked_identity_creates_nothing(store: &SqlStore) {
    let acme = new_org(store, "acme").await;
    let alice = account(store, "alice@acme.example").await;
    let link = identity(&acme, alice, "alice");
    store
        .link_federated(&link, &member(&acme, alice, OrgRole::Member, NOW))
        .await
        .unwrap();
    let placeholder = AccountId(support::random_id());
    let err = store
        .provision_federated(
            new_account("alice2@acme.example"),
            &identity(&acme, placeholder, "alice"),
            &member(&acme, placeholder, OrgRole::Admin, NOW),
            NOW,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    // The account inserted first in the transaction is rolled back with the rest.
    assert_eq!(
        store
            .find_account_by_email("alice2@acme.example")
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.count_accounts().await.unwrap(), 1);
    assert_eq!(
        store.find_federated(ISSUER, "alice").await.unwrap(),
        Some(link)
    );
    assert_eq!(
        store.list_members(acme.id).await.unwrap(),
        [member(&acme, alice, OrgRole::Member, NOW)]
    );
}

async fn a_sign_in_records_the_last_email_and_time(store: &SqlStore) {
    let acme = new_org(store, "acme").await;
    let alice = account(store, "alice@acme.example").await;
    let link = identity(&acme, alice, "alice");
    store
        .link_federated(&link, &member(&acme, alice, OrgRole::Member, NOW))
        .await
        .unwrap();
    let later = NOW.plus_secs(3_600);
    store
        .touch_federated(ISSUER, "alice", Some("a.smith@acme.example"), later)
        .await
        .unwrap();
    let touched = store
        .find_federated(ISSUER, "alice")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        touched,
        FederatedIdentity {
            email: Some("a.smith@acme.example".to_owned()),
            last_sign_in: later,
            ..link.clone()
        }
    );
    // An upstream that stops sending the email clears it; the link time never moves.
    store
        .touch_federated(ISSUER, "alice", None, later.plus_secs(1))
        .await
        .unwrap();
    let touched = store
        .find_federated(ISSUER, "alice")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(touched.email, None);
    assert_eq!(touched.linked_at, NOW);
    let err = store
        .touch_federated(ISSUER, "nobody", None, later)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
}
