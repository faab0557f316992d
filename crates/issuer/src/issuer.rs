//! The issuer service: its dependencies and the shared helpers of its flows. Each protocol
//! flow adds its own `impl Issuer` block in its module.

use std::sync::Arc;

use lanyard_core::model::AuditEvent;
use lanyard_core::ports::{
    AccountRepo, ConsentRepo, EphemeralStore, PatVerifier, RefreshRepo, SignInPolicy, SiteSubjects,
};
use lanyard_core::{Auditor, Clock, Origin, Rng};
use lanyard_crypto::keys::{KeyRing, SharedKeyRing};
use lanyard_crypto::token_hash::TokenHasher;

use crate::backchannel::Backchannel;
use crate::clients::ClientService;
use crate::discovery::Discovery;
use crate::settings::IssuerSettings;

pub struct IssuerDeps {
    pub settings: IssuerSettings,
    pub clients: Arc<ClientService>,
    pub accounts: Arc<dyn AccountRepo>,
    pub consents: Arc<dyn ConsentRepo>,
    pub refresh: Arc<dyn RefreshRepo>,
    pub ephemeral: Arc<dyn EphemeralStore>,
    /// Checks personal access tokens for token exchange.
    pub pats: Arc<dyn PatVerifier>,
    /// Whether an account's sign-in policy still accepts a grant's sign-in (refresh).
    pub sign_in_policy: Arc<dyn SignInPolicy>,
    /// G4: an organization that requires its own sign-in refuses grants from any other.
    pub sso: Arc<dyn lanyard_core::ports::SsoRequirement>,
    /// The `privacy` scope's claim (A4).
    pub privacy: Arc<dyn lanyard_core::ports::PrivacyClaims>,
    /// Whom a site's client's tokens name (the site user) and who may have them.
    pub site_subjects: Arc<dyn SiteSubjects>,
    /// The current key ring; a background job swaps in a new one after rotation.
    pub keys: Arc<SharedKeyRing>,
    pub hasher: Arc<TokenHasher>,
    pub clock: Arc<dyn Clock>,
    pub rng: Arc<dyn Rng>,
    pub audit: Auditor,
    /// Back-channel logout: session links and the logout outbox.
    pub backchannel: Arc<Backchannel>,
    /// Who holds the server-wide admin role: a PAT yields `lanyard:admin` only for them.
    pub admins: Arc<dyn lanyard_core::ports::AdminRoleRepo>,
}

pub struct Issuer {
    pub(crate) settings: IssuerSettings,
    pub(crate) clients: Arc<ClientService>,
    pub(crate) accounts: Arc<dyn AccountRepo>,
    pub(crate) consents: Arc<dyn ConsentRepo>,
    pub(crate) refresh: Arc<dyn RefreshRepo>,
    pub(crate) ephemeral: Arc<dyn EphemeralStore>,
    pub(crate) pats: Arc<dyn PatVerifier>,
    pub(crate) sign_in_policy: Arc<dyn SignInPolicy>,
    pub(crate) sso: Arc<dyn lanyard_core::ports::SsoRequirement>,
    pub(crate) privacy: Arc<dyn lanyard_core::ports::PrivacyClaims>,
    pub(crate) site_subjects: Arc<dyn SiteSubjects>,
    pub(crate) exchange_limits: crate::grant::ExchangeLimits,
    pub(crate) keys: Arc<SharedKeyRing>,
    pub(crate) hasher: Arc<TokenHasher>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) rng: Arc<dyn Rng>,
    pub(crate) audit: Auditor,
    pub(crate) backchannel: Arc<Backchannel>,
    pub(crate) admins: Arc<dyn lanyard_core::ports::AdminRoleRepo>,
    discovery: Discovery,
}

impl Issuer {
    pub fn new(deps: IssuerDeps) -> Self {
        let discovery = Discovery::build(&deps.settings);
        Self {
            settings: deps.settings,
            clients: deps.clients,
            accounts: deps.accounts,
            consents: deps.consents,
            refresh: deps.refresh,
            ephemeral: deps.ephemeral,
            pats: deps.pats,
            sign_in_policy: deps.sign_in_policy,
            sso: deps.sso,
            privacy: deps.privacy,
            site_subjects: deps.site_subjects,
            exchange_limits: crate::grant::ExchangeLimits::default(),
            keys: deps.keys,
            hasher: deps.hasher,
            clock: deps.clock,
            rng: deps.rng,
            audit: deps.audit,
            backchannel: deps.backchannel,
            admins: deps.admins,
            discovery,
        }
    }

    pub fn backchannel(&self) -> &Arc<Backchannel> {
        &self.backchannel
    }

    pub fn settings(&self) -> &IssuerSettings {
        &self.settings
    }

    pub fn clients(&self) -> &ClientService {
        &self.clients
    }

    pub fn discovery(&self) -> &Discovery {
        &self.discovery
    }

    /// The key ring now in force (its JWK Set is pre-serialised).
    pub fn key_ring(&self) -> Arc<KeyRing> {
        self.keys.current()
    }

    pub fn clock(&self) -> &dyn Clock {
        &*self.clock
    }

    pub(crate) async fn record(&self, event: AuditEvent, origin: &Origin) {
        self.audit.record(event, origin).await;
    }
}
