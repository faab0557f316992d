//! `site_users`: a site's legacy users; `(site_id, login_normalized)` and
//! `(site_id, email_normalized)` are unique, `principal` is the account row each signs in as.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "site_users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub site_id: Uuid,
    pub login: String,
    pub login_normalized: String,
    pub email: String,
    pub email_normalized: String,
    /// `SiteRole::as_str`.
    pub role: String,
    pub legacy_password_hash: Option<String>,
    #[sea_orm(unique)]
    pub principal: Uuid,
    pub account_id: Option<Uuid>,
    pub linked_at: Option<i64>,
    pub email_unverified_since: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
