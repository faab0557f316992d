//! The server-wide admin role (issue 15, H4): who may use the admin API with a PAT, granted
//! and revoked by an operator (`lanyard user admin`), and what the admin API does to
//! accounts beyond [`crate::AccountService`]: search, and enabling a disabled account.

use std::sync::Arc;

use lanyard_core::model::{Account, AccountKind, AccountStatus, AuditEvent};
use lanyard_core::ports::{AccountFilter, AccountRepo, AdminRoleRepo};
use lanyard_core::{AccountId, Auditor, Clock, Origin, StoreError};

use crate::IdentityError;

/// The most rows one search answers.
pub const MAX_PAGE: u64 = 200;

pub struct AdminService {
    admins: Arc<dyn AdminRoleRepo>,
    accounts: Arc<dyn AccountRepo>,
    audit: Auditor,
    clock: Arc<dyn Clock>,
}

impl AdminService {
    pub fn new(
        admins: Arc<dyn AdminRoleRepo>,
        accounts: Arc<dyn AccountRepo>,
        audit: Auditor,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            admins,
            accounts,
            audit,
            clock,
        }
    }

    /// Grants or revokes the role of the person with this email; audited
    /// `account.admin_granted` / `account.admin_revoked` when it changed something.
    pub async fn set_admin(
        &self,
        email: &str,
        admin: bool,
        origin: &Origin,
    ) -> Result<Account, IdentityError> {
        let normalized = crate::normalize_email(email)?;
        let account = self
            .accounts
            .find_account_by_email(&normalized)
            .await?
            .ok_or(IdentityError::NotFound)?;
        let now = self.clock.now();
        if self.admins.update_admin(account.id, admin, now).await? {
            let kind = if admin {
                "account.admin_granted"
            } else {
                "account.admin_revoked"
            };
            let event = AuditEvent::new(now, kind, "success").subject(account.id.to_string());
            self.audit.record(event, origin).await;
        }
        Ok(account)
    }

    /// Whether the account may act as an admin now: it holds the role, is a person, and is
    /// active. Asked on every admin API request, so a revoked role or a disabled account
    /// loses access at once.
    pub async fn is_active_admin(&self, id: AccountId) -> Result<bool, IdentityError> {
        let account = match self.accounts.get_account(id).await {
            Ok(account) => account,
            Err(StoreError::NotFound) => return Ok(false),
            Err(e) => return Err(e.into()),
        };
        if account.status != AccountStatus::Active || account.kind != AccountKind::Person {
            return Ok(false);
        }
        Ok(self.admins.is_admin(id).await?)
    }

    pub async fn is_admin(&self, id: AccountId) -> Result<bool, IdentityError> {
        Ok(self.admins.is_admin(id).await?)
    }

    /// People matching the filter, by id; the prefix is compared with normalized emails.
    pub async fn search(&self, filter: AccountFilter) -> Result<Vec<Account>, IdentityError> {
        let filter = AccountFilter {
            email_prefix: filter.email_prefix.map(|p| p.to_lowercase()),
            limit: filter.limit.clamp(1, MAX_PAGE),
            ..filter
        };
        Ok(self.admins.search_accounts(&filter).await?)
    }

    /// A disabled account becomes active again (its grants and PATs stay revoked); audited
    /// `account.enabled`. An invited account is not activated this way.
    pub async fn enable(&self, id: AccountId, origin: &Origin) -> Result<Account, IdentityError> {
        let account = match self.accounts.get_account(id).await {
            Ok(account) if account.kind == AccountKind::Person => account,
            Ok(_) | Err(StoreError::NotFound) => return Err(IdentityError::NotFound),
            Err(e) => return Err(e.into()),
        };
        if account.status != AccountStatus::Disabled {
            return Ok(account);
        }
        let now = self.clock.now();
        self.accounts
            .update_account_status(id, AccountStatus::Active, now)
            .await?;
        let event = AuditEvent::new(now, "account.enabled", "success").subject(id.to_string());
        self.audit.record(event, origin).await;
        Ok(Account {
            status: AccountStatus::Active,
            updated_at: now,
            ..account
        })
    }
}
