//! One sign-in in progress: what it serves (an app's authorization request, an account page,
//! a step-up), what was asked and what was proven. Kept in the ephemeral store under the
//! keyed hash of an opaque id that the pages carry in a hidden field, so the id alone is
//! worth nothing to someone who reads the store.

use std::sync::Arc;
use std::time::Duration;

use lanyard_core::model::authenticated::acr;
use lanyard_core::ports::EphemeralStore;
use lanyard_core::rng::random_token;
use lanyard_core::{AccountId, EphemeralKey, Rng, Timestamp};
use lanyard_crypto::TokenHasher;
use lanyard_issuer::authorize::AuthorizationRequest;
use lanyard_mfa::Factor;
use serde::{Deserialize, Serialize};

use crate::SignInError;

/// The page's handle on a flow: 32 random bytes, base64url.
#[derive(Clone, PartialEq, Eq)]
pub struct FlowId(String);

/// The length of a 32-byte handle in base64url; anything else is refused before a lookup.
const HANDLE_LEN: usize = 43;

/// Whether `text` has the shape of a random handle a page carries (a flow or a one-time
/// page): refused on shape alone, no lookup is spent on it.
pub(crate) fn is_handle(text: &str) -> bool {
    text.len() == HANDLE_LEN
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl FlowId {
    /// The id a page sent back, if it has the shape of one.
    pub fn parse(text: &str) -> Option<Self> {
        is_handle(text).then(|| Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for FlowId {
    // The id is a bearer handle for the flow: never in logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FlowId(..)")
    }
}

/// One sign-in in progress: the authorization request it serves (or the account page to
/// return to) and how far it got.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Flow {
    /// The app's request; `None` when signing in to the account pages themselves.
    pub request: Option<AuthorizationRequest>,
    /// Where an account-page sign-in or reconfirmation returns to (a path under /account).
    pub return_to: Option<String>,
    pub email: Option<String>,
    /// Set once the user signed in during this flow, so `prompt=login` and `max_age` are met.
    pub signed_in: bool,
    /// Between the password and the end of the second step.
    pub pending: Option<Pending>,
    /// A reconfirmation belongs to the session that opened it (keyed hash of its id): only
    /// that session can finish it and become fresh (S37).
    #[serde(default)]
    pub bound_session: Option<String>,
    /// An upstream identity that links to the account once the person proves it.
    #[serde(default)]
    pub link: Option<crate::federated::PendingLink>,
}

impl Flow {
    pub fn for_request(request: AuthorizationRequest) -> Self {
        Flow {
            email: request.login_hint.clone(),
            request: Some(request),
            return_to: None,
            signed_in: false,
            pending: None,
            bound_session: None,
            link: None,
        }
    }

    pub fn for_account(return_to: String, email: Option<String>) -> Self {
        Flow {
            request: None,
            return_to: Some(return_to),
            email,
            signed_in: false,
            pending: None,
            bound_session: None,
            link: None,
        }
    }

    /// The lowest assurance the flow's app accepts (`acr_values`); a sign-in is at least
    /// loa:2 (B1: every password sign-in has a second step).
    pub fn required_level(&self) -> u8 {
        self.request
            .as_ref()
            .and_then(|r| acr::required(&r.acr_values))
            .unwrap_or(2)
            .max(2)
    }

    /// Whether an emailed code is enough for the app (loa:2); above that only the
    /// authenticator app or the backup code answers.
    pub fn email_code_allowed(&self) -> bool {
        self.required_level() <= 2
    }
}

/// What the password step established and which of the steps after the code are done. Every
/// step checks this, so posting a later step directly gets nowhere (S37).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pending {
    pub account_id: AccountId,
    /// When the password was verified.
    pub password_at: Timestamp,
    /// Reconfirming identity for an existing session rather than signing in.
    pub step_up: bool,
    /// Set when the second step passed.
    pub passed: Option<Factor>,
    /// The backup code was shown and still waits for "I saved my backup code".
    pub backup_code_unacknowledged: bool,
    /// "Trust this device?" was asked: only then is an answer to it taken.
    #[serde(default)]
    pub trust_offered: bool,
    /// "Stay signed in for 30 days?" was asked (authenticator-app accounts).
    #[serde(default)]
    pub stay_offered: bool,
    /// The backup code on the page, sealed, until "I saved my backup code": a missed tick
    /// shows the same code again (a new one would make a file already saved worthless).
    #[serde(default)]
    pub backup_code: Option<SealedBackupCode>,
    /// The site whose user's principal this is (read from the store when the step began):
    /// its session counts for that site only.
    #[serde(default)]
    pub principal_site: Option<lanyard_core::model::SiteId>,
}

/// A backup code kept for its page, sealed under the KEK with the flow's account as
/// associated data; the flow record never holds it in clear.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SealedBackupCode {
    pub sealed: Vec<u8>,
    pub why: crate::BackupShown,
    pub generated_at: Timestamp,
}

impl Pending {
    /// The code is asked and not answered yet.
    pub fn awaiting_code(&self) -> bool {
        self.passed.is_none()
    }

    /// The code is answered and nothing is left to acknowledge.
    pub fn code_settled(&self) -> bool {
        self.passed.is_some() && !self.backup_code_unacknowledged
    }
}

/// Flow records in the ephemeral store.
pub struct FlowStore {
    ephemeral: Arc<dyn EphemeralStore>,
    hasher: Arc<TokenHasher>,
    rng: Arc<dyn Rng>,
    ttl: Duration,
}

impl FlowStore {
    pub fn new(
        ephemeral: Arc<dyn EphemeralStore>,
        hasher: Arc<TokenHasher>,
        rng: Arc<dyn Rng>,
        ttl_secs: i64,
    ) -> Self {
        Self {
            ephemeral,
            hasher,
            rng,
            ttl: Duration::from_secs(ttl_secs.max(1) as u64),
        }
    }

    fn key(&self, id: &FlowId) -> String {
        EphemeralKey::Flow(&self.hasher.hash(id.as_str())).to_string()
    }

    /// Stores a new flow under a new id.
    pub async fn create(&self, flow: &Flow) -> Result<FlowId, SignInError> {
        let id = FlowId(random_token(&*self.rng, 32));
        self.save(&id, flow).await?;
        Ok(id)
    }

    /// Replaces the record (and restarts its lifetime).
    pub async fn save(&self, id: &FlowId, flow: &Flow) -> Result<(), SignInError> {
        let value = serde_json::to_vec(flow)?;
        self.ephemeral.put(&self.key(id), &value, self.ttl).await?;
        Ok(())
    }

    /// The flow, if it is still open. An unreadable record counts as gone.
    pub async fn find(&self, id: &FlowId) -> Result<Option<Flow>, SignInError> {
        let Some(bytes) = self.ephemeral.get(&self.key(id)).await? else {
            return Ok(None);
        };
        Ok(serde_json::from_slice(&bytes).ok())
    }

    /// The flow, or [`SignInError::FlowGone`].
    pub async fn get(&self, id: &FlowId) -> Result<Flow, SignInError> {
        self.find(id).await?.ok_or(SignInError::FlowGone)
    }

    /// How long a flow (and an upstream round trip) lives without a step.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    pub async fn finish(&self, id: &FlowId) -> Result<(), SignInError> {
        self.ephemeral.delete(&self.key(id)).await?;
        Ok(())
    }
}
