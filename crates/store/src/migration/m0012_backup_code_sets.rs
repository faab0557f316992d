//! Sets of ten single-use backup codes for site principals (C4): `backup_code_sets` holds one
//! row per account — the KEK-sealed copy of the whole set, for showing it again — and
//! `backup_code_set_codes` one row per code with its keyed hash and when it was used. A new
//! set replaces both in one transaction. Both go with their account (ON DELETE CASCADE).

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0012_backup_code_sets"
    }
}

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum BackupCodeSets {
    Table,
    /// One current set per account: the primary key.
    AccountId,
    SealedCodes,
    CreatedAt,
}

#[derive(DeriveIden)]
enum BackupCodeSetCodes {
    Table,
    AccountId,
    /// The code's place in the sealed copy (0–9), so a page can mark used ones.
    Position,
    CodeHash,
    UsedAt,
}

fn account_fk(
    name: &str,
    table: impl IntoIden,
    column: impl IntoIden,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(table, column)
        .to(Accounts::Table, Accounts::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

fn sets() -> TableCreateStatement {
    Table::create()
        .table(BackupCodeSets::Table)
        .col(
            ColumnDef::new(BackupCodeSets::AccountId)
                .uuid()
                .not_null()
                .primary_key(),
        )
        .col(
            ColumnDef::new(BackupCodeSets::SealedCodes)
                .blob()
                .not_null(),
        )
        .col(
            ColumnDef::new(BackupCodeSets::CreatedAt)
                .big_integer()
                .not_null(),
        )
        .foreign_key(&mut account_fk(
            "fk_backup_code_sets_account",
            BackupCodeSets::Table,
            BackupCodeSets::AccountId,
        ))
        .to_owned()
}

fn codes() -> TableCreateStatement {
    Table::create()
        .table(BackupCodeSetCodes::Table)
        .col(
            ColumnDef::new(BackupCodeSetCodes::AccountId)
                .uuid()
                .not_null(),
        )
        .col(
            ColumnDef::new(BackupCodeSetCodes::Position)
                .integer()
                .not_null(),
        )
        .col(
            ColumnDef::new(BackupCodeSetCodes::CodeHash)
                .text()
                .not_null(),
        )
        .col(
            ColumnDef::new(BackupCodeSetCodes::UsedAt)
                .big_integer()
                .null(),
        )
        .primary_key(
            Index::create()
                .col(BackupCodeSetCodes::AccountId)
                .col(BackupCodeSetCodes::Position),
        )
        .foreign_key(&mut account_fk(
            "fk_backup_code_set_codes_account",
            BackupCodeSetCodes::Table,
            BackupCodeSetCodes::AccountId,
        ))
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_table(sets()).await?;
        manager.create_table(codes()).await?;
        // The hash is the lookup key; uniqueness also makes a hash collision loud.
        manager
            .create_index(
                Index::create()
                    .name("ux_backup_code_set_codes_code_hash")
                    .table(BackupCodeSetCodes::Table)
                    .col(BackupCodeSetCodes::CodeHash)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            BackupCodeSetCodes::Table.into_iden(),
            BackupCodeSets::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
