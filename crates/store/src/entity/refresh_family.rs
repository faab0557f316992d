//! `refresh_families`: one row per authorization grant (RFC 9700 §4.14.2).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "refresh_families")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub client_id: String,
    pub account_id: Uuid,
    pub scope: String,
    pub auth_time: i64,
    pub acr: Option<String>,
    pub amr: String,
    pub created_at: i64,
    pub absolute_expires_at: i64,
    pub idle_expires_at: i64,
    pub revoked_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
