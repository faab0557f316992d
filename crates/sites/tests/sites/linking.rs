//! Automatic linking (C5) and its S42 limits.

use lanyard_core::model::MigrationState;
use lanyard_core::ports::SiteRepo;

use crate::{NowTs, email_of, harness, origin};

#[tokio::test]
async fn c5_a_verified_matching_account_is_linked_at_sign_in_once() {
    let h = harness().await;
    let bob = h.person(&email_of("bob")).await;
    let o = origin("192.0.2.1");
    let linked = h
        .linking
        .site_user_at_sign_in(&h.site, &bob, &o)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(linked.login, "bob");
    assert_eq!(linked.account_id, Some(bob.id));
    assert_eq!(h.user("bob").await.account_id, Some(bob.id));
    // The next sign-in finds the link.
    let again = h
        .linking
        .site_user_at_sign_in(&h.site, &bob, &o)
        .await
        .unwrap();
    assert_eq!(again.map(|u| u.id), Some(linked.id));
    let linked_events = h
        .audit_kinds()
        .await
        .into_iter()
        .filter(|k| k == "migration.linked")
        .count();
    assert_eq!(linked_events, 1);
}

/// S42 pre-hijack: never into an account whose email is unverified.
#[tokio::test]
async fn s42_an_unverified_account_is_never_linked_automatically() {
    let h = harness().await;
    let squatter = h.unverified_person(&email_of("bob")).await;
    let found = h
        .linking
        .site_user_at_sign_in(&h.site, &squatter, &origin("192.0.2.1"))
        .await
        .unwrap();
    assert!(found.is_none());
    assert_eq!(h.user("bob").await.account_id, None);
}

#[tokio::test]
async fn no_link_to_another_site_nor_while_the_site_is_legacy_nor_for_a_stranger() {
    let h = harness().await;
    let other = h.new_site("other", "Other", "other-app").await;
    h.import(
        &other,
        &[("erin", lanyard_core::model::SiteRole::LicensedUser)],
    )
    .await;
    let erin = h.person(&email_of("erin")).await;
    let o = origin("192.0.2.1");
    // Erin's email matches a user of `other` (legacy), not of `studio`.
    assert!(
        h.linking
            .site_user_at_sign_in(&h.site, &erin, &o)
            .await
            .unwrap()
            .is_none()
    );
    let other = h.store.get_site(other.id).await.unwrap().unwrap();
    assert_eq!(other.state, MigrationState::Legacy);
    assert!(
        h.linking
            .site_user_at_sign_in(&other, &erin, &o)
            .await
            .unwrap()
            .is_none()
    );
    let stranger = h.person("stranger@example.com").await;
    assert!(
        h.linking
            .site_user_at_sign_in(&h.site, &stranger, &o)
            .await
            .unwrap()
            .is_none()
    );
    let principal = h.account(h.user("bob").await.principal).await;
    assert!(
        h.linking
            .site_user_at_sign_in(&h.site, &principal, &o)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        h.store
            .site_users_of_account(erin.id)
            .await
            .unwrap()
            .is_empty()
    );
    let _ = h.clock.now_ts();
}
