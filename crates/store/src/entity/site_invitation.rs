//! `site_invitations`: one row per invitation sent; `token_hash` (a keyed hash) is unique.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "site_invitations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub site_user_id: Uuid,
    /// `InvitationKind::as_str`.
    pub kind: String,
    #[sea_orm(unique)]
    pub token_hash: String,
    pub email_normalized: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub accepted_at: Option<i64>,
    pub superseded_at: Option<i64>,
    pub bounced_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
