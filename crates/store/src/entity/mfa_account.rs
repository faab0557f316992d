//! `mfa_accounts`: per-account second-step state. No row means the default (email codes,
//! epoch 0, no failures); writers insert that default first and then update it.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "mfa_accounts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub account_id: Uuid,
    /// `email` or `totp` (`MfaMethod::as_str`).
    pub method: String,
    pub credential_epoch: i64,
    pub failures: i32,
    pub last_failure_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
