//! Organizations and their members (G1, S54). Federation adds its own tables later.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0005_orgs"
    }
}

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
    Slug,
    Name,
    /// Set while members must have an authenticator app.
    AuthenticatorRequiredSince,
    CreatedAt,
}

#[derive(DeriveIden)]
enum OrgMembers {
    Table,
    OrgId,
    AccountId,
    Role,
    JoinedAt,
}

fn organizations() -> TableCreateStatement {
    Table::create()
        .table(Organizations::Table)
        .col(
            ColumnDef::new(Organizations::Id)
                .uuid()
                .not_null()
                .primary_key(),
        )
        .col(ColumnDef::new(Organizations::Slug).text().not_null())
        .col(ColumnDef::new(Organizations::Name).text().not_null())
        .col(
            ColumnDef::new(Organizations::AuthenticatorRequiredSince)
                .big_integer()
                .null(),
        )
        .col(
            ColumnDef::new(Organizations::CreatedAt)
                .big_integer()
                .not_null(),
        )
        .to_owned()
}

fn members() -> TableCreateStatement {
    Table::create()
        .table(OrgMembers::Table)
        .col(ColumnDef::new(OrgMembers::OrgId).uuid().not_null())
        .col(ColumnDef::new(OrgMembers::AccountId).uuid().not_null())
        .col(ColumnDef::new(OrgMembers::Role).text().not_null())
        .col(
            ColumnDef::new(OrgMembers::JoinedAt)
                .big_integer()
                .not_null(),
        )
        .primary_key(
            Index::create()
                .col(OrgMembers::OrgId)
                .col(OrgMembers::AccountId),
        )
        .foreign_key(
            ForeignKey::create()
                .name("fk_org_members_org")
                .from(OrgMembers::Table, OrgMembers::OrgId)
                .to(Organizations::Table, Organizations::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .foreign_key(
            ForeignKey::create()
                .name("fk_org_members_account")
                .from(OrgMembers::Table, OrgMembers::AccountId)
                .to(Accounts::Table, Accounts::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_table(organizations()).await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_organizations_slug")
                    .table(Organizations::Table)
                    .col(Organizations::Slug)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager.create_table(members()).await?;
        // The sign-in policy's question is "which organizations is this account in".
        manager
            .create_index(
                Index::create()
                    .name("ix_org_members_account")
                    .table(OrgMembers::Table)
                    .col(OrgMembers::AccountId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(OrgMembers::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Organizations::Table).to_owned())
            .await
    }
}
