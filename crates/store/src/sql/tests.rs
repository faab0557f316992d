//! Statement shapes that matter for SQLite's statement cache.

use std::sync::{Arc, Mutex};

use lanyard_core::model::{
    AccountKind, AccountStatus, NewAccount, OrgId, PatId, SiteId, SiteUserId,
};
use lanyard_core::ports::{
    AccountRepo, ClientRepo, ConsentRepo, FederationRepo, MfaRepo, OrgRepo, PatRepo, RefreshRepo,
    SiteRepo,
};
use lanyard_core::{ClientId, FamilyId, ManualClock, OsRng, Timestamp};

use super::SqlStore;

const NOW: Timestamp = Timestamp(1_700_000_000);

/// Issue 11 item 14: every single-row lookup runs without a bound `LIMIT`, which SQLite
/// would re-prepare on every execution (see `unique_row`). The statements each lookup runs
/// are recorded through sea-orm's metric callback; one `Select::one` left anywhere among
/// them shows up as `LIMIT`.
#[tokio::test]
async fn single_row_lookups_bind_no_limit() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/l.db?mode=rwc", dir.path().display());
    let mut store = SqlStore::connect(&url, Arc::new(ManualClock::new(NOW)), Arc::new(OsRng))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let account = store
        .insert_account(
            NewAccount {
                email: "a@example.com".to_owned(),
                email_normalized: "a@example.com".to_owned(),
                email_verified: true,
                name: "A".to_owned(),
                password_hash: None,
                status: AccountStatus::Active,
                kind: AccountKind::Person,
            },
            NOW,
        )
        .await
        .unwrap()
        .id;
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = seen.clone();
    store.db.set_metric_callback(move |info| {
        sink.lock().unwrap().push(info.statement.sql.clone());
    });
    let client = ClientId::parse("rp").unwrap();
    let id = uuid::Uuid::from_u128(7);
    store.get_account(account).await.unwrap();
    store.find_account_by_email("a@example.com").await.unwrap();
    store.find_client(&client).await.unwrap();
    store.find_consent(account, &client).await.unwrap();
    store.find_family(FamilyId(id)).await.unwrap();
    store.find_family_by_token("h").await.unwrap();
    store.find_family_by_current_token("h").await.unwrap();
    store
        .rotate_refresh_token("h", "h2", None, NOW, 60)
        .await
        .unwrap();
    store.mfa_state(account).await.unwrap();
    store.record_mfa_failure(account, NOW).await.unwrap();
    store.totp_credential(account, false).await.unwrap();
    store.backup_code(account).await.unwrap();
    store.find_trusted_device("h").await.unwrap();
    store.org_by_slug("acme").await.unwrap();
    store.member_role(OrgId(id), account).await.unwrap();
    store.find_pat_by_hash("h").await.unwrap();
    store.get_pat(PatId(id)).await.unwrap();
    store.site_by_slug("acme").await.unwrap();
    store.get_site(SiteId(id)).await.unwrap();
    store.site_for_client(&client).await.unwrap();
    store.get_site_user(SiteUserId(id)).await.unwrap();
    store.site_user_by_login(SiteId(id), "alice").await.unwrap();
    store.site_user_by_principal(account).await.unwrap();
    store
        .site_user_for_account(SiteId(id), account)
        .await
        .unwrap();
    store.invitation_by_token_hash("h").await.unwrap();
    store.find_domain("example.com").await.unwrap();
    store.connection(OrgId(id)).await.unwrap();
    store
        .find_federated("https://idp.example", "s")
        .await
        .unwrap();
    store.sso_required_for_domain("example.com").await.unwrap();
    let seen = seen.lock().unwrap();
    let selects: Vec<_> = seen
        .iter()
        .filter(|sql| sql.starts_with("SELECT"))
        .collect();
    assert!(
        selects.len() >= 29,
        "every lookup was recorded: {selects:#?}"
    );
    for sql in selects {
        assert!(!sql.to_uppercase().contains("LIMIT"), "{sql}");
    }
}
