//! The site tables' rows: conversions to core's records and the shared filters.

use lanyard_core::model::{
    Invitation, InvitationId, InvitationKind, MigrationState, Site, SiteId, SiteRole, SiteUser,
    SiteUserId,
};
use lanyard_core::{AccountId, ClientId, StoreError, Timestamp};
use sea_orm::sea_query::{Query, SelectStatement};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
};

use super::super::ts;
use crate::entity::{site, site_client, site_invitation as invitation, site_user as user};
use crate::error::{self, corrupt};

pub(super) fn to_site(row: site::Model, clients: Vec<ClientId>) -> Result<Site, StoreError> {
    Ok(Site {
        id: SiteId(row.id),
        slug: row.slug,
        name: row.name,
        clients,
        state: MigrationState::parse(&row.state).ok_or_else(|| corrupt("site state"))?,
        two_factor_required_since: row.two_factor_required_since.map(ts),
        created_at: ts(row.created_at),
        updated_at: ts(row.updated_at),
    })
}

pub(super) fn to_user(row: user::Model) -> Result<SiteUser, StoreError> {
    Ok(SiteUser {
        id: SiteUserId(row.id),
        site_id: SiteId(row.site_id),
        role: SiteRole::parse(&row.role).ok_or_else(|| corrupt("site user role"))?,
        login: row.login,
        login_normalized: row.login_normalized,
        email: row.email,
        email_normalized: row.email_normalized,
        legacy_password_hash: row.legacy_password_hash,
        principal: AccountId(row.principal),
        account_id: row.account_id.map(AccountId),
        linked_at: row.linked_at.map(ts),
        email_unverified_since: row.email_unverified_since.map(ts),
        created_at: ts(row.created_at),
        updated_at: ts(row.updated_at),
    })
}

pub(super) fn user_row(u: &SiteUser) -> user::ActiveModel {
    user::ActiveModel {
        id: Set(u.id.0),
        site_id: Set(u.site_id.0),
        login: Set(u.login.clone()),
        login_normalized: Set(u.login_normalized.clone()),
        email: Set(u.email.clone()),
        email_normalized: Set(u.email_normalized.clone()),
        role: Set(u.role.as_str().to_owned()),
        legacy_password_hash: Set(u.legacy_password_hash.clone()),
        principal: Set(u.principal.0),
        account_id: Set(u.account_id.map(|a| a.0)),
        linked_at: Set(u.linked_at.map(Timestamp::seconds)),
        email_unverified_since: Set(u.email_unverified_since.map(Timestamp::seconds)),
        created_at: Set(u.created_at.seconds()),
        updated_at: Set(u.updated_at.seconds()),
    }
}

pub(super) fn to_invitation(row: invitation::Model) -> Result<Invitation, StoreError> {
    Ok(Invitation {
        id: InvitationId(row.id),
        site_user: SiteUserId(row.site_user_id),
        kind: InvitationKind::parse(&row.kind).ok_or_else(|| corrupt("invitation kind"))?,
        token_hash: row.token_hash,
        email_normalized: row.email_normalized,
        created_at: ts(row.created_at),
        expires_at: ts(row.expires_at),
        accepted_at: row.accepted_at.map(ts),
        superseded_at: row.superseded_at.map(ts),
        bounced_at: row.bounced_at.map(ts),
    })
}

pub(super) fn invitation_row(i: &Invitation) -> invitation::ActiveModel {
    invitation::ActiveModel {
        id: Set(i.id.0),
        site_user_id: Set(i.site_user.0),
        kind: Set(i.kind.as_str().to_owned()),
        token_hash: Set(i.token_hash.clone()),
        email_normalized: Set(i.email_normalized.clone()),
        created_at: Set(i.created_at.seconds()),
        expires_at: Set(i.expires_at.seconds()),
        accepted_at: Set(i.accepted_at.map(Timestamp::seconds)),
        superseded_at: Set(i.superseded_at.map(Timestamp::seconds)),
        bounced_at: Set(i.bounced_at.map(Timestamp::seconds)),
    }
}

/// A site's clients, in id order.
pub(super) async fn clients_of<C: ConnectionTrait>(
    db: &C,
    site: uuid::Uuid,
) -> Result<Vec<ClientId>, StoreError> {
    site_client::Entity::find()
        .filter(site_client::Column::SiteId.eq(site))
        .order_by_asc(site_client::Column::ClientId)
        .all(db)
        .await
        .map_err(|e| error::db("list site clients", e))?
        .into_iter()
        .map(|row| ClientId::parse(&row.client_id).ok_or_else(|| corrupt("site client id")))
        .collect()
}

/// `SELECT principal FROM site_users WHERE site_id = ?`: the accounts a site's legacy
/// sign-ins run as.
pub(super) fn principals_of(site: SiteId) -> SelectStatement {
    Query::select()
        .column(user::Column::Principal)
        .from(user::Entity)
        .and_where(user::Column::SiteId.eq(site.0))
        .to_owned()
}
