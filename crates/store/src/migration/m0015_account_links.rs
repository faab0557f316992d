//! `account_links` (A2): the emailed single-use links of sign-up verification, password
//! reset and email change. Only a keyed hash of each link's token is stored.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0015_account_links"
    }
}

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum AccountLinks {
    Table,
    Id,
    AccountId,
    /// `verify`, `reset` or `email_change` (`LinkPurpose::as_str`).
    Purpose,
    TokenHash,
    /// The new address of an email change; NULL otherwise.
    Email,
    /// A sign-up's name and argon2id hash, applied on verification.
    Name,
    PasswordHash,
    CreatedAt,
    ExpiresAt,
    UsedAt,
    SupersededAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AccountLinks::Table)
                    .col(
                        ColumnDef::new(AccountLinks::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(AccountLinks::AccountId).uuid().not_null())
                    .col(ColumnDef::new(AccountLinks::Purpose).text().not_null())
                    .col(ColumnDef::new(AccountLinks::TokenHash).text().not_null())
                    .col(ColumnDef::new(AccountLinks::Email).text().null())
                    .col(ColumnDef::new(AccountLinks::Name).text().null())
                    .col(ColumnDef::new(AccountLinks::PasswordHash).text().null())
                    .col(
                        ColumnDef::new(AccountLinks::CreatedAt)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AccountLinks::ExpiresAt)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(AccountLinks::UsedAt).big_integer().null())
                    .col(
                        ColumnDef::new(AccountLinks::SupersededAt)
                            .big_integer()
                            .null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_account_links_account")
                            .from(AccountLinks::Table, AccountLinks::AccountId)
                            .to(Accounts::Table, Accounts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_account_links_token_hash")
                    .table(AccountLinks::Table)
                    .col(AccountLinks::TokenHash)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_account_links_account")
                    .table(AccountLinks::Table)
                    .col(AccountLinks::AccountId)
                    .col(AccountLinks::Purpose)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AccountLinks::Table).to_owned())
            .await
    }
}
