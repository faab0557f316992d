//! The "authenticator app required" policy as the rest of the server asks it: must this
//! account set up an authenticator app before it gets a session, and may a grant from an
//! earlier sign-in still be refreshed. Every password sign-in already has a second step (B1),
//! so "MFA required" means an authenticator app (`urn:lanyard:loa:3` available); see
//! docs/orgs.md. Two sources require it: an organization of the account (S54), and a site
//! whose "require two-factor authentication" preference is on (C3), for the principal of a
//! licensed user or admin of that site and for the identity account linked to one.

use std::sync::Arc;

use async_trait::async_trait;
use lanyard_core::ports::{MfaRepo, OrgRepo, SignInPolicy, SiteRepo};
use lanyard_core::{AccountId, StoreError, Timestamp};

#[derive(Clone)]
pub struct EnrollmentPolicy {
    orgs: Arc<dyn OrgRepo>,
    mfa: Arc<dyn MfaRepo>,
    sites: Arc<dyn SiteRepo>,
}

impl EnrollmentPolicy {
    pub fn new(orgs: Arc<dyn OrgRepo>, mfa: Arc<dyn MfaRepo>, sites: Arc<dyn SiteRepo>) -> Self {
        Self { orgs, mfa, sites }
    }

    /// Whether some organization or site requires an authenticator app of the account.
    pub async fn authenticator_required(&self, account: AccountId) -> Result<bool, StoreError> {
        Ok(self.required_since(account).await?.is_some())
    }

    /// Since when an authenticator app is required of the account: the earlier of its
    /// organizations' and its sites' requirements.
    pub async fn required_since(
        &self,
        account: AccountId,
    ) -> Result<Option<Timestamp>, StoreError> {
        let by_org = self.orgs.authenticator_required_since(account).await?;
        let by_site = self.sites.two_factor_required_since(account).await?;
        Ok(match (by_org, by_site) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        })
    }

    /// True while the account must set up an authenticator app: it gets no session, codes
    /// or tokens until it has.
    pub async fn enrollment_due(&self, account: AccountId) -> Result<bool, StoreError> {
        if !self.authenticator_required(account).await? {
            return Ok(false);
        }
        Ok(!self.has_authenticator(account).await?)
    }

    /// Whether the account has an active authenticator app.
    pub async fn has_authenticator(&self, account: AccountId) -> Result<bool, StoreError> {
        Ok(self.mfa.totp_credential(account, false).await?.is_some())
    }
}

#[async_trait]
impl SignInPolicy for EnrollmentPolicy {
    /// The documented rule: once the policy applies to an account, a grant whose sign-in
    /// happened before that needs a new authorization, and no grant is refreshed while the
    /// account still lacks an authenticator app.
    async fn grant_still_allowed(
        &self,
        account: AccountId,
        auth_time: Timestamp,
    ) -> Result<bool, StoreError> {
        let Some(since) = self.required_since(account).await? else {
            return Ok(true);
        };
        Ok(auth_time >= since && self.has_authenticator(account).await?)
    }
}
