//! The emailed account links (A2) and the account changes following one makes. Each change
//! is one method so that the store can make "spend the link, change the account" one
//! transaction: of two parallel uses of one link exactly one changes anything.

use async_trait::async_trait;

use crate::model::{AccountLink, AccountLinkId};
use crate::{AccountId, StoreError, Timestamp};

#[async_trait]
pub trait AccountLinkRepo: Send + Sync {
    /// Stores `link`, superseding every live link of the same account and purpose.
    async fn insert_account_link(&self, link: &AccountLink) -> Result<(), StoreError>;
    async fn find_account_link(&self, token_hash: &str) -> Result<Option<AccountLink>, StoreError>;
    /// Marks the link used if it is still live at `now`; false when it was not (used,
    /// superseded, expired: a parallel use won).
    async fn use_account_link(&self, id: AccountLinkId, now: Timestamp)
    -> Result<bool, StoreError>;
    /// Spends a verification link and makes its `invited` account `active` with a verified
    /// email, in one transaction. False (and nothing changed) when the link was not live or
    /// the account is no longer `invited`.
    async fn verify_account_email(
        &self,
        link: AccountLinkId,
        account: AccountId,
        now: Timestamp,
    ) -> Result<bool, StoreError>;
    /// Spends an email-change link and sets the account's email (verified), in one
    /// transaction. `Ok(false)` when the link was not live; [`StoreError::Conflict`] when
    /// another account has the address by now (nothing changed, the link stays unspent).
    async fn change_account_email(
        &self,
        link: AccountLinkId,
        account: AccountId,
        email: &str,
        email_normalized: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError>;
}
