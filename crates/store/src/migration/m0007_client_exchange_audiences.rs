//! Token exchange of access tokens (RFC 8693): the audiences whose tokens a client may
//! exchange besides tokens for itself, as JSON text like the client's other lists. Existing
//! clients get none.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0007_client_exchange_audiences"
    }
}

#[derive(DeriveIden)]
enum Clients {
    Table,
    ExchangeAudiences,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Clients::Table)
                    .add_column(
                        ColumnDef::new(Clients::ExchangeAudiences)
                            .text()
                            .not_null()
                            .default("[]"),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Clients::Table)
                    .drop_column(Clients::ExchangeAudiences)
                    .to_owned(),
            )
            .await
    }
}
