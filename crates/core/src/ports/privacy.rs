//! The store of privacy preferences (A4).

use async_trait::async_trait;

use crate::model::{PrivacyChange, PrivacyChoice};
use crate::{AccountId, StoreError, Timestamp};

#[async_trait]
pub trait PrivacyRepo: Send + Sync {
    /// The account's stored choices, by category name.
    async fn privacy_choices(&self, account: AccountId) -> Result<Vec<PrivacyChoice>, StoreError>;
    /// In one transaction: stores each wanted `(category, enabled)` that differs from the
    /// stored choice (no stored choice counts as off) and appends one history row per
    /// change. Returns the changes made; an unchanged value writes nothing.
    async fn change_privacy(
        &self,
        account: AccountId,
        wanted: &[(String, bool)],
        actor: &str,
        at: Timestamp,
    ) -> Result<Vec<PrivacyChange>, StoreError>;
    /// The account's recorded changes, newest first.
    async fn privacy_history(
        &self,
        account: AccountId,
        limit: u64,
    ) -> Result<Vec<PrivacyChange>, StoreError>;
}

/// What the issuer asks for the `privacy` scope's claim: each configured category and
/// whether it is on for the account (a required one always is).
#[async_trait]
pub trait PrivacyClaims: Send + Sync {
    async fn privacy_claim(
        &self,
        account: AccountId,
    ) -> Result<std::collections::BTreeMap<String, bool>, StoreError>;
}
