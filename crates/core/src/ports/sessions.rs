//! The list of an account's signed-in browsers (F3). Entries are written when a session
//! starts and removed when it ends; a reader checks each entry against the session record,
//! which alone says whether the session is alive.

use async_trait::async_trait;

use crate::model::SessionListing;
use crate::{AccountId, StoreError, Timestamp};

#[async_trait]
pub trait SessionListRepo: Send + Sync {
    async fn insert_session_listing(&self, listing: &SessionListing) -> Result<(), StoreError>;
    /// The account's entries, newest first, at most `limit`.
    async fn session_listings(
        &self,
        account: AccountId,
        limit: u64,
    ) -> Result<Vec<SessionListing>, StoreError>;
    /// The entry keyed `key`, if it belongs to `account`.
    async fn find_session_listing(
        &self,
        account: AccountId,
        key: &str,
    ) -> Result<Option<SessionListing>, StoreError>;
    /// True when an entry was removed.
    async fn remove_session_listing(&self, key: &str) -> Result<bool, StoreError>;
    /// Removes the account's entries of sessions started at or before `until`.
    async fn remove_session_listings_of(
        &self,
        account: AccountId,
        until: Timestamp,
    ) -> Result<u64, StoreError>;
    /// Removes entries of sessions started before `before` (none of them can still live).
    async fn purge_session_listings(&self, before: Timestamp) -> Result<u64, StoreError>;
}
