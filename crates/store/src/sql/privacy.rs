//! [`PrivacyRepo`] on SQL (A4). A change reads the stored choices and writes the new value and
//! its history row in one write transaction, so the history always matches the choices.

use std::collections::HashMap;

use async_trait::async_trait;
use lanyard_core::model::{PrivacyChange, PrivacyChoice};
use lanyard_core::ports::PrivacyRepo;
use lanyard_core::{AccountId, StoreError, Timestamp};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::{SqlStore, ts};
use crate::entity::{privacy_change as change, privacy_choice as choice};
use crate::error;

fn to_change(row: change::Model) -> PrivacyChange {
    PrivacyChange {
        account_id: AccountId(row.account_id),
        category: row.category,
        enabled: row.enabled,
        at: ts(row.at),
        actor: row.actor,
    }
}

#[async_trait]
impl PrivacyRepo for SqlStore {
    async fn privacy_choices(&self, account: AccountId) -> Result<Vec<PrivacyChoice>, StoreError> {
        Ok(choice::Entity::find()
            .filter(choice::Column::AccountId.eq(account.0))
            .order_by_asc(choice::Column::Category)
            .all(&self.db)
            .await
            .map_err(|e| error::db("list privacy choices", e))?
            .into_iter()
            .map(|row| PrivacyChoice {
                category: row.category,
                enabled: row.enabled,
                changed_at: ts(row.changed_at),
            })
            .collect())
    }

    async fn change_privacy(
        &self,
        account: AccountId,
        wanted: &[(String, bool)],
        actor: &str,
        at: Timestamp,
    ) -> Result<Vec<PrivacyChange>, StoreError> {
        const CONTEXT: &str = "change privacy choices";
        let txn = self.begin_write().await?;
        let stored: HashMap<String, bool> = choice::Entity::find()
            .filter(choice::Column::AccountId.eq(account.0))
            .all(&txn)
            .await
            .map_err(|e| error::db(CONTEXT, e))?
            .into_iter()
            .map(|row| (row.category, row.enabled))
            .collect();
        let mut changes = Vec::new();
        for (category, enabled) in wanted {
            if stored.get(category).copied().unwrap_or(false) == *enabled {
                continue;
            }
            let upsert = OnConflict::columns([choice::Column::AccountId, choice::Column::Category])
                .update_columns([choice::Column::Enabled, choice::Column::ChangedAt])
                .to_owned();
            choice::Entity::insert(choice::ActiveModel {
                account_id: Set(account.0),
                category: Set(category.clone()),
                enabled: Set(*enabled),
                changed_at: Set(at.seconds()),
            })
            .on_conflict(upsert)
            .exec_without_returning(&txn)
            .await
            .map_err(|e| error::db(CONTEXT, e))?;
            change::Entity::insert(change::ActiveModel {
                id: Set(self.new_id()),
                account_id: Set(account.0),
                category: Set(category.clone()),
                enabled: Set(*enabled),
                at: Set(at.seconds()),
                actor: Set(actor.to_owned()),
            })
            .exec_without_returning(&txn)
            .await
            .map_err(|e| error::db(CONTEXT, e))?;
            changes.push(PrivacyChange {
                account_id: account,
                category: category.clone(),
                enabled: *enabled,
                at,
                actor: actor.to_owned(),
            });
        }
        txn.commit().await.map_err(|e| error::db(CONTEXT, e))?;
        Ok(changes)
    }

    async fn privacy_history(
        &self,
        account: AccountId,
        limit: u64,
    ) -> Result<Vec<PrivacyChange>, StoreError> {
        Ok(change::Entity::find()
            .filter(change::Column::AccountId.eq(account.0))
            .order_by_desc(change::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await
            .map_err(|e| error::db("list privacy changes", e))?
            .into_iter()
            .map(to_change)
            .collect())
    }
}
