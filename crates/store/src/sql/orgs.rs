//! [`OrgRepo`] on SQL. A membership's join time never moves: the policy's "since" for a
//! member is the later of the policy and the join, and re-adding must not reset it.

use async_trait::async_trait;
use lanyard_core::model::{Membership, OrgId, OrgRole, Organization};
use lanyard_core::ports::OrgRepo;
use lanyard_core::{AccountId, StoreError, Timestamp};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
};

use super::{SqlStore, ts, unique_row};
use crate::entity::{org_member, organization};
use crate::error;

fn to_org(row: organization::Model) -> Organization {
    Organization {
        id: OrgId(row.id),
        slug: row.slug,
        name: row.name,
        authenticator_required_since: row.authenticator_required_since.map(ts),
        created_at: ts(row.created_at),
    }
}

fn to_member(row: org_member::Model) -> Result<Membership, StoreError> {
    Ok(Membership {
        org_id: OrgId(row.org_id),
        account_id: AccountId(row.account_id),
        role: OrgRole::parse(&row.role)
            .ok_or_else(|| StoreError::Corrupt(format!("org member role {:?}", row.role)))?,
        joined_at: ts(row.joined_at),
    })
}

/// Adds the membership or replaces its role, keeping the first join time; on `db`, which
/// may be a transaction (federated linking and provisioning add the membership with the link).
pub(super) async fn upsert_member<C: ConnectionTrait>(
    db: &C,
    member: &Membership,
) -> Result<(), StoreError> {
    let row = org_member::ActiveModel {
        org_id: Set(member.org_id.0),
        account_id: Set(member.account_id.0),
        role: Set(member.role.as_str().to_owned()),
        joined_at: Set(member.joined_at.seconds()),
    };
    org_member::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([org_member::Column::OrgId, org_member::Column::AccountId])
                .update_column(org_member::Column::Role)
                .to_owned(),
        )
        .exec_without_returning(db)
        .await
        .map_err(|e| error::db("put org member", e))?;
    Ok(())
}

#[async_trait]
impl OrgRepo for SqlStore {
    async fn insert_org(&self, org: &Organization) -> Result<(), StoreError> {
        let row = organization::ActiveModel {
            id: Set(org.id.0),
            slug: Set(org.slug.clone()),
            name: Set(org.name.clone()),
            authenticator_required_since: Set(org
                .authenticator_required_since
                .map(Timestamp::seconds)),
            created_at: Set(org.created_at.seconds()),
        };
        organization::Entity::insert(row)
            .exec_without_returning(&self.db)
            .await
            .map_err(|e| error::db("insert organization", e))?;
        Ok(())
    }

    async fn org_by_slug(&self, slug: &str) -> Result<Option<Organization>, StoreError> {
        Ok(unique_row(
            organization::Entity::find().filter(organization::Column::Slug.eq(slug)),
            &self.db,
        )
        .await
        .map_err(|e| error::db("find organization", e))?
        .map(to_org))
    }

    async fn org_by_id(&self, id: OrgId) -> Result<Option<Organization>, StoreError> {
        Ok(unique_row(
            organization::Entity::find().filter(organization::Column::Id.eq(id.0)),
            &self.db,
        )
        .await
        .map_err(|e| error::db("find organization", e))?
        .map(to_org))
    }

    async fn put_member(&self, member: &Membership) -> Result<(), StoreError> {
        upsert_member(&self.db, member).await
    }

    async fn remove_member(&self, org: OrgId, account: AccountId) -> Result<bool, StoreError> {
        let result = org_member::Entity::delete_many()
            .filter(org_member::Column::OrgId.eq(org.0))
            .filter(org_member::Column::AccountId.eq(account.0))
            .exec(&self.db)
            .await
            .map_err(|e| error::db("remove org member", e))?;
        Ok(result.rows_affected == 1)
    }

    async fn member_role(
        &self,
        org: OrgId,
        account: AccountId,
    ) -> Result<Option<OrgRole>, StoreError> {
        unique_row(org_member::Entity::find_by_id((org.0, account.0)), &self.db)
            .await
            .map_err(|e| error::db("find org member", e))?
            .map(|row| to_member(row).map(|m| m.role))
            .transpose()
    }

    async fn list_members(&self, org: OrgId) -> Result<Vec<Membership>, StoreError> {
        org_member::Entity::find()
            .filter(org_member::Column::OrgId.eq(org.0))
            .order_by_asc(org_member::Column::JoinedAt)
            .all(&self.db)
            .await
            .map_err(|e| error::db("list org members", e))?
            .into_iter()
            .map(to_member)
            .collect()
    }

    async fn set_authenticator_required(
        &self,
        org: OrgId,
        since: Option<Timestamp>,
    ) -> Result<bool, StoreError> {
        let mut update = organization::Entity::update_many()
            .col_expr(
                organization::Column::AuthenticatorRequiredSince,
                Expr::value(since.map(Timestamp::seconds)),
            )
            .filter(organization::Column::Id.eq(org.0));
        // Only a change counts, so the audit trail and the revocations follow real changes.
        update = match since {
            Some(_) => update.filter(organization::Column::AuthenticatorRequiredSince.is_null()),
            None => update.filter(organization::Column::AuthenticatorRequiredSince.is_not_null()),
        };
        let result = update
            .exec(&self.db)
            .await
            .map_err(|e| error::db("set organization policy", e))?;
        Ok(result.rows_affected == 1)
    }

    async fn authenticator_required_since(
        &self,
        account: AccountId,
    ) -> Result<Option<Timestamp>, StoreError> {
        let memberships = org_member::Entity::find()
            .filter(org_member::Column::AccountId.eq(account.0))
            .all(&self.db)
            .await
            .map_err(|e| error::db("list memberships", e))?;
        if memberships.is_empty() {
            return Ok(None);
        }
        let requiring = organization::Entity::find()
            .filter(organization::Column::Id.is_in(memberships.iter().map(|m| m.org_id)))
            .filter(organization::Column::AuthenticatorRequiredSince.is_not_null())
            .all(&self.db)
            .await
            .map_err(|e| error::db("list requiring organizations", e))?;
        Ok(requiring
            .iter()
            .filter_map(|org| {
                let since = org.authenticator_required_since?;
                let joined = memberships.iter().find(|m| m.org_id == org.id)?.joined_at;
                Some(ts(since.max(joined)))
            })
            .max())
    }
}
