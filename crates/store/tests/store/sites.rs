//! Contract cases for SiteRepo (C1–C6): unique slugs and clients, the import (all-or-nothing,
//! idempotent, principals and imported authenticator apps in the same transaction),
//! conditional state moves, the erasure on entering `identity`, invitations (one winner of
//! twenty parallel claims, re-sending supersedes), linking, email changes, progress counts
//! and the site 2FA policy's "since".

use std::sync::Arc;

use lanyard_core::model::{
    AccountKind, AccountStatus, Invitation, InvitationId, InvitationKind, MfaMethod,
    MigrationProgress, MigrationState, Site, SiteId, SiteRole, SiteUser, SiteUserId,
};
use lanyard_core::ports::{
    AccountRepo, BackupCodeSetRepo, ClientRepo, ImportSummary, ImportedSiteUser, MfaRepo,
    RefreshRepo, SiteRepo,
};
use lanyard_core::{AccountId, ClientId, ManualClock, OsRng, StoreError, Timestamp};
use lanyard_store::SqlStore;
use tokio::sync::Barrier;

use crate::support::{self, NOW, account, client, family_for};

durable_contract!(
    a_slug_and_a_client_belong_to_one_site,
    a_site_with_an_unknown_client_is_not_written,
    an_import_adds_users_with_their_principals,
    re_running_an_import_changes_nothing,
    an_import_with_one_clash_writes_nothing,
    duplicates_within_one_import_write_nothing,
    a_large_import_goes_in_batches,
    state_moves_are_conditional,
    entering_identity_erases_legacy_credentials,
    a_legacy_password_is_promoted_once,
    twenty_parallel_accepts_one_wins,
    re_sending_supersedes_the_old_invitation,
    an_expired_invitation_cannot_be_accepted,
    linking_happens_once_and_one_account_per_site,
    an_email_change_needs_confirmation_and_retires_invitations,
    progress_counts_each_user_once,
    two_factor_since_follows_role_link_and_preference,
    site_users_page_in_login_order,
);

const HASH: &str = "$2b$04$abcdefghijklmnopqrstuu5fmP0kZ9tY1Q8x2sT6vJ3gHkL0aBcDe";

fn ids() -> (ManualClock, OsRng) {
    (ManualClock::new(NOW), OsRng)
}

fn site(slug: &str, clients: &[&str]) -> Site {
    let (clock, rng) = ids();
    Site {
        id: SiteId::new(&clock, &rng),
        slug: slug.to_owned(),
        name: format!("Site {slug}"),
        clients: clients
            .iter()
            .map(|c| ClientId::parse(c).unwrap())
            .collect(),
        state: MigrationState::Legacy,
        two_factor_required_since: None,
        created_at: NOW,
        updated_at: NOW,
    }
}

async fn new_site(store: &SqlStore, slug: &str) -> Site {
    let s = site(slug, &[]);
    store.insert_site(&s).await.unwrap();
    s
}

/// A row for `login` (email `<login>@legacy.example`), as the service would make it.
fn row(site: &Site, login: &str, role: SiteRole) -> ImportedSiteUser {
    let (clock, rng) = ids();
    let email = format!("{login}@Legacy.example");
    ImportedSiteUser {
        user: SiteUser {
            id: SiteUserId::new(&clock, &rng),
            site_id: site.id,
            login: login.to_owned(),
            login_normalized: login.to_lowercase(),
            email_normalized: email.to_lowercase(),
            email,
            role,
            legacy_password_hash: Some(HASH.to_owned()),
            principal: AccountId::new(&clock, &rng),
            account_id: None,
            linked_at: None,
            email_unverified_since: None,
            created_at: NOW,
            updated_at: NOW,
        },
        sealed_totp_secret: None,
    }
}

fn with_totp(mut row: ImportedSiteUser, sealed: &[u8]) -> ImportedSiteUser {
    row.sealed_totp_secret = Some(sealed.to_vec());
    row
}

async fn import(store: &SqlStore, rows: &[ImportedSiteUser]) -> Result<ImportSummary, StoreError> {
    store
        .import_site_users(rows[0].user.site_id, rows, NOW)
        .await
}

async fn user(store: &SqlStore, site: &Site, login: &str) -> SiteUser {
    store
        .site_user_by_login(site.id, login)
        .await
        .unwrap()
        .unwrap()
}

fn invitation(user: &SiteUser, token_hash: &str, at: i64) -> Invitation {
    let (clock, rng) = ids();
    Invitation {
        id: InvitationId::new(&clock, &rng),
        site_user: user.id,
        kind: InvitationKind::CreateAccount,
        token_hash: token_hash.to_owned(),
        email_normalized: user.email_normalized.clone(),
        created_at: Timestamp(at),
        expires_at: Timestamp(at + 1_000),
        accepted_at: None,
        superseded_at: None,
        bounced_at: None,
    }
}

async fn person(store: &SqlStore) -> AccountId {
    let tag = support::random_id().simple().to_string();
    account(store, &format!("{tag}@example.com")).await
}

async fn a_slug_and_a_client_belong_to_one_site(store: &SqlStore) {
    store.insert_client(&client("rp-a")).await.unwrap();
    store.insert_client(&client("rp-b")).await.unwrap();
    let first = site("acme", &["rp-b", "rp-a"]);
    store.insert_site(&first).await.unwrap();
    let err = store.insert_site(&site("acme", &[])).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    // rp-a is taken: the whole site is refused, not written without it.
    let err = store
        .insert_site(&site("other", &["rp-a"]))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(store.site_by_slug("other").await.unwrap(), None);

    let found = store.site_by_slug("acme").await.unwrap().unwrap();
    // Clients come back in id order.
    assert_eq!(
        found.clients,
        [
            ClientId::parse("rp-a").unwrap(),
            ClientId::parse("rp-b").unwrap()
        ]
    );
    assert_eq!(found.id, first.id);
    assert_eq!(found.state, MigrationState::Legacy);
    assert_eq!(store.get_site(first.id).await.unwrap(), Some(found.clone()));
    let rp_b = ClientId::parse("rp-b").unwrap();
    assert_eq!(
        store.site_for_client(&rp_b).await.unwrap(),
        Some(found.clone())
    );
    store.insert_client(&client("rp-c")).await.unwrap();
    let rp_c = ClientId::parse("rp-c").unwrap();
    assert_eq!(store.site_for_client(&rp_c).await.unwrap(), None);
    // The client record carries its site (the issuer's cache asks about sites by it).
    let rp_b_site = store.find_client(&rp_b).await.unwrap().unwrap().site;
    assert_eq!(rp_b_site, Some(first.id));
    assert_eq!(store.find_client(&rp_c).await.unwrap().unwrap().site, None);
    let listed: Vec<_> = store
        .list_clients()
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.id.as_str().to_owned(), c.site))
        .collect();
    assert_eq!(
        listed,
        [
            ("rp-a".to_owned(), Some(first.id)),
            ("rp-b".to_owned(), Some(first.id)),
            ("rp-c".to_owned(), None),
        ]
    );
    assert_eq!(store.site_by_slug("ACME").await.unwrap(), None);
    let second = new_site(store, "beta").await;
    let listed = store.list_sites().await.unwrap();
    assert_eq!(listed, [found, second]);
}

async fn a_site_with_an_unknown_client_is_not_written(store: &SqlStore) {
    let err = store
        .insert_site(&site("acme", &["ghost"]))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(store.site_by_slug("acme").await.unwrap(), None);
    assert!(store.list_sites().await.unwrap().is_empty());
}

async fn an_import_adds_users_with_their_principals(store: &SqlStore) {
    let s = new_site(store, "acme").await;
    let people_before = store.count_accounts().await.unwrap();
    let rows = [
        row(&s, "Alice", SiteRole::Admin),
        with_totp(row(&s, "bob", SiteRole::LicensedUser), b"sealed-bob"),
        row(&s, "carol", SiteRole::ClientUser),
    ];
    let summary = import(store, &rows).await.unwrap();
    assert_eq!(
        summary,
        ImportSummary {
            added: 3,
            unchanged: 0
        }
    );

    let alice = user(store, &s, "alice").await;
    assert_eq!(alice, rows[0].user);
    let principal = store.get_account(alice.principal).await.unwrap();
    assert_eq!(principal.kind, AccountKind::SiteUser);
    assert_eq!(principal.status, AccountStatus::Active);
    assert_eq!(principal.email, "Alice@Legacy.example");
    assert_eq!(
        principal.email_normalized,
        format!("site-user:{}", alice.id)
    );
    assert_eq!(principal.name, "Alice");
    assert_eq!(principal.password_hash, None);
    // Principals are never people: no email lookup, list or count finds them.
    assert_eq!(store.count_accounts().await.unwrap(), people_before);
    let found = store
        .find_account_by_email("alice@legacy.example")
        .await
        .unwrap();
    assert_eq!(found, None);
    assert_eq!(
        store.site_user_by_principal(alice.principal).await.unwrap(),
        Some(alice.clone())
    );

    // Bob's legacy authenticator app is his principal's active one.
    let bob = user(store, &s, "bob").await;
    let app = store
        .totp_credential(bob.principal, false)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(app.secret_sealed, b"sealed-bob");
    assert_eq!(app.confirmed_at, Some(NOW));
    assert_eq!(
        store.totp_credential(bob.principal, true).await.unwrap(),
        None
    );
    assert_eq!(
        store.mfa_state(bob.principal).await.unwrap().method,
        MfaMethod::Totp
    );
    assert_eq!(
        store.mfa_state(alice.principal).await.unwrap().method,
        MfaMethod::Email
    );
    assert_eq!(
        store.totp_credential(alice.principal, false).await.unwrap(),
        None
    );
}

async fn re_running_an_import_changes_nothing(store: &SqlStore) {
    let s = new_site(store, "acme").await;
    let first = [
        row(&s, "alice", SiteRole::Admin),
        with_totp(row(&s, "bob", SiteRole::LicensedUser), b"sealed-bob"),
    ];
    import(store, &first).await.unwrap();
    let before = store.list_site_users(s.id, None, 10).await.unwrap();
    // The same file read again: new ids and hashes, same logins, emails and roles.
    let mut again = [
        row(&s, "ALICE", SiteRole::Admin),
        with_totp(row(&s, "bob", SiteRole::LicensedUser), b"other"),
    ];
    again[0].user.legacy_password_hash = Some("$2b$04$different".to_owned());
    let summary = import(store, &again).await.unwrap();
    assert_eq!(
        summary,
        ImportSummary {
            added: 0,
            unchanged: 2
        }
    );
    assert_eq!(store.list_site_users(s.id, None, 10).await.unwrap(), before);
    let bob = user(store, &s, "bob").await;
    let app = store
        .totp_credential(bob.principal, false)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(app.secret_sealed, b"sealed-bob");
    assert!(store.get_account(again[0].user.principal).await.is_err());
}

async fn an_import_with_one_clash_writes_nothing(store: &SqlStore) {
    let s = new_site(store, "acme").await;
    import(store, &[row(&s, "alice", SiteRole::Admin)])
        .await
        .unwrap();
    let fresh = with_totp(row(&s, "dave", SiteRole::LicensedUser), b"sealed");
    // A known login with another role, another email, or a new login with a taken email.
    let other_role = row(&s, "alice", SiteRole::LicensedUser);
    let mut other_email = row(&s, "alice", SiteRole::Admin);
    other_email.user.email_normalized = "elsewhere@example.com".to_owned();
    let mut taken_email = row(&s, "erin", SiteRole::Admin);
    taken_email.user.email_normalized = "alice@legacy.example".to_owned();
    for clash in [other_role, other_email, taken_email] {
        let err = import(store, &[fresh.clone(), clash]).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
        assert_eq!(store.site_user_by_login(s.id, "dave").await.unwrap(), None);
        assert!(store.get_account(fresh.user.principal).await.is_err());
        assert_eq!(
            store
                .totp_credential(fresh.user.principal, false)
                .await
                .unwrap(),
            None
        );
    }
    assert_eq!(
        store.list_site_users(s.id, None, 10).await.unwrap().len(),
        1
    );
}

async fn duplicates_within_one_import_write_nothing(store: &SqlStore) {
    let s = new_site(store, "acme").await;
    let a = row(&s, "alice", SiteRole::Admin);
    let same_login = row(&s, "Alice", SiteRole::Admin);
    let mut same_email = row(&s, "bob", SiteRole::Admin);
    same_email.user.email_normalized = a.user.email_normalized.clone();
    for dup in [same_login, same_email] {
        let err = import(store, &[a.clone(), dup]).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
        assert!(
            store
                .list_site_users(s.id, None, 10)
                .await
                .unwrap()
                .is_empty()
        );
    }
    // The same login at another site is a different user.
    let other = new_site(store, "other").await;
    import(store, std::slice::from_ref(&a)).await.unwrap();
    import(store, &[row(&other, "alice", SiteRole::Admin)])
        .await
        .unwrap();
}

async fn a_large_import_goes_in_batches(store: &SqlStore) {
    let s = new_site(store, "acme").await;
    let rows: Vec<_> = (0..1_234)
        .map(|i| {
            let r = row(&s, &format!("user{i:05}"), SiteRole::LicensedUser);
            if i % 3 == 0 {
                with_totp(r, b"sealed")
            } else {
                r
            }
        })
        .collect();
    let summary = import(store, &rows).await.unwrap();
    assert_eq!(summary.added, 1_234);
    let progress = store.migration_progress(s.id, NOW).await.unwrap();
    assert_eq!(progress.total, 1_234);
    let last = user(store, &s, "user01232").await;
    assert!(
        store
            .totp_credential(last.principal, false)
            .await
            .unwrap()
            .is_none()
    );
    let with_app = user(store, &s, "user01230").await;
    assert!(
        store
            .totp_credential(with_app.principal, false)
            .await
            .unwrap()
            .is_some()
    );
    let summary = import(store, &rows).await.unwrap();
    assert_eq!(
        summary,
        ImportSummary {
            added: 0,
            unchanged: 1_234
        }
    );
}

async fn state_moves_are_conditional(store: &SqlStore) {
    let s = new_site(store, "acme").await;
    let later = NOW.plus_secs(10);
    use MigrationState::{Dual, Identity, Legacy};
    assert!(
        !store
            .set_migration_state(s.id, Dual, Identity, later)
            .await
            .unwrap()
    );
    assert!(
        store
            .set_migration_state(s.id, Legacy, Dual, later)
            .await
            .unwrap()
    );
    // A second mover that read `legacy` too loses.
    assert!(
        !store
            .set_migration_state(s.id, Legacy, Dual, later)
            .await
            .unwrap()
    );
    let found = store.get_site(s.id).await.unwrap().unwrap();
    assert_eq!((found.state, found.updated_at), (Dual, later));
    assert!(
        store
            .set_migration_state(s.id, Dual, Legacy, later)
            .await
            .unwrap()
    );
    let ghost = SiteId(support::random_id());
    assert!(
        !store
            .set_migration_state(ghost, Legacy, Dual, later)
            .await
            .unwrap()
    );
}

async fn entering_identity_erases_legacy_credentials(store: &SqlStore) {
    let s = new_site(store, "acme").await;
    let other = new_site(store, "other").await;
    import(
        store,
        &[
            with_totp(row(&s, "alice", SiteRole::Admin), b"sealed-a"),
            row(&s, "bob", SiteRole::LicensedUser),
        ],
    )
    .await
    .unwrap();
    import(
        store,
        &[with_totp(row(&other, "zed", SiteRole::Admin), b"sealed-z")],
    )
    .await
    .unwrap();
    let alice = user(store, &s, "alice").await;
    let bob = user(store, &s, "bob").await;
    let zed = user(store, &other, "zed").await;
    assert!(
        store
            .promote_legacy_password(bob.id, HASH, "$argon2id$bob", NOW)
            .await
            .unwrap()
    );
    store
        .replace_backup_code(alice.principal, "code", NOW)
        .await
        .unwrap();
    let set: Vec<String> = (0..10).map(|i| format!("alice-set-{i}")).collect();
    store
        .replace_backup_code_set(alice.principal, b"sealed-set", &set, NOW)
        .await
        .unwrap();
    let zed_set: Vec<String> = (0..10).map(|i| format!("zed-set-{i}")).collect();
    store
        .replace_backup_code_set(zed.principal, b"sealed-set", &zed_set, NOW)
        .await
        .unwrap();
    store.insert_client(&client("rp")).await.unwrap();
    let rp = ClientId::parse("rp").unwrap();
    let grant = family_for(store, alice.principal, &rp, "t-alice").await;
    let zed_grant = family_for(store, zed.principal, &rp, "t-zed").await;
    let epoch = store
        .mfa_state(alice.principal)
        .await
        .unwrap()
        .credential_epoch;

    let at = NOW.plus_secs(50);
    use MigrationState::{Dual, Identity, Legacy};
    store
        .set_migration_state(s.id, Legacy, Dual, at)
        .await
        .unwrap();
    // Going back to legacy keeps everything.
    store
        .set_migration_state(s.id, Dual, Legacy, at)
        .await
        .unwrap();
    assert!(
        user(store, &s, "alice")
            .await
            .legacy_password_hash
            .is_some()
    );
    store
        .set_migration_state(s.id, Legacy, Dual, at)
        .await
        .unwrap();
    assert!(
        store
            .set_migration_state(s.id, Dual, Identity, at)
            .await
            .unwrap()
    );

    for u in [&alice, &bob] {
        let after = user(store, &s, &u.login_normalized).await;
        assert_eq!(after.legacy_password_hash, None);
        let principal = store.get_account(u.principal).await.unwrap();
        assert_eq!(principal.status, AccountStatus::Disabled);
        assert_eq!(principal.password_hash, None);
        assert_eq!(
            store.totp_credential(u.principal, false).await.unwrap(),
            None
        );
        assert_eq!(store.backup_code(u.principal).await.unwrap(), None);
        assert_eq!(store.backup_code_set(u.principal).await.unwrap(), None);
        assert_eq!(store.unused_set_codes(u.principal).await.unwrap(), 0);
    }
    assert!(
        !store
            .consume_set_code(alice.principal, "alice-set-0", at)
            .await
            .unwrap()
    );
    let state = store.mfa_state(alice.principal).await.unwrap();
    assert_eq!(state.method, MfaMethod::Email);
    assert!(state.credential_epoch > epoch);
    let revoked = store.find_family(grant.id).await.unwrap().unwrap();
    assert_eq!(revoked.revoked_at, Some(at));
    // The other site is untouched.
    let zed_after = user(store, &other, "zed").await;
    assert_eq!(zed_after.legacy_password_hash.as_deref(), Some(HASH));
    assert_eq!(
        store.get_account(zed.principal).await.unwrap().status,
        AccountStatus::Active
    );
    assert!(
        store
            .totp_credential(zed.principal, false)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(store.unused_set_codes(zed.principal).await.unwrap(), 10);
    let zed_family = store.find_family(zed_grant.id).await.unwrap().unwrap();
    assert_eq!(zed_family.revoked_at, None);
    // `identity` is final.
    for to in [Legacy, Dual] {
        assert!(!store.set_migration_state(s.id, Dual, to, at).await.unwrap());
    }
}

async fn a_legacy_password_is_promoted_once(store: &SqlStore) {
    let s = new_site(store, "acme").await;
    import(store, &[row(&s, "alice", SiteRole::Admin)])
        .await
        .unwrap();
    let alice = user(store, &s, "alice").await;
    let later = NOW.plus_secs(5);
    assert!(
        !store
            .promote_legacy_password(alice.id, "$2b$04$stale", "$argon2id$x", later)
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .get_account(alice.principal)
            .await
            .unwrap()
            .password_hash,
        None
    );
    assert!(
        store
            .promote_legacy_password(alice.id, HASH, "$argon2id$x", later)
            .await
            .unwrap()
    );
    let after = user(store, &s, "alice").await;
    assert_eq!(after.legacy_password_hash, None);
    assert_eq!(after.updated_at, later);
    let principal = store.get_account(alice.principal).await.unwrap();
    assert_eq!(principal.password_hash.as_deref(), Some("$argon2id$x"));
    // A second (concurrent) first login finds nothing to promote.
    assert!(
        !store
            .promote_legacy_password(alice.id, HASH, "$argon2id$y", later)
            .await
            .unwrap()
    );
    let principal = store.get_account(alice.principal).await.unwrap();
    assert_eq!(principal.password_hash.as_deref(), Some("$argon2id$x"));
}

async fn twenty_parallel_accepts_one_wins(store: &SqlStore) {
    let s = new_site(store, "acme").await;
    import(store, &[row(&s, "alice", SiteRole::Admin)])
        .await
        .unwrap();
    let alice = user(store, &s, "alice").await;
    let inv = invitation(&alice, "hash-1", NOW.seconds());
    store.insert_invitation(&inv).await.unwrap();
    let barrier = Arc::new(Barrier::new(20));
    let at = NOW.plus_secs(10);
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let store = store.clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                store.accept_invitation(inv.id, at).await.unwrap()
            })
        })
        .collect();
    let mut wins = 0;
    for task in tasks {
        wins += usize::from(task.await.unwrap());
    }
    assert_eq!(wins, 1);
    let found = store
        .invitation_by_token_hash("hash-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.accepted_at, Some(at));
    assert_eq!(store.invitation_by_token_hash("nope").await.unwrap(), None);
}

async fn re_sending_supersedes_the_old_invitation(store: &SqlStore) {
    let s = new_site(store, "acme").await;
    import(store, &[row(&s, "alice", SiteRole::Admin)])
        .await
        .unwrap();
    let alice = user(store, &s, "alice").await;
    let first = invitation(&alice, "hash-1", NOW.seconds());
    store.insert_invitation(&first).await.unwrap();
    let second = invitation(&alice, "hash-2", NOW.seconds() + 60);
    store.insert_invitation(&second).await.unwrap();
    let old = store
        .invitation_by_token_hash("hash-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(old.superseded_at, Some(second.created_at));
    assert_eq!(
        store.latest_invitation(alice.id).await.unwrap(),
        Some(second.clone())
    );
    let at = NOW.plus_secs(100);
    assert!(!store.accept_invitation(first.id, at).await.unwrap());
    assert!(store.accept_invitation(second.id, at).await.unwrap());
    // A token hash is unique.
    let err = store
        .insert_invitation(&invitation(&alice, "hash-2", 5))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    // Nobody invited yet: no latest.
    import(store, &[row(&s, "bob", SiteRole::Admin)])
        .await
        .unwrap();
    let bob = user(store, &s, "bob").await;
    assert_eq!(store.latest_invitation(bob.id).await.unwrap(), None);
}

async fn an_expired_invitation_cannot_be_accepted(store: &SqlStore) {
    let s = new_site(store, "acme").await;
    import(store, &[row(&s, "alice", SiteRole::Admin)])
        .await
        .unwrap();
    let alice = user(store, &s, "alice").await;
    let inv = invitation(&alice, "hash-1", NOW.seconds());
    store.insert_invitation(&inv).await.unwrap();
    assert!(
        !store
            .accept_invitation(inv.id, inv.expires_at)
            .await
            .unwrap()
    );
    assert!(
        store
            .accept_invitation(inv.id, inv.expires_at.minus_secs(1))
            .await
            .unwrap()
    );
    assert!(
        !store
            .accept_invitation(inv.id, inv.expires_at.minus_secs(1))
            .await
            .unwrap()
    );
    store.mark_invitation_bounced(inv.id, NOW).await.unwrap();
    let ghost = InvitationId(support::random_id());
    assert!(matches!(
        store.mark_invitation_bounced(ghost, NOW).await,
        Err(StoreError::NotFound)
    ));
}

async fn linking_happens_once_and_one_account_per_site(store: &SqlStore) {
    let s = new_site(store, "acme").await;
    let rows = [
        row(&s, "alice", SiteRole::Admin),
        row(&s, "bob", SiteRole::Admin),
    ];
    import(store, &rows).await.unwrap();
    let (alice, bob) = (user(store, &s, "alice").await, user(store, &s, "bob").await);
    let linkable = store
        .linkable_site_users("alice@legacy.example")
        .await
        .unwrap();
    assert_eq!(linkable, std::slice::from_ref(&alice));
    let (me, someone) = (person(store).await, person(store).await);
    let at = NOW.plus_secs(3);
    assert!(store.link_site_user(alice.id, me, at).await.unwrap());
    assert!(!store.link_site_user(alice.id, someone, at).await.unwrap());
    let linked = store
        .site_user_for_account(s.id, me)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (linked.id, linked.account_id, linked.linked_at),
        (alice.id, Some(me), Some(at))
    );
    assert!(
        store
            .linkable_site_users("alice@legacy.example")
            .await
            .unwrap()
            .is_empty()
    );
    // One identity account is at most one user of a site…
    let err = store.link_site_user(bob.id, me, at).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    // …but may be a user of another site.
    let other = new_site(store, "other").await;
    import(store, &[row(&other, "alice", SiteRole::Admin)])
        .await
        .unwrap();
    let there = user(store, &other, "alice").await;
    assert!(store.link_site_user(there.id, me, at).await.unwrap());
    assert_eq!(
        store.site_user_for_account(s.id, someone).await.unwrap(),
        None
    );
}

async fn an_email_change_needs_confirmation_and_retires_invitations(store: &SqlStore) {
    let s = new_site(store, "acme").await;
    let rows = [
        row(&s, "alice", SiteRole::Admin),
        row(&s, "bob", SiteRole::Admin),
    ];
    import(store, &rows).await.unwrap();
    let alice = user(store, &s, "alice").await;
    let inv = invitation(&alice, "hash-1", NOW.seconds());
    store.insert_invitation(&inv).await.unwrap();
    let at = NOW.plus_secs(7);
    let err = store
        .change_site_user_email(alice.id, "Bob@legacy.example", "bob@legacy.example", at)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(user(store, &s, "alice").await, alice);
    store
        .change_site_user_email(alice.id, "New@Example.com", "new@example.com", at)
        .await
        .unwrap();
    let changed = user(store, &s, "alice").await;
    assert_eq!(changed.email_normalized, "new@example.com");
    assert_eq!(changed.email_unverified_since, Some(at));
    assert_eq!(
        store.get_account(alice.principal).await.unwrap().email,
        "New@Example.com"
    );
    let old = store
        .invitation_by_token_hash("hash-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(old.superseded_at, Some(at));
    assert!(!store.accept_invitation(inv.id, at).await.unwrap());
    // Not linkable by email until confirmed.
    assert!(
        store
            .linkable_site_users("new@example.com")
            .await
            .unwrap()
            .is_empty()
    );
    store.confirm_site_user_email(alice.id, at).await.unwrap();
    assert_eq!(
        store
            .linkable_site_users("new@example.com")
            .await
            .unwrap()
            .len(),
        1
    );
    let ghost = SiteUserId(support::random_id());
    assert!(matches!(
        store.confirm_site_user_email(ghost, at).await,
        Err(StoreError::NotFound)
    ));
    let missing = store
        .change_site_user_email(ghost, "x@example.com", "x@example.com", at)
        .await;
    assert!(matches!(missing, Err(StoreError::NotFound)));
}

async fn progress_counts_each_user_once(store: &SqlStore) {
    let s = new_site(store, "acme").await;
    let logins = [
        "linked", "live", "expired", "bounced", "fresh", "moved", "accepted",
    ];
    let rows: Vec<_> = logins
        .iter()
        .map(|l| row(&s, l, SiteRole::LicensedUser))
        .collect();
    import(store, &rows).await.unwrap();
    let now = NOW.plus_secs(2_000);
    let start = NOW.seconds();
    let by = |login: &'static str| user(store, &s, login);
    let linked = by("linked").await;
    store
        .insert_invitation(&invitation(&linked, "h-linked", start))
        .await
        .unwrap();
    store
        .link_site_user(linked.id, person(store).await, NOW)
        .await
        .unwrap();
    // An expired invitation, then a live one: the latest counts.
    let live = by("live").await;
    store
        .insert_invitation(&invitation(&live, "h-live-old", start - 5_000))
        .await
        .unwrap();
    store
        .insert_invitation(&invitation(&live, "h-live", now.seconds() - 10))
        .await
        .unwrap();
    store
        .insert_invitation(&invitation(&by("expired").await, "h-exp", start))
        .await
        .unwrap();
    let bounced = invitation(&by("bounced").await, "h-b", now.seconds());
    store.insert_invitation(&bounced).await.unwrap();
    store
        .mark_invitation_bounced(bounced.id, now)
        .await
        .unwrap();
    let moved = by("moved").await;
    store
        .insert_invitation(&invitation(&moved, "h-moved", now.seconds()))
        .await
        .unwrap();
    store
        .change_site_user_email(moved.id, "m@example.com", "m@example.com", now)
        .await
        .unwrap();
    let accepted = invitation(&by("accepted").await, "h-acc", start);
    store.insert_invitation(&accepted).await.unwrap();
    store
        .accept_invitation(accepted.id, NOW.plus_secs(1))
        .await
        .unwrap();

    let progress = store.migration_progress(s.id, now).await.unwrap();
    let expected = MigrationProgress {
        total: 7,
        linked: 1,
        invited: 2,
        not_invited: 2,
        expired_or_bounced: 2,
    };
    assert_eq!(progress, expected);
    let empty = new_site(store, "empty").await;
    let none = store.migration_progress(empty.id, now).await.unwrap();
    assert_eq!(none, MigrationProgress::default());
}

async fn two_factor_since_follows_role_link_and_preference(store: &SqlStore) {
    let s = new_site(store, "acme").await;
    let rows = [
        row(&s, "admin", SiteRole::Admin),
        row(&s, "reviewer", SiteRole::ClientUser),
    ];
    import(store, &rows).await.unwrap();
    let admin = user(store, &s, "admin").await;
    let reviewer = user(store, &s, "reviewer").await;
    let identity = person(store).await;
    assert_eq!(
        store
            .two_factor_required_since(admin.principal)
            .await
            .unwrap(),
        None
    );

    let on = NOW.plus_secs(100);
    store
        .set_two_factor_required(s.id, Some(on), on)
        .await
        .unwrap();
    assert_eq!(
        store
            .two_factor_required_since(admin.principal)
            .await
            .unwrap(),
        Some(on)
    );
    // Client users are exempt (C3).
    assert_eq!(
        store
            .two_factor_required_since(reviewer.principal)
            .await
            .unwrap(),
        None
    );
    // A linked identity account: from the later of the preference and the link.
    assert_eq!(
        store.two_factor_required_since(identity).await.unwrap(),
        None
    );
    let link = NOW.plus_secs(300);
    store
        .link_site_user(admin.id, identity, link)
        .await
        .unwrap();
    assert_eq!(
        store.two_factor_required_since(identity).await.unwrap(),
        Some(link)
    );
    // Turning it on again keeps the first time; off clears it.
    store
        .set_two_factor_required(s.id, Some(NOW.plus_secs(900)), on)
        .await
        .unwrap();
    let found = store.get_site(s.id).await.unwrap().unwrap();
    assert_eq!(found.two_factor_required_since, Some(on));
    // A second site that required it earlier, before the link: the earliest start counts.
    let early = new_site(store, "early").await;
    store
        .set_two_factor_required(early.id, Some(NOW), NOW)
        .await
        .unwrap();
    import(store, &[row(&early, "admin", SiteRole::LicensedUser)])
        .await
        .unwrap();
    let there = user(store, &early, "admin").await;
    store
        .link_site_user(there.id, identity, NOW.plus_secs(200))
        .await
        .unwrap();
    assert_eq!(
        store.two_factor_required_since(identity).await.unwrap(),
        Some(NOW.plus_secs(200))
    );
    store.set_two_factor_required(s.id, None, on).await.unwrap();
    assert_eq!(
        store
            .two_factor_required_since(admin.principal)
            .await
            .unwrap(),
        None
    );
    let ghost = SiteId(support::random_id());
    assert!(matches!(
        store.set_two_factor_required(ghost, None, on).await,
        Err(StoreError::NotFound)
    ));
}

async fn site_users_page_in_login_order(store: &SqlStore) {
    let s = new_site(store, "acme").await;
    let rows: Vec<_> = ["delta", "Alpha", "charlie", "bravo"]
        .iter()
        .map(|l| row(&s, l, SiteRole::LicensedUser))
        .collect();
    import(store, &rows).await.unwrap();
    let first = store.list_site_users(s.id, None, 3).await.unwrap();
    let logins: Vec<_> = first.iter().map(|u| u.login.as_str()).collect();
    assert_eq!(logins, ["Alpha", "bravo", "charlie"]);
    let rest = store
        .list_site_users(s.id, Some("charlie"), 3)
        .await
        .unwrap();
    let logins: Vec<_> = rest.iter().map(|u| u.login.as_str()).collect();
    assert_eq!(logins, ["delta"]);
    let other = new_site(store, "other").await;
    assert!(
        store
            .list_site_users(other.id, None, 3)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.get_site_user(first[0].id).await.unwrap(),
        Some(first[0].clone())
    );
    let ghost = SiteUserId(support::random_id());
    assert_eq!(store.get_site_user(ghost).await.unwrap(), None);
}
