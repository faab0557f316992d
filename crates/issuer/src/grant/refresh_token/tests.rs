//! The grant's handling of each rotation outcome, against a scripted store: what it asks
//! the store to keep in strict and grace mode, and what a replay hands back.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use lanyard_core::ids::random_uuid;
use lanyard_core::model::GraceSeal;
use lanyard_core::model::{
    Account, AccountKind, AccountStatus, AuditEvent, Client, Consent, GrantType, NewAccount,
    NewRefreshFamily, PatExchangeSettings, RefreshFamily, ResourceServer, Resources, RotateOutcome,
    SigningAlg,
};
use lanyard_core::ports::{
    AccountRepo, AuditRepo, ClientRepo, ConsentRepo, EphemeralStore, RefreshRepo,
};
use lanyard_core::{
    AccountId, Auditor, ClientId, FamilyId, ManualClock, Origin, OsRng, Secret, StoreError,
    Timestamp,
};
use lanyard_crypto::keys::{KeyRing, SharedKeyRing, generate_signing_key};
use lanyard_crypto::successor_seal::open_successor;
use lanyard_crypto::{Kek, TokenHasher};

use super::seal_aad;
use crate::clients::{ClientDeps, ClientService};
use crate::error::ErrorCode;
use crate::grant::{GrantRequest, TokenResponse};
use crate::issuer::{Issuer, IssuerDeps};
use crate::settings::{IssuerSettings, TokenSettings};

const NOW: Timestamp = Timestamp(1_800_000_000);
/// The one registered API.
pub(crate) const API: &str = "https://api.example.com";
pub(crate) const RT1: &str = "lyd_rt_c2VjcmV0LXJlZnJlc2gtdG9rZW4tb25lLWZvci10ZXN0cw";

/// One account, one family, and a rotation outcome the test chooses; records what the
/// grant asked for.
struct Scripted {
    account: Mutex<Account>,
    family: RefreshFamily,
    next: Mutex<Option<RotateOutcome>>,
    rotations: Mutex<Vec<(String, String, Option<GraceSeal>)>>,
    revoked: Mutex<Vec<FamilyId>>,
    audit: Mutex<Vec<AuditEvent>>,
    /// Reads of the family by id (userinfo's and introspection's).
    family_reads: std::sync::atomic::AtomicUsize,
}

fn unused() -> StoreError {
    StoreError::Other("not used by these tests".to_owned())
}

#[async_trait]
impl RefreshRepo for Scripted {
    async fn insert_family(&self, _: NewRefreshFamily) -> Result<(), StoreError> {
        Err(unused())
    }
    async fn find_family(&self, _: FamilyId) -> Result<Option<RefreshFamily>, StoreError> {
        self.family_reads
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(Some(self.family.clone()))
    }
    async fn find_family_by_token(&self, _: &str) -> Result<Option<RefreshFamily>, StoreError> {
        Ok(Some(self.family.clone()))
    }
    async fn find_family_by_current_token(
        &self,
        _: &str,
    ) -> Result<Option<RefreshFamily>, StoreError> {
        Ok(Some(self.family.clone()))
    }
    async fn rotate_refresh_token(
        &self,
        presented_hash: &str,
        successor_hash: &str,
        grace: Option<GraceSeal>,
        _: Timestamp,
        _: i64,
    ) -> Result<RotateOutcome, StoreError> {
        self.rotations.lock().unwrap().push((
            presented_hash.to_owned(),
            successor_hash.to_owned(),
            grace,
        ));
        let next = self.next.lock().unwrap().take();
        Ok(next.unwrap_or_else(|| RotateOutcome::Rotated(self.family.clone())))
    }
    async fn count_current_tokens(&self, _: FamilyId) -> Result<u64, StoreError> {
        Ok(1)
    }
    async fn revoke_family(&self, id: FamilyId, _: Timestamp) -> Result<bool, StoreError> {
        self.revoked.lock().unwrap().push(id);
        Ok(true)
    }
    async fn revoke_families_of_account(
        &self,
        _: AccountId,
        _: Timestamp,
    ) -> Result<u64, StoreError> {
        Err(unused())
    }
    async fn live_families_of_account(
        &self,
        _: AccountId,
        _: Timestamp,
    ) -> Result<Vec<RefreshFamily>, StoreError> {
        Err(unused())
    }
    async fn revoke_families_of_client(
        &self,
        _: AccountId,
        _: &ClientId,
        _: Timestamp,
    ) -> Result<u64, StoreError> {
        Err(unused())
    }
}

#[async_trait]
impl AccountRepo for Scripted {
    async fn update_time_zone(
        &self,
        _: AccountId,
        _: Option<&str>,
        _: Timestamp,
    ) -> Result<(), StoreError> {
        Err(unused())
    }
    async fn insert_account(&self, _: NewAccount, _: Timestamp) -> Result<Account, StoreError> {
        Err(unused())
    }
    async fn get_account(&self, _: AccountId) -> Result<Account, StoreError> {
        Ok(self.account.lock().unwrap().clone())
    }
    async fn find_account_by_email(&self, _: &str) -> Result<Option<Account>, StoreError> {
        Err(unused())
    }
    async fn list_accounts(
        &self,
        _: Option<AccountId>,
        _: u64,
    ) -> Result<Vec<Account>, StoreError> {
        Err(unused())
    }
    async fn count_accounts(&self) -> Result<u64, StoreError> {
        Err(unused())
    }
    async fn update_account_status(
        &self,
        _: AccountId,
        _: AccountStatus,
        _: Timestamp,
    ) -> Result<(), StoreError> {
        Err(unused())
    }
    async fn update_password_hash(
        &self,
        _: AccountId,
        _: &str,
        _: Timestamp,
    ) -> Result<(), StoreError> {
        Err(unused())
    }
}

#[async_trait]
impl ClientRepo for Scripted {
    async fn insert_client(&self, _: &Client) -> Result<(), StoreError> {
        Err(unused())
    }
    async fn find_client(&self, _: &ClientId) -> Result<Option<Client>, StoreError> {
        Err(unused())
    }
    async fn list_clients(&self) -> Result<Vec<Client>, StoreError> {
        Err(unused())
    }
    async fn count_clients(&self) -> Result<u64, StoreError> {
        Err(unused())
    }
    async fn delete_client(&self, _: &ClientId) -> Result<bool, StoreError> {
        Err(unused())
    }
}

#[async_trait]
impl ConsentRepo for Scripted {
    async fn find_consent(
        &self,
        _: AccountId,
        _: &ClientId,
    ) -> Result<Option<Consent>, StoreError> {
        Err(unused())
    }
    async fn upsert_consent(&self, _: &Consent) -> Result<(), StoreError> {
        Err(unused())
    }
    async fn consents_of(&self, _: AccountId) -> Result<Vec<Consent>, StoreError> {
        Err(unused())
    }
    async fn delete_consent(&self, _: AccountId, _: &ClientId) -> Result<bool, StoreError> {
        Err(unused())
    }
}

#[async_trait]
impl EphemeralStore for Scripted {
    async fn put(&self, _: &str, _: &[u8], _: Duration) -> Result<(), StoreError> {
        Err(unused())
    }
    async fn put_if_absent(&self, _: &str, _: &[u8], _: Duration) -> Result<bool, StoreError> {
        Err(unused())
    }
    /// Nothing is stored: no access token is revoked.
    async fn get(&self, _: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(None)
    }
    async fn take(&self, _: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Err(unused())
    }
    async fn delete(&self, _: &str) -> Result<bool, StoreError> {
        Err(unused())
    }
    /// Counters start at one: the exchange tests count failures through here.
    async fn increment(&self, _: &str, _: Duration) -> Result<u64, StoreError> {
        Ok(1)
    }
}

#[async_trait]
impl AuditRepo for Scripted {
    async fn insert_audit(&self, event: &AuditEvent) -> Result<(), StoreError> {
        self.audit.lock().unwrap().push(event.clone());
        Ok(())
    }
    async fn list_audit(&self, _: Option<&str>, _: u64) -> Result<Vec<AuditEvent>, StoreError> {
        Err(unused())
    }
}

pub(crate) struct Harness {
    pub issuer: Issuer,
    store: Arc<Scripted>,
    hasher: Arc<TokenHasher>,
    pub client: Client,
    pub pats: Arc<crate::test_support::NoPats>,
    policy: Arc<crate::test_support::FixedPolicy>,
    pub sites: Arc<crate::test_support::FakeSites>,
}

pub(crate) fn harness(grace_secs: i64) -> Harness {
    let client_id = ClientId::parse("rp").unwrap();
    let account = Account {
        id: AccountId(random_uuid(&OsRng)),
        email: "a@example.com".to_owned(),
        email_normalized: "a@example.com".to_owned(),
        email_verified: true,
        name: "A".to_owned(),
        password_hash: None,
        status: AccountStatus::Active,
        kind: AccountKind::Person,
        time_zone: None,
        created_at: NOW,
        updated_at: NOW,
    };
    let family = RefreshFamily {
        id: FamilyId(random_uuid(&OsRng)),
        client_id: client_id.clone(),
        account_id: account.id,
        scope: "openid email".to_owned(),
        auth_time: NOW.minus_secs(60),
        acr: Some("0".to_owned()),
        amr: "pwd".to_owned(),
        created_at: NOW.minus_secs(60),
        absolute_expires_at: NOW.plus_secs(86_400),
        idle_expires_at: NOW.plus_secs(3_600),
        revoked_at: None,
    };
    let store = Arc::new(Scripted {
        account: Mutex::new(account),
        family,
        next: Mutex::new(None),
        rotations: Mutex::new(Vec::new()),
        revoked: Mutex::new(Vec::new()),
        audit: Mutex::new(Vec::new()),
        family_reads: Default::default(),
    });
    let tokens = TokenSettings {
        // ES256 for both: RSA key generation would dominate the test's run time.
        access_token_alg: "ES256".to_owned(),
        id_token_alg: "ES256".to_owned(),
        refresh_grace_secs: grace_secs,
        ..TokenSettings::default()
    };
    let settings = IssuerSettings::new(
        "https://id.example.com",
        tokens,
        PatExchangeSettings::default(),
        Resources(vec![ResourceServer {
            identifier: API.to_owned(),
            scopes: vec!["read".to_owned()],
            name: None,
            description: None,
            scope_descriptions: Default::default(),
        }]),
    )
    .unwrap();
    let kek = Kek::from_bytes([7u8; 32]);
    let record = generate_signing_key(
        SigningAlg::ES256,
        "k1".to_owned(),
        &kek,
        NOW.minus_secs(100),
        NOW.minus_secs(100),
    )
    .unwrap();
    let ring = KeyRing::load(&[record], &kek, NOW).unwrap();
    let hasher = Arc::new(TokenHasher::new(&[9u8; 32]));
    let pats = crate::test_support::NoPats::shared();
    let policy = crate::test_support::FixedPolicy::shared();
    let sites = crate::test_support::FakeSites::shared();
    let clock = Arc::new(ManualClock::new(NOW));
    let audit = Auditor::new(store.clone());
    let clients = Arc::new(ClientService::new(
        ClientDeps {
            repo: store.clone(),
            hasher: hasher.clone(),
            clock: clock.clone(),
            rng: Arc::new(OsRng),
            audit: audit.clone(),
            invalidations: Arc::new(crate::test_support::OneNode::default()),
        },
        10,
    ));
    let issuer = Issuer::new(IssuerDeps {
        settings,
        clients,
        accounts: store.clone(),
        consents: store.clone(),
        refresh: store.clone(),
        ephemeral: store.clone(),
        pats: pats.clone(),
        sign_in_policy: policy.clone(),
        sso: Arc::new(lanyard_core::ports::NoSsoRequirement),
        privacy: Arc::new(crate::test_support::NoPrivacy),
        site_subjects: sites.clone(),
        keys: Arc::new(SharedKeyRing::new(ring)),
        hasher: hasher.clone(),
        clock: clock.clone(),
        rng: Arc::new(OsRng),
        audit: audit.clone(),
        backchannel: Arc::new(crate::backchannel::Backchannel::new(
            Arc::new(crate::test_support::NoLogouts),
            clock,
            audit,
            crate::backchannel::BackchannelSettings::default(),
        )),
        admins: Arc::new(crate::test_support::NoAdmins),
    });
    let client = Client {
        id: client_id,
        redirect_uris: vec!["https://rp.example.com/cb".to_owned()],
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        first_party: true,
        allowed_scopes: vec!["openid".to_owned(), "email".to_owned()],
        created_at: NOW,
        ..crate::test_support::client("rp")
    };
    Harness {
        issuer,
        store,
        hasher,
        client,
        pats,
        policy,
        sites,
    }
}

impl Harness {
    pub(crate) async fn refresh(&self, token: &str) -> Result<TokenResponse, crate::OAuthError> {
        let request = GrantRequest::RefreshToken {
            refresh_token: Secret::new(token),
            scope: None,
        };
        self.issuer
            .exchange(&self.client, request, &Origin::default())
            .await
    }

    /// The families the grant revoked.
    pub(crate) fn revoked(&self) -> Vec<FamilyId> {
        self.store.revoked.lock().unwrap().clone()
    }

    /// The account of the one family, changed by `f`.
    pub(crate) fn change_account(&self, f: impl FnOnce(&mut Account)) {
        f(&mut self.store.account.lock().unwrap());
    }

    pub(crate) fn family_reads(&self) -> usize {
        self.store
            .family_reads
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    pub(crate) fn family_id(&self) -> FamilyId {
        self.store.family.id
    }

    pub(crate) fn account_id(&self) -> AccountId {
        self.store.account.lock().unwrap().id
    }

    fn script(&self, outcome: RotateOutcome) {
        *self.store.next.lock().unwrap() = Some(outcome);
    }

    fn last_seal(&self) -> Option<GraceSeal> {
        self.store
            .rotations
            .lock()
            .unwrap()
            .last()
            .unwrap()
            .2
            .clone()
    }

    pub(crate) fn audit_kinds(&self) -> Vec<String> {
        let audit = self.store.audit.lock().unwrap();
        audit.iter().map(|e| e.kind.clone()).collect()
    }
}

#[tokio::test]
async fn s14_strict_mode_keeps_nothing_for_a_retry() {
    let h = harness(0);
    let response = h.refresh(RT1).await.unwrap();
    let rt2 = response.refresh_token.unwrap();
    assert_ne!(rt2, RT1);
    let rotations = h.store.rotations.lock().unwrap().clone();
    assert_eq!(
        rotations,
        [(h.hasher.hash(RT1), h.hasher.hash(&rt2), None)],
        "only hashes reach the store, and no seal in strict mode"
    );
}

#[tokio::test]
async fn s14_grace_mode_seals_the_successor_for_the_presented_token_only() {
    let h = harness(10);
    let rt2 = h.refresh(RT1).await.unwrap().refresh_token.unwrap();
    let seal = h.last_seal().expect("a seal in grace mode");
    assert_eq!(seal.window_secs, 10);
    let aad = seal_aad(h.store.family.id);
    assert_eq!(
        open_successor(RT1, &seal.sealed_successor, &aad)
            .unwrap()
            .as_str(),
        rt2
    );
    assert!(open_successor(&rt2, &seal.sealed_successor, &aad).is_err());
    assert!(
        open_successor(
            RT1,
            &seal.sealed_successor,
            &seal_aad(FamilyId(random_uuid(&OsRng)))
        )
        .is_err()
    );
    let at_rest = String::from_utf8_lossy(&seal.sealed_successor);
    assert!(!at_rest.contains(&rt2[7..]));
}

#[tokio::test]
async fn s14_a_grace_replay_returns_the_same_successor_with_fresh_tokens() {
    let h = harness(10);
    let first = h.refresh(RT1).await.unwrap();
    let seal = h.last_seal().unwrap();
    h.script(RotateOutcome::Replayed {
        family: h.store.family.clone(),
        sealed_successor: seal.sealed_successor,
    });
    let retry = h.refresh(RT1).await.unwrap();
    assert_eq!(retry.refresh_token, first.refresh_token);
    assert_ne!(retry.access_token, first.access_token);
    assert!(retry.id_token.is_some(), "openid was granted");
    assert_eq!(retry.scope, first.scope, "the same grant");
    assert!(h.store.revoked.lock().unwrap().is_empty());
    assert!(
        h.audit_kinds()
            .contains(&"token.refresh_grace_replay".to_owned())
    );
}

#[tokio::test]
async fn s14_a_replayed_seal_that_does_not_open_is_refused() {
    let h = harness(10);
    h.refresh(RT1).await.unwrap();
    let mut sealed = h.last_seal().unwrap().sealed_successor;
    sealed[20] ^= 1;
    h.script(RotateOutcome::Replayed {
        family: h.store.family.clone(),
        sealed_successor: sealed,
    });
    let err = h.refresh(RT1).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidGrant);
}

#[tokio::test]
async fn s13_reuse_is_refused_and_audited() {
    for grace in [0, 10] {
        let h = harness(grace);
        let mut revoked = h.store.family.clone();
        revoked.revoked_at = Some(NOW);
        h.script(RotateOutcome::Reused(revoked));
        let err = h.refresh(RT1).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidGrant);
        assert!(
            h.audit_kinds()
                .contains(&"token.refresh_reuse_detected".to_owned())
        );
    }
}

#[tokio::test]
async fn s15_a_grace_replay_for_a_disabled_account_revokes_the_family() {
    let h = harness(10);
    h.refresh(RT1).await.unwrap();
    let seal = h.last_seal().unwrap();
    h.store.account.lock().unwrap().status = AccountStatus::Disabled;
    h.script(RotateOutcome::Replayed {
        family: h.store.family.clone(),
        sealed_successor: seal.sealed_successor,
    });
    let err = h.refresh(RT1).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidGrant);
    assert_eq!(*h.store.revoked.lock().unwrap(), [h.store.family.id]);
}

#[tokio::test]
async fn s54_a_grant_the_sign_in_policy_no_longer_accepts_is_refused_and_revoked() {
    let h = harness(0);
    h.refresh(RT1).await.unwrap();
    h.policy
        .allowed
        .store(false, std::sync::atomic::Ordering::SeqCst);
    let err = h.refresh(RT1).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidGrant);
    assert_eq!(*h.store.revoked.lock().unwrap(), [h.store.family.id]);
    let audit = h.store.audit.lock().unwrap();
    assert!(audit.iter().any(|e| e.kind == "token.refresh_refused"));
}
