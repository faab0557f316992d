//! Reads over many site users: the migration's progress counts and the site 2FA policy's
//! "since when must this account have an authenticator app".

use std::collections::HashMap;

use lanyard_core::model::{MigrationProgress, SiteId, SiteRole};
use lanyard_core::{AccountId, StoreError, Timestamp};
use sea_orm::sea_query::{Cond, Expr, ExprTrait, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QuerySelect,
};

use super::super::ts;
use crate::entity::{site, site_invitation as invitation, site_user as user};
use crate::error;

/// `(site_user_id, id, created_at, expires_at, accepted_at, superseded_at, bounced_at)`.
type InvitationState = (
    uuid::Uuid,
    uuid::Uuid,
    i64,
    i64,
    Option<i64>,
    Option<i64>,
    Option<i64>,
);

/// Every unlinked site user falls in exactly one bucket, by their latest invitation: none or
/// superseded (an email change retired it) → not invited; bounced or expired unaccepted →
/// expired or bounced; otherwise (live, or accepted with the link still to come) → invited.
pub(super) async fn migration_progress(
    db: &DatabaseConnection,
    site_id: SiteId,
    now: Timestamp,
) -> Result<MigrationProgress, StoreError> {
    const CONTEXT: &str = "migration progress";
    let of_site = || user::Entity::find().filter(user::Column::SiteId.eq(site_id.0));
    let total = of_site()
        .count(db)
        .await
        .map_err(|e| error::db(CONTEXT, e))?;
    let linked = of_site()
        .filter(user::Column::AccountId.is_not_null())
        .count(db)
        .await
        .map_err(|e| error::db(CONTEXT, e))?;
    let unlinked_users = Query::select()
        .column(user::Column::Id)
        .from(user::Entity)
        .and_where(user::Column::SiteId.eq(site_id.0))
        .and_where(user::Column::AccountId.is_null())
        .to_owned();
    let rows: Vec<InvitationState> = invitation::Entity::find()
        .select_only()
        .column(invitation::Column::SiteUserId)
        .column(invitation::Column::Id)
        .column(invitation::Column::CreatedAt)
        .column(invitation::Column::ExpiresAt)
        .column(invitation::Column::AcceptedAt)
        .column(invitation::Column::SupersededAt)
        .column(invitation::Column::BouncedAt)
        .filter(invitation::Column::SiteUserId.in_subquery(unlinked_users))
        .into_tuple()
        .all(db)
        .await
        .map_err(|e| error::db(CONTEXT, e))?;
    let mut latest: HashMap<uuid::Uuid, InvitationState> = HashMap::new();
    for row in rows {
        let newer = latest.get(&row.0).is_none_or(|seen| {
            super::lists::recency(row.5, row.2, row.1)
                > super::lists::recency(seen.5, seen.2, seen.1)
        });
        if newer {
            latest.insert(row.0, row);
        }
    }
    let mut progress = MigrationProgress {
        total,
        linked,
        ..MigrationProgress::default()
    };
    for (_, _, _, expires_at, accepted_at, superseded_at, bounced_at) in latest.into_values() {
        if superseded_at.is_some() {
            continue;
        }
        if bounced_at.is_some() || (accepted_at.is_none() && expires_at <= now.seconds()) {
            progress.expired_or_bounced += 1;
        } else {
            progress.invited += 1;
        }
    }
    progress.not_invited = (total - linked)
        .saturating_sub(progress.invited)
        .saturating_sub(progress.expired_or_bounced);
    Ok(progress)
}

/// One query over the account's site users (as principal, or as the linked identity) whose
/// role needs two factors, at sites with the preference on. For a linked identity the
/// requirement starts at the later of the preference and the link; the answer is the earliest
/// start over those sites (from then on every sign-in of the account had to meet it).
pub(super) async fn two_factor_required_since(
    db: &DatabaseConnection,
    account: AccountId,
) -> Result<Option<Timestamp>, StoreError> {
    const CONTEXT: &str = "site two-factor policy";
    let roles = [
        SiteRole::LicensedUser,
        SiteRole::Admin,
        SiteRole::ClientUser,
    ]
    .into_iter()
    .filter(|role| role.needs_two_factor())
    .map(SiteRole::as_str);
    let query = Query::select()
        .column((site::Entity, site::Column::TwoFactorRequiredSince))
        .column((user::Entity, user::Column::Principal))
        .column((user::Entity, user::Column::LinkedAt))
        .from(user::Entity)
        .inner_join(
            site::Entity,
            Expr::col((site::Entity, site::Column::Id))
                .equals((user::Entity, user::Column::SiteId)),
        )
        .cond_where(
            Cond::all()
                .add(
                    Cond::any()
                        .add(Expr::col((user::Entity, user::Column::Principal)).eq(account.0))
                        .add(Expr::col((user::Entity, user::Column::AccountId)).eq(account.0)),
                )
                .add(Expr::col((user::Entity, user::Column::Role)).is_in(roles))
                .add(Expr::col((site::Entity, site::Column::TwoFactorRequiredSince)).is_not_null()),
        )
        .to_owned();
    let statement = db.get_database_backend().build(&query);
    let rows = db
        .query_all_raw(statement)
        .await
        .map_err(|e| error::db(CONTEXT, e))?;
    let mut earliest: Option<i64> = None;
    for row in rows {
        let since: i64 = row.try_get_by_index(0).map_err(|e| error::db(CONTEXT, e))?;
        let principal: uuid::Uuid = row.try_get_by_index(1).map_err(|e| error::db(CONTEXT, e))?;
        let linked_at: Option<i64> = row.try_get_by_index(2).map_err(|e| error::db(CONTEXT, e))?;
        let start = if principal == account.0 {
            since
        } else {
            Ord::max(since, linked_at.unwrap_or(since))
        };
        earliest = Some(earliest.map_or(start, |e| Ord::min(e, start)));
    }
    Ok(earliest.map(ts))
}
