//! The database's ephemeral store (`sql::ephemeral`): on the embedded default every
//! ephemeral key, in production the families whose absence would mean "allowed"
//! (`lanyard_core::Durability`). Keys and values are bytes: a key may hold any character,
//! NUL included, which PostgreSQL's text refuses.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0006_ephemeral"
    }
}

#[derive(DeriveIden)]
enum EphemeralEntries {
    Table,
    EntryKey,
    EntryValue,
    /// Set on counters (`increment`), which add in SQL; a `put` clears it.
    Counter,
    /// Unix seconds; the entry is gone once the clock reaches this.
    ExpiresAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(EphemeralEntries::Table)
                    .col(
                        ColumnDef::new(EphemeralEntries::EntryKey)
                            .binary()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(EphemeralEntries::EntryValue)
                            .binary()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(EphemeralEntries::Counter)
                            .big_integer()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(EphemeralEntries::ExpiresAt)
                            .big_integer()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        // The purge deletes by expiry.
        manager
            .create_index(
                Index::create()
                    .name("ix_ephemeral_entries_expires_at")
                    .table(EphemeralEntries::Table)
                    .col(EphemeralEntries::ExpiresAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(EphemeralEntries::Table).to_owned())
            .await
    }
}
