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
    /// The grace window's state (m0002): the last rotation's retired token hash, its time
    /// and its sealed successor; all NULL in strict mode.
    pub grace_from_hash: Option<String>,
    pub grace_rotated_at: Option<i64>,
    pub grace_successor_sealed: Option<Vec<u8>>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
