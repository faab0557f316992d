//! The second step's durable state (requirements B2–B7): per-account MFA state,
//! authenticator-app credentials, backup codes and trusted devices. Every table belongs to
//! an account and goes with it (ON DELETE CASCADE). Same portable types as m0001.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0003_mfa"
    }
}

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum MfaAccounts {
    Table,
    AccountId,
    /// `email` or `totp`: what the challenge screen asks for first.
    Method,
    CredentialEpoch,
    Failures,
    LastFailureAt,
}

#[derive(DeriveIden)]
enum TotpCredentials {
    Table,
    AccountId,
    /// At most one pending and one active credential per account: the primary key.
    Pending,
    SecretSealed,
    LastUsedStep,
    CreatedAt,
    ConfirmedAt,
}

#[derive(DeriveIden)]
enum BackupCodes {
    Table,
    Id,
    AccountId,
    /// Used codes keep their row (and their hash) so a replayed code stays refused.
    CodeHash,
    CreatedAt,
    UsedAt,
}

#[derive(DeriveIden)]
enum TrustedDevices {
    Table,
    Id,
    AccountId,
    TokenHash,
    Label,
    CredentialEpoch,
    Acr,
    CreatedAt,
    ExpiresAt,
    LastUsedAt,
    RevokedAt,
}

/// A NOT NULL column of the given kind (as in m0001).
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

/// `fk_<table>_account`: the row dies with its account.
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

fn mfa_accounts() -> TableCreateStatement {
    Table::create()
        .table(MfaAccounts::Table)
        .col(col(MfaAccounts::AccountId, ColumnDef::uuid).primary_key())
        .col(col(MfaAccounts::Method, ColumnDef::text))
        .col(col(MfaAccounts::CredentialEpoch, ColumnDef::big_integer))
        .col(col(MfaAccounts::Failures, ColumnDef::integer))
        .col(opt(MfaAccounts::LastFailureAt, ColumnDef::big_integer))
        .foreign_key(&mut account_fk(
            "fk_mfa_accounts_account",
            MfaAccounts::Table,
            MfaAccounts::AccountId,
        ))
        .to_owned()
}

fn totp_credentials() -> TableCreateStatement {
    Table::create()
        .table(TotpCredentials::Table)
        .col(col(TotpCredentials::AccountId, ColumnDef::uuid))
        .col(col(TotpCredentials::Pending, ColumnDef::boolean))
        .col(col(TotpCredentials::SecretSealed, ColumnDef::blob))
        .col(opt(TotpCredentials::LastUsedStep, ColumnDef::big_integer))
        .col(col(TotpCredentials::CreatedAt, ColumnDef::big_integer))
        .col(opt(TotpCredentials::ConfirmedAt, ColumnDef::big_integer))
        .primary_key(
            Index::create()
                .col(TotpCredentials::AccountId)
                .col(TotpCredentials::Pending),
        )
        .foreign_key(&mut account_fk(
            "fk_totp_credentials_account",
            TotpCredentials::Table,
            TotpCredentials::AccountId,
        ))
        .to_owned()
}

fn backup_codes() -> TableCreateStatement {
    Table::create()
        .table(BackupCodes::Table)
        .col(col(BackupCodes::Id, ColumnDef::uuid).primary_key())
        .col(col(BackupCodes::AccountId, ColumnDef::uuid))
        .col(col(BackupCodes::CodeHash, ColumnDef::text))
        .col(col(BackupCodes::CreatedAt, ColumnDef::big_integer))
        .col(opt(BackupCodes::UsedAt, ColumnDef::big_integer))
        .foreign_key(&mut account_fk(
            "fk_backup_codes_account",
            BackupCodes::Table,
            BackupCodes::AccountId,
        ))
        .to_owned()
}

fn trusted_devices() -> TableCreateStatement {
    Table::create()
        .table(TrustedDevices::Table)
        .col(col(TrustedDevices::Id, ColumnDef::uuid).primary_key())
        .col(col(TrustedDevices::AccountId, ColumnDef::uuid))
        .col(col(TrustedDevices::TokenHash, ColumnDef::text))
        .col(col(TrustedDevices::Label, ColumnDef::text))
        .col(col(TrustedDevices::CredentialEpoch, ColumnDef::big_integer))
        .col(col(TrustedDevices::Acr, ColumnDef::text))
        .col(col(TrustedDevices::CreatedAt, ColumnDef::big_integer))
        .col(col(TrustedDevices::ExpiresAt, ColumnDef::big_integer))
        .col(col(TrustedDevices::LastUsedAt, ColumnDef::big_integer))
        .col(opt(TrustedDevices::RevokedAt, ColumnDef::big_integer))
        .foreign_key(&mut account_fk(
            "fk_trusted_devices_account",
            TrustedDevices::Table,
            TrustedDevices::AccountId,
        ))
        .to_owned()
}

fn indexes() -> Vec<IndexCreateStatement> {
    vec![
        // Hashes are the lookup keys; uniqueness also makes a hash collision loud.
        Index::create()
            .name("ux_backup_codes_code_hash")
            .table(BackupCodes::Table)
            .col(BackupCodes::CodeHash)
            .unique()
            .to_owned(),
        Index::create()
            .name("ix_backup_codes_account")
            .table(BackupCodes::Table)
            .col(BackupCodes::AccountId)
            .to_owned(),
        Index::create()
            .name("ux_trusted_devices_token_hash")
            .table(TrustedDevices::Table)
            .col(TrustedDevices::TokenHash)
            .unique()
            .to_owned(),
        Index::create()
            .name("ix_trusted_devices_account")
            .table(TrustedDevices::Table)
            .col(TrustedDevices::AccountId)
            .to_owned(),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            mfa_accounts(),
            totp_credentials(),
            backup_codes(),
            trusted_devices(),
        ] {
            manager.create_table(table).await?;
        }
        for index in indexes() {
            manager.create_index(index).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            TrustedDevices::Table.into_iden(),
            BackupCodes::Table.into_iden(),
            TotpCredentials::Table.into_iden(),
            MfaAccounts::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
