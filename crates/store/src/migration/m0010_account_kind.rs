//! What an `accounts` row stands for: a person (every existing row), or the principal a site
//! user signs in as with the legacy site login (`lanyard_core::model::AccountKind`).

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0010_account_kind"
    }
}

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Kind,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Accounts::Table)
                    .add_column(
                        ColumnDef::new(Accounts::Kind)
                            .text()
                            .not_null()
                            .default("person"),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Accounts::Table)
                    .drop_column(Accounts::Kind)
                    .to_owned(),
            )
            .await
    }
}
