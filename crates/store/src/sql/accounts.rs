//! [`AccountRepo`] on SQL: lookups go through `email_normalized`, whose unique index turns a
//! second registration of the same address into [`StoreError::Conflict`].

use async_trait::async_trait;
use lanyard_core::model::{Account, AccountKind, AccountStatus, NewAccount};
use lanyard_core::ports::AccountRepo;
use lanyard_core::{AccountId, StoreError, Timestamp};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
};
use sea_orm::{QueryOrder, QuerySelect};

use super::{SqlStore, ts, unique_row};
use crate::entity::account::{ActiveModel, Column, Entity, Model};
use crate::error::{self, corrupt};

pub(super) fn to_domain(row: Model) -> Result<Account, StoreError> {
    Ok(Account {
        id: AccountId(row.id),
        status: AccountStatus::parse(&row.status).ok_or_else(|| corrupt("account status"))?,
        kind: AccountKind::parse(&row.kind).ok_or_else(|| corrupt("account kind"))?,
        email: row.email,
        email_normalized: row.email_normalized,
        email_verified: row.email_verified,
        name: row.name,
        password_hash: row.password_hash,
        time_zone: row.time_zone,
        created_at: ts(row.created_at),
        updated_at: ts(row.updated_at),
    })
}

impl SqlStore {
    /// Sets columns of one account; NotFound when no row matched.
    async fn update_account_columns(
        &self,
        id: AccountId,
        updates: Vec<(Column, sea_orm::Value)>,
        now: Timestamp,
        context: &'static str,
    ) -> Result<(), StoreError> {
        let mut update = Entity::update_many()
            .col_expr(Column::UpdatedAt, Expr::value(now.seconds()))
            .filter(Column::Id.eq(id.0));
        for (column, value) in updates {
            update = update.col_expr(column, Expr::value(value));
        }
        let result = update
            .exec(&self.db)
            .await
            .map_err(|e| error::db(context, e))?;
        if result.rows_affected == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Inserts a new account on `db`, which may be a transaction: federated provisioning
    /// creates the account together with its link and membership.
    pub(super) async fn insert_account_on<C: ConnectionTrait>(
        &self,
        db: &C,
        new: NewAccount,
        now: Timestamp,
    ) -> Result<Account, StoreError> {
        let account = Account {
            id: AccountId(self.new_id()),
            email: new.email,
            email_normalized: new.email_normalized,
            email_verified: new.email_verified,
            name: new.name,
            password_hash: new.password_hash,
            status: new.status,
            kind: new.kind,
            time_zone: None,
            created_at: now,
            updated_at: now,
        };
        let row = ActiveModel {
            id: Set(account.id.0),
            email: Set(account.email.clone()),
            email_normalized: Set(account.email_normalized.clone()),
            email_verified: Set(account.email_verified),
            name: Set(account.name.clone()),
            password_hash: Set(account.password_hash.clone()),
            status: Set(account.status.as_str().to_owned()),
            kind: Set(account.kind.as_str().to_owned()),
            time_zone: Set(None),
            created_at: Set(now.seconds()),
            updated_at: Set(now.seconds()),
        };
        Entity::insert(row)
            .exec_without_returning(db)
            .await
            .map_err(|e| error::db("insert account", e))?;
        Ok(account)
    }
}

#[async_trait]
impl AccountRepo for SqlStore {
    async fn insert_account(&self, new: NewAccount, now: Timestamp) -> Result<Account, StoreError> {
        self.insert_account_on(&self.db, new, now).await
    }

    async fn get_account(&self, id: AccountId) -> Result<Account, StoreError> {
        // By primary key, without a LIMIT (see `unique_row`): the exchange's second lookup.
        let row = unique_row(Entity::find_by_id(id.0), &self.db)
            .await
            .map_err(|e| error::db("get account", e))?;
        to_domain(row.ok_or(StoreError::NotFound)?)
    }

    async fn find_account_by_email(
        &self,
        email_normalized: &str,
    ) -> Result<Option<Account>, StoreError> {
        unique_row(
            Entity::find()
                .filter(Column::EmailNormalized.eq(email_normalized))
                .filter(Column::Kind.eq(AccountKind::Person.as_str())),
            &self.db,
        )
        .await
        .map_err(|e| error::db("find account", e))?
        .map(to_domain)
        .transpose()
    }

    async fn list_accounts(
        &self,
        after: Option<AccountId>,
        limit: u64,
    ) -> Result<Vec<Account>, StoreError> {
        // Keyset pagination: UUIDv7 ids sort by creation time in both backends (byte order).
        let mut query = Entity::find()
            .filter(Column::Kind.eq(AccountKind::Person.as_str()))
            .order_by_asc(Column::Id)
            .limit(limit);
        if let Some(after) = after {
            query = query.filter(Column::Id.gt(after.0));
        }
        query
            .all(&self.db)
            .await
            .map_err(|e| error::db("list accounts", e))?
            .into_iter()
            .map(to_domain)
            .collect()
    }

    async fn count_accounts(&self) -> Result<u64, StoreError> {
        Entity::find()
            .filter(Column::Kind.eq(AccountKind::Person.as_str()))
            .count(&self.db)
            .await
            .map_err(|e| error::db("count accounts", e))
    }

    async fn update_account_status(
        &self,
        id: AccountId,
        status: AccountStatus,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let value = status.as_str().to_owned().into();
        self.update_account_columns(id, vec![(Column::Status, value)], now, "update status")
            .await
    }

    async fn update_password_hash(
        &self,
        id: AccountId,
        password_hash: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let value = Some(password_hash.to_owned()).into();
        self.update_account_columns(
            id,
            vec![(Column::PasswordHash, value)],
            now,
            "update password",
        )
        .await
    }

    async fn update_time_zone(
        &self,
        id: AccountId,
        time_zone: Option<&str>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let value = time_zone.map(str::to_owned).into();
        self.update_account_columns(id, vec![(Column::TimeZone, value)], now, "update time zone")
            .await
    }
}
