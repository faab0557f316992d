//! Organizations (G1): creation and membership by the operator, and the one policy so far,
//! "members must have an authenticator app" (S54), which an organization admin or the
//! operator turns on or off. Turning it on revokes the PATs of members who have no
//! authenticator app yet: a PAT is exchanged without any sign-in, so it is the one
//! credential the forced enrollment at sign-in would never reach (docs/orgs.md).

mod policy;
mod slug;

use std::sync::Arc;

use lanyard_core::model::{AuditEvent, Membership, OrgId, OrgRole, Organization};
use lanyard_core::ports::{AccountRepo, OrgRepo};
use lanyard_core::{AccountId, Auditor, Clock, Origin, Rng, StoreError};

use crate::{IdentityError, PatService, normalize_email};
pub use policy::EnrollmentPolicy;
/// The slug and name rules, shared with sites (same URL and command use).
pub use slug::{check_name, check_slug};

/// Who asks for a policy change: the operator (CLI) or a signed-in account, which must be an
/// admin of the organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    Operator,
    Account(AccountId),
}

impl Actor {
    fn audit_name(self) -> String {
        match self {
            Actor::Operator => "operator".to_owned(),
            Actor::Account(id) => id.to_string(),
        }
    }
}

/// What a policy change did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyChange {
    pub org: Organization,
    /// False when the policy already was as asked (nothing audited or revoked).
    pub changed: bool,
    /// Members without an authenticator app whose PATs were revoked.
    pub members_with_pats_revoked: u64,
}

/// What turning the policy on would do now, for a confirmation ("3 members, 5 tokens").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PolicyPreview {
    /// Members with no authenticator app: they must set one up at their next sign-in.
    pub members_without_app: u64,
    /// Of those, the ones holding PATs that are not revoked.
    pub members_with_pats: u64,
    /// Their PATs that are not revoked: turning the policy on revokes them.
    pub pats: u64,
}

pub struct OrgDeps {
    pub repo: Arc<dyn OrgRepo>,
    pub accounts: Arc<dyn AccountRepo>,
    pub policy: EnrollmentPolicy,
    pub pats: Arc<PatService>,
    pub clock: Arc<dyn Clock>,
    pub rng: Arc<dyn Rng>,
    pub audit: Auditor,
}

pub struct OrgService {
    deps: OrgDeps,
}

impl OrgService {
    pub fn new(deps: OrgDeps) -> Self {
        Self { deps }
    }

    pub fn policy(&self) -> &EnrollmentPolicy {
        &self.deps.policy
    }

    pub async fn create(
        &self,
        slug: &str,
        name: &str,
        origin: &Origin,
    ) -> Result<Organization, IdentityError> {
        slug::check_slug(slug)?;
        let name = slug::check_name(name)?;
        let now = self.deps.clock.now();
        let org = Organization {
            id: OrgId::new(&*self.deps.clock, &*self.deps.rng),
            slug: slug.to_owned(),
            name,
            authenticator_required_since: None,
            created_at: now,
        };
        match self.deps.repo.insert_org(&org).await {
            Err(StoreError::Conflict(_)) => return Err(IdentityError::OrgTaken),
            other => other?,
        }
        let event = AuditEvent::new(now, "org.created", "success")
            .actor("operator")
            .subject(format!("org {slug}"))
            .org(org.id.to_string());
        self.deps.audit.record(event, origin).await;
        Ok(org)
    }

    /// The organization; an unknown or malformed slug is "not found".
    pub async fn get(&self, slug: &str) -> Result<Organization, IdentityError> {
        if slug::check_slug(slug).is_err() {
            return Err(IdentityError::NotFound);
        }
        self.deps
            .repo
            .org_by_slug(slug)
            .await?
            .ok_or(IdentityError::NotFound)
    }

    pub async fn members(&self, slug: &str) -> Result<Vec<Membership>, IdentityError> {
        let org = self.get(slug).await?;
        Ok(self.deps.repo.list_members(org.id).await?)
    }

    pub async fn role_of(
        &self,
        org: &Organization,
        account: AccountId,
    ) -> Result<Option<OrgRole>, IdentityError> {
        Ok(self.deps.repo.member_role(org.id, account).await?)
    }

    /// Adds an account (by email) or changes its role. Joining an organization that requires
    /// an authenticator app without having one revokes the account's PATs, as turning the
    /// policy on would have.
    pub async fn put_member(
        &self,
        slug: &str,
        email: &str,
        role: OrgRole,
        origin: &Origin,
    ) -> Result<Membership, IdentityError> {
        let org = self.get(slug).await?;
        let email = normalize_email(email)?;
        let account = self
            .deps
            .accounts
            .find_account_by_email(&email)
            .await?
            .ok_or(IdentityError::NotFound)?;
        let now = self.deps.clock.now();
        let member = Membership {
            org_id: org.id,
            account_id: account.id,
            role,
            joined_at: now,
        };
        self.deps.repo.put_member(&member).await?;
        let event = AuditEvent::new(now, "org.member_set", "success")
            .actor("operator")
            .subject(account.id.to_string())
            .reason(format!("org {slug} role {}", role.as_str()))
            .org(org.id.to_string());
        self.deps.audit.record(event, origin).await;
        if org.authenticator_required_since.is_some() {
            self.revoke_pats_unless_enrolled(account.id, origin).await?;
        }
        Ok(member)
    }

    pub async fn remove_member(
        &self,
        slug: &str,
        email: &str,
        origin: &Origin,
    ) -> Result<bool, IdentityError> {
        let org = self.get(slug).await?;
        let email = normalize_email(email)?;
        let Some(account) = self.deps.accounts.find_account_by_email(&email).await? else {
            return Err(IdentityError::NotFound);
        };
        let removed = self.deps.repo.remove_member(org.id, account.id).await?;
        if removed {
            let event = AuditEvent::new(self.deps.clock.now(), "org.member_removed", "success")
                .actor("operator")
                .subject(account.id.to_string())
                .reason(format!("org {slug}"))
                .org(org.id.to_string());
            self.deps.audit.record(event, origin).await;
        }
        Ok(removed)
    }

    /// The organization, when `actor` may change its settings: the operator, or an admin of
    /// it. Anyone else gets [`IdentityError::Forbidden`], audited.
    pub async fn authorize_admin(
        &self,
        slug: &str,
        actor: Actor,
        origin: &Origin,
    ) -> Result<Organization, IdentityError> {
        let org = self.get(slug).await?;
        if let Actor::Account(account) = actor
            && self.role_of(&org, account).await? != Some(OrgRole::Admin)
        {
            let event = AuditEvent::new(self.deps.clock.now(), "org.admin_refused", "failure")
                .actor(actor.audit_name())
                .subject(format!("org {slug}"))
                .reason("not an admin of the organization");
            self.deps.audit.record(event, origin).await;
            return Err(IdentityError::Forbidden);
        }
        Ok(org)
    }

    /// Turns "members must have an authenticator app" on or off. Only the operator or an
    /// admin of the organization may ([`IdentityError::Forbidden`], audited as a failure);
    /// web callers have checked step-up. Turning it on revokes the PATs of members who have
    /// no authenticator app.
    pub async fn set_authenticator_required(
        &self,
        slug: &str,
        actor: Actor,
        required: bool,
        origin: &Origin,
    ) -> Result<PolicyChange, IdentityError> {
        let org = self.authorize_admin(slug, actor, origin).await?;
        let now = self.deps.clock.now();
        let changed = self
            .deps
            .repo
            .set_authenticator_required(org.id, required.then_some(now))
            .await?;
        let org = self.get(slug).await?;
        let mut members_with_pats_revoked = 0;
        if changed {
            let event = AuditEvent::new(now, "org.policy_changed", "success")
                .actor(actor.audit_name())
                .subject(format!("org {slug}"))
                .org(org.id.to_string())
                .reason(format!(
                    "authenticator app required: {}",
                    if required { "on" } else { "off" }
                ));
            self.deps.audit.record(event, origin).await;
        }
        // Also when nothing changed: a retry after a failure part-way must finish the job.
        if required {
            for member in self.deps.repo.list_members(org.id).await? {
                if self
                    .revoke_pats_unless_enrolled(member.account_id, origin)
                    .await?
                {
                    members_with_pats_revoked += 1;
                }
            }
        }
        Ok(PolicyChange {
            org,
            changed,
            members_with_pats_revoked,
        })
    }

    /// What [`OrgService::set_authenticator_required`] with `required = true` would revoke
    /// now; changes nothing.
    pub async fn preview_authenticator_required(
        &self,
        slug: &str,
    ) -> Result<PolicyPreview, IdentityError> {
        let org = self.get(slug).await?;
        let mut preview = PolicyPreview::default();
        for member in self.deps.repo.list_members(org.id).await? {
            if self
                .deps
                .policy
                .has_authenticator(member.account_id)
                .await?
            {
                continue;
            }
            preview.members_without_app += 1;
            let pats = self.deps.pats.list(member.account_id).await?.len() as u64;
            if pats > 0 {
                preview.members_with_pats += 1;
                preview.pats += pats;
            }
        }
        Ok(preview)
    }

    /// For a member of an organization that requires an app: revokes the account's PATs when
    /// it has none. True when live PATs were revoked.
    async fn revoke_pats_unless_enrolled(
        &self,
        account: AccountId,
        origin: &Origin,
    ) -> Result<bool, IdentityError> {
        if self.deps.policy.has_authenticator(account).await? {
            return Ok(false);
        }
        Ok(self.deps.pats.revoke_all(account, origin).await? > 0)
    }
}
