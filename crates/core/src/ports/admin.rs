//! The server-wide admin role, the admin API's account search, and the audit log's reading
//! and retention side (issue 15: H4, A5). Writing events stays [`super::AuditRepo`]'s one
//! append; nothing here updates an event, and only [`AuditLog::purge_audit`] deletes.

use async_trait::async_trait;

use crate::model::{Account, AccountStatus, AuditQuery, AuditRecord};
use crate::{AccountId, StoreError, Timestamp};

/// Which people the admin API lists: filters and a keyset position (ids are UUIDv7, so
/// id order is creation order).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountFilter {
    /// Normalized emails starting with this text (matched literally: `%` and `_` are
    /// characters here, not patterns).
    pub email_prefix: Option<String>,
    pub status: Option<AccountStatus>,
    pub after: Option<AccountId>,
    pub limit: u64,
}

#[async_trait]
pub trait AdminRoleRepo: Send + Sync {
    /// Whether the account holds the server-wide admin role (false for an unknown account).
    async fn is_admin(&self, account: AccountId) -> Result<bool, StoreError>;
    /// Grants (`true`) or revokes the role; answers whether anything changed.
    async fn update_admin(
        &self,
        account: AccountId,
        admin: bool,
        now: Timestamp,
    ) -> Result<bool, StoreError>;
    /// People only, ordered by id.
    async fn search_accounts(&self, filter: &AccountFilter) -> Result<Vec<Account>, StoreError>;
}

#[async_trait]
pub trait AuditLog: Send + Sync {
    /// Newest first (time, then id), at most `query.limit` rows.
    async fn query_audit(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError>;
    /// Deletes the events older than `before` (the retention); answers how many. Running it
    /// on several nodes at once is harmless: each deletes what is still there.
    async fn purge_audit(&self, before: Timestamp) -> Result<u64, StoreError>;
}
