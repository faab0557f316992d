//! Fakes shared by the issuer's unit tests.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use async_trait::async_trait;
use lanyard_core::model::{PatId, VerifiedPat};
use lanyard_core::ports::{PatVerifier, SignInPolicy};
use lanyard_core::{AccountId, Origin, Secret, StoreError, Timestamp};

/// A PAT verifier that knows no tokens (or the one a test gives it) and counts how often it
/// was asked.
#[derive(Debug, Default)]
pub struct NoPats {
    pub lookups: AtomicUsize,
    pub known: std::sync::Mutex<Option<lanyard_core::model::Pat>>,
}

impl NoPats {
    pub fn shared() -> Arc<NoPats> {
        Arc::new(NoPats::default())
    }

    pub fn lookups(&self) -> usize {
        self.lookups.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl PatVerifier for NoPats {
    async fn verify(
        &self,
        _token: &Secret,
        _origin: &Origin,
    ) -> Result<Option<VerifiedPat>, StoreError> {
        self.lookups.fetch_add(1, Ordering::SeqCst);
        let known = self.known.lock().unwrap().clone();
        Ok(known.map(|pat| VerifiedPat { pat: Arc::new(pat) }))
    }

    async fn is_live(&self, id: PatId) -> Result<bool, StoreError> {
        Ok(self
            .known
            .lock()
            .unwrap()
            .as_ref()
            .is_some_and(|p| p.id == id))
    }
}

/// A sign-in policy whose answer the test sets (every grant allowed until told otherwise).
#[derive(Debug)]
pub struct FixedPolicy {
    pub allowed: AtomicBool,
}

impl FixedPolicy {
    pub fn shared() -> Arc<FixedPolicy> {
        Arc::new(FixedPolicy {
            allowed: AtomicBool::new(true),
        })
    }
}

#[async_trait]
impl SignInPolicy for FixedPolicy {
    async fn grant_still_allowed(&self, _: AccountId, _: Timestamp) -> Result<bool, StoreError> {
        Ok(self.allowed.load(Ordering::SeqCst))
    }
}

/// No privacy preferences: every account has none switched on (the tests using it never
/// ask for the `privacy` scope).
#[derive(Debug, Default)]
pub struct NoPrivacy;

#[async_trait]
impl lanyard_core::ports::PrivacyClaims for NoPrivacy {
    async fn privacy_claim(
        &self,
        _: AccountId,
    ) -> Result<std::collections::BTreeMap<String, bool>, StoreError> {
        Ok(Default::default())
    }
}

/// A logout outbox that records nothing (the tests using it never end a session).
#[derive(Debug, Default)]
pub struct NoLogouts;

#[async_trait]
impl lanyard_core::ports::LogoutRepo for NoLogouts {
    async fn insert_session_client(
        &self,
        _: &str,
        _: AccountId,
        _: &lanyard_core::ClientId,
        _: Timestamp,
    ) -> Result<(), StoreError> {
        Ok(())
    }
    async fn queue_logout_notices(
        &self,
        _: lanyard_core::model::SessionsEnded<'_>,
        _: Timestamp,
        _: u64,
    ) -> Result<lanyard_core::model::QueuedNotices, StoreError> {
        Ok(lanyard_core::model::QueuedNotices::default())
    }
    async fn claim_logout_notices(
        &self,
        _: Timestamp,
        _: Timestamp,
        _: u64,
    ) -> Result<Vec<lanyard_core::model::LogoutNotice>, StoreError> {
        Ok(Vec::new())
    }
    async fn reschedule_logout_notice(
        &self,
        _: uuid::Uuid,
        _: Timestamp,
    ) -> Result<(), StoreError> {
        Ok(())
    }
    async fn delete_logout_notice(&self, _: uuid::Uuid) -> Result<(), StoreError> {
        Ok(())
    }
    async fn count_logout_notices(&self) -> Result<u64, StoreError> {
        Ok(0)
    }
    async fn purge_session_clients(&self, _: Timestamp) -> Result<u64, StoreError> {
        Ok(0)
    }
}

/// Site subjects whose answers the test sets: every client is of no site until told.
#[derive(Debug)]
pub struct FakeSites {
    pub answer: std::sync::Mutex<lanyard_core::model::ClientSubject>,
    pub pat_answer: std::sync::Mutex<Option<lanyard_core::model::SiteSubject>>,
    pub asked: AtomicUsize,
}

impl FakeSites {
    pub fn shared() -> Arc<FakeSites> {
        Arc::new(FakeSites {
            answer: std::sync::Mutex::new(lanyard_core::model::ClientSubject::Account),
            pat_answer: std::sync::Mutex::new(None),
            asked: AtomicUsize::new(0),
        })
    }

    pub fn answer(&self, answer: lanyard_core::model::ClientSubject) {
        *self.answer.lock().unwrap() = answer;
    }
}

#[async_trait]
impl lanyard_core::ports::SiteSubjects for FakeSites {
    async fn subject_for(
        &self,
        _: &lanyard_core::ClientId,
        _: AccountId,
    ) -> Result<lanyard_core::model::ClientSubject, StoreError> {
        self.asked.fetch_add(1, Ordering::SeqCst);
        Ok(self.answer.lock().unwrap().clone())
    }

    async fn named_subject(
        &self,
        _: &lanyard_core::ClientId,
        _: AccountId,
    ) -> Result<Option<lanyard_core::model::SiteSubject>, StoreError> {
        self.asked.fetch_add(1, Ordering::SeqCst);
        Ok(match self.answer.lock().unwrap().clone() {
            lanyard_core::model::ClientSubject::SiteUser(s) => Some(s),
            _ => None,
        })
    }

    async fn pat_subject(
        &self,
        _: lanyard_core::model::SiteUserId,
        _: AccountId,
    ) -> Result<Option<lanyard_core::model::SiteSubject>, StoreError> {
        self.asked.fetch_add(1, Ordering::SeqCst);
        Ok(self.pat_answer.lock().unwrap().clone())
    }
}

type Listener = Arc<dyn Fn(&str) + Send + Sync>;

/// One process and no CLI beside it: published messages reach this process's listeners.
#[derive(Default)]
pub struct OneNode {
    listeners: std::sync::Mutex<Vec<Listener>>,
}

#[async_trait]
impl lanyard_core::ports::Invalidations for OneNode {
    async fn publish(&self, message: &str) -> Result<(), StoreError> {
        let listeners = self.listeners.lock().unwrap().clone();
        for listener in listeners {
            listener(message);
        }
        Ok(())
    }
    fn listen(&self, listener: Listener) {
        self.listeners.lock().unwrap().push(listener);
    }
    fn sync_epoch(&self) -> Option<u64> {
        Some(1)
    }
}

/// A client with nothing set but `id`, `name` and the client_credentials grant; tests set
/// what they need with struct update syntax.
pub fn client(id: &str) -> lanyard_core::model::Client {
    use lanyard_core::model::{Client, ClientAuthMethod, GrantType};
    Client {
        id: lanyard_core::ClientId::parse(id).unwrap_or_else(|| unreachable!("test client id")),
        name: "RP".to_owned(),
        redirect_uris: vec![],
        post_logout_redirect_uris: vec![],
        grant_types: vec![GrantType::ClientCredentials],
        auth_method: ClientAuthMethod::ClientSecretBasic,
        secret_hash: None,
        jwks: None,
        first_party: false,
        allowed_scopes: vec![],
        access_token_ttl: None,
        refresh_idle_ttl: None,
        refresh_absolute_ttl: None,
        exchange_audiences: vec![],
        backchannel_logout_uri: None,
        backchannel_logout_session_required: false,
        site: None,
        created_at: Timestamp(0),
    }
}

/// No account holds the admin role.
pub struct NoAdmins;

#[async_trait::async_trait]
impl lanyard_core::ports::AdminRoleRepo for NoAdmins {
    async fn is_admin(&self, _: lanyard_core::AccountId) -> Result<bool, lanyard_core::StoreError> {
        Ok(false)
    }

    async fn update_admin(
        &self,
        _: lanyard_core::AccountId,
        _: bool,
        _: lanyard_core::Timestamp,
    ) -> Result<bool, lanyard_core::StoreError> {
        Ok(false)
    }

    async fn search_accounts(
        &self,
        _: &lanyard_core::ports::AccountFilter,
    ) -> Result<Vec<lanyard_core::model::Account>, lanyard_core::StoreError> {
        Ok(Vec::new())
    }
}
