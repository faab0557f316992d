//! `org_connections`: an organization's one upstream identity provider; `settings` is the
//! `Upstream` as JSON and `kind` its `Upstream::kind`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "org_connections")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub org_id: Uuid,
    pub kind: String,
    pub settings: String,
    pub require_sso: bool,
    pub end_upstream_session: bool,
    pub enabled: bool,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
