//! Back-channel logout (D6, OIDC Back-Channel Logout 1.0): the clients' registration, which
//! clients got a code in which browser session, and the durable outbox of logout notices.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0008_backchannel_logout"
    }
}

#[derive(DeriveIden)]
enum Clients {
    Table,
    ClientId,
    BackchannelLogoutUri,
    BackchannelLogoutSessionRequired,
}

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum SessionClients {
    Table,
    /// The session's `sid` (a keyed hash of the session id, never the cookie value).
    Sid,
    ClientId,
    AccountId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum LogoutNotices {
    Table,
    Id,
    ClientId,
    AccountId,
    Sid,
    Attempts,
    NextAttemptAt,
    CreatedAt,
}

/// SQLite's ALTER TABLE takes one change per statement, so each column is its own.
fn add(column: ColumnDef) -> TableAlterStatement {
    Table::alter()
        .table(Clients::Table)
        .add_column(column)
        .to_owned()
}

fn session_clients() -> TableCreateStatement {
    Table::create()
        .table(SessionClients::Table)
        .col(ColumnDef::new(SessionClients::Sid).text().not_null())
        .col(ColumnDef::new(SessionClients::ClientId).text().not_null())
        .col(ColumnDef::new(SessionClients::AccountId).uuid().not_null())
        .col(
            ColumnDef::new(SessionClients::CreatedAt)
                .big_integer()
                .not_null(),
        )
        .primary_key(
            Index::create()
                .col(SessionClients::Sid)
                .col(SessionClients::ClientId),
        )
        .foreign_key(
            ForeignKey::create()
                .name("fk_session_clients_client")
                .from(SessionClients::Table, SessionClients::ClientId)
                .to(Clients::Table, Clients::ClientId)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .foreign_key(
            ForeignKey::create()
                .name("fk_session_clients_account")
                .from(SessionClients::Table, SessionClients::AccountId)
                .to(Accounts::Table, Accounts::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned()
}

fn logout_notices() -> TableCreateStatement {
    Table::create()
        .table(LogoutNotices::Table)
        .col(
            ColumnDef::new(LogoutNotices::Id)
                .uuid()
                .not_null()
                .primary_key(),
        )
        .col(ColumnDef::new(LogoutNotices::ClientId).text().not_null())
        .col(ColumnDef::new(LogoutNotices::AccountId).uuid().not_null())
        .col(ColumnDef::new(LogoutNotices::Sid).text().not_null())
        .col(ColumnDef::new(LogoutNotices::Attempts).integer().not_null())
        .col(
            ColumnDef::new(LogoutNotices::NextAttemptAt)
                .big_integer()
                .not_null(),
        )
        .col(
            ColumnDef::new(LogoutNotices::CreatedAt)
                .big_integer()
                .not_null(),
        )
        // A deleted client is told nothing more.
        .foreign_key(
            ForeignKey::create()
                .name("fk_logout_notices_client")
                .from(LogoutNotices::Table, LogoutNotices::ClientId)
                .to(Clients::Table, Clients::ClientId)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(add(ColumnDef::new(Clients::BackchannelLogoutUri)
                .text()
                .null()
                .to_owned()))
            .await?;
        manager
            .alter_table(add(ColumnDef::new(
                Clients::BackchannelLogoutSessionRequired,
            )
            .boolean()
            .not_null()
            .default(false)
            .to_owned()))
            .await?;
        manager.create_table(session_clients()).await?;
        // "Every session of this account ended" finds the links by account.
        manager
            .create_index(
                Index::create()
                    .name("ix_session_clients_account")
                    .table(SessionClients::Table)
                    .col(SessionClients::AccountId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_session_clients_created")
                    .table(SessionClients::Table)
                    .col(SessionClients::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager.create_table(logout_notices()).await?;
        // The sender's question is "what is due now".
        manager
            .create_index(
                Index::create()
                    .name("ix_logout_notices_due")
                    .table(LogoutNotices::Table)
                    .col(LogoutNotices::NextAttemptAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(LogoutNotices::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(SessionClients::Table).to_owned())
            .await?;
        for column in [
            Clients::BackchannelLogoutSessionRequired,
            Clients::BackchannelLogoutUri,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Clients::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
