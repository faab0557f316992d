//! Issue 15: the server-wide admin role (`account_admins`: one row per admin account, so
//! no existing row changes and the accounts' mapping stays as it is), and the audit log's
//! reading side — `site_id` / `org_id` on the events that concern a site or an organization,
//! indexes for the admin API's filters and its newest-first keyset order — and a trigger on
//! both backends refusing any `UPDATE` of an event: the log is append-only, only the
//! retention purge deletes.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0016_admin_audit"
    }
}

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum AccountAdmins {
    Table,
    AccountId,
    GrantedAt,
}

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    Id,
    At,
    Kind,
    Actor,
    Subject,
    SiteId,
    OrgId,
}

const SQLITE_TRIGGER: &str = "CREATE TRIGGER audit_events_append_only BEFORE UPDATE ON audit_events \
     BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END";
const PG_FUNCTION: &str = "CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger \
     LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit events are append-only'; END $$";
const PG_TRIGGER: &str = "CREATE TRIGGER audit_events_append_only BEFORE UPDATE ON audit_events \
     FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AccountAdmins::Table)
                    .col(
                        ColumnDef::new(AccountAdmins::AccountId)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(AccountAdmins::GrantedAt)
                            .big_integer()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_account_admins_account")
                            .from(AccountAdmins::Table, AccountAdmins::AccountId)
                            .to(Accounts::Table, Accounts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        for column in [AuditEvents::SiteId, AuditEvents::OrgId] {
            manager
                .alter_table(
                    Table::alter()
                        .table(AuditEvents::Table)
                        .add_column(ColumnDef::new(column).text().null())
                        .to_owned(),
                )
                .await?;
        }
        // Every filter is combined with the newest-first order (at, id).
        let indexes: [(&str, Option<AuditEvents>); 6] = [
            ("idx_audit_events_at_id", None),
            ("idx_audit_events_actor", Some(AuditEvents::Actor)),
            ("idx_audit_events_subject", Some(AuditEvents::Subject)),
            ("idx_audit_events_kind", Some(AuditEvents::Kind)),
            ("idx_audit_events_site", Some(AuditEvents::SiteId)),
            ("idx_audit_events_org", Some(AuditEvents::OrgId)),
        ];
        for (name, first) in indexes {
            let mut index = Index::create();
            index.name(name).table(AuditEvents::Table);
            if let Some(first) = first {
                index.col(first);
            }
            index.col(AuditEvents::At).col(AuditEvents::Id);
            manager.create_index(index.to_owned()).await?;
        }
        let db = manager.get_connection();
        match db.get_database_backend() {
            DbBackend::Postgres => {
                db.execute_unprepared(PG_FUNCTION).await?;
                db.execute_unprepared(PG_TRIGGER).await?;
            }
            _ => {
                db.execute_unprepared(SQLITE_TRIGGER).await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let drop_trigger = match db.get_database_backend() {
            DbBackend::Postgres => {
                "DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events"
            }
            _ => "DROP TRIGGER IF EXISTS audit_events_append_only",
        };
        db.execute_unprepared(drop_trigger).await?;
        for name in [
            "idx_audit_events_at_id",
            "idx_audit_events_actor",
            "idx_audit_events_subject",
            "idx_audit_events_kind",
            "idx_audit_events_site",
            "idx_audit_events_org",
        ] {
            manager
                .drop_index(
                    Index::drop()
                        .name(name)
                        .table(AuditEvents::Table)
                        .to_owned(),
                )
                .await?;
        }
        for column in [AuditEvents::SiteId, AuditEvents::OrgId] {
            manager
                .alter_table(
                    Table::alter()
                        .table(AuditEvents::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .drop_table(Table::drop().table(AccountAdmins::Table).to_owned())
            .await
    }
}
