//! Contract cases for what the account pages read and change (F3, A4): privacy choices and
//! their history, the session list, consents per account and refresh grants per client.

use lanyard_core::model::{Consent, SessionListing};
use lanyard_core::ports::{ClientRepo, ConsentRepo, PrivacyRepo, RefreshRepo, SessionListRepo};
use lanyard_store::SqlStore;

use crate::support::{NOW, account, client, family_for};

durable_contract!(
    privacy_changes_write_only_what_differs_with_one_history_row_each,
    privacy_history_is_newest_first_and_per_account,
    session_listings_are_per_account_newest_first_and_removable,
    consents_list_per_account_and_delete_one,
    refresh_grants_of_one_client_are_revoked_and_live_ones_listed,
);

fn pairs(items: &[(&str, bool)]) -> Vec<(String, bool)> {
    items.iter().map(|(c, e)| ((*c).to_owned(), *e)).collect()
}

async fn privacy_changes_write_only_what_differs_with_one_history_row_each(store: &SqlStore) {
    let ada = account(store, "ada@example.com").await;
    // Nothing stored counts as off: turning a category off first changes nothing.
    let changes = store
        .change_privacy(
            ada,
            &pairs(&[("offers", false), ("improve", true)]),
            "me",
            NOW,
        )
        .await
        .unwrap();
    assert_eq!(changes.len(), 1);
    assert_eq!(
        (changes[0].category.as_str(), changes[0].enabled),
        ("improve", true)
    );
    let choices = store.privacy_choices(ada).await.unwrap();
    assert_eq!(choices.len(), 1);
    assert_eq!(
        (
            choices[0].category.as_str(),
            choices[0].enabled,
            choices[0].changed_at
        ),
        ("improve", true, NOW)
    );
    // The same value again writes nothing, history included.
    let again = store
        .change_privacy(ada, &pairs(&[("improve", true)]), "me", NOW.plus_secs(5))
        .await
        .unwrap();
    assert!(again.is_empty());
    assert_eq!(store.privacy_history(ada, 10).await.unwrap().len(), 1);
    let off = store
        .change_privacy(
            ada,
            &pairs(&[("improve", false)]),
            "admin",
            NOW.plus_secs(9),
        )
        .await
        .unwrap();
    assert_eq!(off.len(), 1);
    let choices = store.privacy_choices(ada).await.unwrap();
    assert_eq!(
        (choices[0].enabled, choices[0].changed_at),
        (false, NOW.plus_secs(9))
    );
}

async fn privacy_history_is_newest_first_and_per_account(store: &SqlStore) {
    let ada = account(store, "ada@example.com").await;
    let bob = account(store, "bob@example.com").await;
    for (i, on) in [true, false, true].into_iter().enumerate() {
        store
            .change_privacy(
                ada,
                &pairs(&[("improve", on)]),
                "me",
                NOW.plus_secs(i as i64),
            )
            .await
            .unwrap();
    }
    store
        .change_privacy(bob, &pairs(&[("offers", true)]), "me", NOW)
        .await
        .unwrap();
    let history = store.privacy_history(ada, 10).await.unwrap();
    let seen: Vec<_> = history.iter().map(|c| (c.enabled, c.at)).collect();
    assert_eq!(
        seen,
        vec![
            (true, NOW.plus_secs(2)),
            (false, NOW.plus_secs(1)),
            (true, NOW)
        ]
    );
    assert!(
        history
            .iter()
            .all(|c| c.account_id == ada && c.actor == "me")
    );
    assert_eq!(store.privacy_history(ada, 2).await.unwrap().len(), 2);
    assert_eq!(store.privacy_history(bob, 10).await.unwrap().len(), 1);
}

fn listing(key: &str, account: lanyard_core::AccountId, started: i64) -> SessionListing {
    SessionListing {
        key: key.to_owned(),
        sid: format!("sid-{key}"),
        account_id: account,
        started_at: NOW.plus_secs(started),
        ip_prefix: Some("203.0.113.0/24".to_owned()),
        device: "Firefox on Linux".to_owned(),
    }
}

async fn session_listings_are_per_account_newest_first_and_removable(store: &SqlStore) {
    let ada = account(store, "ada@example.com").await;
    let bob = account(store, "bob@example.com").await;
    for (key, who, at) in [
        ("a1", ada, 0),
        ("a2", ada, 10),
        ("a3", ada, 20),
        ("b1", bob, 5),
    ] {
        store
            .insert_session_listing(&listing(key, who, at))
            .await
            .unwrap();
    }
    let keys = |list: Vec<SessionListing>| list.into_iter().map(|l| l.key).collect::<Vec<_>>();
    assert_eq!(
        keys(store.session_listings(ada, 10).await.unwrap()),
        ["a3", "a2", "a1"]
    );
    assert_eq!(keys(store.session_listings(ada, 1).await.unwrap()), ["a3"]);
    assert_eq!(
        store.find_session_listing(ada, "a2").await.unwrap(),
        Some(listing("a2", ada, 10))
    );
    // Another account's entry is nobody's.
    assert_eq!(store.find_session_listing(ada, "b1").await.unwrap(), None);
    assert!(store.remove_session_listing("a2").await.unwrap());
    assert!(!store.remove_session_listing("a2").await.unwrap());
    assert_eq!(
        store
            .remove_session_listings_of(ada, NOW.plus_secs(5))
            .await
            .unwrap(),
        1
    );
    assert_eq!(keys(store.session_listings(ada, 10).await.unwrap()), ["a3"]);
    assert_eq!(
        store
            .purge_session_listings(NOW.plus_secs(6))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        keys(store.session_listings(bob, 10).await.unwrap()),
        Vec::<String>::new()
    );
    assert_eq!(keys(store.session_listings(ada, 10).await.unwrap()), ["a3"]);
}

async fn consents_list_per_account_and_delete_one(store: &SqlStore) {
    let ada = account(store, "ada@example.com").await;
    let bob = account(store, "bob@example.com").await;
    let (one, two) = (client("one"), client("two"));
    store.insert_client(&one).await.unwrap();
    store.insert_client(&two).await.unwrap();
    let consent = |who, client: &lanyard_core::model::Client, at| Consent {
        account_id: who,
        client_id: client.id.clone(),
        scopes: vec!["email".to_owned(), "openid".to_owned()],
        granted_at: NOW.plus_secs(at),
    };
    store.upsert_consent(&consent(ada, &one, 0)).await.unwrap();
    store.upsert_consent(&consent(ada, &two, 5)).await.unwrap();
    store.upsert_consent(&consent(bob, &one, 1)).await.unwrap();
    let listed = store.consents_of(ada).await.unwrap();
    assert_eq!(listed, vec![consent(ada, &two, 5), consent(ada, &one, 0)]);
    assert!(store.delete_consent(ada, &one.id).await.unwrap());
    assert!(!store.delete_consent(ada, &one.id).await.unwrap());
    assert_eq!(
        store.consents_of(ada).await.unwrap(),
        vec![consent(ada, &two, 5)]
    );
    assert_eq!(
        store.consents_of(bob).await.unwrap().len(),
        1,
        "bob's consent stays"
    );
}

async fn refresh_grants_of_one_client_are_revoked_and_live_ones_listed(store: &SqlStore) {
    let ada = account(store, "ada@example.com").await;
    let bob = account(store, "bob@example.com").await;
    let (one, two) = (client("one"), client("two"));
    store.insert_client(&one).await.unwrap();
    store.insert_client(&two).await.unwrap();
    family_for(store, ada, &one.id, "a-one-1").await;
    family_for(store, ada, &one.id, "a-one-2").await;
    let kept = family_for(store, ada, &two.id, "a-two").await;
    let bobs = family_for(store, bob, &one.id, "b-one").await;
    assert_eq!(
        store
            .live_families_of_account(ada, NOW)
            .await
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        store
            .revoke_families_of_client(ada, &one.id, NOW.plus_secs(1))
            .await
            .unwrap(),
        2
    );
    let live = store
        .live_families_of_account(ada, NOW.plus_secs(1))
        .await
        .unwrap();
    assert_eq!(live.iter().map(|f| f.id).collect::<Vec<_>>(), vec![kept.id]);
    assert_eq!(
        store
            .revoke_families_of_client(ada, &one.id, NOW.plus_secs(2))
            .await
            .unwrap(),
        0
    );
    let bob_live = store
        .live_families_of_account(bob, NOW.plus_secs(2))
        .await
        .unwrap();
    assert_eq!(
        bob_live.iter().map(|f| f.id).collect::<Vec<_>>(),
        vec![bobs.id]
    );
    // Past its idle expiry a family is not live, so not listed.
    assert!(
        store
            .live_families_of_account(ada, NOW.plus_secs(100))
            .await
            .unwrap()
            .is_empty()
    );
}
