//! A personal access token tied to a site user (E2): `pats.site_user_id`, the site user's id,
//! replacing m0004's never-written `site_user` text column. No foreign key (SQLite can not add
//! one to an existing table): an exchange looks the site user up and refuses when it is gone.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0013_pat_site_user"
    }
}

#[derive(DeriveIden)]
enum Pats {
    Table,
    SiteUser,
    SiteUserId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // m0004 reserved the text column and nothing ever wrote it.
        manager
            .alter_table(
                Table::alter()
                    .table(Pats::Table)
                    .drop_column(Pats::SiteUser)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Pats::Table)
                    .add_column(ColumnDef::new(Pats::SiteUserId).uuid().null())
                    .to_owned(),
            )
            .await?;
        // "The PATs tied to this site user" (listing on the site's pages, ending them).
        manager
            .create_index(
                Index::create()
                    .name("ix_pats_site_user")
                    .table(Pats::Table)
                    .col(Pats::SiteUserId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ix_pats_site_user")
                    .table(Pats::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Pats::Table)
                    .drop_column(Pats::SiteUserId)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Pats::Table)
                    .add_column(ColumnDef::new(Pats::SiteUser).text().null())
                    .to_owned(),
            )
            .await
    }
}
