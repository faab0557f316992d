//! [`MfaRepo`] on SQL: the second step's lockout counter, authenticator-app credentials,
//! backup codes and trusted devices.
//!
//! Every "exactly once" rule is a conditional update whose row count decides: a TOTP step is
//! accepted by `SET last_used_step = ? WHERE last_used_step IS NULL OR last_used_step < ?`,
//! a backup code is used by `SET used_at = ? WHERE used_at IS NULL`, a pending credential is
//! confirmed by the update that turns it active. PostgreSQL re-checks the WHERE clause after
//! waiting for a concurrent writer's row lock; SQLite's IMMEDIATE transactions run one at a
//! time. Counters are incremented in SQL (`failures = failures + 1`), never read-modify-write.
//!
//! The `mfa_accounts` row is created on first write (the default state, `ON CONFLICT DO
//! NOTHING`). Transactions that change more than one table first lock that row (`SELECT …
//! FOR UPDATE`; SQLite needs no row lock), so two of them on one account run one after the
//! other on PostgreSQL too: under READ COMMITTED a statement does not see rows a concurrent
//! transaction inserted after the statement began, so without the lock two replacements of
//! a backup code could each retire the old code and both insert a new one.

use async_trait::async_trait;
use lanyard_core::model::{
    BackupCodeInfo, DeviceId, MfaMethod, MfaState, TotpCredential, TrustedDevice,
};
use lanyard_core::ports::MfaRepo;
use lanyard_core::{AccountId, StoreError, Timestamp};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ActiveValue::Set, ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder};

use super::{SqlStore, ts, unique_row};
use crate::entity::{
    backup_code as code, mfa_account as state, totp_credential as totp, trusted_device as device,
};
use crate::error::{self, corrupt};
use rows::{
    bump_epoch, commit, device_live_at, ensure_state, load_state, lock_state, method_is, new_code,
    rollback, to_device, to_state, to_totp, update_state,
};

mod code_sets;
mod rows;

#[async_trait]
impl MfaRepo for SqlStore {
    async fn mfa_state(&self, account: AccountId) -> Result<MfaState, StoreError> {
        match load_state(&self.db, account, "get mfa state").await? {
            Some(row) => to_state(row),
            None => Ok(MfaState::new(account)),
        }
    }

    async fn record_mfa_failure(
        &self,
        account: AccountId,
        now: Timestamp,
    ) -> Result<MfaState, StoreError> {
        const CONTEXT: &str = "record mfa failure";
        let txn = self.begin_write().await?;
        ensure_state(&txn, account, CONTEXT).await?;
        update_state(account)
            .col_expr(
                state::Column::Failures,
                Expr::col(state::Column::Failures).add(1),
            )
            .col_expr(state::Column::LastFailureAt, Expr::value(now.seconds()))
            .exec(&txn)
            .await
            .map_err(|e| error::db(CONTEXT, e))?;
        // Read inside the transaction: exactly this call's increment, not a later one.
        let row = load_state(&txn, account, CONTEXT)
            .await?
            .ok_or_else(|| corrupt("mfa state vanished"))?;
        commit(txn, CONTEXT).await?;
        to_state(row)
    }

    async fn reserve_mfa_attempt(
        &self,
        account: AccountId,
        now: Timestamp,
        open: &(dyn for<'s> Fn(&'s MfaState) -> bool + Send + Sync),
    ) -> Result<Option<(MfaState, MfaState)>, StoreError> {
        const CONTEXT: &str = "reserve mfa attempt";
        let txn = self.begin_write().await?;
        // Locked row (PostgreSQL) or the one writer (SQLite): the decision and the increment
        // see no concurrent change in between.
        let before = to_state(lock_state(&txn, account, CONTEXT).await?)?;
        if !open(&before) {
            rollback(txn, CONTEXT).await?;
            return Ok(None);
        }
        update_state(account)
            .col_expr(
                state::Column::Failures,
                Expr::col(state::Column::Failures).add(1),
            )
            .col_expr(state::Column::LastFailureAt, Expr::value(now.seconds()))
            .exec(&txn)
            .await
            .map_err(|e| error::db(CONTEXT, e))?;
        let row = load_state(&txn, account, CONTEXT)
            .await?
            .ok_or_else(|| corrupt("mfa state vanished"))?;
        commit(txn, CONTEXT).await?;
        Ok(Some((before, to_state(row)?)))
    }

    async fn release_mfa_attempt(
        &self,
        account: AccountId,
        reserved_at: Timestamp,
        restore: Option<Timestamp>,
    ) -> Result<(), StoreError> {
        const CONTEXT: &str = "release mfa attempt";
        let txn = self.begin_write().await?;
        let current = to_state(lock_state(&txn, account, CONTEXT).await?)?;
        if current.failures == 0 {
            rollback(txn, CONTEXT).await?;
            return Ok(());
        }
        // Another failure stamped since keeps its time; otherwise the reservation's stamp goes.
        let last = if current.last_failure_at == Some(reserved_at) {
            restore
        } else {
            current.last_failure_at
        };
        update_state(account)
            .col_expr(
                state::Column::Failures,
                Expr::col(state::Column::Failures).sub(1),
            )
            .col_expr(
                state::Column::LastFailureAt,
                Expr::value(last.map(Timestamp::seconds)),
            )
            .exec(&txn)
            .await
            .map_err(|e| error::db(CONTEXT, e))?;
        commit(txn, CONTEXT).await
    }

    async fn clear_mfa_failures(&self, account: AccountId) -> Result<(), StoreError> {
        // No row means no failures: nothing to insert.
        update_state(account)
            .col_expr(state::Column::Failures, Expr::value(0))
            .col_expr(
                state::Column::LastFailureAt,
                Expr::value(Option::<i64>::None),
            )
            .exec(&self.db)
            .await
            .map_err(|e| error::db("clear mfa failures", e))?;
        Ok(())
    }

    async fn bump_credential_epoch(&self, account: AccountId) -> Result<i64, StoreError> {
        const CONTEXT: &str = "bump credential epoch";
        let txn = self.begin_write().await?;
        ensure_state(&txn, account, CONTEXT).await?;
        bump_epoch(update_state(account))
            .exec(&txn)
            .await
            .map_err(|e| error::db(CONTEXT, e))?;
        let row = load_state(&txn, account, CONTEXT)
            .await?
            .ok_or_else(|| corrupt("mfa state vanished"))?;
        commit(txn, CONTEXT).await?;
        Ok(row.credential_epoch)
    }

    async fn totp_credential(
        &self,
        account: AccountId,
        pending: bool,
    ) -> Result<Option<TotpCredential>, StoreError> {
        Ok(
            unique_row(totp::Entity::find_by_id((account.0, pending)), &self.db)
                .await
                .map_err(|e| error::db("find totp credential", e))?
                .map(to_totp),
        )
    }

    async fn put_pending_totp(
        &self,
        account: AccountId,
        secret_sealed: &[u8],
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let row = totp::ActiveModel {
            account_id: Set(account.0),
            pending: Set(true),
            secret_sealed: Set(secret_sealed.to_vec()),
            last_used_step: Set(None),
            created_at: Set(now.seconds()),
            confirmed_at: Set(None),
        };
        // One statement: a second setup replaces the first pending secret whole.
        let on_conflict = OnConflict::columns([totp::Column::AccountId, totp::Column::Pending])
            .update_columns([
                totp::Column::SecretSealed,
                totp::Column::LastUsedStep,
                totp::Column::CreatedAt,
                totp::Column::ConfirmedAt,
            ])
            .to_owned();
        totp::Entity::insert(row)
            .on_conflict(on_conflict)
            .exec_without_returning(&self.db)
            .await
            .map_err(|e| error::db("put pending totp", e))?;
        Ok(())
    }

    async fn activate_pending_totp(
        &self,
        account: AccountId,
        checked_secret: &[u8],
        step: i64,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        const CONTEXT: &str = "activate totp";
        let txn = self.begin_write().await?;
        lock_state(&txn, account, CONTEXT).await?;
        // The old active credential makes room for the new one (same key but `pending`).
        // Undone by the rollback below when there turns out to be nothing to activate.
        totp::Entity::delete_many()
            .filter(totp::Column::AccountId.eq(account.0))
            .filter(totp::Column::Pending.eq(false))
            .exec(&txn)
            .await
            .map_err(|e| error::db(CONTEXT, e))?;
        let activated = totp::Entity::update_many()
            .col_expr(totp::Column::Pending, Expr::value(false))
            .col_expr(totp::Column::ConfirmedAt, Expr::value(now.seconds()))
            .col_expr(totp::Column::LastUsedStep, Expr::value(step))
            .filter(totp::Column::AccountId.eq(account.0))
            .filter(totp::Column::Pending.eq(true))
            .filter(totp::Column::SecretSealed.eq(checked_secret.to_vec()))
            .exec(&txn)
            .await
            .map_err(|e| error::db(CONTEXT, e))?;
        if activated.rows_affected != 1 {
            // A concurrent confirm won (or nothing was set up): keep the active credential.
            rollback(txn, CONTEXT).await?;
            return Ok(false);
        }
        bump_epoch(method_is(update_state(account), MfaMethod::Totp))
            .exec(&txn)
            .await
            .map_err(|e| error::db(CONTEXT, e))?;
        commit(txn, CONTEXT).await?;
        Ok(true)
    }

    async fn advance_totp_step(&self, account: AccountId, step: i64) -> Result<bool, StoreError> {
        let later = Condition::any()
            .add(totp::Column::LastUsedStep.is_null())
            .add(totp::Column::LastUsedStep.lt(step));
        let result = totp::Entity::update_many()
            .col_expr(totp::Column::LastUsedStep, Expr::value(step))
            .filter(totp::Column::AccountId.eq(account.0))
            .filter(totp::Column::Pending.eq(false))
            .filter(later)
            .exec(&self.db)
            .await
            .map_err(|e| error::db("advance totp step", e))?;
        Ok(result.rows_affected == 1)
    }

    async fn delete_totp(&self, account: AccountId) -> Result<bool, StoreError> {
        const CONTEXT: &str = "delete totp";
        let txn = self.begin_write().await?;
        lock_state(&txn, account, CONTEXT).await?;
        let active = totp::Entity::delete_many()
            .filter(totp::Column::AccountId.eq(account.0))
            .filter(totp::Column::Pending.eq(false))
            .exec(&txn)
            .await
            .map_err(|e| error::db(CONTEXT, e))?;
        totp::Entity::delete_many()
            .filter(totp::Column::AccountId.eq(account.0))
            .exec(&txn)
            .await
            .map_err(|e| error::db(CONTEXT, e))?;
        let removed = active.rows_affected > 0;
        // Nothing was on: devices keep their trust.
        if removed {
            bump_epoch(method_is(update_state(account), MfaMethod::Email))
                .exec(&txn)
                .await
                .map_err(|e| error::db(CONTEXT, e))?;
        }
        commit(txn, CONTEXT).await?;
        Ok(removed)
    }

    async fn set_mfa_method(
        &self,
        account: AccountId,
        method: MfaMethod,
    ) -> Result<(), StoreError> {
        const CONTEXT: &str = "set mfa method";
        let txn = self.begin_write().await?;
        ensure_state(&txn, account, CONTEXT).await?;
        method_is(update_state(account), method)
            .exec(&txn)
            .await
            .map_err(|e| error::db(CONTEXT, e))?;
        commit(txn, CONTEXT).await
    }

    async fn backup_code(&self, account: AccountId) -> Result<Option<BackupCodeInfo>, StoreError> {
        // Unique in practice: `replace_backup_code` retires the unused code under the state
        // lock before inserting the next, so an account has at most one.
        let row = unique_row(
            code::Entity::find()
                .filter(code::Column::AccountId.eq(account.0))
                .filter(code::Column::UsedAt.is_null())
                .order_by_desc(code::Column::CreatedAt),
            &self.db,
        )
        .await
        .map_err(|e| error::db("find backup code", e))?;
        Ok(row.map(|row| BackupCodeInfo {
            created_at: ts(row.created_at),
        }))
    }

    async fn consume_backup_code(
        &self,
        account: AccountId,
        code_hash: &str,
        replacement_hash: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        const CONTEXT: &str = "consume backup code";
        let txn = self.begin_write().await?;
        lock_state(&txn, account, CONTEXT).await?;
        let used = code::Entity::update_many()
            .col_expr(code::Column::UsedAt, Expr::value(now.seconds()))
            .filter(code::Column::AccountId.eq(account.0))
            .filter(code::Column::CodeHash.eq(code_hash))
            .filter(code::Column::UsedAt.is_null())
            .exec(&txn)
            .await
            .map_err(|e| error::db(CONTEXT, e))?;
        if used.rows_affected != 1 {
            rollback(txn, CONTEXT).await?;
            return Ok(false);
        }
        code::Entity::insert(new_code(self.new_id(), account, replacement_hash, now))
            .exec_without_returning(&txn)
            .await
            .map_err(|e| error::db(CONTEXT, e))?;
        commit(txn, CONTEXT).await?;
        Ok(true)
    }

    async fn replace_backup_code(
        &self,
        account: AccountId,
        code_hash: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        const CONTEXT: &str = "replace backup code";
        let txn = self.begin_write().await?;
        lock_state(&txn, account, CONTEXT).await?;
        code::Entity::update_many()
            .col_expr(code::Column::UsedAt, Expr::value(now.seconds()))
            .filter(code::Column::AccountId.eq(account.0))
            .filter(code::Column::UsedAt.is_null())
            .exec(&txn)
            .await
            .map_err(|e| error::db(CONTEXT, e))?;
        code::Entity::insert(new_code(self.new_id(), account, code_hash, now))
            .exec_without_returning(&txn)
            .await
            .map_err(|e| error::db(CONTEXT, e))?;
        commit(txn, CONTEXT).await
    }

    async fn insert_trusted_device(&self, d: &TrustedDevice) -> Result<(), StoreError> {
        let row = device::ActiveModel {
            id: Set(d.id.0),
            account_id: Set(d.account_id.0),
            token_hash: Set(d.token_hash.clone()),
            label: Set(d.label.clone()),
            credential_epoch: Set(d.credential_epoch),
            acr: Set(d.acr.clone()),
            created_at: Set(d.created_at.seconds()),
            expires_at: Set(d.expires_at.seconds()),
            last_used_at: Set(d.last_used_at.seconds()),
            revoked_at: Set(d.revoked_at.map(Timestamp::seconds)),
        };
        device::Entity::insert(row)
            .exec_without_returning(&self.db)
            .await
            .map_err(|e| error::db("insert trusted device", e))?;
        Ok(())
    }

    async fn find_trusted_device(
        &self,
        token_hash: &str,
    ) -> Result<Option<TrustedDevice>, StoreError> {
        Ok(unique_row(
            device::Entity::find().filter(device::Column::TokenHash.eq(token_hash)),
            &self.db,
        )
        .await
        .map_err(|e| error::db("find trusted device", e))?
        .map(to_device))
    }

    async fn touch_trusted_device(&self, id: DeviceId, now: Timestamp) -> Result<(), StoreError> {
        // A device revoked or deleted meanwhile is no error: the caller checked it a moment
        // ago, and a stale `last_used_at` harms nobody.
        device::Entity::update_many()
            .col_expr(device::Column::LastUsedAt, Expr::value(now.seconds()))
            .filter(device::Column::Id.eq(id.0))
            .exec(&self.db)
            .await
            .map_err(|e| error::db("touch trusted device", e))?;
        Ok(())
    }

    async fn list_trusted_devices(
        &self,
        account: AccountId,
        now: Timestamp,
    ) -> Result<Vec<TrustedDevice>, StoreError> {
        // Ties in the second broken by id: UUIDv7, so the later insert comes first.
        Ok(device::Entity::find()
            .filter(device::Column::AccountId.eq(account.0))
            .filter(device_live_at(now))
            .order_by_desc(device::Column::CreatedAt)
            .order_by_desc(device::Column::Id)
            .all(&self.db)
            .await
            .map_err(|e| error::db("list trusted devices", e))?
            .into_iter()
            .map(to_device)
            .collect())
    }

    async fn revoke_trusted_device(
        &self,
        account: AccountId,
        id: DeviceId,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let result = device::Entity::update_many()
            .col_expr(device::Column::RevokedAt, Expr::value(now.seconds()))
            .filter(device::Column::AccountId.eq(account.0))
            .filter(device::Column::Id.eq(id.0))
            .filter(device_live_at(now))
            .exec(&self.db)
            .await
            .map_err(|e| error::db("revoke trusted device", e))?;
        Ok(result.rows_affected == 1)
    }

    async fn revoke_trusted_devices(
        &self,
        account: AccountId,
        now: Timestamp,
    ) -> Result<u64, StoreError> {
        // Expired devices are dead already and keep their row as it was.
        let result = device::Entity::update_many()
            .col_expr(device::Column::RevokedAt, Expr::value(now.seconds()))
            .filter(device::Column::AccountId.eq(account.0))
            .filter(device_live_at(now))
            .exec(&self.db)
            .await
            .map_err(|e| error::db("revoke trusted devices", e))?;
        Ok(result.rows_affected)
    }
}
