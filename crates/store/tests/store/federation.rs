//! Contract cases for FederationRepo (G1–G4): a domain is claimed by one organization and
//! verified once, a connection is one row per organization that a second put replaces, and
//! SSO is required only through a verified domain of an enabled, requiring connection. The
//! linked identities and provisioning are in `links`.

use lanyard_core::model::{
    ClaimMapping, Connection, DomainProof, DomainVerification, GroupRole, OidcUpstream, OrgDomain,
    OrgId, OrgRole, Organization, Upstream,
};
use lanyard_core::ports::{FederationRepo, OrgRepo};
use lanyard_core::{ManualClock, OsRng, StoreError};
use lanyard_store::SqlStore;

use crate::support::{self, NOW};

mod links;

durable_contract!(
    a_domain_is_claimed_by_one_organization,
    a_domain_is_verified_once,
    removing_a_domain_takes_its_organization,
    a_second_connection_replaces_the_first,
    sso_is_required_only_by_a_verified_domain_of_an_enabled_requiring_connection,
);

async fn new_org(store: &SqlStore, slug: &str) -> Organization {
    let org = Organization {
        id: OrgId::new(&ManualClock::new(NOW), &OsRng),
        slug: slug.to_owned(),
        name: format!("Org {slug}"),
        authenticator_required_since: None,
        created_at: NOW,
    };
    store.insert_org(&org).await.unwrap();
    org
}

fn domain(org: &Organization, name: &str) -> OrgDomain {
    OrgDomain {
        org_id: org.id,
        domain: name.to_owned(),
        verification_token: format!("lanyard-verify={}", support::random_id().simple()),
        added_at: NOW,
        verified: None,
    }
}

fn oidc(issuer: &str) -> OidcUpstream {
    OidcUpstream {
        issuer: issuer.to_owned(),
        client_id: "lanyard".to_owned(),
        // Every byte value must survive the JSON text column.
        client_secret_sealed: (0..=255).collect(),
        scopes: vec!["email".to_owned(), "profile".to_owned()],
        claims: ClaimMapping::default(),
    }
}

fn connection(org: &Organization, require_sso: bool, enabled: bool) -> Connection {
    Connection {
        org_id: org.id,
        upstream: Upstream::Oidc(oidc("https://idp.example")),
        require_sso,
        end_upstream_session: false,
        enabled,
        updated_at: NOW,
    }
}

async fn a_domain_is_claimed_by_one_organization(store: &SqlStore) {
    let (acme, other) = (new_org(store, "acme").await, new_org(store, "other").await);
    let first = domain(&acme, "acme.example");
    store.add_domain(&first).await.unwrap();
    store
        .add_domain(&domain(&acme, "acme-mail.example"))
        .await
        .unwrap();
    for again in [
        domain(&acme, "acme.example"),
        domain(&other, "acme.example"),
    ] {
        let err = store.add_domain(&again).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    }
    assert_eq!(
        store.find_domain("acme.example").await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(store.find_domain("nope.example").await.unwrap(), None);
    let listed = store.domains_of(acme.id).await.unwrap();
    let names: Vec<_> = listed.iter().map(|d| d.domain.as_str()).collect();
    assert_eq!(names, ["acme-mail.example", "acme.example"]);
    assert_eq!(listed[1], first);
    assert!(store.domains_of(other.id).await.unwrap().is_empty());
    // A domain of an organization that does not exist is refused by the foreign key.
    let ghost = Organization {
        id: OrgId(support::random_id()),
        ..acme.clone()
    };
    assert!(
        store
            .add_domain(&domain(&ghost, "ghost.example"))
            .await
            .is_err()
    );
}

async fn a_domain_is_verified_once(store: &SqlStore) {
    let acme = new_org(store, "acme").await;
    store
        .add_domain(&domain(&acme, "acme.example"))
        .await
        .unwrap();
    let at = NOW.plus_secs(60);
    assert!(
        store
            .mark_domain_verified("acme.example", at, DomainProof::Dns)
            .await
            .unwrap()
    );
    // A second verification, by whatever proof, changes nothing and says so.
    assert!(
        !store
            .mark_domain_verified("acme.example", at.plus_secs(60), DomainProof::Operator)
            .await
            .unwrap()
    );
    assert!(
        !store
            .mark_domain_verified("nope.example", at, DomainProof::Dns)
            .await
            .unwrap()
    );
    let stored = store.find_domain("acme.example").await.unwrap().unwrap();
    assert_eq!(
        stored.verified,
        Some(DomainVerification {
            at,
            proof: DomainProof::Dns
        })
    );

    store
        .add_domain(&domain(&acme, "ops.example"))
        .await
        .unwrap();
    assert!(
        store
            .mark_domain_verified("ops.example", at, DomainProof::Operator)
            .await
            .unwrap()
    );
    let ops = store.find_domain("ops.example").await.unwrap().unwrap();
    assert_eq!(ops.verified.map(|v| v.proof), Some(DomainProof::Operator));
}

async fn removing_a_domain_takes_its_organization(store: &SqlStore) {
    let (acme, other) = (new_org(store, "acme").await, new_org(store, "other").await);
    store
        .add_domain(&domain(&acme, "acme.example"))
        .await
        .unwrap();
    assert!(!store.remove_domain(other.id, "acme.example").await.unwrap());
    assert!(store.find_domain("acme.example").await.unwrap().is_some());
    assert!(store.remove_domain(acme.id, "acme.example").await.unwrap());
    assert!(!store.remove_domain(acme.id, "acme.example").await.unwrap());
    assert_eq!(store.find_domain("acme.example").await.unwrap(), None);
    // Released, the domain can be claimed by another organization.
    store
        .add_domain(&domain(&other, "acme.example"))
        .await
        .unwrap();
}

async fn a_second_connection_replaces_the_first(store: &SqlStore) {
    let (acme, other) = (new_org(store, "acme").await, new_org(store, "other").await);
    assert_eq!(store.connection(acme.id).await.unwrap(), None);
    let first = connection(&acme, false, true);
    store.put_connection(&first).await.unwrap();
    assert_eq!(store.connection(acme.id).await.unwrap(), Some(first));

    let mut second = oidc("https://login.other.example");
    second.client_id = "second".to_owned();
    second.claims.groups = Some("groups".to_owned());
    second.claims.roles = vec![GroupRole {
        group: "admins".to_owned(),
        role: OrgRole::Admin,
    }];
    let second = Connection {
        org_id: acme.id,
        upstream: Upstream::Oidc(second),
        require_sso: true,
        end_upstream_session: true,
        enabled: false,
        updated_at: NOW.plus_secs(30),
    };
    store.put_connection(&second).await.unwrap();
    assert_eq!(store.connection(acme.id).await.unwrap(), Some(second));
    assert_eq!(store.connection(other.id).await.unwrap(), None);

    let ghost = Organization {
        id: OrgId(support::random_id()),
        ..acme.clone()
    };
    assert!(
        store
            .put_connection(&connection(&ghost, false, true))
            .await
            .is_err()
    );
}

async fn sso_is_required_only_by_a_verified_domain_of_an_enabled_requiring_connection(
    store: &SqlStore,
) {
    let acme = new_org(store, "acme").await;
    let d = "acme.example";
    store.add_domain(&domain(&acme, d)).await.unwrap();
    store
        .put_connection(&connection(&acme, true, true))
        .await
        .unwrap();
    // Unverified: anyone could have typed the domain in.
    assert_eq!(store.sso_required_for_domain(d).await.unwrap(), None);
    store
        .mark_domain_verified(d, NOW, DomainProof::Dns)
        .await
        .unwrap();
    assert_eq!(
        store.sso_required_for_domain(d).await.unwrap(),
        Some(acme.id)
    );
    assert_eq!(
        store
            .sso_required_for_domain("other.example")
            .await
            .unwrap(),
        None
    );

    store
        .put_connection(&connection(&acme, true, false))
        .await
        .unwrap();
    assert_eq!(store.sso_required_for_domain(d).await.unwrap(), None);
    store
        .put_connection(&connection(&acme, false, true))
        .await
        .unwrap();
    assert_eq!(store.sso_required_for_domain(d).await.unwrap(), None);

    // A verified domain of an organization without a connection requires nothing.
    let bare = new_org(store, "bare").await;
    store
        .add_domain(&domain(&bare, "bare.example"))
        .await
        .unwrap();
    store
        .mark_domain_verified("bare.example", NOW, DomainProof::Operator)
        .await
        .unwrap();
    assert_eq!(
        store.sso_required_for_domain("bare.example").await.unwrap(),
        None
    );
    // Another organization's requiring connection does not reach this organization's domain.
    let strict = new_org(store, "strict").await;
    store
        .put_connection(&connection(&strict, true, true))
        .await
        .unwrap();
    assert_eq!(
        store.sso_required_for_domain("bare.example").await.unwrap(),
        None
    );
    assert_eq!(store.sso_required_for_domain(d).await.unwrap(), None);
}
