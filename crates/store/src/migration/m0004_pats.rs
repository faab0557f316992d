//! Personal access tokens (E1–E3): one row per token, keyed by the keyed hash of the token.
//! Revoked rows stay (with `revoked_at`) so listings and audits can explain an old token.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0004_pats"
    }
}

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Pats {
    Table,
    Id,
    AccountId,
    Name,
    TokenHash,
    Display,
    /// JSON arrays: blobs never queried.
    Scopes,
    Audiences,
    /// The linked site user (the sites issue fills it).
    SiteUser,
    CreatedAt,
    ExpiresAt,
    LastUsedAt,
    RevokedAt,
}

fn col(name: impl IntoIden, kind: fn(&mut ColumnDef) -> &mut ColumnDef) -> ColumnDef {
    let mut def = ColumnDef::new(name);
    kind(&mut def).not_null();
    def
}

fn opt(name: impl IntoIden, kind: fn(&mut ColumnDef) -> &mut ColumnDef) -> ColumnDef {
    let mut def = ColumnDef::new(name);
    kind(&mut def).null();
    def
}

fn pats() -> TableCreateStatement {
    Table::create()
        .table(Pats::Table)
        .col(col(Pats::Id, ColumnDef::uuid).primary_key())
        .col(col(Pats::AccountId, ColumnDef::uuid))
        .col(col(Pats::Name, ColumnDef::text))
        .col(col(Pats::TokenHash, ColumnDef::text))
        .col(col(Pats::Display, ColumnDef::text))
        .col(col(Pats::Scopes, ColumnDef::text))
        .col(col(Pats::Audiences, ColumnDef::text))
        .col(opt(Pats::SiteUser, ColumnDef::text))
        .col(col(Pats::CreatedAt, ColumnDef::big_integer))
        .col(opt(Pats::ExpiresAt, ColumnDef::big_integer))
        .col(opt(Pats::LastUsedAt, ColumnDef::big_integer))
        .col(opt(Pats::RevokedAt, ColumnDef::big_integer))
        .foreign_key(
            ForeignKey::create()
                .name("fk_pats_account")
                .from(Pats::Table, Pats::AccountId)
                .to(Accounts::Table, Accounts::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_table(pats()).await?;
        // The exchange's one lookup; uniqueness also makes a hash collision loud.
        manager
            .create_index(
                Index::create()
                    .name("ux_pats_token_hash")
                    .table(Pats::Table)
                    .col(Pats::TokenHash)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_pats_account")
                    .table(Pats::Table)
                    .col(Pats::AccountId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Pats::Table).to_owned())
            .await
    }
}
