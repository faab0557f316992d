//! [`SessionListRepo`] on SQL: the account pages' list of signed-in browsers (F3).

use async_trait::async_trait;
use lanyard_core::model::SessionListing;
use lanyard_core::ports::SessionListRepo;
use lanyard_core::{AccountId, StoreError, Timestamp};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::{SqlStore, ts, unique_row};
use crate::entity::session_listing as listing;
use crate::error;

fn to_listing(row: listing::Model) -> SessionListing {
    SessionListing {
        key: row.key,
        sid: row.sid,
        account_id: AccountId(row.account_id),
        started_at: ts(row.started_at),
        ip_prefix: row.ip_prefix,
        device: row.device,
    }
}

#[async_trait]
impl SessionListRepo for SqlStore {
    async fn insert_session_listing(&self, entry: &SessionListing) -> Result<(), StoreError> {
        listing::Entity::insert(listing::ActiveModel {
            key: Set(entry.key.clone()),
            sid: Set(entry.sid.clone()),
            account_id: Set(entry.account_id.0),
            started_at: Set(entry.started_at.seconds()),
            ip_prefix: Set(entry.ip_prefix.clone()),
            device: Set(entry.device.clone()),
        })
        .exec_without_returning(&self.db)
        .await
        .map_err(|e| error::db("insert session listing", e))?;
        Ok(())
    }

    async fn session_listings(
        &self,
        account: AccountId,
        limit: u64,
    ) -> Result<Vec<SessionListing>, StoreError> {
        Ok(listing::Entity::find()
            .filter(listing::Column::AccountId.eq(account.0))
            .order_by_desc(listing::Column::StartedAt)
            .order_by_asc(listing::Column::Key)
            .limit(limit)
            .all(&self.db)
            .await
            .map_err(|e| error::db("list session listings", e))?
            .into_iter()
            .map(to_listing)
            .collect())
    }

    async fn find_session_listing(
        &self,
        account: AccountId,
        key: &str,
    ) -> Result<Option<SessionListing>, StoreError> {
        Ok(
            unique_row(listing::Entity::find_by_id(key.to_owned()), &self.db)
                .await
                .map_err(|e| error::db("find session listing", e))?
                // Another account's entry is nobody's here.
                .filter(|row| row.account_id == account.0)
                .map(to_listing),
        )
    }

    async fn remove_session_listing(&self, key: &str) -> Result<bool, StoreError> {
        let result = listing::Entity::delete_by_id(key.to_owned())
            .exec(&self.db)
            .await
            .map_err(|e| error::db("remove session listing", e))?;
        Ok(result.rows_affected == 1)
    }

    async fn remove_session_listings_of(
        &self,
        account: AccountId,
        until: Timestamp,
    ) -> Result<u64, StoreError> {
        let result = listing::Entity::delete_many()
            .filter(listing::Column::AccountId.eq(account.0))
            .filter(listing::Column::StartedAt.lte(until.seconds()))
            .exec(&self.db)
            .await
            .map_err(|e| error::db("remove session listings", e))?;
        Ok(result.rows_affected)
    }

    async fn purge_session_listings(&self, before: Timestamp) -> Result<u64, StoreError> {
        let result = listing::Entity::delete_many()
            .filter(listing::Column::StartedAt.lt(before.seconds()))
            .exec(&self.db)
            .await
            .map_err(|e| error::db("purge session listings", e))?;
        Ok(result.rows_affected)
    }
}
