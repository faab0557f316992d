//! lanyard-sites' services against SQLite in memory, the in-process ephemeral store, a
//! recording mailer and a manual clock (no sleeps). The same rules over HTTP and on both
//! backends: crates/server/tests/flows/site_migration.rs.

// The harness helpers are plain fns called from the #[tokio::test]s, so clippy's
// allow-*-in-tests does not reach them; failing loudly is what a test should do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod admin;
mod invitations;
mod linking;
mod subjects;

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use lanyard_core::model::{
    Account, AccountKind, AccountStatus, Client, ClientAuthMethod, GrantType, MigrationState,
    NewAccount, Resources, Site, SiteId, SiteRole, SiteUser, SiteUserId,
};
use lanyard_core::ports::{
    AccountRepo, ClientRepo, ImportedSiteUser, Invalidations, MfaRepo, SiteRepo,
};
use lanyard_core::{
    AccountId, Auditor, ClientId, MailError, Mailer, ManualClock, Origin, OsRng, OutgoingMail,
    Secret, StoreError, Timestamp,
};
use lanyard_crypto::TokenHasher;
use lanyard_crypto::password::{PasswordHasher, PasswordPolicy};
use lanyard_identity::pats::PatDeps;
use lanyard_identity::{AccountService, EnrollmentPolicy, PatService, PatSettings};
use lanyard_sites::SitesSettings;
use lanyard_sites::invitations::{InvitationDeps, InvitationService};
use lanyard_sites::linking::Linking;
use lanyard_sites::subjects::SiteSubjectsOverRepo;
use lanyard_store::{MemoryStore, SqlStore};

pub const START: Timestamp = Timestamp(1_800_000_000);
pub const ISSUER: &str = "https://id.example.com";
pub const PASSWORD: &str = "correct horse battery staple";

/// Records every mail; mail to an address in `refuse` fails as undeliverable.
#[derive(Default)]
pub struct RecordingMailer {
    pub sent: Mutex<Vec<OutgoingMail>>,
    pub refuse: Mutex<Vec<String>>,
}

#[async_trait]
impl Mailer for RecordingMailer {
    async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError> {
        if self.refuse.lock().unwrap().contains(&mail.to) {
            return Err(MailError::InvalidRecipient);
        }
        self.sent.lock().unwrap().push(mail.clone());
        Ok(())
    }
}

struct NoOtherNodes;

#[async_trait]
impl Invalidations for NoOtherNodes {
    async fn publish(&self, _message: &str) -> Result<(), StoreError> {
        Ok(())
    }
    fn listen(&self, _listener: Arc<dyn Fn(&str) + Send + Sync>) {}
    fn sync_epoch(&self) -> Option<u64> {
        Some(0)
    }
}

pub struct Harness {
    pub store: Arc<SqlStore>,
    pub clock: Arc<ManualClock>,
    pub mailer: Arc<RecordingMailer>,
    pub hasher: Arc<TokenHasher>,
    pub accounts: Arc<AccountService>,
    pub invitations: Arc<InvitationService>,
    pub linking: Linking,
    pub subjects: SiteSubjectsOverRepo,
    /// A `dual` site with the client `studio-app` and the users of [`USERS`].
    pub site: Site,
}

/// The users every harness site starts with: login, role.
pub const USERS: [(&str, SiteRole); 4] = [
    ("alice", SiteRole::Admin),
    ("bob", SiteRole::LicensedUser),
    ("carol", SiteRole::ClientUser),
    ("dave", SiteRole::LicensedUser),
];

pub fn email_of(login: &str) -> String {
    format!("{login}@studio.example")
}

pub async fn harness() -> Harness {
    let clock = Arc::new(ManualClock::new(START));
    let store = Arc::new(
        SqlStore::connect("sqlite::memory:", clock.clone(), Arc::new(OsRng))
            .await
            .unwrap(),
    );
    store.migrate().await.unwrap();
    let ephemeral = Arc::new(MemoryStore::new(clock.clone()));
    let mailer = Arc::new(RecordingMailer::default());
    let hasher = Arc::new(TokenHasher::new(&[7u8; 32]));
    let audit = Auditor::new(store.clone());
    let policy = EnrollmentPolicy::new(store.clone(), store.clone(), store.clone());
    let pats = PatService::new(
        PatDeps {
            repo: store.clone(),
            accounts: store.clone(),
            invalidations: Arc::new(NoOtherNodes),
            hasher: hasher.clone(),
            clock: clock.clone(),
            rng: Arc::new(OsRng),
            audit: audit.clone(),
            policy,
            sites: store.clone(),
            sso: Arc::new(lanyard_core::ports::NoSsoRequirement),
        },
        PatSettings {
            cache: false,
            ..PatSettings::default()
        },
        Resources::default(),
    );
    let cheap = PasswordPolicy {
        m_cost_kib: 64,
        t_cost: 1,
        p_cost: 1,
        max_concurrent_hashes: 4,
        ..PasswordPolicy::default()
    };
    let passwords = Arc::new(PasswordHasher::new(cheap, Arc::new(OsRng)).unwrap());
    let accounts = Arc::new(AccountService::new(
        store.clone(),
        store.clone(),
        pats,
        audit.clone(),
        passwords,
        clock.clone(),
    ));
    let invitations = Arc::new(InvitationService::new(
        InvitationDeps {
            sites: store.clone(),
            accounts: accounts.clone(),
            mailer: mailer.clone(),
            ephemeral,
            hasher: hasher.clone(),
            clock: clock.clone(),
            rng: Arc::new(OsRng),
            audit: audit.clone(),
            issuer: ISSUER.to_owned(),
            product_name: "Lanyard".to_owned(),
        },
        SitesSettings::default(),
    ));
    let linking = Linking::new(store.clone(), clock.clone(), audit);
    let subjects = SiteSubjectsOverRepo::new(store.clone(), store.clone());
    let mut h = Harness {
        store,
        clock,
        mailer,
        hasher,
        accounts,
        invitations,
        linking,
        subjects,
        site: placeholder_site(),
    };
    h.site = h.new_site("studio", "Studio", "studio-app").await;
    h.import(&h.site.clone(), &USERS).await;
    h.site = h.move_to(MigrationState::Dual).await;
    h
}

fn placeholder_site() -> Site {
    Site {
        id: SiteId(uuid::Uuid::nil()),
        slug: String::new(),
        name: String::new(),
        clients: Vec::new(),
        state: MigrationState::Legacy,
        two_factor_required_since: None,
        created_at: START,
        updated_at: START,
    }
}

pub fn client(id: &str) -> Client {
    Client {
        id: ClientId::parse(id).unwrap(),
        name: format!("Client {id}"),
        redirect_uris: vec!["https://app.example/cb".to_owned()],
        post_logout_redirect_uris: vec![],
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        auth_method: ClientAuthMethod::ClientSecretBasic,
        secret_hash: Some("ab".repeat(32)),
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
        created_at: START,
    }
}

pub fn origin(ip: &str) -> Origin {
    Origin {
        ip: Some(ip.to_owned()),
        user_agent: None,
        actor: None,
    }
}

impl Harness {
    /// A `legacy` site with one client.
    pub async fn new_site(&self, slug: &str, name: &str, client_id: &str) -> Site {
        let client = client(client_id);
        self.store.insert_client(&client).await.unwrap();
        let site = Site {
            id: SiteId::new(&*self.clock, &OsRng),
            slug: slug.to_owned(),
            name: name.to_owned(),
            clients: vec![client.id],
            state: MigrationState::Legacy,
            two_factor_required_since: None,
            created_at: START,
            updated_at: START,
        };
        self.store.insert_site(&site).await.unwrap();
        site
    }

    pub async fn import(&self, site: &Site, users: &[(&str, SiteRole)]) {
        let rows: Vec<ImportedSiteUser> = users
            .iter()
            .map(|(login, role)| {
                let id = SiteUserId::new(&*self.clock, &OsRng);
                let email = email_of(login);
                ImportedSiteUser {
                    user: SiteUser {
                        id,
                        site_id: site.id,
                        login: (*login).to_owned(),
                        login_normalized: login.to_lowercase(),
                        email: email.clone(),
                        email_normalized: email.to_lowercase(),
                        role: *role,
                        legacy_password_hash: Some(
                            "$2b$04$abcdefghijklmnopqrstuu5fmP0kZ9tY1Q8x2sT6vJ3gHkL0aBcDe"
                                .to_owned(),
                        ),
                        principal: AccountId::new(&*self.clock, &OsRng),
                        account_id: None,
                        linked_at: None,
                        email_unverified_since: None,
                        created_at: START,
                        updated_at: START,
                    },
                    sealed_totp_secret: None,
                }
            })
            .collect();
        self.store
            .import_site_users(site.id, &rows, START)
            .await
            .unwrap();
    }

    /// Moves the harness site one step (from its current state).
    pub async fn move_to(&self, to: MigrationState) -> Site {
        let site = self.store.get_site(self.site.id).await.unwrap().unwrap();
        assert!(
            self.store
                .set_migration_state(site.id, site.state, to, self.clock.now_ts())
                .await
                .unwrap()
        );
        self.store.get_site(site.id).await.unwrap().unwrap()
    }

    pub async fn user(&self, login: &str) -> SiteUser {
        self.store
            .site_user_by_login(self.site.id, login)
            .await
            .unwrap()
            .unwrap()
    }

    /// An identity account (verified email) made the way the CLI makes one.
    pub async fn person(&self, email: &str) -> Account {
        self.accounts
            .create_account(email, "Person", Secret::new(PASSWORD), &Origin::cli())
            .await
            .unwrap()
    }

    /// An account whose email nobody proved (a self-registration, say).
    pub async fn unverified_person(&self, email: &str) -> Account {
        self.store
            .insert_account(
                NewAccount {
                    email: email.to_owned(),
                    email_normalized: email.to_lowercase(),
                    email_verified: false,
                    name: "Someone".to_owned(),
                    password_hash: None,
                    status: AccountStatus::Active,
                    kind: AccountKind::Person,
                },
                self.clock.now_ts(),
            )
            .await
            .unwrap()
    }

    pub async fn account(&self, id: AccountId) -> Account {
        self.store.get_account(id).await.unwrap()
    }

    /// The token in the newest invitation mail to `email`.
    pub fn token_for(&self, email: &str) -> String {
        let sent = self.mailer.sent.lock().unwrap();
        let mail = sent
            .iter()
            .rev()
            .find(|m| m.to == email)
            .unwrap_or_else(|| panic!("no mail to {email}"));
        token_in(&mail.text)
    }

    pub fn mails_to(&self, email: &str) -> Vec<OutgoingMail> {
        let sent = self.mailer.sent.lock().unwrap();
        sent.iter().filter(|m| m.to == email).cloned().collect()
    }

    pub async fn audit_kinds(&self) -> Vec<String> {
        use lanyard_core::ports::AuditRepo;
        self.store
            .list_audit(None, 1000)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect()
    }

    pub async fn give_totp(&self, account: AccountId) {
        let now = self.clock.now_ts();
        self.store
            .put_pending_totp(account, b"sealed", now)
            .await
            .unwrap();
        assert!(
            self.store
                .activate_pending_totp(account, b"sealed", 1, now)
                .await
                .unwrap()
        );
    }
}

pub fn token_in(text: &str) -> String {
    let at = text.find("token=").expect("a link with a token") + "token=".len();
    text[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

/// `ManualClock::now` without importing the trait everywhere.
pub trait NowTs {
    fn now_ts(&self) -> Timestamp;
}

impl NowTs for ManualClock {
    fn now_ts(&self) -> Timestamp {
        lanyard_core::Clock::now(self)
    }
}
