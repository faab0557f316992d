//! Entering `identity` (C5): in the transaction that moves the state, every legacy
//! credential of the site goes — the imported hashes, the principals' passwords (promoted
//! legacy passwords), authenticator apps, backup codes and code sets — and the principals are
//! disabled with their grants and trusted devices revoked. Sessions of a disabled account are
//! refused by `signin::session::current`; the caller ends them (and queues their back-channel
//! logouts) afterwards.

use lanyard_core::model::{AccountStatus, MfaMethod, SiteId};
use lanyard_core::{StoreError, Timestamp};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter};

use super::rows::principals_of;
use crate::entity::{
    account, backup_code, backup_code_set, backup_code_set_code, mfa_account, refresh_family,
    site_user, totp_credential, trusted_device,
};
use crate::error;

const CONTEXT: &str = "erase legacy credentials";

pub(super) async fn erase_legacy_credentials(
    txn: &DatabaseTransaction,
    site: SiteId,
    now: Timestamp,
) -> Result<(), StoreError> {
    let at = now.seconds();
    let db = |e| error::db(CONTEXT, e);
    site_user::Entity::update_many()
        .col_expr(
            site_user::Column::LegacyPasswordHash,
            Expr::value(Option::<String>::None),
        )
        .col_expr(site_user::Column::UpdatedAt, Expr::value(at))
        .filter(site_user::Column::SiteId.eq(site.0))
        .filter(site_user::Column::LegacyPasswordHash.is_not_null())
        .exec(txn)
        .await
        .map_err(db)?;
    totp_credential::Entity::delete_many()
        .filter(totp_credential::Column::AccountId.in_subquery(principals_of(site)))
        .exec(txn)
        .await
        .map_err(db)?;
    backup_code::Entity::delete_many()
        .filter(backup_code::Column::AccountId.in_subquery(principals_of(site)))
        .exec(txn)
        .await
        .map_err(db)?;
    erase_principal_code_sets(txn, site).await?;
    // A new epoch: whatever trusted a principal's old second factor trusts nothing now.
    mfa_account::Entity::update_many()
        .col_expr(
            mfa_account::Column::Method,
            Expr::value(MfaMethod::Email.as_str()),
        )
        .col_expr(
            mfa_account::Column::CredentialEpoch,
            Expr::col(mfa_account::Column::CredentialEpoch).add(1),
        )
        .filter(mfa_account::Column::AccountId.in_subquery(principals_of(site)))
        .exec(txn)
        .await
        .map_err(db)?;
    trusted_device::Entity::update_many()
        .col_expr(trusted_device::Column::RevokedAt, Expr::value(at))
        .filter(trusted_device::Column::AccountId.in_subquery(principals_of(site)))
        .filter(trusted_device::Column::RevokedAt.is_null())
        .exec(txn)
        .await
        .map_err(db)?;
    refresh_family::Entity::update_many()
        .col_expr(refresh_family::Column::RevokedAt, Expr::value(at))
        .col_expr(
            refresh_family::Column::GraceFromHash,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            refresh_family::Column::GraceRotatedAt,
            Expr::value(Option::<i64>::None),
        )
        .col_expr(
            refresh_family::Column::GraceSuccessorSealed,
            Expr::value(Option::<Vec<u8>>::None),
        )
        .filter(refresh_family::Column::AccountId.in_subquery(principals_of(site)))
        .filter(refresh_family::Column::RevokedAt.is_null())
        .exec(txn)
        .await
        .map_err(db)?;
    account::Entity::update_many()
        .col_expr(
            account::Column::Status,
            Expr::value(AccountStatus::Disabled.as_str()),
        )
        .col_expr(
            account::Column::PasswordHash,
            Expr::value(Option::<String>::None),
        )
        .col_expr(account::Column::UpdatedAt, Expr::value(at))
        .filter(account::Column::Id.in_subquery(principals_of(site)))
        .exec(txn)
        .await
        .map_err(db)?;
    Ok(())
}

/// The principals' sets of backup codes (C4, `m0012_backup_code_sets`): every code and the
/// sealed copy, in the transaction that enters `identity`.
async fn erase_principal_code_sets(
    txn: &DatabaseTransaction,
    site: SiteId,
) -> Result<(), StoreError> {
    let db = |e| error::db(CONTEXT, e);
    backup_code_set_code::Entity::delete_many()
        .filter(backup_code_set_code::Column::AccountId.in_subquery(principals_of(site)))
        .exec(txn)
        .await
        .map_err(db)?;
    backup_code_set::Entity::delete_many()
        .filter(backup_code_set::Column::AccountId.in_subquery(principals_of(site)))
        .exec(txn)
        .await
        .map_err(db)?;
    Ok(())
}
