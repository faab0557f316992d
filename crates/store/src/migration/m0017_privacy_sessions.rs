//! Privacy preferences (A4): `privacy_choices` (an account's current choice per optional
//! category) and `privacy_changes` (every change, append-only); and `session_listings`, the
//! account pages' list of signed-in browsers (F3). Same portable types as m0001.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0017_privacy_sessions"
    }
}

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum PrivacyChoices {
    Table,
    AccountId,
    Category,
    Enabled,
    ChangedAt,
}

#[derive(DeriveIden)]
enum PrivacyChanges {
    Table,
    Id,
    AccountId,
    Category,
    Enabled,
    At,
    Actor,
}

#[derive(DeriveIden)]
enum SessionListings {
    Table,
    /// The keyed hash that keys the session record in the ephemeral store.
    Key,
    Sid,
    AccountId,
    StartedAt,
    IpPrefix,
    Device,
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

fn to_account(
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

fn privacy_choices() -> TableCreateStatement {
    Table::create()
        .table(PrivacyChoices::Table)
        .col(col(PrivacyChoices::AccountId, ColumnDef::uuid))
        .col(col(PrivacyChoices::Category, ColumnDef::text))
        .col(col(PrivacyChoices::Enabled, ColumnDef::boolean))
        .col(col(PrivacyChoices::ChangedAt, ColumnDef::big_integer))
        .primary_key(
            Index::create()
                .col(PrivacyChoices::AccountId)
                .col(PrivacyChoices::Category),
        )
        .foreign_key(&mut to_account(
            "fk_privacy_choices_account",
            PrivacyChoices::Table,
            PrivacyChoices::AccountId,
        ))
        .to_owned()
}

fn privacy_changes() -> TableCreateStatement {
    Table::create()
        .table(PrivacyChanges::Table)
        // UUIDv7: ordered by time, so "newest first" is the key order.
        .col(col(PrivacyChanges::Id, ColumnDef::uuid).primary_key())
        .col(col(PrivacyChanges::AccountId, ColumnDef::uuid))
        .col(col(PrivacyChanges::Category, ColumnDef::text))
        .col(col(PrivacyChanges::Enabled, ColumnDef::boolean))
        .col(col(PrivacyChanges::At, ColumnDef::big_integer))
        .col(col(PrivacyChanges::Actor, ColumnDef::text))
        .foreign_key(&mut to_account(
            "fk_privacy_changes_account",
            PrivacyChanges::Table,
            PrivacyChanges::AccountId,
        ))
        .to_owned()
}

fn session_listings() -> TableCreateStatement {
    Table::create()
        .table(SessionListings::Table)
        .col(col(SessionListings::Key, ColumnDef::text).primary_key())
        .col(col(SessionListings::Sid, ColumnDef::text))
        .col(col(SessionListings::AccountId, ColumnDef::uuid))
        .col(col(SessionListings::StartedAt, ColumnDef::big_integer))
        .col(opt(SessionListings::IpPrefix, ColumnDef::text))
        .col(col(SessionListings::Device, ColumnDef::text))
        .foreign_key(&mut to_account(
            "fk_session_listings_account",
            SessionListings::Table,
            SessionListings::AccountId,
        ))
        .to_owned()
}

fn indexes() -> Vec<IndexCreateStatement> {
    vec![
        Index::create()
            .name("ix_privacy_changes_account")
            .table(PrivacyChanges::Table)
            .col(PrivacyChanges::AccountId)
            .col(PrivacyChanges::Id)
            .to_owned(),
        Index::create()
            .name("ix_session_listings_account")
            .table(SessionListings::Table)
            .col(SessionListings::AccountId)
            .col(SessionListings::StartedAt)
            .to_owned(),
        // The purge of entries whose sessions can no longer live.
        Index::create()
            .name("ix_session_listings_started")
            .table(SessionListings::Table)
            .col(SessionListings::StartedAt)
            .to_owned(),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_table(privacy_choices()).await?;
        manager.create_table(privacy_changes()).await?;
        manager.create_table(session_listings()).await?;
        for index in indexes() {
            manager.create_index(index).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            SessionListings::Table.into_iden(),
            PrivacyChanges::Table.into_iden(),
            PrivacyChoices::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
