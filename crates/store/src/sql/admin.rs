//! [`AdminRoleRepo`] and [`AuditLog`] on SQL. Every filter is a bound parameter; the only
//! order is the fixed keyset order, never one taken from a request (S50).

use async_trait::async_trait;
use lanyard_core::model::{AccountKind, AuditQuery, AuditRecord};
use lanyard_core::ports::{AccountFilter, AdminRoleRepo, AuditLog};
use lanyard_core::{AccountId, StoreError, Timestamp};
use sea_orm::sea_query::LikeExpr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use super::{SqlStore, unique_row};
use crate::entity::{account, account_admin, audit_event};
use crate::error;

/// `%`, `_` and the escape itself match literally in a prefix search.
fn literal_prefix(prefix: &str) -> LikeExpr {
    let mut pattern = String::with_capacity(prefix.len() + 1);
    for c in prefix.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    LikeExpr::new(pattern).escape('\\')
}

#[async_trait]
impl AdminRoleRepo for SqlStore {
    async fn is_admin(&self, account: AccountId) -> Result<bool, StoreError> {
        let row = unique_row(account_admin::Entity::find_by_id(account.0), &self.db)
            .await
            .map_err(|e| error::db("find admin", e))?;
        Ok(row.is_some())
    }

    async fn update_admin(
        &self,
        account: AccountId,
        admin: bool,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        if !admin {
            let result = account_admin::Entity::delete_by_id(account.0)
                .exec(&self.db)
                .await
                .map_err(|e| error::db("revoke admin", e))?;
            return Ok(result.rows_affected > 0);
        }
        if self.is_admin(account).await? {
            return Ok(false);
        }
        let row = account_admin::ActiveModel {
            account_id: Set(account.0),
            granted_at: Set(now.seconds()),
        };
        // A concurrent grant of the same account loses on the primary key: still granted.
        match account_admin::Entity::insert(row)
            .exec_without_returning(&self.db)
            .await
            .map_err(|e| error::db("grant admin", e))
        {
            Ok(_) => Ok(true),
            Err(StoreError::Conflict(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn search_accounts(
        &self,
        filter: &AccountFilter,
    ) -> Result<Vec<lanyard_core::model::Account>, StoreError> {
        use account::Column;
        let mut query = account::Entity::find()
            .filter(Column::Kind.eq(AccountKind::Person.as_str()))
            .order_by_asc(Column::Id)
            .limit(filter.limit);
        if let Some(prefix) = &filter.email_prefix {
            query = query.filter(Column::EmailNormalized.like(literal_prefix(prefix)));
        }
        if let Some(status) = filter.status {
            query = query.filter(Column::Status.eq(status.as_str()));
        }
        if let Some(after) = filter.after {
            query = query.filter(Column::Id.gt(after.0));
        }
        let rows = query
            .all(&self.db)
            .await
            .map_err(|e| error::db("search accounts", e))?;
        rows.into_iter().map(super::accounts::to_domain).collect()
    }
}

#[async_trait]
impl AuditLog for SqlStore {
    async fn query_audit(&self, q: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
        use audit_event::Column;
        let mut query = audit_event::Entity::find()
            .order_by_desc(Column::At)
            .order_by_desc(Column::Id)
            .limit(q.limit);
        if let Some(account) = &q.account {
            query = query.filter(
                Condition::any()
                    .add(Column::Actor.eq(account.as_str()))
                    .add(Column::Subject.eq(account.as_str())),
            );
        }
        if let Some(site) = &q.site_id {
            query = query.filter(Column::SiteId.eq(site.as_str()));
        }
        if let Some(org) = &q.org_id {
            query = query.filter(Column::OrgId.eq(org.as_str()));
        }
        if let Some(kind) = &q.kind {
            query = query.filter(Column::Kind.eq(kind.as_str()));
        }
        if let Some(since) = q.since {
            query = query.filter(Column::At.gte(since.seconds()));
        }
        if let Some(until) = q.until {
            query = query.filter(Column::At.lt(until.seconds()));
        }
        if let Some(after) = q.after {
            // Strictly after the last row seen, in (at, id) descending order.
            query = query.filter(
                Condition::any().add(Column::At.lt(after.at)).add(
                    Condition::all()
                        .add(Column::At.eq(after.at))
                        .add(Column::Id.lt(after.id)),
                ),
            );
        }
        let rows = query
            .all(&self.db)
            .await
            .map_err(|e| error::db("query audit events", e))?;
        Ok(rows
            .into_iter()
            .map(|row| AuditRecord {
                id: row.id,
                event: super::audit::to_domain(row),
            })
            .collect())
    }

    async fn purge_audit(&self, before: Timestamp) -> Result<u64, StoreError> {
        let result = audit_event::Entity::delete_many()
            .filter(audit_event::Column::At.lt(before.seconds()))
            .exec(&self.db)
            .await
            .map_err(|e| error::db("purge audit events", e))?;
        Ok(result.rows_affected)
    }
}
