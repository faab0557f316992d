//! Site users read with what the migration's pages and tokens need: their latest invitation
//! (the progress lists), the site users an identity account is linked to (the PAT form), and
//! ending a link.

use std::collections::HashMap;

use lanyard_core::model::{Invitation, SiteUser, SiteUserId};
use lanyard_core::{AccountId, StoreError, Timestamp};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};

use super::rows::{to_invitation, to_user};
use crate::entity::{site_invitation as invitation, site_user as user};
use crate::error;

/// How "latest" compares a site user's invitations: the one not superseded first (sending
/// supersedes every earlier open one in its transaction, so at most one is open), then the
/// newer. The creation time alone is not enough: two sends within one second, from two
/// processes, have ids that need not sort in sending order.
pub(super) fn recency(
    superseded_at: Option<i64>,
    created_at: i64,
    id: uuid::Uuid,
) -> (bool, i64, uuid::Uuid) {
    (superseded_at.is_none(), created_at, id)
}

/// `users` with each one's latest invitation, in one query for the whole page.
pub(super) async fn with_latest_invitations(
    db: &DatabaseConnection,
    users: Vec<SiteUser>,
) -> Result<Vec<(SiteUser, Option<Invitation>)>, StoreError> {
    if users.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<uuid::Uuid> = users.iter().map(|u| u.id.0).collect();
    let rows = invitation::Entity::find()
        .filter(invitation::Column::SiteUserId.is_in(ids))
        .all(db)
        .await
        .map_err(|e| error::db("latest invitations", e))?;
    let mut latest: HashMap<uuid::Uuid, invitation::Model> = HashMap::new();
    for row in rows {
        let newer = latest.get(&row.site_user_id).is_none_or(|seen| {
            recency(row.superseded_at, row.created_at, row.id)
                > recency(seen.superseded_at, seen.created_at, seen.id)
        });
        if newer {
            latest.insert(row.site_user_id, row);
        }
    }
    users
        .into_iter()
        .map(|u| {
            let invitation = latest.remove(&u.id.0).map(to_invitation).transpose()?;
            Ok((u, invitation))
        })
        .collect()
}

pub(super) async fn site_users_of_account(
    db: &DatabaseConnection,
    account: AccountId,
) -> Result<Vec<SiteUser>, StoreError> {
    user::Entity::find()
        .filter(user::Column::AccountId.eq(account.0))
        .order_by_asc(user::Column::SiteId)
        .all(db)
        .await
        .map_err(|e| error::db("site users of account", e))?
        .into_iter()
        .map(to_user)
        .collect()
}

pub(super) async fn unlink_site_user(
    db: &DatabaseConnection,
    id: SiteUserId,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let result = user::Entity::update_many()
        .col_expr(
            user::Column::AccountId,
            Expr::value(Option::<uuid::Uuid>::None),
        )
        .col_expr(user::Column::LinkedAt, Expr::value(Option::<i64>::None))
        .col_expr(user::Column::UpdatedAt, Expr::value(now.seconds()))
        .filter(user::Column::Id.eq(id.0))
        .filter(user::Column::AccountId.is_not_null())
        .exec(db)
        .await
        .map_err(|e| error::db("unlink site user", e))?;
    Ok(result.rows_affected == 1)
}
