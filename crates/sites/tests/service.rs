//! SiteService over the real store (SQLite in memory): creating sites, importing the
//! fixtures (all-or-nothing, idempotent across formats), the migration steps and what they
//! erase, progress, and the audit trail. Every refusal leaves nothing behind.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use lanyard_core::model::{
    AccountKind, AccountStatus, Client, ClientAuthMethod, GrantType, MigrationProgress,
    MigrationState,
};
use lanyard_core::ports::{
    AccountRepo, AuditRepo, ClientRepo, ImportSummary, Invalidations, MfaRepo,
};
use lanyard_core::{Auditor, ClientId, ManualClock, Origin, OsRng, StoreError, Timestamp};
use lanyard_crypto::Kek;
use lanyard_sites::import::Problem;
use lanyard_sites::{SiteDeps, SiteService, SitesError};
use lanyard_store::SqlStore;

const NOW: Timestamp = Timestamp(1_700_000_000);

struct Env {
    sites: SiteService,
    store: Arc<SqlStore>,
    kek: Kek,
    published: Arc<Published>,
}

/// The invalidations the service published, in order.
#[derive(Default)]
struct Published(Mutex<Vec<String>>);

impl Published {
    fn all(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

#[async_trait]
impl Invalidations for Published {
    async fn publish(&self, message: &str) -> Result<(), StoreError> {
        self.0.lock().unwrap().push(message.to_owned());
        Ok(())
    }
    fn listen(&self, _listener: Arc<dyn Fn(&str) + Send + Sync>) {}
    fn sync_epoch(&self) -> Option<u64> {
        Some(1)
    }
}

async fn env() -> Env {
    let clock = Arc::new(ManualClock::new(NOW));
    let store = SqlStore::connect("sqlite::memory:", clock.clone(), Arc::new(OsRng))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let store = Arc::new(store);
    for id in ["rp-a", "rp-b", "rp-c"] {
        store.insert_client(&client(id)).await.unwrap();
    }
    let kek = Kek::generate(&OsRng);
    let published = Arc::new(Published::default());
    let sites = SiteService::new(SiteDeps {
        repo: store.clone(),
        clients: store.clone(),
        kek: Arc::new(kek.clone()),
        clock,
        rng: Arc::new(OsRng),
        audit: Auditor::new(store.clone()),
        invalidations: published.clone(),
    });
    Env {
        sites,
        store,
        kek,
        published,
    }
}

fn client(id: &str) -> Client {
    Client {
        id: ClientId::parse(id).unwrap(),
        name: format!("Client {id}"),
        redirect_uris: vec!["https://app.example/cb".to_owned()],
        post_logout_redirect_uris: vec![],
        grant_types: vec![GrantType::AuthorizationCode],
        auth_method: ClientAuthMethod::None,
        secret_hash: None,
        jwks: None,
        first_party: false,
        allowed_scopes: vec!["openid".to_owned()],
        access_token_ttl: None,
        refresh_idle_ttl: None,
        refresh_absolute_ttl: None,
        exchange_audiences: vec![],
        backchannel_logout_uri: None,
        backchannel_logout_session_required: false,
        site: None,
        created_at: NOW,
    }
}

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(path).unwrap()
}

fn owned(ids: &[&str]) -> Vec<String> {
    ids.iter().map(|s| (*s).to_owned()).collect()
}

async fn audit_kinds(env: &Env, kind: &str) -> Vec<(String, Option<String>)> {
    env.store
        .list_audit(Some(kind), 50)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.outcome, e.reason))
        .collect()
}

fn problems(err: SitesError) -> Vec<String> {
    match err {
        SitesError::ImportRefused(problems) => problems.iter().map(Problem::to_string).collect(),
        other => panic!("expected a refused import, got {other:?}"),
    }
}

#[tokio::test]
async fn a_site_is_created_with_its_own_clients() {
    let env = env().await;
    let origin = Origin::cli();
    let site = env
        .sites
        .create(
            "acme",
            " Acme Intranet ",
            &owned(&["rp-b", "rp-a", "rp-a"]),
            &origin,
        )
        .await
        .unwrap();
    assert_eq!(site.name, "Acme Intranet");
    assert_eq!(site.state, MigrationState::Legacy);
    let ids: Vec<&str> = site.clients.iter().map(ClientId::as_str).collect();
    assert_eq!(ids, ["rp-a", "rp-b"]);
    assert_eq!(env.sites.get("acme").await.unwrap(), site);
    assert_eq!(
        audit_kinds(&env, "site.created").await,
        [("success".to_owned(), Some("clients: rp-a rp-b".to_owned()))]
    );
    // Each client, read again, names its site, and every node's cached copy is dropped.
    for id in ["rp-a", "rp-b"] {
        let client = env.store.find_client(&ClientId::parse(id).unwrap()).await;
        assert_eq!(client.unwrap().unwrap().site, Some(site.id), "{id}");
    }
    assert_eq!(env.published.all(), ["client:rp-a", "client:rp-b"]);

    let refusals = [
        (
            "acme",
            "Again",
            vec![],
            "a site with this slug exists already",
        ),
        ("Bad Slug", "x", vec![], "the slug must be"),
        ("beta", "   ", vec![], "the name must be"),
        (
            "beta",
            "Beta",
            owned(&["nope"]),
            "no client nope is registered",
        ),
        ("beta", "Beta", owned(&["bad id!"]), "is not a client id"),
        (
            "beta",
            "Beta",
            owned(&["rp-c", "rp-a"]),
            "client rp-a belongs to site acme",
        ),
    ];
    for (slug, name, clients, why) in refusals {
        let err = env
            .sites
            .create(slug, name, &clients, &origin)
            .await
            .unwrap_err();
        assert!(err.to_string().contains(why), "{slug}: {err}");
    }
    // Nothing of the refused ones was written (or published): rp-c is still free.
    assert_eq!(env.sites.list().await.unwrap(), [site]);
    assert_eq!(env.published.all().len(), 2);
    let rp_c = ClientId::parse("rp-c").unwrap();
    assert_eq!(
        env.store.find_client(&rp_c).await.unwrap().unwrap().site,
        None
    );
    let beta = env
        .sites
        .create("beta", "Beta", &owned(&["rp-c"]), &origin)
        .await
        .unwrap();
    assert_eq!(beta.clients, [ClientId::parse("rp-c").unwrap()]);
    assert!(matches!(
        env.sites.get("nope").await,
        Err(SitesError::NotFound)
    ));
    assert!(matches!(
        env.sites.get("../x").await,
        Err(SitesError::NotFound)
    ));
}

#[tokio::test]
async fn the_fixture_imports_once_in_either_format() {
    let env = env().await;
    let origin = Origin::cli();
    env.sites
        .create("acme", "Acme", &[], &origin)
        .await
        .unwrap();
    let csv = fixture("legacy_users.csv");
    let summary = env
        .sites
        .import("acme", "legacy_users.csv", &csv, &origin)
        .await
        .unwrap();
    assert_eq!(
        summary,
        ImportSummary {
            added: 8,
            unchanged: 0
        }
    );
    // The same users from the JSON file, and the CSV again: nothing changes.
    let json = fixture("legacy_users.json");
    let again = env
        .sites
        .import("acme", "users.JSON", &json, &origin)
        .await
        .unwrap();
    assert_eq!(
        again,
        ImportSummary {
            added: 0,
            unchanged: 8
        }
    );
    let again = env
        .sites
        .import("acme", "x.csv", &csv, &origin)
        .await
        .unwrap();
    assert_eq!(
        again,
        ImportSummary {
            added: 0,
            unchanged: 8
        }
    );

    let users = env.sites.users("acme", None, 100).await.unwrap();
    let logins: Vec<&str> = users.iter().map(|u| u.login.as_str()).collect();
    assert_eq!(
        logins,
        [
            "alice", "bob", "carol", "dave", "Erin", "frank", "grace", "heidi"
        ]
    );
    let page = env.sites.users("acme", Some("dave"), 2).await.unwrap();
    assert_eq!(page.len(), 2);
    assert_eq!(page[0].login, "Erin");

    // Alice's legacy TOTP secret is her principal's app, sealed for that account only.
    let alice = &users[0];
    let principal = env.store.get_account(alice.principal).await.unwrap();
    assert_eq!(principal.kind, AccountKind::SiteUser);
    let app = env
        .store
        .totp_credential(alice.principal, false)
        .await
        .unwrap()
        .unwrap();
    let aad = lanyard_mfa::totp::sealing_aad(alice.principal);
    let secret = env.kek.decrypt(&app.secret_sealed, &aad).unwrap();
    let text = String::from_utf8(csv.clone()).unwrap();
    let column = text
        .lines()
        .nth(1)
        .unwrap()
        .rsplit(',')
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(data_encoding_decode(&column), secret.to_vec());
    let bob = &users[1];
    assert!(
        env.store
            .totp_credential(bob.principal, false)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        alice
            .legacy_password_hash
            .as_deref()
            .unwrap()
            .starts_with("$2b$")
    );

    let audited = audit_kinds(&env, "site.imported").await;
    assert_eq!(audited.len(), 3);
    assert_eq!(
        audited[2],
        (
            "success".to_owned(),
            Some("added 8, unchanged 0".to_owned())
        )
    );
}

fn data_encoding_decode(text: &str) -> Vec<u8> {
    // The fixture's secret column, decoded independently of the import's code.
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut bits: u64 = 0;
    let mut count = 0;
    let mut out = Vec::new();
    for c in text.trim_end_matches('=').chars() {
        bits = (bits << 5) | alphabet.find(c).unwrap() as u64;
        count += 5;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    out
}

#[tokio::test]
async fn a_clash_with_the_site_refuses_the_whole_file() {
    let env = env().await;
    let origin = Origin::cli();
    env.sites
        .create("acme", "Acme", &[], &origin)
        .await
        .unwrap();
    env.sites
        .import("acme", "a.csv", &fixture("legacy_users.csv"), &origin)
        .await
        .unwrap();
    let hash = "$2b$04$EGdrhbKUv8Oc9vGiXX0HQOxSg445d458Muh7DAHskb6QbtCvdxcie";
    let file = format!(
        "login,email,role,password_hash\n\
         zoe,zoe@legacy.example,admin,{hash}\n\
         ALICE,alice@legacy.example,licensed_user,{hash}\n\
         bob,bobby@legacy.example,licensed_user,{hash}\n\
         yann,carol@legacy.example,admin,{hash}\n"
    );
    let err = env
        .sites
        .import("acme", "b.csv", file.as_bytes(), &origin)
        .await
        .unwrap_err();
    assert_eq!(
        problems(err),
        [
            "row 3: login \"ALICE\" exists in the site already with another email or role",
            "row 4: login \"bob\" exists in the site already with another email or role",
            "row 5: email carol@legacy.example belongs to login \"carol\" in the site already",
        ]
    );
    // Zoe, whose row was fine, was not written either.
    assert_eq!(env.sites.users("acme", None, 100).await.unwrap().len(), 8);
    let audited = audit_kinds(&env, "site.imported").await;
    assert_eq!(
        audited[0],
        (
            "failure".to_owned(),
            Some("3 problems, nothing written".to_owned())
        )
    );
}

#[tokio::test]
async fn imports_refused_before_reading_rows() {
    let env = env().await;
    let origin = Origin::cli();
    env.sites
        .create("acme", "Acme", &[], &origin)
        .await
        .unwrap();
    let csv = fixture("legacy_users.csv");
    let err = env
        .sites
        .import("acme", "users.txt", &csv, &origin)
        .await
        .unwrap_err();
    assert_eq!(
        problems(err),
        ["file: the file name must end in .csv or .json"]
    );
    let err = env
        .sites
        .import("nope", "users.csv", &csv, &origin)
        .await
        .unwrap_err();
    assert!(matches!(err, SitesError::NotFound));
    // JSON bytes under a .csv name are read as CSV and refused.
    let err = env
        .sites
        .import("acme", "users.csv", &fixture("legacy_users.json"), &origin)
        .await
        .unwrap_err();
    assert!(!problems(err).is_empty());
    assert!(env.sites.users("acme", None, 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn the_migration_moves_step_by_step_and_erases_on_identity() {
    let env = env().await;
    let origin = Origin::cli();
    env.sites
        .create("acme", "Acme", &[], &origin)
        .await
        .unwrap();
    env.sites
        .import("acme", "a.csv", &fixture("legacy_users.csv"), &origin)
        .await
        .unwrap();
    use MigrationState::{Dual, Identity, Legacy};
    let err = env
        .sites
        .migrate("acme", Identity, &origin)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "a site in legacy can not move to identity: legacy → dual → identity, or dual back to legacy"
    );
    let step = env.sites.migrate("acme", Dual, &origin).await.unwrap();
    assert_eq!(
        (step.from, step.site.state, step.changed),
        (Legacy, Dual, true)
    );
    assert!(step.disabled_principals.is_empty());
    let same = env.sites.migrate("acme", Dual, &origin).await.unwrap();
    assert!(!same.changed);
    env.sites.migrate("acme", Legacy, &origin).await.unwrap();
    env.sites.migrate("acme", Dual, &origin).await.unwrap();

    let step = env.sites.migrate("acme", Identity, &origin).await.unwrap();
    assert_eq!(step.disabled_principals.len(), 8);
    for principal in &step.disabled_principals {
        let account = env.store.get_account(*principal).await.unwrap();
        assert_eq!(account.status, AccountStatus::Disabled);
        assert!(
            env.store
                .totp_credential(*principal, false)
                .await
                .unwrap()
                .is_none()
        );
    }
    let users = env.sites.users("acme", None, 100).await.unwrap();
    assert!(users.iter().all(|u| u.legacy_password_hash.is_none()));
    for to in [Legacy, Dual] {
        let err = env.sites.migrate("acme", to, &origin).await.unwrap_err();
        assert!(
            matches!(err, SitesError::MoveRefused { from: Identity, .. }),
            "{err}"
        );
    }
    // The import is closed now.
    let err = env
        .sites
        .import("acme", "a.csv", &fixture("legacy_users.csv"), &origin)
        .await
        .unwrap_err();
    assert!(problems(err)[0].contains("identity mode"));
    let audited = audit_kinds(&env, "site.migrated").await;
    let reasons: Vec<_> = audited
        .iter()
        .rev()
        .map(|(_, r)| r.clone().unwrap())
        .collect();
    assert_eq!(
        reasons,
        [
            "legacy → dual",
            "dual → legacy",
            "legacy → dual",
            "dual → identity"
        ]
    );
    assert!(matches!(
        env.sites.migrate("nope", Dual, &origin).await,
        Err(SitesError::NotFound)
    ));
}

#[tokio::test]
async fn progress_counts_the_site_users() {
    let env = env().await;
    let origin = Origin::cli();
    env.sites
        .create("acme", "Acme", &[], &origin)
        .await
        .unwrap();
    assert_eq!(
        env.sites.progress("acme").await.unwrap(),
        MigrationProgress::default()
    );
    env.sites
        .import("acme", "a.json", &fixture("migration_50.json"), &origin)
        .await
        .unwrap();
    let progress = env.sites.progress("acme").await.unwrap();
    assert_eq!((progress.total, progress.not_invited), (50, 50));
    assert!(matches!(
        env.sites.progress("nope").await,
        Err(SitesError::NotFound)
    ));
}
