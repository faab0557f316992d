//! Contract cases for SigningKeyRepo and AuditRepo, and the migrations on both databases.

use lanyard_core::model::{AuditEvent, SigningAlg, SigningKeyRecord};
use lanyard_core::ports::{AuditRepo, SigningKeyRepo};
use lanyard_core::{StoreError, Timestamp};
use lanyard_store::SqlStore;

use crate::support::{self, Db, NOW};

durable_contract!(
    signing_keys_insert_list_retire_and_delete,
    audit_lists_newest_first_and_filters_by_kind,
    migrating_again_is_a_no_op,
);

fn key(kid: &str, created_at: Timestamp) -> SigningKeyRecord {
    SigningKeyRecord {
        kid: kid.to_owned(),
        alg: SigningAlg::EdDSA,
        // Every byte value, including NUL, must survive the blob column.
        private_key_encrypted: (0..=255).collect(),
        public_jwk: format!(r#"{{"kty":"OKP","crv":"Ed25519","kid":"{kid}","x":"abc"}}"#),
        created_at,
        active_from: created_at.plus_secs(3_600),
        retired_at: None,
        remove_after: None,
    }
}

async fn signing_keys_insert_list_retire_and_delete(store: &SqlStore) {
    let old = key("k-old", NOW);
    let mut new = key("k-new", NOW.plus_secs(10));
    new.alg = SigningAlg::RS256;
    store.insert_signing_key(&new).await.unwrap();
    store.insert_signing_key(&old).await.unwrap();
    assert_eq!(
        store.list_signing_keys().await.unwrap(),
        vec![old.clone(), new.clone()]
    );

    let err = store
        .insert_signing_key(&key("k-old", NOW))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");

    let (retired, remove) = (NOW.plus_secs(100), NOW.plus_secs(200));
    store
        .update_signing_key_retirement("k-old", retired, remove)
        .await
        .unwrap();
    let keys = store.list_signing_keys().await.unwrap();
    assert_eq!(keys[0].retired_at, Some(retired));
    assert_eq!(keys[0].remove_after, Some(remove));
    assert_eq!(keys[1], new);
    let err = store
        .update_signing_key_retirement("k-missing", retired, remove)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");

    assert!(store.delete_signing_key("k-old").await.unwrap());
    assert!(!store.delete_signing_key("k-old").await.unwrap());
    assert_eq!(store.list_signing_keys().await.unwrap(), vec![new]);
}

async fn audit_lists_newest_first_and_filters_by_kind(store: &SqlStore) {
    let events = [
        AuditEvent::new(NOW, "login.failed", "failure")
            .subject("alice@example.com")
            .reason("bad_password")
            .origin(Some("192.0.2.1".to_owned()), Some("curl/8".to_owned())),
        AuditEvent::new(NOW, "login.succeeded", "success").actor("acct-1"),
        // Same second as the first two: insertion order breaks the tie.
        AuditEvent::new(NOW, "login.failed", "failure").client("app"),
        AuditEvent::new(NOW.plus_secs(5), "client.created", "success").actor("cli"),
    ];
    for event in &events {
        store.insert_audit(event).await.unwrap();
    }

    let all = store.list_audit(None, 10).await.unwrap();
    let expected: Vec<AuditEvent> = events.iter().rev().cloned().collect();
    assert_eq!(all, expected);

    let failed = store.list_audit(Some("login.failed"), 10).await.unwrap();
    assert_eq!(failed, vec![events[2].clone(), events[0].clone()]);
    assert_eq!(
        store.list_audit(None, 2).await.unwrap(),
        expected[..2].to_vec()
    );
    assert!(
        store
            .list_audit(Some("login"), 10)
            .await
            .unwrap()
            .is_empty(),
        "exact kind"
    );
}

async fn migrating_again_is_a_no_op(store: &SqlStore) {
    assert!(store.pending_migrations().await.unwrap().is_empty());
    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    assert!(store.pending_migrations().await.unwrap().is_empty());
    store.ping().await.unwrap();
}

/// A fresh database lists the migration as pending without creating anything, and two
/// stores migrating at once (two nodes starting together) both succeed.
async fn fresh_database_migrates_once_under_concurrency(db: &Db, url_twin: SqlStore) {
    let pending = db.store.pending_migrations().await.unwrap();
    assert_eq!(
        pending,
        [
            "m0001_initial",
            "m0002_refresh_grace",
            "m0003_mfa",
            "m0004_pats",
            "m0005_orgs",
            "m0006_ephemeral",
            "m0007_client_exchange_audiences",
            "m0008_backchannel_logout",
            "m0009_time_zone",
            "m0010_account_kind",
            "m0011_sites",
            "m0012_backup_code_sets",
            "m0013_pat_site_user",
            "m0014_federation",
            "m0015_account_links",
            "m0016_admin_audit",
            "m0017_privacy_sessions",
        ]
    );
    assert_eq!(
        db.store.pending_migrations().await.unwrap(),
        pending,
        "read-only check"
    );

    let (a, b) = tokio::join!(db.store.migrate(), url_twin.migrate());
    a.unwrap();
    b.unwrap();
    assert!(db.store.pending_migrations().await.unwrap().is_empty());
    assert!(url_twin.pending_migrations().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_fresh_database_migrates_once_under_concurrency() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/a/b/lanyard.db?mode=rwc", dir.path().display());
    let first = support::connect(&url).await.unwrap();
    let twin = support::connect(&url).await.unwrap();
    assert!(
        dir.path().join("a/b/lanyard.db").exists(),
        "folder and file created"
    );
    let db = support::Db::wrap_sqlite(first, dir);
    fresh_database_migrates_once_under_concurrency(&db, twin).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_fresh_database_migrates_once_under_concurrency() {
    let Some(db) = support::postgres_unmigrated().await else {
        return;
    };
    let twin = support::connect(&db.url).await.unwrap();
    fresh_database_migrates_once_under_concurrency(&db, twin).await;
    db.cleanup().await;
}

#[tokio::test]
async fn an_unreachable_postgres_is_unavailable_and_the_url_stays_secret() {
    let err = support::connect("postgres://lanyard:hunter2@127.0.0.1:1/lanyard")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert!(!err.to_string().contains("hunter2"), "{err}");
}

#[tokio::test]
async fn in_memory_sqlite_works() {
    let store = support::connect("sqlite::memory:").await.unwrap();
    store.migrate().await.unwrap();
    assert!(store.pending_migrations().await.unwrap().is_empty());
    assert!(store.list_signing_keys().await.unwrap().is_empty());
}
