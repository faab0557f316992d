//! Sites and their legacy users (C1–C6): `sites`, `site_clients` (a client belongs to at most
//! one site), `site_users` (each with its principal account, `accounts.kind = site_user`) and
//! `site_invitations` (keyed hashes of the links' tokens). Same portable types as m0001.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0011_sites"
    }
}

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Clients {
    Table,
    ClientId,
}

#[derive(DeriveIden)]
enum Sites {
    Table,
    Id,
    Slug,
    Name,
    /// `legacy`, `dual` or `identity` (`MigrationState::as_str`).
    State,
    TwoFactorRequiredSince,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum SiteClients {
    Table,
    ClientId,
    SiteId,
}

#[derive(DeriveIden)]
enum SiteUsers {
    Table,
    Id,
    SiteId,
    Login,
    LoginNormalized,
    Email,
    EmailNormalized,
    Role,
    /// The imported hash until the first legacy login or the move to `identity`.
    LegacyPasswordHash,
    Principal,
    AccountId,
    LinkedAt,
    EmailUnverifiedSince,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum SiteInvitations {
    Table,
    Id,
    SiteUserId,
    Kind,
    TokenHash,
    EmailNormalized,
    CreatedAt,
    ExpiresAt,
    AcceptedAt,
    SupersededAt,
    BouncedAt,
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

fn sites() -> TableCreateStatement {
    Table::create()
        .table(Sites::Table)
        .col(col(Sites::Id, ColumnDef::uuid).primary_key())
        .col(col(Sites::Slug, ColumnDef::text))
        .col(col(Sites::Name, ColumnDef::text))
        .col(col(Sites::State, ColumnDef::text))
        .col(opt(Sites::TwoFactorRequiredSince, ColumnDef::big_integer))
        .col(col(Sites::CreatedAt, ColumnDef::big_integer))
        .col(col(Sites::UpdatedAt, ColumnDef::big_integer))
        .to_owned()
}

fn site_clients() -> TableCreateStatement {
    Table::create()
        .table(SiteClients::Table)
        // The primary key is the client: it belongs to at most one site.
        .col(col(SiteClients::ClientId, ColumnDef::text).primary_key())
        .col(col(SiteClients::SiteId, ColumnDef::uuid))
        .foreign_key(
            ForeignKey::create()
                .name("fk_site_clients_site")
                .from(SiteClients::Table, SiteClients::SiteId)
                .to(Sites::Table, Sites::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .foreign_key(
            ForeignKey::create()
                .name("fk_site_clients_client")
                .from(SiteClients::Table, SiteClients::ClientId)
                .to(Clients::Table, Clients::ClientId)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned()
}

fn site_users() -> TableCreateStatement {
    Table::create()
        .table(SiteUsers::Table)
        .col(col(SiteUsers::Id, ColumnDef::uuid).primary_key())
        .col(col(SiteUsers::SiteId, ColumnDef::uuid))
        .col(col(SiteUsers::Login, ColumnDef::text))
        .col(col(SiteUsers::LoginNormalized, ColumnDef::text))
        .col(col(SiteUsers::Email, ColumnDef::text))
        .col(col(SiteUsers::EmailNormalized, ColumnDef::text))
        .col(col(SiteUsers::Role, ColumnDef::text))
        .col(opt(SiteUsers::LegacyPasswordHash, ColumnDef::text))
        .col(col(SiteUsers::Principal, ColumnDef::uuid))
        .col(opt(SiteUsers::AccountId, ColumnDef::uuid))
        .col(opt(SiteUsers::LinkedAt, ColumnDef::big_integer))
        .col(opt(SiteUsers::EmailUnverifiedSince, ColumnDef::big_integer))
        .col(col(SiteUsers::CreatedAt, ColumnDef::big_integer))
        .col(col(SiteUsers::UpdatedAt, ColumnDef::big_integer))
        .foreign_key(
            ForeignKey::create()
                .name("fk_site_users_site")
                .from(SiteUsers::Table, SiteUsers::SiteId)
                .to(Sites::Table, Sites::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .foreign_key(
            ForeignKey::create()
                .name("fk_site_users_principal")
                .from(SiteUsers::Table, SiteUsers::Principal)
                .to(Accounts::Table, Accounts::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .foreign_key(
            ForeignKey::create()
                .name("fk_site_users_account")
                .from(SiteUsers::Table, SiteUsers::AccountId)
                .to(Accounts::Table, Accounts::Id)
                .on_delete(ForeignKeyAction::SetNull),
        )
        .to_owned()
}

fn site_invitations() -> TableCreateStatement {
    Table::create()
        .table(SiteInvitations::Table)
        .col(col(SiteInvitations::Id, ColumnDef::uuid).primary_key())
        .col(col(SiteInvitations::SiteUserId, ColumnDef::uuid))
        .col(col(SiteInvitations::Kind, ColumnDef::text))
        .col(col(SiteInvitations::TokenHash, ColumnDef::text))
        .col(col(SiteInvitations::EmailNormalized, ColumnDef::text))
        .col(col(SiteInvitations::CreatedAt, ColumnDef::big_integer))
        .col(col(SiteInvitations::ExpiresAt, ColumnDef::big_integer))
        .col(opt(SiteInvitations::AcceptedAt, ColumnDef::big_integer))
        .col(opt(SiteInvitations::SupersededAt, ColumnDef::big_integer))
        .col(opt(SiteInvitations::BouncedAt, ColumnDef::big_integer))
        .foreign_key(
            ForeignKey::create()
                .name("fk_site_invitations_user")
                .from(SiteInvitations::Table, SiteInvitations::SiteUserId)
                .to(SiteUsers::Table, SiteUsers::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned()
}

fn index(name: &str, table: impl IntoIden, cols: Vec<DynIden>) -> IndexCreateStatement {
    let mut stmt = Index::create();
    stmt.name(name).table(table);
    for c in cols {
        stmt.col(c);
    }
    stmt.to_owned()
}

fn unique(name: &str, table: impl IntoIden, cols: Vec<DynIden>) -> IndexCreateStatement {
    index(name, table, cols).unique().to_owned()
}

fn indexes() -> Vec<IndexCreateStatement> {
    vec![
        unique("ux_sites_slug", Sites::Table, vec![Sites::Slug.into_iden()]),
        // The site's client list.
        index(
            "ix_site_clients_site",
            SiteClients::Table,
            vec![SiteClients::SiteId.into_iden()],
        ),
        // The legacy login's lookup; the import's duplicate rule.
        unique(
            "ux_site_users_login",
            SiteUsers::Table,
            vec![
                SiteUsers::SiteId.into_iden(),
                SiteUsers::LoginNormalized.into_iden(),
            ],
        ),
        // One site user per email within a site (the join key with identity accounts).
        unique(
            "ux_site_users_email",
            SiteUsers::Table,
            vec![
                SiteUsers::SiteId.into_iden(),
                SiteUsers::EmailNormalized.into_iden(),
            ],
        ),
        // Automatic linking looks site users up by email across sites.
        index(
            "ix_site_users_email",
            SiteUsers::Table,
            vec![SiteUsers::EmailNormalized.into_iden()],
        ),
        // A principal stands for exactly one site user.
        unique(
            "ux_site_users_principal",
            SiteUsers::Table,
            vec![SiteUsers::Principal.into_iden()],
        ),
        // An identity account stands for at most one user of a site (NULLs are distinct).
        unique(
            "ux_site_users_site_account",
            SiteUsers::Table,
            vec![
                SiteUsers::SiteId.into_iden(),
                SiteUsers::AccountId.into_iden(),
            ],
        ),
        // "Which site users is this identity account linked to" (the 2FA policy).
        index(
            "ix_site_users_account",
            SiteUsers::Table,
            vec![SiteUsers::AccountId.into_iden()],
        ),
        // The claim's one lookup; uniqueness also makes a hash collision loud.
        unique(
            "ux_site_invitations_token_hash",
            SiteInvitations::Table,
            vec![SiteInvitations::TokenHash.into_iden()],
        ),
        // A site user's latest invitation; progress.
        index(
            "ix_site_invitations_user",
            SiteInvitations::Table,
            vec![
                SiteInvitations::SiteUserId.into_iden(),
                SiteInvitations::CreatedAt.into_iden(),
            ],
        ),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_table(sites()).await?;
        manager.create_table(site_clients()).await?;
        manager.create_table(site_users()).await?;
        manager.create_table(site_invitations()).await?;
        for index in indexes() {
            manager.create_index(index).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            SiteInvitations::Table.into_iden(),
            SiteUsers::Table.into_iden(),
            SiteClients::Table.into_iden(),
            Sites::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
