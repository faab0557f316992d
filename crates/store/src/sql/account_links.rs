//! [`AccountLinkRepo`] on SQL. A link is spent by `SET used_at = ? WHERE used_at IS NULL AND
//! superseded_at IS NULL AND expires_at > ?` — the row count decides which of parallel uses
//! wins — and the account change it carries is in the same transaction, so a link is never
//! spent without its change, nor the change made twice.

use async_trait::async_trait;
use lanyard_core::model::{AccountLink, AccountLinkId, AccountStatus, LinkPurpose};
use lanyard_core::ports::AccountLinkRepo;
use lanyard_core::{AccountId, StoreError, Timestamp};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use super::{SqlStore, ts, unique_row};
use crate::entity::account;
use crate::entity::account_link::{ActiveModel, Column, Entity, Model};
use crate::error::{self, corrupt};

fn to_domain(row: Model) -> Result<AccountLink, StoreError> {
    Ok(AccountLink {
        id: AccountLinkId(row.id),
        account_id: AccountId(row.account_id),
        purpose: LinkPurpose::parse(&row.purpose).ok_or_else(|| corrupt("link purpose"))?,
        token_hash: row.token_hash,
        email: row.email,
        name: row.name,
        password_hash: row.password_hash,
        created_at: ts(row.created_at),
        expires_at: ts(row.expires_at),
        used_at: row.used_at.map(ts),
        superseded_at: row.superseded_at.map(ts),
    })
}

/// Spends the link on `db` (a transaction); true when this call did.
async fn spend<C: ConnectionTrait>(
    db: &C,
    id: AccountLinkId,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let result = Entity::update_many()
        .col_expr(Column::UsedAt, Expr::value(now.seconds()))
        .filter(Column::Id.eq(id.0))
        .filter(Column::UsedAt.is_null())
        .filter(Column::SupersededAt.is_null())
        .filter(Column::ExpiresAt.gt(now.seconds()))
        .exec(db)
        .await
        .map_err(|e| error::db("use account link", e))?;
    Ok(result.rows_affected == 1)
}

#[async_trait]
impl AccountLinkRepo for SqlStore {
    async fn insert_account_link(&self, link: &AccountLink) -> Result<(), StoreError> {
        const CONTEXT: &str = "insert account link";
        let txn = self.begin_write().await?;
        Entity::update_many()
            .col_expr(Column::SupersededAt, Expr::value(link.created_at.seconds()))
            .filter(Column::AccountId.eq(link.account_id.0))
            .filter(Column::Purpose.eq(link.purpose.as_str()))
            .filter(Column::UsedAt.is_null())
            .filter(Column::SupersededAt.is_null())
            .exec(&txn)
            .await
            .map_err(|e| error::db(CONTEXT, e))?;
        let row = ActiveModel {
            id: Set(link.id.0),
            account_id: Set(link.account_id.0),
            purpose: Set(link.purpose.as_str().to_owned()),
            token_hash: Set(link.token_hash.clone()),
            email: Set(link.email.clone()),
            name: Set(link.name.clone()),
            password_hash: Set(link.password_hash.clone()),
            created_at: Set(link.created_at.seconds()),
            expires_at: Set(link.expires_at.seconds()),
            used_at: Set(link.used_at.map(|t| t.seconds())),
            superseded_at: Set(link.superseded_at.map(|t| t.seconds())),
        };
        Entity::insert(row)
            .exec_without_returning(&txn)
            .await
            .map_err(|e| error::db(CONTEXT, e))?;
        txn.commit().await.map_err(|e| error::db(CONTEXT, e))
    }

    async fn find_account_link(&self, token_hash: &str) -> Result<Option<AccountLink>, StoreError> {
        unique_row(
            Entity::find().filter(Column::TokenHash.eq(token_hash)),
            &self.db,
        )
        .await
        .map_err(|e| error::db("find account link", e))?
        .map(to_domain)
        .transpose()
    }

    async fn use_account_link(
        &self,
        id: AccountLinkId,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        spend(&self.db, id, now).await
    }

    async fn verify_account_email(
        &self,
        link: AccountLinkId,
        account_id: AccountId,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        const CONTEXT: &str = "verify account email";
        let txn = self.begin_write().await?;
        if !spend(&txn, link, now).await? {
            txn.rollback().await.map_err(|e| error::db(CONTEXT, e))?;
            return Ok(false);
        }
        let row = unique_row(Entity::find().filter(Column::Id.eq(link.0)), &txn)
            .await
            .map_err(|e| error::db(CONTEXT, e))?
            .ok_or(StoreError::NotFound)?;
        let mut update = account::Entity::update_many();
        if let Some(name) = row.name {
            update = update.col_expr(account::Column::Name, Expr::value(name));
        }
        if let Some(hash) = row.password_hash {
            update = update.col_expr(account::Column::PasswordHash, Expr::value(hash));
        }
        let result = update
            .col_expr(
                account::Column::Status,
                Expr::value(AccountStatus::Active.as_str()),
            )
            .col_expr(account::Column::EmailVerified, Expr::value(true))
            .col_expr(account::Column::UpdatedAt, Expr::value(now.seconds()))
            .filter(account::Column::Id.eq(account_id.0))
            .filter(account::Column::Status.eq(AccountStatus::Invited.as_str()))
            .exec(&txn)
            .await
            .map_err(|e| error::db(CONTEXT, e))?;
        if result.rows_affected != 1 {
            txn.rollback().await.map_err(|e| error::db(CONTEXT, e))?;
            return Ok(false);
        }
        txn.commit().await.map_err(|e| error::db(CONTEXT, e))?;
        Ok(true)
    }

    async fn change_account_email(
        &self,
        link: AccountLinkId,
        account_id: AccountId,
        email: &str,
        email_normalized: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        const CONTEXT: &str = "change account email";
        let txn = self.begin_write().await?;
        if !spend(&txn, link, now).await? {
            txn.rollback().await.map_err(|e| error::db(CONTEXT, e))?;
            return Ok(false);
        }
        // The unique index on `email_normalized` refuses an address taken meanwhile; the
        // transaction then rolls back, link included.
        let result = account::Entity::update_many()
            .col_expr(account::Column::Email, Expr::value(email))
            .col_expr(
                account::Column::EmailNormalized,
                Expr::value(email_normalized),
            )
            .col_expr(account::Column::EmailVerified, Expr::value(true))
            .col_expr(account::Column::UpdatedAt, Expr::value(now.seconds()))
            .filter(account::Column::Id.eq(account_id.0))
            .filter(account::Column::Status.eq(AccountStatus::Active.as_str()))
            .exec(&txn)
            .await;
        let result = match result {
            Ok(result) => result,
            Err(e) => {
                let mapped = error::db(CONTEXT, e);
                txn.rollback().await.map_err(|e| error::db(CONTEXT, e))?;
                return Err(mapped);
            }
        };
        if result.rows_affected != 1 {
            txn.rollback().await.map_err(|e| error::db(CONTEXT, e))?;
            return Ok(false);
        }
        txn.commit().await.map_err(|e| error::db(CONTEXT, e))?;
        Ok(true)
    }
}
