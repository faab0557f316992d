//! [`PatRepo`] on SQL. Revocation is a conditional update (`revoked_at IS NULL`), so of two
//! concurrent revocations one reports the change; `last_used_at` only moves forward.

use async_trait::async_trait;
use lanyard_core::model::{Pat, PatId, SiteUserId};
use lanyard_core::ports::PatRepo;
use lanyard_core::{AccountId, StoreError, Timestamp};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::{SqlStore, from_json, to_json, ts, unique_row};
use crate::entity::pat;
use crate::error;

fn to_pat(row: pat::Model) -> Result<Pat, StoreError> {
    Ok(Pat {
        id: PatId(row.id),
        account_id: AccountId(row.account_id),
        name: row.name,
        token_hash: row.token_hash,
        display: row.display,
        scopes: from_json(&row.scopes, "pat scopes")?,
        audiences: from_json(&row.audiences, "pat audiences")?,
        site_user: row.site_user_id.map(SiteUserId),
        created_at: ts(row.created_at),
        expires_at: row.expires_at.map(ts),
        last_used_at: row.last_used_at.map(ts),
        revoked_at: row.revoked_at.map(ts),
    })
}

fn live_at(now: Timestamp) -> Condition {
    Condition::all().add(pat::Column::RevokedAt.is_null()).add(
        Condition::any()
            .add(pat::Column::ExpiresAt.is_null())
            .add(pat::Column::ExpiresAt.gt(now.seconds())),
    )
}

#[async_trait]
impl PatRepo for SqlStore {
    async fn insert_pat(&self, p: &Pat) -> Result<(), StoreError> {
        let row = pat::ActiveModel {
            id: Set(p.id.0),
            account_id: Set(p.account_id.0),
            name: Set(p.name.clone()),
            token_hash: Set(p.token_hash.clone()),
            display: Set(p.display.clone()),
            scopes: Set(to_json(&p.scopes)?),
            audiences: Set(to_json(&p.audiences)?),
            site_user_id: Set(p.site_user.map(|u| u.0)),
            created_at: Set(p.created_at.seconds()),
            expires_at: Set(p.expires_at.map(Timestamp::seconds)),
            last_used_at: Set(p.last_used_at.map(Timestamp::seconds)),
            revoked_at: Set(p.revoked_at.map(Timestamp::seconds)),
        };
        pat::Entity::insert(row)
            .exec_without_returning(&self.db)
            .await
            .map_err(|e| error::db("insert pat", e))?;
        Ok(())
    }

    async fn find_pat_by_hash(&self, token_hash: &str) -> Result<Option<Pat>, StoreError> {
        // The exchange's lookup (on a cache miss): by the unique index, without a LIMIT.
        let select = pat::Entity::find().filter(pat::Column::TokenHash.eq(token_hash));
        unique_row(select, &self.db)
            .await
            .map_err(|e| error::db("find pat", e))?
            .map(to_pat)
            .transpose()
    }

    async fn get_pat(&self, id: PatId) -> Result<Option<Pat>, StoreError> {
        // Introspection asks this for every PAT-derived token: no bound LIMIT (`unique_row`).
        unique_row(pat::Entity::find_by_id(id.0), &self.db)
            .await
            .map_err(|e| error::db("get pat", e))?
            .map(to_pat)
            .transpose()
    }

    async fn list_pats(
        &self,
        account: Option<AccountId>,
        limit: u64,
    ) -> Result<Vec<Pat>, StoreError> {
        let mut query = pat::Entity::find().filter(pat::Column::RevokedAt.is_null());
        if let Some(account) = account {
            query = query.filter(pat::Column::AccountId.eq(account.0));
        }
        query
            .order_by_desc(pat::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await
            .map_err(|e| error::db("list pats", e))?
            .into_iter()
            .map(to_pat)
            .collect()
    }

    async fn count_live_pats(&self, account: AccountId, now: Timestamp) -> Result<u64, StoreError> {
        pat::Entity::find()
            .filter(pat::Column::AccountId.eq(account.0))
            .filter(live_at(now))
            .count(&self.db)
            .await
            .map_err(|e| error::db("count pats", e))
    }

    async fn revoke_pat(
        &self,
        id: PatId,
        owner: Option<AccountId>,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut update = pat::Entity::update_many()
            .col_expr(pat::Column::RevokedAt, Expr::value(now.seconds()))
            .filter(pat::Column::Id.eq(id.0))
            .filter(pat::Column::RevokedAt.is_null());
        if let Some(owner) = owner {
            update = update.filter(pat::Column::AccountId.eq(owner.0));
        }
        let result = update
            .exec(&self.db)
            .await
            .map_err(|e| error::db("revoke pat", e))?;
        Ok(result.rows_affected == 1)
    }

    async fn revoke_pats_of_account(
        &self,
        account: AccountId,
        now: Timestamp,
    ) -> Result<u64, StoreError> {
        let result = pat::Entity::update_many()
            .col_expr(pat::Column::RevokedAt, Expr::value(now.seconds()))
            .filter(pat::Column::AccountId.eq(account.0))
            .filter(pat::Column::RevokedAt.is_null())
            .exec(&self.db)
            .await
            .map_err(|e| error::db("revoke pats of account", e))?;
        Ok(result.rows_affected)
    }

    async fn touch_pat(&self, id: PatId, used_at: Timestamp) -> Result<(), StoreError> {
        pat::Entity::update_many()
            .col_expr(pat::Column::LastUsedAt, Expr::value(used_at.seconds()))
            .filter(pat::Column::Id.eq(id.0))
            .filter(
                Condition::any()
                    .add(pat::Column::LastUsedAt.is_null())
                    .add(pat::Column::LastUsedAt.lt(used_at.seconds())),
            )
            .exec(&self.db)
            .await
            .map_err(|e| error::db("touch pat", e))?;
        Ok(())
    }
}
