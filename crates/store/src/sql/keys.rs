//! [`SigningKeyRepo`] on SQL. The private key arrives already encrypted; this layer never
//! sees key material in the clear.

use async_trait::async_trait;
use lanyard_core::model::{SigningAlg, SigningKeyRecord};
use lanyard_core::ports::SigningKeyRepo;
use lanyard_core::{StoreError, Timestamp};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use super::{SqlStore, ts};
use crate::entity::signing_key::{ActiveModel, Column, Entity, Model};
use crate::error::{self, corrupt};

fn to_domain(row: Model) -> Result<SigningKeyRecord, StoreError> {
    Ok(SigningKeyRecord {
        alg: SigningAlg::parse(&row.alg).ok_or_else(|| corrupt("signing key alg"))?,
        kid: row.kid,
        private_key_encrypted: row.private_key_encrypted,
        public_jwk: row.public_jwk,
        created_at: ts(row.created_at),
        active_from: ts(row.active_from),
        retired_at: row.retired_at.map(ts),
        remove_after: row.remove_after.map(ts),
    })
}

#[async_trait]
impl SigningKeyRepo for SqlStore {
    async fn insert_signing_key(&self, key: &SigningKeyRecord) -> Result<(), StoreError> {
        let row = ActiveModel {
            kid: Set(key.kid.clone()),
            alg: Set(key.alg.as_str().to_owned()),
            private_key_encrypted: Set(key.private_key_encrypted.clone()),
            public_jwk: Set(key.public_jwk.clone()),
            created_at: Set(key.created_at.seconds()),
            active_from: Set(key.active_from.seconds()),
            retired_at: Set(key.retired_at.map(Timestamp::seconds)),
            remove_after: Set(key.remove_after.map(Timestamp::seconds)),
        };
        Entity::insert(row)
            .exec_without_returning(&self.db)
            .await
            .map_err(|e| error::db("insert signing key", e))?;
        Ok(())
    }

    async fn list_signing_keys(&self) -> Result<Vec<SigningKeyRecord>, StoreError> {
        Entity::find()
            .order_by_asc(Column::CreatedAt)
            .order_by_asc(Column::Kid)
            .all(&self.db)
            .await
            .map_err(|e| error::db("list signing keys", e))?
            .into_iter()
            .map(to_domain)
            .collect()
    }

    async fn update_signing_key_retirement(
        &self,
        kid: &str,
        retired_at: Timestamp,
        remove_after: Timestamp,
    ) -> Result<(), StoreError> {
        let result = Entity::update_many()
            .col_expr(Column::RetiredAt, Expr::value(retired_at.seconds()))
            .col_expr(Column::RemoveAfter, Expr::value(remove_after.seconds()))
            .filter(Column::Kid.eq(kid))
            .exec(&self.db)
            .await
            .map_err(|e| error::db("retire signing key", e))?;
        if result.rows_affected == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn delete_signing_key(&self, kid: &str) -> Result<bool, StoreError> {
        let result = Entity::delete_by_id(kid.to_owned())
            .exec(&self.db)
            .await
            .map_err(|e| error::db("delete signing key", e))?;
        Ok(result.rows_affected > 0)
    }
}
