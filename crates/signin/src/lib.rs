//! The sign-in sequence, with no HTTP in it: email → password → second step (emailed code,
//! authenticator app or backup code; the backup code shown once; "trust this device") →
//! forced authenticator set-up (S54, and a site's two-factor preference, C3) → session. The
//! legacy site login (C2, [`site_login`]) is another first step into the same sequence, for
//! a site user's principal account; [`site_access`] says which session counts for a site's
//! client. Step-up (B8) and raising the assurance level
//! for an app (B9) run the same sequence from the second step on.
//!
//! It owns the flow state ([`flow`]), the sessions ([`session`]) and every rule of the
//! order in which things happen; identity checks passwords and mfa checks codes. Each step
//! answers with a [`Next`] that the web layer renders. Every password check goes through
//! [`SignInService::check_password`], which applies the per-address and per-account limits
//! (S53), so no page can check a password without them.

mod enrollment;
mod error;
pub mod federated;
pub mod flow;
pub mod handoff;
mod legacy;
pub mod links;
mod next;
mod password;
mod reconfirm;
mod second_step;
pub mod session;
mod settings;
mod site_access;
mod site_login;
mod steps;

use std::sync::Arc;

use lanyard_core::model::{Account, AccountKind, SiteId};
use lanyard_core::ports::{AccountRepo, EphemeralStore, SiteRepo};
use lanyard_core::{Clock, Origin, Rng};
use lanyard_crypto::{Kek, TokenHasher};
use lanyard_identity::{AccountService, EnrollmentPolicy};
use lanyard_issuer::backchannel::Backchannel;
use lanyard_mfa::MfaService;

pub use error::SignInError;
pub use federated::{AMR_FEDERATED, UpstreamAnswer};
pub use flow::{Flow, FlowId, FlowStore, Pending, SealedBackupCode};
pub use handoff::{Handoffs, Showing, ShownId, ShownKind};
pub use next::{
    BackupShown, CodeKind, CodeQuestion, Done, Next, Notice, OrgQuestion, Problem,
    SiteLoginQuestion, UpstreamProblem, Wait,
};
pub use password::{MAX_PASSWORD_LEN, PasswordCheck};
pub use second_step::device_label;
pub use session::{
    ListedSession, NewSession, Session, SessionDeps, SessionFor, SessionStore, ip_prefix,
};
pub use settings::SessionSettings;
pub use site_access::SiteAccess;
pub use site_login::{MAX_LOGIN_LEN, normalize_login, site_may_return_to};

/// What the sign-in service needs, injected so tests control time, randomness and stores.
pub struct SignInDeps {
    pub accounts: Arc<AccountService>,
    pub mfa: Arc<MfaService>,
    pub policy: EnrollmentPolicy,
    pub ephemeral: Arc<dyn EphemeralStore>,
    pub hasher: Arc<TokenHasher>,
    pub clock: Arc<dyn Clock>,
    pub rng: Arc<dyn Rng>,
    /// Account status, read on every session lookup (a disabled account has no session).
    pub account_repo: Arc<dyn AccountRepo>,
    /// Where ending a session queues its back-channel logout notices.
    pub backchannel: Arc<Backchannel>,
    /// Seals what must be kept briefly: a backup code until "I saved it", a secret for its
    /// one-time page ([`handoff`]).
    pub kek: Arc<Kek>,
    /// Sites and their users: the legacy site login and which session counts for a site.
    pub sites: Arc<dyn SiteRepo>,
    /// Links a person signing in to a site's client to the site user their verified email
    /// matches (C5; never an unverified one, S42).
    pub linking: Arc<lanyard_sites::linking::Linking>,
    /// Organizations' domains and identity providers (F1, G1–G4).
    pub federation: Arc<lanyard_federation::FederationService>,
    /// The account pages' list of signed-in browsers (F3).
    pub session_listings: Arc<dyn lanyard_core::ports::SessionListRepo>,
}

/// The browser a step comes from: where it is, and the cookies the sequence reads (the
/// session for step-up, the trusted-device cookie for skipping the code).
#[derive(Clone, Copy)]
pub struct Browser<'a> {
    pub origin: &'a Origin,
    pub session: Option<&'a str>,
    pub device: Option<&'a str>,
}

impl std::fmt::Debug for Browser<'_> {
    // Both cookies are bearer credentials: say whether they are there, never what they hold.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Browser")
            .field("origin", self.origin)
            .field("has_session", &self.session.is_some())
            .field("has_device", &self.device.is_some())
            .finish()
    }
}

pub struct SignInService {
    accounts: Arc<AccountService>,
    mfa: Arc<MfaService>,
    policy: EnrollmentPolicy,
    clock: Arc<dyn Clock>,
    flows: FlowStore,
    sessions: SessionStore,
    handoffs: Handoffs,
    kek: Arc<Kek>,
    sites: Arc<dyn SiteRepo>,
    linking: Arc<lanyard_sites::linking::Linking>,
    federation: Arc<lanyard_federation::FederationService>,
    ephemeral: Arc<dyn EphemeralStore>,
    hasher: Arc<TokenHasher>,
    rng: Arc<dyn Rng>,
}

impl SignInService {
    pub fn new(deps: SignInDeps, settings: SessionSettings) -> Self {
        let flows = FlowStore::new(
            deps.ephemeral.clone(),
            deps.hasher.clone(),
            deps.rng.clone(),
            settings.flow_ttl_secs,
        );
        let handoffs = Handoffs::new(
            deps.ephemeral.clone(),
            deps.hasher.clone(),
            deps.kek.clone(),
            deps.clock.clone(),
            deps.rng.clone(),
        );
        let sessions = SessionStore::new(
            SessionDeps {
                ephemeral: deps.ephemeral.clone(),
                hasher: deps.hasher.clone(),
                clock: deps.clock.clone(),
                rng: deps.rng.clone(),
                policy: deps.policy.clone(),
                accounts: deps.account_repo,
                backchannel: deps.backchannel,
                sso: deps.federation.clone(),
                listings: deps.session_listings,
            },
            settings,
        );
        Self {
            accounts: deps.accounts,
            mfa: deps.mfa,
            policy: deps.policy,
            clock: deps.clock,
            flows,
            sessions,
            handoffs,
            kek: deps.kek,
            sites: deps.sites,
            linking: deps.linking,
            federation: deps.federation,
            ephemeral: deps.ephemeral,
            hasher: deps.hasher,
            rng: deps.rng,
        }
    }

    pub fn federation(&self) -> &lanyard_federation::FederationService {
        &self.federation
    }

    /// Secrets shown once and notices carried across a redirect, per session.
    pub fn handoffs(&self) -> &Handoffs {
        &self.handoffs
    }

    pub fn flows(&self) -> &FlowStore {
        &self.flows
    }

    pub fn sessions(&self) -> &SessionStore {
        &self.sessions
    }

    /// Disables the account (identity revokes its grants and PATs) and ends every one of
    /// its sessions at once, which queues their back-channel logouts (S46, issue 11 item 8).
    pub async fn disable_account(
        &self,
        email: &str,
        origin: &Origin,
    ) -> Result<lanyard_core::model::Account, SignInError> {
        let account = self.accounts.disable(email, origin).await?;
        self.sessions.end_all(account.id, origin).await?;
        Ok(account)
    }

    /// The site whose user this account is the principal of; `None` for a person.
    async fn principal_site(&self, account: &Account) -> Result<Option<SiteId>, SignInError> {
        if account.kind != AccountKind::SiteUser {
            return Ok(None);
        }
        let user = self.sites.site_user_by_principal(account.id).await?;
        // A principal row with no site user is an orphan: it signs in nowhere.
        user.map(|u| Some(u.site_id)).ok_or(SignInError::FlowGone)
    }

    /// Whether an organization's policy (S54) or a site's two-factor preference (C3)
    /// requires this account to set up an authenticator app before a sign-in may end.
    async fn enrollment_due(&self, account: lanyard_core::AccountId) -> Result<bool, SignInError> {
        Ok(self.policy.enrollment_due(account).await?)
    }
}
