//! The organization sign-in policy (S54) as the rest of the server asks it: must this account
//! set up an authenticator app before it gets a session, and may a grant from an earlier
//! sign-in still be refreshed. Every password sign-in already has a second step (B1), so
//! "MFA required" for an organization means its members must have an authenticator app
//! (`urn:lanyard:loa:3` available); see docs/orgs.md.

use std::sync::Arc;

use async_trait::async_trait;
use lanyard_core::ports::{MfaRepo, OrgRepo, SignInPolicy};
use lanyard_core::{AccountId, StoreError, Timestamp};

#[derive(Clone)]
pub struct EnrollmentPolicy {
    orgs: Arc<dyn OrgRepo>,
    mfa: Arc<dyn MfaRepo>,
}

impl EnrollmentPolicy {
    pub fn new(orgs: Arc<dyn OrgRepo>, mfa: Arc<dyn MfaRepo>) -> Self {
        Self { orgs, mfa }
    }

    /// Whether some organization of the account requires an authenticator app.
    pub async fn authenticator_required(&self, account: AccountId) -> Result<bool, StoreError> {
        Ok(self
            .orgs
            .authenticator_required_since(account)
            .await?
            .is_some())
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
        let Some(since) = self.orgs.authenticator_required_since(account).await? else {
            return Ok(true);
        };
        Ok(auth_time >= since && self.has_authenticator(account).await?)
    }
}
