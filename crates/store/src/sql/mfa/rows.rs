//! The MFA tables' rows: conversions to core's records, and the per-account state row that
//! every multi-table change locks first (see the parent module for why).

use lanyard_core::model::{DeviceId, MfaMethod, MfaState, TotpCredential, TrustedDevice};
use lanyard_core::{AccountId, StoreError, Timestamp};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, EntityTrait,
    QueryFilter, QuerySelect,
};
use uuid::Uuid;

use super::super::{ts, unique_row};
use crate::entity::{
    backup_code as code, mfa_account as state, totp_credential as totp, trusted_device as device,
};
use crate::error::{self, corrupt};

pub(super) fn to_state(row: state::Model) -> Result<MfaState, StoreError> {
    Ok(MfaState {
        account_id: AccountId(row.account_id),
        method: MfaMethod::parse(&row.method).ok_or_else(|| corrupt("mfa method"))?,
        credential_epoch: row.credential_epoch,
        failures: u32::try_from(row.failures).map_err(|_| corrupt("mfa failure count"))?,
        last_failure_at: row.last_failure_at.map(ts),
    })
}

pub(super) fn to_totp(row: totp::Model) -> TotpCredential {
    TotpCredential {
        account_id: AccountId(row.account_id),
        secret_sealed: row.secret_sealed,
        last_used_step: row.last_used_step,
        created_at: ts(row.created_at),
        confirmed_at: row.confirmed_at.map(ts),
    }
}

pub(super) fn to_device(row: device::Model) -> TrustedDevice {
    TrustedDevice {
        id: DeviceId(row.id),
        account_id: AccountId(row.account_id),
        token_hash: row.token_hash,
        label: row.label,
        credential_epoch: row.credential_epoch,
        acr: row.acr,
        created_at: ts(row.created_at),
        expires_at: ts(row.expires_at),
        last_used_at: ts(row.last_used_at),
        revoked_at: row.revoked_at.map(ts),
    }
}

/// Devices not revoked and not expired at `now`: the ones a list shows and a revocation
/// counts.
pub(super) fn device_live_at(now: Timestamp) -> Condition {
    Condition::all()
        .add(device::Column::RevokedAt.is_null())
        .add(device::Column::ExpiresAt.gt(now.seconds()))
}

/// Inserts the default state row unless the account has one.
pub(super) async fn ensure_state<C: ConnectionTrait>(
    db: &C,
    account: AccountId,
    context: &'static str,
) -> Result<(), StoreError> {
    let default = MfaState::new(account);
    let row = state::ActiveModel {
        account_id: Set(account.0),
        method: Set(default.method.as_str().to_owned()),
        credential_epoch: Set(default.credential_epoch),
        failures: Set(0),
        last_failure_at: Set(None),
    };
    state::Entity::insert(row)
        .on_conflict(
            OnConflict::column(state::Column::AccountId)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await
        .map_err(|e| error::db(context, e))?;
    Ok(())
}

pub(super) async fn load_state<C: ConnectionTrait>(
    db: &C,
    account: AccountId,
    context: &'static str,
) -> Result<Option<state::Model>, StoreError> {
    unique_row(state::Entity::find_by_id(account.0), db)
        .await
        .map_err(|e| error::db(context, e))
}

/// Creates the state row if needed and locks it for the rest of `txn` (PostgreSQL; SQLite's
/// IMMEDIATE transaction already excludes every other writer).
pub(super) async fn lock_state(
    txn: &DatabaseTransaction,
    account: AccountId,
    context: &'static str,
) -> Result<state::Model, StoreError> {
    ensure_state(txn, account, context).await?;
    unique_row(state::Entity::find_by_id(account.0).lock_exclusive(), txn)
        .await
        .map_err(|e| error::db(context, e))?
        .ok_or_else(|| corrupt("mfa state vanished"))
}

/// An update of the account's state row (which must exist).
pub(super) fn update_state(account: AccountId) -> sea_orm::UpdateMany<state::Entity> {
    state::Entity::update_many().filter(state::Column::AccountId.eq(account.0))
}

pub(super) fn bump_epoch(
    update: sea_orm::UpdateMany<state::Entity>,
) -> sea_orm::UpdateMany<state::Entity> {
    update.col_expr(
        state::Column::CredentialEpoch,
        Expr::col(state::Column::CredentialEpoch).add(1),
    )
}

pub(super) fn method_is(
    update: sea_orm::UpdateMany<state::Entity>,
    method: MfaMethod,
) -> sea_orm::UpdateMany<state::Entity> {
    update.col_expr(state::Column::Method, Expr::value(method.as_str()))
}

pub(super) async fn rollback(
    txn: DatabaseTransaction,
    context: &'static str,
) -> Result<(), StoreError> {
    txn.rollback().await.map_err(|e| error::db(context, e))
}

pub(super) async fn commit(
    txn: DatabaseTransaction,
    context: &'static str,
) -> Result<(), StoreError> {
    txn.commit().await.map_err(|e| error::db(context, e))
}

pub(super) fn new_code(
    id: Uuid,
    account: AccountId,
    code_hash: &str,
    now: Timestamp,
) -> code::ActiveModel {
    code::ActiveModel {
        id: Set(id),
        account_id: Set(account.0),
        code_hash: Set(code_hash.to_owned()),
        created_at: Set(now.seconds()),
        used_at: Set(None),
    }
}
