//! Federation (G1–G4): `org_domains` (the email domains an organization claims, verified
//! once), `org_connections` (an organization's one upstream identity provider) and
//! `federated_identities` (upstream `iss` + `sub` linked to an account). Same portable types
//! as m0001.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0014_federation"
    }
}

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum OrgDomains {
    Table,
    /// Lower-case ASCII: the key is global, a domain belongs to at most one organization.
    Domain,
    OrgId,
    VerificationToken,
    AddedAt,
    VerifiedAt,
    /// `dns` or `operator` (`DomainProof::as_str`); set together with `verified_at`.
    VerifiedBy,
}

#[derive(DeriveIden)]
enum OrgConnections {
    Table,
    OrgId,
    /// `Upstream::kind`, beside the JSON so a reader can tell protocols apart without it.
    Kind,
    /// The whole `Upstream` as JSON: read whole, never queried.
    Settings,
    RequireSso,
    EndUpstreamSession,
    Enabled,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum FederatedIdentities {
    Table,
    Issuer,
    Subject,
    AccountId,
    OrgId,
    Email,
    LinkedAt,
    LastSignIn,
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

fn to_org(name: &str, table: impl IntoIden, column: impl IntoIden) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(table, column)
        .to(Organizations::Table, Organizations::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

fn org_domains() -> TableCreateStatement {
    Table::create()
        .table(OrgDomains::Table)
        .col(col(OrgDomains::Domain, ColumnDef::text).primary_key())
        .col(col(OrgDomains::OrgId, ColumnDef::uuid))
        .col(col(OrgDomains::VerificationToken, ColumnDef::text))
        .col(col(OrgDomains::AddedAt, ColumnDef::big_integer))
        .col(opt(OrgDomains::VerifiedAt, ColumnDef::big_integer))
        .col(opt(OrgDomains::VerifiedBy, ColumnDef::text))
        .foreign_key(&mut to_org(
            "fk_org_domains_org",
            OrgDomains::Table,
            OrgDomains::OrgId,
        ))
        .to_owned()
}

fn org_connections() -> TableCreateStatement {
    Table::create()
        .table(OrgConnections::Table)
        // The primary key is the organization: it has at most one connection.
        .col(col(OrgConnections::OrgId, ColumnDef::uuid).primary_key())
        .col(col(OrgConnections::Kind, ColumnDef::text))
        .col(col(OrgConnections::Settings, ColumnDef::text))
        .col(col(OrgConnections::RequireSso, ColumnDef::boolean))
        .col(col(OrgConnections::EndUpstreamSession, ColumnDef::boolean))
        .col(col(OrgConnections::Enabled, ColumnDef::boolean))
        .col(col(OrgConnections::UpdatedAt, ColumnDef::big_integer))
        .foreign_key(&mut to_org(
            "fk_org_connections_org",
            OrgConnections::Table,
            OrgConnections::OrgId,
        ))
        .to_owned()
}

fn federated_identities() -> TableCreateStatement {
    Table::create()
        .table(FederatedIdentities::Table)
        .col(col(FederatedIdentities::Issuer, ColumnDef::text))
        .col(col(FederatedIdentities::Subject, ColumnDef::text))
        .col(col(FederatedIdentities::AccountId, ColumnDef::uuid))
        .col(col(FederatedIdentities::OrgId, ColumnDef::uuid))
        .col(opt(FederatedIdentities::Email, ColumnDef::text))
        .col(col(FederatedIdentities::LinkedAt, ColumnDef::big_integer))
        .col(col(FederatedIdentities::LastSignIn, ColumnDef::big_integer))
        // The upstream's identity is its issuer and `sub`, never the email (G3, S39).
        .primary_key(
            Index::create()
                .col(FederatedIdentities::Issuer)
                .col(FederatedIdentities::Subject),
        )
        .foreign_key(
            ForeignKey::create()
                .name("fk_federated_identities_account")
                .from(FederatedIdentities::Table, FederatedIdentities::AccountId)
                .to(Accounts::Table, Accounts::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .foreign_key(&mut to_org(
            "fk_federated_identities_org",
            FederatedIdentities::Table,
            FederatedIdentities::OrgId,
        ))
        .to_owned()
}

fn indexes() -> Vec<IndexCreateStatement> {
    vec![
        // An organization's domain list.
        Index::create()
            .name("ix_org_domains_org")
            .table(OrgDomains::Table)
            .col(OrgDomains::OrgId)
            .to_owned(),
        // An account's linked identities; the cascade when an account is deleted.
        Index::create()
            .name("ix_federated_identities_account")
            .table(FederatedIdentities::Table)
            .col(FederatedIdentities::AccountId)
            .to_owned(),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_table(org_domains()).await?;
        manager.create_table(org_connections()).await?;
        manager.create_table(federated_identities()).await?;
        for index in indexes() {
            manager.create_index(index).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            FederatedIdentities::Table.into_iden(),
            OrgConnections::Table.into_iden(),
            OrgDomains::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
