//! [`BackupCodeSetRepo`] on SQL. A code is used by `UPDATE … SET used_at = ? WHERE account_id
//! = ? AND code_hash = ? AND used_at IS NULL` with the row count deciding (S34): PostgreSQL
//! re-checks the WHERE clause after waiting for a concurrent writer, SQLite runs writers one
//! at a time. A new set deletes the old rows and inserts the new ones in one transaction
//! under the account's state-row lock (S35), so two replacements run one after the other and
//! an old code's use either commits first or finds its row gone; the first set is written
//! under the same lock only when none exists, so two tabs make one.

use async_trait::async_trait;
use lanyard_core::model::BackupCodeSet;
use lanyard_core::ports::BackupCodeSetRepo;
use lanyard_core::{AccountId, StoreError, Timestamp};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
};

use super::super::{SqlStore, ts, unique_row};
use super::rows::{commit, lock_state};
use crate::entity::{backup_code_set as set, backup_code_set_code as set_code};
use crate::error::{self, corrupt};

#[async_trait]
impl BackupCodeSetRepo for SqlStore {
    async fn backup_code_set(
        &self,
        account: AccountId,
    ) -> Result<Option<BackupCodeSet>, StoreError> {
        const CONTEXT: &str = "get backup code set";
        let Some(row) = unique_row(set::Entity::find_by_id(account.0), &self.db)
            .await
            .map_err(|e| error::db(CONTEXT, e))?
        else {
            return Ok(None);
        };
        let codes = set_code::Entity::find()
            .filter(set_code::Column::AccountId.eq(account.0))
            .order_by_asc(set_code::Column::Position)
            .all(&self.db)
            .await
            .map_err(|e| error::db(CONTEXT, e))?;
        // Positions are 0..n without gaps: anything else is not a set this store wrote.
        if codes
            .iter()
            .enumerate()
            .any(|(i, code)| usize::try_from(code.position).ok() != Some(i))
        {
            return Err(corrupt("backup code set positions"));
        }
        Ok(Some(BackupCodeSet {
            account_id: account,
            sealed: row.sealed_codes,
            created_at: ts(row.created_at),
            used_at: codes.iter().map(|code| code.used_at.map(ts)).collect(),
        }))
    }

    async fn unused_set_codes(&self, account: AccountId) -> Result<u32, StoreError> {
        let count = set_code::Entity::find()
            .filter(set_code::Column::AccountId.eq(account.0))
            .filter(set_code::Column::UsedAt.is_null())
            .count(&self.db)
            .await
            .map_err(|e| error::db("count backup set codes", e))?;
        u32::try_from(count).map_err(|_| corrupt("backup set code count"))
    }

    async fn replace_backup_code_set(
        &self,
        account: AccountId,
        sealed: &[u8],
        code_hashes: &[String],
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let write = SetWrite::Replace;
        self.write_set(account, sealed, code_hashes, now, write)
            .await
            .map(drop)
    }

    async fn create_first_backup_code_set(
        &self,
        account: AccountId,
        sealed: &[u8],
        code_hashes: &[String],
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let write = SetWrite::FirstOnly;
        self.write_set(account, sealed, code_hashes, now, write)
            .await
    }

    async fn consume_set_code(
        &self,
        account: AccountId,
        code_hash: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let used = set_code::Entity::update_many()
            .col_expr(set_code::Column::UsedAt, Expr::value(now.seconds()))
            .filter(set_code::Column::AccountId.eq(account.0))
            .filter(set_code::Column::CodeHash.eq(code_hash))
            .filter(set_code::Column::UsedAt.is_null())
            .exec(&self.db)
            .await
            .map_err(|e| error::db("consume backup set code", e))?;
        Ok(used.rows_affected == 1)
    }

    async fn delete_backup_code_set(&self, account: AccountId) -> Result<bool, StoreError> {
        const CONTEXT: &str = "delete backup code set";
        let txn = self.begin_write().await?;
        set_code::Entity::delete_many()
            .filter(set_code::Column::AccountId.eq(account.0))
            .exec(&txn)
            .await
            .map_err(|e| error::db(CONTEXT, e))?;
        let removed = set::Entity::delete_many()
            .filter(set::Column::AccountId.eq(account.0))
            .exec(&txn)
            .await
            .map_err(|e| error::db(CONTEXT, e))?;
        commit(txn, CONTEXT).await?;
        Ok(removed.rows_affected > 0)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SetWrite {
    Replace,
    FirstOnly,
}

impl SqlStore {
    /// The set written under the account's state-row lock, so the existence check of
    /// [`SetWrite::FirstOnly`] and the write are one step for concurrent callers.
    async fn write_set(
        &self,
        account: AccountId,
        sealed: &[u8],
        code_hashes: &[String],
        now: Timestamp,
        write: SetWrite,
    ) -> Result<bool, StoreError> {
        const CONTEXT: &str = "write backup code set";
        let positions = i32::try_from(code_hashes.len())
            .map_err(|_| StoreError::Other("too many backup codes".to_owned()))?;
        let txn = self.begin_write().await?;
        lock_state(&txn, account, CONTEXT).await?;
        if write == SetWrite::FirstOnly
            && unique_row(set::Entity::find_by_id(account.0), &txn)
                .await
                .map_err(|e| error::db(CONTEXT, e))?
                .is_some()
        {
            return Ok(false);
        }
        set_code::Entity::delete_many()
            .filter(set_code::Column::AccountId.eq(account.0))
            .exec(&txn)
            .await
            .map_err(|e| error::db(CONTEXT, e))?;
        set::Entity::delete_many()
            .filter(set::Column::AccountId.eq(account.0))
            .exec(&txn)
            .await
            .map_err(|e| error::db(CONTEXT, e))?;
        set::Entity::insert(set::ActiveModel {
            account_id: Set(account.0),
            sealed_codes: Set(sealed.to_vec()),
            created_at: Set(now.seconds()),
        })
        .exec_without_returning(&txn)
        .await
        .map_err(|e| error::db(CONTEXT, e))?;
        if positions > 0 {
            let rows =
                (0..positions)
                    .zip(code_hashes)
                    .map(|(position, hash)| set_code::ActiveModel {
                        account_id: Set(account.0),
                        position: Set(position),
                        code_hash: Set(hash.clone()),
                        used_at: Set(None),
                    });
            set_code::Entity::insert_many(rows)
                .exec_without_returning(&txn)
                .await
                .map_err(|e| error::db(CONTEXT, e))?;
        }
        commit(txn, CONTEXT).await?;
        Ok(true)
    }
}
