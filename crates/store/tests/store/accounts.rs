//! Contract cases for AccountRepo, ClientRepo and ConsentRepo.

use lanyard_core::model::{AccountKind, AccountStatus, ClientAuthMethod, Consent, GrantType};
use lanyard_core::ports::{AccountRepo, ClientRepo, ConsentRepo};
use lanyard_core::{AccountId, ClientId, StoreError};
use lanyard_store::SqlStore;

use crate::support::{self, NOW, account, client, new_account};

durable_contract!(
    inserted_account_round_trips,
    a_second_account_with_the_same_normalized_email_conflicts,
    email_lookup_is_case_insensitive_through_the_normalized_column,
    unknown_account_is_not_found,
    accounts_page_by_keyset_in_creation_order,
    status_and_password_updates_persist,
    time_zone_is_none_until_set_and_can_be_cleared,
    odd_text_round_trips_verbatim,
    a_site_users_principal_is_never_found_listed_or_counted_as_a_person,
    client_round_trips_and_a_duplicate_id_conflicts,
    clients_list_count_and_delete,
    consent_upsert_inserts_then_replaces,
);

async fn inserted_account_round_trips(store: &SqlStore) {
    let mut new = new_account("Ann@Example.com");
    new.email_verified = true;
    new.status = AccountStatus::Invited;
    let inserted = store.insert_account(new, NOW).await.unwrap();
    assert_eq!(inserted.email, "Ann@Example.com");
    assert_eq!(inserted.email_normalized, "ann@example.com");
    assert_eq!(inserted.created_at, NOW);
    assert_eq!(inserted.updated_at, NOW);
    assert_eq!(store.get_account(inserted.id).await.unwrap(), inserted);

    let mut sso_only = new_account("sso@example.com");
    sso_only.password_hash = None;
    let sso = store.insert_account(sso_only, NOW).await.unwrap();
    assert_eq!(store.get_account(sso.id).await.unwrap().password_hash, None);
}

async fn a_site_users_principal_is_never_found_listed_or_counted_as_a_person(store: &SqlStore) {
    let person = account(store, "ann@example.com").await;
    // A principal carries the site user's address for display, and a key that is no address.
    let mut principal = new_account("ann@example.com");
    principal.email_normalized = "site-user:0190a2b4-0000-7000-8000-000000000001".to_owned();
    principal.kind = AccountKind::SiteUser;
    let principal = store.insert_account(principal, NOW).await.unwrap();
    assert_eq!(principal.kind, AccountKind::SiteUser);
    assert_eq!(store.get_account(principal.id).await.unwrap(), principal);

    let found = store
        .find_account_by_email("ann@example.com")
        .await
        .unwrap();
    assert_eq!(
        found.map(|a| (a.id, a.kind)),
        Some((person, AccountKind::Person))
    );
    let by_key = store
        .find_account_by_email(&principal.email_normalized)
        .await;
    assert_eq!(
        by_key.unwrap(),
        None,
        "the principal's key finds nothing either"
    );
    let listed: Vec<AccountId> = store
        .list_accounts(None, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(listed, vec![person]);
    assert_eq!(store.count_accounts().await.unwrap(), 1);
}

async fn a_second_account_with_the_same_normalized_email_conflicts(store: &SqlStore) {
    store
        .insert_account(new_account("ann@example.com"), NOW)
        .await
        .unwrap();
    let err = store
        .insert_account(new_account("ANN@example.COM"), NOW)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    // The error names the operation, never the address.
    assert!(!err.to_string().to_lowercase().contains("ann@"), "{err}");
    assert_eq!(store.count_accounts().await.unwrap(), 1);
}

async fn email_lookup_is_case_insensitive_through_the_normalized_column(store: &SqlStore) {
    let id = account(store, "Bob.Smith@Example.ORG").await;
    let typed = "BOB.SMITH@example.org";
    let found = store
        .find_account_by_email(&typed.to_lowercase())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, id);
    assert_eq!(found.email, "Bob.Smith@Example.ORG", "display form is kept");
    assert!(
        store
            .find_account_by_email("nobody@example.org")
            .await
            .unwrap()
            .is_none()
    );
}

async fn unknown_account_is_not_found(store: &SqlStore) {
    let err = store
        .get_account(AccountId(support::random_id()))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
}

async fn accounts_page_by_keyset_in_creation_order(store: &SqlStore) {
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(account(store, &format!("user{i}@example.com")).await);
    }
    assert_eq!(store.count_accounts().await.unwrap(), 5);

    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store.list_accounts(after, 2).await.unwrap();
        assert!(page.len() <= 2);
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        seen.extend(page.iter().map(|a| a.id));
    }
    assert_eq!(seen, ids, "every account once, in creation (UUIDv7) order");
    assert!(store.list_accounts(None, 0).await.unwrap().is_empty());
    let tail = store.list_accounts(Some(ids[3]), 10).await.unwrap();
    assert_eq!(tail.iter().map(|a| a.id).collect::<Vec<_>>(), vec![ids[4]]);
}

async fn status_and_password_updates_persist(store: &SqlStore) {
    let id = account(store, "carol@example.com").await;
    let later = NOW.plus_secs(60);
    store
        .update_account_status(id, AccountStatus::Disabled, later)
        .await
        .unwrap();
    store
        .update_password_hash(id, "$argon2id$new", later.plus_secs(1))
        .await
        .unwrap();
    let account = store.get_account(id).await.unwrap();
    assert_eq!(account.status, AccountStatus::Disabled);
    assert_eq!(account.password_hash.as_deref(), Some("$argon2id$new"));
    assert_eq!(account.updated_at, later.plus_secs(1));
    assert_eq!(account.created_at, NOW);

    let missing = AccountId(support::random_id());
    let err = store
        .update_account_status(missing, AccountStatus::Active, later)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    let err = store
        .update_password_hash(missing, "x", later)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
}

async fn time_zone_is_none_until_set_and_can_be_cleared(store: &SqlStore) {
    let id = account(store, "tz@example.com").await;
    assert_eq!(store.get_account(id).await.unwrap().time_zone, None);
    let later = NOW.plus_secs(60);
    store
        .update_time_zone(id, Some("Europe/Paris"), later)
        .await
        .unwrap();
    let account = store.get_account(id).await.unwrap();
    assert_eq!(account.time_zone.as_deref(), Some("Europe/Paris"));
    assert_eq!(account.updated_at, later);
    store.update_time_zone(id, None, later).await.unwrap();
    assert_eq!(store.get_account(id).await.unwrap().time_zone, None);
    let missing = AccountId(support::random_id());
    let err = store
        .update_time_zone(missing, Some("UTC"), later)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
}

async fn odd_text_round_trips_verbatim(store: &SqlStore) {
    let mut new = new_account("o'brien+tag@example.com");
    new.name = "Robert'); DROP TABLE accounts;-- 🦀 Zoë \"x\" \\ %_".to_owned();
    let id = store.insert_account(new.clone(), NOW).await.unwrap().id;
    let back = store.get_account(id).await.unwrap();
    assert_eq!(back.name, new.name);
    assert_eq!(back.email, new.email);
    // A LIKE wildcard in the lookup must not match anything else.
    assert!(store.find_account_by_email("%").await.unwrap().is_none());
    assert_eq!(store.count_accounts().await.unwrap(), 1);
}

async fn client_round_trips_and_a_duplicate_id_conflicts(store: &SqlStore) {
    let mut c = client("my-app_1.x~");
    c.redirect_uris = vec![
        "https://app.example/cb".to_owned(),
        "http://127.0.0.1:8080/cb?x=\"y\"".to_owned(),
    ];
    c.post_logout_redirect_uris = vec!["https://app.example/bye".to_owned()];
    c.grant_types = vec![GrantType::ClientCredentials, GrantType::AuthorizationCode];
    c.auth_method = ClientAuthMethod::PrivateKeyJwt;
    c.secret_hash = None;
    c.jwks = Some(serde_json::json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "abc"}]}));
    c.first_party = true;
    c.access_token_ttl = Some(300);
    c.refresh_idle_ttl = Some(86_400);
    c.refresh_absolute_ttl = Some(2_592_000);
    c.exchange_audiences = vec!["https://api.example.com/".to_owned(), "files".to_owned()];
    store.insert_client(&c).await.unwrap();
    assert_eq!(store.find_client(&c.id).await.unwrap(), Some(c.clone()));

    let err = store
        .insert_client(&client("my-app_1.x~"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    let unknown = ClientId::parse("nope").unwrap();
    assert_eq!(store.find_client(&unknown).await.unwrap(), None);
}

async fn clients_list_count_and_delete(store: &SqlStore) {
    for id in ["b-app", "a-app", "c-app"] {
        store.insert_client(&client(id)).await.unwrap();
    }
    assert_eq!(store.count_clients().await.unwrap(), 3);
    let ids: Vec<String> = store
        .list_clients()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id.to_string())
        .collect();
    assert_eq!(ids, ["a-app", "b-app", "c-app"]);

    let b = ClientId::parse("b-app").unwrap();
    assert!(store.delete_client(&b).await.unwrap());
    assert!(!store.delete_client(&b).await.unwrap());
    assert_eq!(store.find_client(&b).await.unwrap(), None);
    assert_eq!(store.count_clients().await.unwrap(), 2);
}

async fn consent_upsert_inserts_then_replaces(store: &SqlStore) {
    let account = account(store, "dave@example.com").await;
    let c = client("third-party");
    store.insert_client(&c).await.unwrap();
    assert_eq!(store.find_consent(account, &c.id).await.unwrap(), None);

    let mut consent = Consent {
        account_id: account,
        client_id: c.id.clone(),
        scopes: vec!["email".to_owned(), "openid".to_owned()],
        granted_at: NOW,
    };
    store.upsert_consent(&consent).await.unwrap();
    assert_eq!(
        store.find_consent(account, &c.id).await.unwrap(),
        Some(consent.clone())
    );

    consent.scopes = vec![
        "email".to_owned(),
        "openid".to_owned(),
        "profile".to_owned(),
    ];
    consent.granted_at = NOW.plus_secs(10);
    store.upsert_consent(&consent).await.unwrap();
    assert_eq!(
        store.find_consent(account, &c.id).await.unwrap(),
        Some(consent)
    );

    let other = crate::support::account(store, "erin@example.com").await;
    assert_eq!(store.find_consent(other, &c.id).await.unwrap(), None);
}
