//! `FederationService` over a real SQLite store and a DNS answered by the test: claiming and
//! verifying domains (G1), the connection's sealed secret, home-realm discovery and G4's
//! coverage.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use lanyard_core::model::{ClaimMapping, DomainProof, OrgId, Organization, Upstream};
use lanyard_core::ports::{AuditRepo, FederationRepo, OrgRepo, SsoRequirement};
use lanyard_core::{Auditor, ManualClock, Origin, OsRng, Secret, Timestamp};
use lanyard_crypto::Kek;
use lanyard_federation::domains::TxtLookup;
use lanyard_federation::{
    DomainCheck, FederationDeps, FederationError, FederationService, FederationSettings,
    OidcSettings, Realm,
};
use lanyard_store::SqlStore;

const NOW: Timestamp = Timestamp(1_800_000_000);

/// DNS as the test says it is; the answer `SERVFAIL` stands for a resolver failure.
#[derive(Default)]
struct FakeDns(Mutex<HashMap<String, Vec<String>>>);

impl FakeDns {
    fn publish(&self, name: &str, records: Vec<String>) {
        self.0.lock().unwrap().insert(name.to_owned(), records);
    }
}

#[async_trait]
impl TxtLookup for FakeDns {
    async fn txt(&self, name: &str) -> Result<Vec<String>, FederationError> {
        match self.0.lock().unwrap().get(name) {
            Some(records) if records.iter().any(|r| r == "SERVFAIL") => {
                Err(FederationError::Unavailable("servfail".into()))
            }
            Some(records) => Ok(records.clone()),
            None => Ok(Vec::new()),
        }
    }
}

struct World {
    store: Arc<SqlStore>,
    dns: Arc<FakeDns>,
    service: FederationService,
}

async fn world() -> World {
    let clock = Arc::new(ManualClock::new(NOW));
    let store = Arc::new(
        SqlStore::connect("sqlite::memory:", clock.clone(), Arc::new(OsRng))
            .await
            .unwrap(),
    );
    store.migrate().await.unwrap();
    for (slug, name) in [("acme", "Acme"), ("globex", "Globex")] {
        store
            .insert_org(&Organization {
                id: OrgId::new(&*clock, &OsRng),
                slug: slug.into(),
                name: name.into(),
                authenticator_required_since: None,
                created_at: NOW,
            })
            .await
            .unwrap();
    }
    let dns = Arc::new(FakeDns::default());
    let service = FederationService::new(
        FederationDeps {
            repo: store.clone(),
            orgs: store.clone(),
            accounts: store.clone(),
            kek: Arc::new(Kek::from_bytes([7; 32])),
            clock,
            rng: Arc::new(OsRng),
            dns: dns.clone(),
            auditor: Auditor::new(store.clone()),
        },
        FederationSettings {
            public_base: url::Url::parse("https://id.example.com/base/").unwrap(),
            allow_http_loopback: false,
            rp: Default::default(),
        },
    );
    World {
        store,
        dns,
        service,
    }
}

fn oidc(issuer: &str) -> OidcSettings {
    OidcSettings {
        issuer: issuer.into(),
        client_id: "lanyard".into(),
        client_secret: Secret::new("s3cret-value"),
        scopes: vec!["email".into()],
        claims: ClaimMapping::default(),
    }
}

#[tokio::test]
async fn a_domain_is_verified_by_its_exact_txt_record_and_only_once() {
    let w = world().await;
    let origin = Origin::cli();
    let claimed = w
        .service
        .add_domain("acme", "Corp.Example.", &origin)
        .await
        .unwrap();
    assert_eq!(claimed.domain, "corp.example");
    let check = w
        .service
        .verify_domain("acme", "corp.example", &origin)
        .await
        .unwrap();
    let DomainCheck::NotFound { name, token } = check else {
        panic!("verified without a record")
    };
    assert_eq!(name, "_lanyard-verify.corp.example");
    assert_eq!(token, claimed.verification_token);
    // A near miss, then the record among others.
    w.dns.publish(&name, vec![format!("{token}x")]);
    assert!(matches!(
        w.service
            .verify_domain("acme", "corp.example", &origin)
            .await
            .unwrap(),
        DomainCheck::NotFound { .. }
    ));
    w.dns.publish(&name, vec!["v=spf1 -all".into(), token]);
    assert_eq!(
        w.service
            .verify_domain("acme", "corp.example", &origin)
            .await
            .unwrap(),
        DomainCheck::Verified
    );
    let stored = w.store.find_domain("corp.example").await.unwrap().unwrap();
    assert_eq!(stored.verified.unwrap().proof, DomainProof::Dns);
    // Verified once: checking again changes nothing and audits nothing more.
    w.service
        .verify_domain("acme", "corp.example", &origin)
        .await
        .unwrap();
    let audits = w
        .store
        .list_audit(Some("org.domain_verified"), 10)
        .await
        .unwrap();
    assert_eq!(audits.len(), 1);
    assert_eq!(audits[0].reason.as_deref(), Some("dns"));
}

#[tokio::test]
async fn claims_of_other_organizations_bad_names_and_dns_failures_are_refused() {
    let w = world().await;
    let origin = Origin::cli();
    w.service
        .add_domain("acme", "corp.example", &origin)
        .await
        .unwrap();
    assert!(matches!(
        w.service
            .add_domain("globex", "CORP.example", &origin)
            .await,
        Err(FederationError::DomainTaken(_))
    ));
    // Another organization can neither verify nor override acme's domain.
    assert!(matches!(
        w.service
            .override_domain("globex", "corp.example", &origin)
            .await,
        Err(FederationError::UnknownDomain(_))
    ));
    for bad in [
        "localhost",
        "127.0.0.1",
        "*.corp.example",
        "corp.example/x",
        "",
    ] {
        assert!(matches!(
            w.service.add_domain("acme", bad, &origin).await,
            Err(FederationError::InvalidDomain(_))
        ));
    }
    assert!(matches!(
        w.service.add_domain("nope", "x.example", &origin).await,
        Err(FederationError::UnknownOrg(_))
    ));
    w.dns
        .publish("_lanyard-verify.corp.example", vec!["SERVFAIL".into()]);
    assert!(matches!(
        w.service
            .verify_domain("acme", "corp.example", &origin)
            .await,
        Err(FederationError::Unavailable(_))
    ));
    let stored = w.store.find_domain("corp.example").await.unwrap().unwrap();
    assert!(stored.verified.is_none());
}

#[tokio::test]
async fn the_client_secret_is_sealed_and_bad_settings_name_their_field() {
    let w = world().await;
    let origin = Origin::cli();
    let set = w
        .service
        .set_oidc(
            "acme",
            oidc("https://idp.corp.example"),
            true,
            false,
            &origin,
        )
        .await
        .unwrap();
    assert_eq!(
        set.callback.as_str(),
        "https://id.example.com/base/federation/acme/callback"
    );
    let Upstream::Oidc(stored) = set.connection.upstream;
    let secret = b"s3cret-value";
    assert!(
        !stored
            .client_secret_sealed
            .windows(secret.len())
            .any(|w| w == secret),
        "the secret is stored sealed"
    );
    for (settings, field) in [
        (oidc("http://idp.corp.example"), "issuer"),
        (oidc("http://127.0.0.1:4000"), "issuer"),
        (
            OidcSettings {
                client_id: String::new(),
                ..oidc("https://idp.corp.example")
            },
            "client id",
        ),
        (
            OidcSettings {
                scopes: vec!["email profile".into()],
                ..oidc("https://idp.corp.example")
            },
            "scope",
        ),
    ] {
        match w
            .service
            .set_oidc("acme", settings, false, false, &origin)
            .await
        {
            Err(FederationError::InvalidSetting(why)) => assert!(why.contains(field), "{why}"),
            other => panic!("{field}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn home_realm_and_g4_follow_verification_the_connection_and_its_state() {
    let w = world().await;
    let origin = Origin::cli();
    let email = "ann@corp.example";
    assert!(matches!(
        w.service.realm(email).await.unwrap(),
        Realm::Password
    ));
    w.service
        .add_domain("acme", "corp.example", &origin)
        .await
        .unwrap();
    w.service
        .set_oidc(
            "acme",
            oidc("https://idp.corp.example"),
            true,
            false,
            &origin,
        )
        .await
        .unwrap();
    // Not verified yet: neither discovery nor the requirement.
    assert!(matches!(
        w.service.realm(email).await.unwrap(),
        Realm::Password
    ));
    assert!(!w.service.sso_required(email).await.unwrap());
    w.service
        .override_domain("acme", "corp.example", &origin)
        .await
        .unwrap();
    let Realm::Sso { org, required } = w.service.realm(email).await.unwrap() else {
        panic!("not sent to the organization")
    };
    assert_eq!((org.slug.as_str(), required), ("acme", true));
    assert!(w.service.sso_required("ANN@CORP.EXAMPLE").await.unwrap());
    assert!(!w.service.sso_required("ann@eu.corp.example").await.unwrap());
    w.service.set_enabled("acme", false, &origin).await.unwrap();
    assert!(matches!(
        w.service.realm(email).await.unwrap(),
        Realm::Password
    ));
    assert!(!w.service.sso_required(email).await.unwrap());
    let audits = w
        .store
        .list_audit(Some("org.domain_verified"), 10)
        .await
        .unwrap();
    assert_eq!(audits[0].reason.as_deref(), Some("operator"));
}
