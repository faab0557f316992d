//! `org_domains`: an email domain an organization claims; `verified_at` and `verified_by`
//! (`DomainProof::as_str`) are set together, once.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "org_domains")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub domain: String,
    pub org_id: Uuid,
    pub verification_token: String,
    pub added_at: i64,
    pub verified_at: Option<i64>,
    pub verified_by: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
