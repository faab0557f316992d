//! The first schema: accounts, clients, consents, signing keys, refresh families and tokens,
//! audit events. Portable types only: unix-second BIGINT instants, UUID ids, JSON as text.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0001_initial"
    }
}

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
    Email,
    EmailNormalized,
    EmailVerified,
    Name,
    PasswordHash,
    Status,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Clients {
    Table,
    ClientId,
    Name,
    RedirectUris,
    PostLogoutRedirectUris,
    GrantTypes,
    AllowedScopes,
    AuthMethod,
    SecretHash,
    Jwks,
    FirstParty,
    AccessTokenTtl,
    RefreshIdleTtl,
    RefreshAbsoluteTtl,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Consents {
    Table,
    AccountId,
    ClientId,
    Scopes,
    GrantedAt,
}

#[derive(DeriveIden)]
enum SigningKeys {
    Table,
    Kid,
    Alg,
    PrivateKeyEncrypted,
    PublicJwk,
    CreatedAt,
    ActiveFrom,
    RetiredAt,
    RemoveAfter,
}

#[derive(DeriveIden)]
enum RefreshFamilies {
    Table,
    Id,
    ClientId,
    AccountId,
    Scope,
    AuthTime,
    Acr,
    Amr,
    CreatedAt,
    AbsoluteExpiresAt,
    IdleExpiresAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    TokenHash,
    FamilyId,
    CreatedAt,
    UsedAt,
}

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    Id,
    At,
    Kind,
    Actor,
    Subject,
    ClientId,
    Ip,
    UserAgent,
    Outcome,
    Reason,
}

/// A NOT NULL column of the given kind; nullable columns call `.null()` explicitly, so the
/// table definitions below read like the schema they produce.
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

fn accounts() -> TableCreateStatement {
    Table::create()
        .table(Accounts::Table)
        .col(col(Accounts::Id, ColumnDef::uuid).primary_key())
        .col(col(Accounts::Email, ColumnDef::text))
        .col(col(Accounts::EmailNormalized, ColumnDef::text))
        .col(col(Accounts::EmailVerified, ColumnDef::boolean))
        .col(col(Accounts::Name, ColumnDef::text))
        .col(opt(Accounts::PasswordHash, ColumnDef::text))
        .col(col(Accounts::Status, ColumnDef::text))
        .col(col(Accounts::CreatedAt, ColumnDef::big_integer))
        .col(col(Accounts::UpdatedAt, ColumnDef::big_integer))
        .to_owned()
}

fn clients() -> TableCreateStatement {
    Table::create()
        .table(Clients::Table)
        .col(col(Clients::ClientId, ColumnDef::text).primary_key())
        .col(col(Clients::Name, ColumnDef::text))
        .col(col(Clients::RedirectUris, ColumnDef::text))
        .col(col(Clients::PostLogoutRedirectUris, ColumnDef::text))
        .col(col(Clients::GrantTypes, ColumnDef::text))
        .col(col(Clients::AllowedScopes, ColumnDef::text))
        .col(col(Clients::AuthMethod, ColumnDef::text))
        .col(opt(Clients::SecretHash, ColumnDef::text))
        .col(opt(Clients::Jwks, ColumnDef::text))
        .col(col(Clients::FirstParty, ColumnDef::boolean))
        .col(opt(Clients::AccessTokenTtl, ColumnDef::big_integer))
        .col(opt(Clients::RefreshIdleTtl, ColumnDef::big_integer))
        .col(opt(Clients::RefreshAbsoluteTtl, ColumnDef::big_integer))
        .col(col(Clients::CreatedAt, ColumnDef::big_integer))
        .to_owned()
}

fn consents() -> TableCreateStatement {
    Table::create()
        .table(Consents::Table)
        .col(col(Consents::AccountId, ColumnDef::uuid))
        .col(col(Consents::ClientId, ColumnDef::text))
        .col(col(Consents::Scopes, ColumnDef::text))
        .col(col(Consents::GrantedAt, ColumnDef::big_integer))
        .primary_key(
            Index::create()
                .col(Consents::AccountId)
                .col(Consents::ClientId),
        )
        // Consent dies with its account or client rather than lingering as an orphan.
        .foreign_key(
            ForeignKey::create()
                .name("fk_consents_account")
                .from(Consents::Table, Consents::AccountId)
                .to(Accounts::Table, Accounts::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .foreign_key(
            ForeignKey::create()
                .name("fk_consents_client")
                .from(Consents::Table, Consents::ClientId)
                .to(Clients::Table, Clients::ClientId)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned()
}

fn signing_keys() -> TableCreateStatement {
    Table::create()
        .table(SigningKeys::Table)
        .col(col(SigningKeys::Kid, ColumnDef::text).primary_key())
        .col(col(SigningKeys::Alg, ColumnDef::text))
        .col(col(SigningKeys::PrivateKeyEncrypted, ColumnDef::blob))
        .col(col(SigningKeys::PublicJwk, ColumnDef::text))
        .col(col(SigningKeys::CreatedAt, ColumnDef::big_integer))
        .col(col(SigningKeys::ActiveFrom, ColumnDef::big_integer))
        .col(opt(SigningKeys::RetiredAt, ColumnDef::big_integer))
        .col(opt(SigningKeys::RemoveAfter, ColumnDef::big_integer))
        .to_owned()
}

fn refresh_families() -> TableCreateStatement {
    Table::create()
        .table(RefreshFamilies::Table)
        .col(col(RefreshFamilies::Id, ColumnDef::uuid).primary_key())
        .col(col(RefreshFamilies::ClientId, ColumnDef::text))
        .col(col(RefreshFamilies::AccountId, ColumnDef::uuid))
        .col(col(RefreshFamilies::Scope, ColumnDef::text))
        .col(col(RefreshFamilies::AuthTime, ColumnDef::big_integer))
        .col(opt(RefreshFamilies::Acr, ColumnDef::text))
        .col(col(RefreshFamilies::Amr, ColumnDef::text))
        .col(col(RefreshFamilies::CreatedAt, ColumnDef::big_integer))
        .col(col(
            RefreshFamilies::AbsoluteExpiresAt,
            ColumnDef::big_integer,
        ))
        .col(col(RefreshFamilies::IdleExpiresAt, ColumnDef::big_integer))
        .col(opt(RefreshFamilies::RevokedAt, ColumnDef::big_integer))
        // Deleting a client or an account ends every grant made to or by it.
        .foreign_key(
            ForeignKey::create()
                .name("fk_refresh_families_client")
                .from(RefreshFamilies::Table, RefreshFamilies::ClientId)
                .to(Clients::Table, Clients::ClientId)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .foreign_key(
            ForeignKey::create()
                .name("fk_refresh_families_account")
                .from(RefreshFamilies::Table, RefreshFamilies::AccountId)
                .to(Accounts::Table, Accounts::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned()
}

fn refresh_tokens() -> TableCreateStatement {
    Table::create()
        .table(RefreshTokens::Table)
        .col(col(RefreshTokens::TokenHash, ColumnDef::text).primary_key())
        .col(col(RefreshTokens::FamilyId, ColumnDef::uuid))
        .col(col(RefreshTokens::CreatedAt, ColumnDef::big_integer))
        .col(opt(RefreshTokens::UsedAt, ColumnDef::big_integer))
        .foreign_key(
            ForeignKey::create()
                .name("fk_refresh_tokens_family")
                .from(RefreshTokens::Table, RefreshTokens::FamilyId)
                .to(RefreshFamilies::Table, RefreshFamilies::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned()
}

fn audit_events() -> TableCreateStatement {
    Table::create()
        .table(AuditEvents::Table)
        .col(col(AuditEvents::Id, ColumnDef::uuid).primary_key())
        .col(col(AuditEvents::At, ColumnDef::big_integer))
        .col(col(AuditEvents::Kind, ColumnDef::text))
        .col(opt(AuditEvents::Actor, ColumnDef::text))
        .col(opt(AuditEvents::Subject, ColumnDef::text))
        .col(opt(AuditEvents::ClientId, ColumnDef::text))
        .col(opt(AuditEvents::Ip, ColumnDef::text))
        .col(opt(AuditEvents::UserAgent, ColumnDef::text))
        .col(col(AuditEvents::Outcome, ColumnDef::text))
        .col(opt(AuditEvents::Reason, ColumnDef::text))
        .to_owned()
}

fn indexes() -> Vec<IndexCreateStatement> {
    vec![
        // Case-insensitive uniqueness: the service lower-cases, the index enforces it.
        Index::create()
            .name("ux_accounts_email_normalized")
            .table(Accounts::Table)
            .col(Accounts::EmailNormalized)
            .unique()
            .to_owned(),
        Index::create()
            .name("ix_refresh_families_account")
            .table(RefreshFamilies::Table)
            .col(RefreshFamilies::AccountId)
            .to_owned(),
        Index::create()
            .name("ix_refresh_families_client")
            .table(RefreshFamilies::Table)
            .col(RefreshFamilies::ClientId)
            .to_owned(),
        Index::create()
            .name("ix_refresh_tokens_family")
            .table(RefreshTokens::Table)
            .col(RefreshTokens::FamilyId)
            .to_owned(),
        // Serves both "filter by kind, newest first" and the unfiltered listing below.
        Index::create()
            .name("ix_audit_events_kind_at")
            .table(AuditEvents::Table)
            .col(AuditEvents::Kind)
            .col(AuditEvents::At)
            .to_owned(),
        Index::create()
            .name("ix_audit_events_at")
            .table(AuditEvents::Table)
            .col(AuditEvents::At)
            .to_owned(),
        Index::create()
            .name("ix_consents_client")
            .table(Consents::Table)
            .col(Consents::ClientId)
            .to_owned(),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Parents before children so the foreign keys resolve.
        for table in [
            accounts(),
            clients(),
            consents(),
            signing_keys(),
            refresh_families(),
            refresh_tokens(),
            audit_events(),
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
            AuditEvents::Table.into_iden(),
            RefreshTokens::Table.into_iden(),
            RefreshFamilies::Table.into_iden(),
            SigningKeys::Table.into_iden(),
            Consents::Table.into_iden(),
            Clients::Table.into_iden(),
            Accounts::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
