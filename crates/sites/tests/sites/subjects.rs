//! Whom a site's client's tokens name (`SiteSubjectsOverRepo`), and the PAT tie (E2).

use lanyard_core::ClientId;
use lanyard_core::model::{ClientSubject, MigrationState, SiteRole};
use lanyard_core::ports::{ClientRepo, SiteRepo, SiteSubjects};

use crate::{NowTs, email_of, harness};

fn studio() -> ClientId {
    ClientId::parse("studio-app").unwrap()
}

fn site_user_of(subject: ClientSubject) -> Option<String> {
    match subject {
        ClientSubject::SiteUser(s) => Some(format!("{}:{}:{}", s.slug, s.login, s.role.as_str())),
        _ => None,
    }
}

#[tokio::test]
async fn a_principal_and_a_linked_identity_get_the_same_site_user() {
    let h = harness().await;
    let alice = h.user("alice").await;
    let via_principal = h
        .subjects
        .subject_for(&studio(), alice.principal)
        .await
        .unwrap();
    let person = h.person("alice.identity@example.com").await;
    h.store
        .link_site_user(alice.id, person.id, h.clock.now_ts())
        .await
        .unwrap();
    let via_identity = h.subjects.subject_for(&studio(), person.id).await.unwrap();
    assert_eq!(via_principal, via_identity);
    assert_eq!(
        site_user_of(via_identity).as_deref(),
        Some("studio:alice:admin")
    );
    let ClientSubject::SiteUser(subject) = via_principal else {
        unreachable!()
    };
    assert_eq!(subject.site_user, alice.id);
}

#[tokio::test]
async fn strangers_other_sites_and_closed_ways_in_get_no_access() {
    let h = harness().await;
    let stranger = h.person("stranger@example.com").await;
    assert_eq!(
        h.subjects
            .subject_for(&studio(), stranger.id)
            .await
            .unwrap(),
        ClientSubject::NoAccess
    );
    // A principal at another site's client.
    let other = h.new_site("other", "Other", "other-app").await;
    let bob = h.user("bob").await;
    let at_other = h
        .subjects
        .subject_for(&other.clients[0], bob.principal)
        .await
        .unwrap();
    assert_eq!(at_other, ClientSubject::NoAccess);
    // A client of no site: the account, as ever (the issuer refuses principals there).
    h.store
        .insert_client(&crate::client("plain-app"))
        .await
        .unwrap();
    let plain = ClientId::parse("plain-app").unwrap();
    assert_eq!(
        h.subjects.subject_for(&plain, stranger.id).await.unwrap(),
        ClientSubject::Account
    );
    // Back to legacy: a linked identity account no longer gets in; the principal does.
    let person = h.person(&email_of("dave")).await;
    let dave = h.user("dave").await;
    h.store
        .link_site_user(dave.id, person.id, h.clock.now_ts())
        .await
        .unwrap();
    h.move_to(MigrationState::Legacy).await;
    assert_eq!(
        h.subjects.subject_for(&studio(), person.id).await.unwrap(),
        ClientSubject::NoAccess
    );
    assert!(
        site_user_of(
            h.subjects
                .subject_for(&studio(), dave.principal)
                .await
                .unwrap()
        )
        .is_some()
    );
}

#[tokio::test]
async fn in_identity_mode_only_linked_identities_get_in() {
    let h = harness().await;
    let person = h.person(&email_of("bob")).await;
    let bob = h.user("bob").await;
    h.store
        .link_site_user(bob.id, person.id, h.clock.now_ts())
        .await
        .unwrap();
    h.move_to(MigrationState::Identity).await;
    assert_eq!(
        h.subjects
            .subject_for(&studio(), bob.principal)
            .await
            .unwrap(),
        ClientSubject::NoAccess
    );
    assert!(site_user_of(h.subjects.subject_for(&studio(), person.id).await.unwrap()).is_some());
}

/// E2: a PAT's site user while it is linked to the PAT's account, the site admits identity
/// accounts, and the site's authenticator rule (for roles it applies to) is met.
#[tokio::test]
async fn e2_a_pat_names_its_site_user_only_while_the_rules_hold() {
    let h = harness().await;
    let person = h.person(&email_of("bob")).await;
    let bob = h.user("bob").await;
    let now = h.clock.now_ts();
    h.store
        .link_site_user(bob.id, person.id, now)
        .await
        .unwrap();
    let subject = h
        .subjects
        .pat_subject(bob.id, person.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (subject.login.as_str(), subject.role),
        ("bob", SiteRole::LicensedUser)
    );
    // Someone else's PAT naming Bob.
    let mallory = h.person("mallory@example.com").await;
    assert!(
        h.subjects
            .pat_subject(bob.id, mallory.id)
            .await
            .unwrap()
            .is_none()
    );
    // The site turns on its authenticator rule: refused until the account has an app.
    h.store
        .set_two_factor_required(h.site.id, Some(now), now)
        .await
        .unwrap();
    assert!(
        h.subjects
            .pat_subject(bob.id, person.id)
            .await
            .unwrap()
            .is_none()
    );
    h.give_totp(person.id).await;
    assert!(
        h.subjects
            .pat_subject(bob.id, person.id)
            .await
            .unwrap()
            .is_some()
    );
    // Client users are exempt from the rule.
    let carol_account = h.person(&email_of("carol")).await;
    let carol = h.user("carol").await;
    h.store
        .link_site_user(carol.id, carol_account.id, now)
        .await
        .unwrap();
    assert!(
        h.subjects
            .pat_subject(carol.id, carol_account.id)
            .await
            .unwrap()
            .is_some()
    );
    // Unlinked: refused.
    assert!(h.store.unlink_site_user(bob.id, now).await.unwrap());
    assert!(!h.store.unlink_site_user(bob.id, now).await.unwrap());
    assert!(
        h.subjects
            .pat_subject(bob.id, person.id)
            .await
            .unwrap()
            .is_none()
    );
}

/// Logout tokens and `id_token_hint`: whom the client's tokens named, even after the site
/// moved on and the account lost access.
#[tokio::test]
async fn the_named_subject_outlives_access() {
    let h = harness().await;
    let bob = h.user("bob").await;
    let person = h.person(&email_of("dave")).await;
    let dave = h.user("dave").await;
    h.store
        .link_site_user(dave.id, person.id, h.clock.now_ts())
        .await
        .unwrap();
    h.move_to(MigrationState::Identity).await;
    let named = h
        .subjects
        .named_subject(&studio(), bob.principal)
        .await
        .unwrap();
    assert_eq!(
        named.map(|s| s.site_user),
        Some(bob.id),
        "a disabled principal"
    );
    let named = h
        .subjects
        .named_subject(&studio(), person.id)
        .await
        .unwrap();
    assert_eq!(named.map(|s| s.site_user), Some(dave.id));
    let stranger = h.person("stranger@example.com").await;
    assert!(
        h.subjects
            .named_subject(&studio(), stranger.id)
            .await
            .unwrap()
            .is_none()
    );
    let other = h.new_site("other", "Other", "other-app").await;
    assert!(
        h.subjects
            .named_subject(&other.clients[0], bob.principal)
            .await
            .unwrap()
            .is_none()
    );
}
