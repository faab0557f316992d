//! `accounts`: one row per identity account or site user's principal (`kind`); `email_normalized` is the unique lookup key.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "accounts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub email: String,
    #[sea_orm(unique)]
    pub email_normalized: String,
    pub email_verified: bool,
    pub name: String,
    pub password_hash: Option<String>,
    pub status: String,
    /// `person` or `site_user` (`AccountKind`).
    pub kind: String,
    pub time_zone: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
