//! Contract cases for the SiteRepo reads and writes the migration's pages and tokens use:
//! each user with its latest invitation (progress lists), the site users an identity account
//! is linked to (the PAT form), ending a link; and a PAT's site user (`pats.site_user_id`,
//! m0013).

use lanyard_core::model::{
    Invitation, InvitationId, InvitationKind, MigrationState, Pat, PatId, Site, SiteId, SiteRole,
    SiteUser, SiteUserId,
};
use lanyard_core::ports::{ImportedSiteUser, PatRepo, SiteRepo};
use lanyard_core::{AccountId, ManualClock, OsRng, Timestamp};
use lanyard_store::SqlStore;

use crate::support::{self, NOW, account};

durable_contract!(
    each_user_comes_with_its_latest_invitation_page_by_page,
    an_accounts_site_users_across_sites,
    a_link_ends_once_and_can_be_made_again,
    a_pat_keeps_its_site_user,
    the_latest_invitation_is_the_one_sent_last_even_within_a_second,
);

fn ids() -> (ManualClock, OsRng) {
    (ManualClock::new(NOW), OsRng)
}

async fn new_site(store: &SqlStore) -> Site {
    let (clock, rng) = ids();
    let tag = support::random_id().simple().to_string();
    let site = Site {
        id: SiteId::new(&clock, &rng),
        slug: format!("s-{}", &tag[..12]),
        name: "Site".to_owned(),
        clients: vec![],
        state: MigrationState::Dual,
        two_factor_required_since: None,
        created_at: NOW,
        updated_at: NOW,
    };
    store.insert_site(&site).await.unwrap();
    site
}

async fn import(store: &SqlStore, site: &Site, logins: &[&str]) -> Vec<SiteUser> {
    let (clock, rng) = ids();
    let rows: Vec<ImportedSiteUser> = logins
        .iter()
        .map(|login| {
            let email = format!("{login}@{}.example", site.slug);
            ImportedSiteUser {
                user: SiteUser {
                    id: SiteUserId::new(&clock, &rng),
                    site_id: site.id,
                    login: (*login).to_owned(),
                    login_normalized: login.to_lowercase(),
                    email_normalized: email.to_lowercase(),
                    email,
                    role: SiteRole::LicensedUser,
                    legacy_password_hash: None,
                    principal: AccountId::new(&clock, &rng),
                    account_id: None,
                    linked_at: None,
                    email_unverified_since: None,
                    created_at: NOW,
                    updated_at: NOW,
                },
                sealed_totp_secret: None,
            }
        })
        .collect();
    store.import_site_users(site.id, &rows, NOW).await.unwrap();
    let mut users = Vec::new();
    for login in logins {
        users.push(
            store
                .site_user_by_login(site.id, &login.to_lowercase())
                .await
                .unwrap()
                .unwrap(),
        );
    }
    users
}

fn invitation(user: &SiteUser, tag: &str, at: i64) -> Invitation {
    let (clock, rng) = ids();
    Invitation {
        id: InvitationId::new(&clock, &rng),
        site_user: user.id,
        kind: InvitationKind::CreateAccount,
        token_hash: format!("{tag}-{}", support::random_id().simple()),
        email_normalized: user.email_normalized.clone(),
        created_at: Timestamp(at),
        expires_at: Timestamp(at + 1_000),
        accepted_at: None,
        superseded_at: None,
        bounced_at: None,
    }
}

async fn each_user_comes_with_its_latest_invitation_page_by_page(store: &SqlStore) {
    let site = new_site(store).await;
    let users = import(store, &site, &["ann", "ben", "cy"]).await;
    let first = invitation(&users[0], "first", NOW.seconds());
    store.insert_invitation(&first).await.unwrap();
    let second = invitation(&users[0], "second", NOW.seconds() + 10);
    store.insert_invitation(&second).await.unwrap();
    let ben = invitation(&users[1], "ben", NOW.seconds());
    store.insert_invitation(&ben).await.unwrap();
    let page = store
        .list_site_users_with_invitations(site.id, None, 2)
        .await
        .unwrap();
    let seen: Vec<(&str, Option<&str>)> = page
        .iter()
        .map(|(u, i)| (u.login.as_str(), i.as_ref().map(|i| i.token_hash.as_str())))
        .collect();
    assert_eq!(
        seen,
        [
            ("ann", Some(second.token_hash.as_str())),
            ("ben", Some(ben.token_hash.as_str())),
        ]
    );
    // The superseded one is still the older, not the latest.
    assert!(page[0].1.as_ref().unwrap().superseded_at.is_none());
    let rest = store
        .list_site_users_with_invitations(site.id, Some("ben"), 2)
        .await
        .unwrap();
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].0.login, "cy");
    assert!(rest[0].1.is_none());
    let none = store
        .list_site_users_with_invitations(site.id, Some("cy"), 2)
        .await
        .unwrap();
    assert!(none.is_empty());
}

async fn an_accounts_site_users_across_sites(store: &SqlStore) {
    let tag = support::random_id().simple().to_string();
    let person = account(store, &format!("{tag}@example.com")).await;
    let one = new_site(store).await;
    let two = new_site(store).await;
    let a = import(store, &one, &["ann"]).await.remove(0);
    let b = import(store, &two, &["ann", "other"]).await.remove(0);
    assert!(
        store
            .site_users_of_account(person)
            .await
            .unwrap()
            .is_empty()
    );
    store.link_site_user(a.id, person, NOW).await.unwrap();
    store.link_site_user(b.id, person, NOW).await.unwrap();
    let mut linked: Vec<SiteUserId> = store
        .site_users_of_account(person)
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.id)
        .collect();
    linked.sort();
    let mut expected = vec![a.id, b.id];
    expected.sort();
    assert_eq!(linked, expected);
}

async fn a_link_ends_once_and_can_be_made_again(store: &SqlStore) {
    let tag = support::random_id().simple().to_string();
    let person = account(store, &format!("{tag}@example.com")).await;
    let site = new_site(store).await;
    let user = import(store, &site, &["ann"]).await.remove(0);
    assert!(
        !store.unlink_site_user(user.id, NOW).await.unwrap(),
        "not linked"
    );
    assert!(store.link_site_user(user.id, person, NOW).await.unwrap());
    let later = Timestamp(NOW.seconds() + 60);
    assert!(store.unlink_site_user(user.id, later).await.unwrap());
    assert!(!store.unlink_site_user(user.id, later).await.unwrap());
    let now = store.get_site_user(user.id).await.unwrap().unwrap();
    assert_eq!((now.account_id, now.linked_at), (None, None));
    assert_eq!(now.updated_at, later);
    assert!(
        store
            .site_user_for_account(site.id, person)
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.link_site_user(user.id, person, later).await.unwrap());
}

async fn a_pat_keeps_its_site_user(store: &SqlStore) {
    let tag = support::random_id().simple().to_string();
    let person = account(store, &format!("{tag}@example.com")).await;
    let site = new_site(store).await;
    let user = import(store, &site, &["ann"]).await.remove(0);
    let (clock, rng) = ids();
    for site_user in [Some(user.id), None] {
        let pat = Pat {
            id: PatId::new(&clock, &rng),
            account_id: person,
            name: "tool".to_owned(),
            token_hash: format!("pat-{}", support::random_id().simple()),
            display: "lyd_pat_x…y".to_owned(),
            scopes: vec!["read".to_owned()],
            audiences: vec![],
            site_user,
            created_at: NOW,
            expires_at: None,
            last_used_at: None,
            revoked_at: None,
        };
        store.insert_pat(&pat).await.unwrap();
        let found = store
            .find_pat_by_hash(&pat.token_hash)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.site_user, site_user);
        assert_eq!(
            store.get_pat(pat.id).await.unwrap().unwrap().site_user,
            site_user
        );
    }
}

/// Two sends within one second (two processes: their ids need not sort in sending order):
/// the latest is the one sent last, which superseded the other — for `latest_invitation`,
/// the lists and the progress counts alike.
async fn the_latest_invitation_is_the_one_sent_last_even_within_a_second(store: &SqlStore) {
    let site = new_site(store).await;
    let user = import(store, &site, &["ann"]).await.remove(0);
    let mut first = invitation(&user, "first", NOW.seconds());
    first.id = InvitationId(uuid::Uuid::from_u128(u128::MAX - 1));
    store.insert_invitation(&first).await.unwrap();
    let mut second = invitation(&user, "second", NOW.seconds());
    second.id = InvitationId(uuid::Uuid::from_u128(1));
    store.insert_invitation(&second).await.unwrap();
    let latest = store.latest_invitation(user.id).await.unwrap().unwrap();
    assert_eq!(latest.id, second.id);
    let listed = store
        .list_site_users_with_invitations(site.id, None, 10)
        .await
        .unwrap();
    assert_eq!(listed[0].1.as_ref().unwrap().id, second.id);
    let progress = store.migration_progress(site.id, NOW).await.unwrap();
    assert_eq!((progress.invited, progress.not_invited), (1, 0));
}
