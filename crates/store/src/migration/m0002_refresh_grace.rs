//! The optional refresh-token grace window: what a family keeps about its last rotation so
//! that a retry of the immediately previous token gets the same successor back. All three
//! columns are NULL in strict mode and after a revocation.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0002_refresh_grace"
    }
}

#[derive(DeriveIden)]
enum RefreshFamilies {
    Table,
    /// Keyed hash of the token the last rotation retired.
    GraceFromHash,
    /// When that rotation happened; the window runs from here.
    GraceRotatedAt,
    /// Its successor, AEAD-sealed under a key derived from the retired token.
    GraceSuccessorSealed,
}

/// SQLite's ALTER TABLE takes one change per statement, so each column is its own.
fn add(column: ColumnDef) -> TableAlterStatement {
    Table::alter()
        .table(RefreshFamilies::Table)
        .add_column(column)
        .to_owned()
}

fn drop(column: RefreshFamilies) -> TableAlterStatement {
    Table::alter()
        .table(RefreshFamilies::Table)
        .drop_column(column)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for statement in [
            add(ColumnDef::new(RefreshFamilies::GraceFromHash)
                .text()
                .null()
                .to_owned()),
            add(ColumnDef::new(RefreshFamilies::GraceRotatedAt)
                .big_integer()
                .null()
                .to_owned()),
            add(ColumnDef::new(RefreshFamilies::GraceSuccessorSealed)
                .blob()
                .null()
                .to_owned()),
        ] {
            manager.alter_table(statement).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            RefreshFamilies::GraceSuccessorSealed,
            RefreshFamilies::GraceRotatedAt,
            RefreshFamilies::GraceFromHash,
        ] {
            manager.alter_table(drop(column)).await?;
        }
        Ok(())
    }
}
