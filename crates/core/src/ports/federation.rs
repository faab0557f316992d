//! The store of federation (G1–G4): organizations' domains, their upstream connection, and
//! the upstream identities linked to accounts.

use async_trait::async_trait;

use crate::model::{
    Account, Connection, DomainProof, FederatedIdentity, Membership, NewAccount, OrgDomain, OrgId,
};
use crate::{AccountId, StoreError, Timestamp};

/// G4 as the rest of the server asks it: does an organization that requires its own sign-in
/// cover this email? Then only a sign-in through that organization's identity provider
/// counts: passwords are refused, a session or grant from any other sign-in counts for
/// nothing, and PATs are made only from such a session (docs/federation.md).
#[async_trait]
pub trait SsoRequirement: Send + Sync {
    async fn sso_required(&self, email: &str) -> Result<bool, StoreError>;
}

/// A server without federation (tests of other parts): nobody is covered.
pub struct NoSsoRequirement;

#[async_trait]
impl SsoRequirement for NoSsoRequirement {
    async fn sso_required(&self, _: &str) -> Result<bool, StoreError> {
        Ok(false)
    }
}

#[async_trait]
pub trait FederationRepo: Send + Sync {
    /// Fails with [`StoreError::Conflict`] when any organization has the domain already.
    async fn add_domain(&self, domain: &OrgDomain) -> Result<(), StoreError>;
    /// The domain's record, whoever owns it; `domain` is already lower-case ASCII.
    async fn find_domain(&self, domain: &str) -> Result<Option<OrgDomain>, StoreError>;
    async fn domains_of(&self, org: OrgId) -> Result<Vec<OrgDomain>, StoreError>;
    /// Marks the domain verified if it is not yet; true when this call did it.
    async fn mark_domain_verified(
        &self,
        domain: &str,
        at: Timestamp,
        proof: DomainProof,
    ) -> Result<bool, StoreError>;
    /// True when the domain was there.
    async fn remove_domain(&self, org: OrgId, domain: &str) -> Result<bool, StoreError>;

    /// Creates or replaces the organization's one connection.
    async fn put_connection(&self, connection: &Connection) -> Result<(), StoreError>;
    async fn connection(&self, org: OrgId) -> Result<Option<Connection>, StoreError>;

    async fn find_federated(
        &self,
        issuer: &str,
        subject: &str,
    ) -> Result<Option<FederatedIdentity>, StoreError>;
    async fn federated_of(&self, account: AccountId) -> Result<Vec<FederatedIdentity>, StoreError>;
    /// Links an upstream identity to an existing account and makes the account a member of
    /// the identity's organization (`membership`; an existing membership keeps its join time
    /// and takes the role). [`StoreError::Conflict`] when the identity is linked already.
    async fn link_federated(
        &self,
        identity: &FederatedIdentity,
        membership: &Membership,
    ) -> Result<(), StoreError>;
    /// Just-in-time provisioning in one transaction: the account, its link and its
    /// membership (whose `account_id` is replaced by the new account's).
    /// [`StoreError::Conflict`] when the email or the identity is taken: nothing is created.
    async fn provision_federated(
        &self,
        account: NewAccount,
        identity: &FederatedIdentity,
        membership: &Membership,
        now: Timestamp,
    ) -> Result<Account, StoreError>;
    /// Records a sign-in through a linked identity: its last email and time.
    async fn touch_federated(
        &self,
        issuer: &str,
        subject: &str,
        email: Option<&str>,
        at: Timestamp,
    ) -> Result<(), StoreError>;
    /// Whether an organization that requires SSO has verified the account's email domain
    /// (G4). `domain` is the account's email domain, lower-case ASCII.
    async fn sso_required_for_domain(&self, domain: &str) -> Result<Option<OrgId>, StoreError>;
    /// The people whose email is at `domain` (lower-case ASCII; site principals excluded).
    async fn accounts_in_domain(&self, domain: &str) -> Result<Vec<AccountId>, StoreError>;
}
