//! The schema, written once with the sea-orm-migration builder so the same migrations serve
//! SQLite and PostgreSQL. Migrations are append-only: never edit one that has shipped.

use sea_orm_migration::{MigrationTrait, MigratorTrait};

mod m0001_initial;
mod m0002_refresh_grace;
mod m0003_mfa;
mod m0004_pats;
mod m0005_orgs;
mod m0006_ephemeral;
mod m0007_client_exchange_audiences;
mod m0008_backchannel_logout;
mod m0009_time_zone;
mod m0010_account_kind;
mod m0011_sites;
mod m0012_backup_code_sets;
mod m0013_pat_site_user;
mod m0014_federation;
mod m0015_account_links;
mod m0016_admin_audit;
mod m0017_privacy_sessions;

pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m0001_initial::Migration),
            Box::new(m0002_refresh_grace::Migration),
            Box::new(m0003_mfa::Migration),
            Box::new(m0004_pats::Migration),
            Box::new(m0005_orgs::Migration),
            Box::new(m0006_ephemeral::Migration),
            Box::new(m0007_client_exchange_audiences::Migration),
            Box::new(m0008_backchannel_logout::Migration),
            Box::new(m0009_time_zone::Migration),
            Box::new(m0010_account_kind::Migration),
            Box::new(m0011_sites::Migration),
            Box::new(m0012_backup_code_sets::Migration),
            Box::new(m0013_pat_site_user::Migration),
            Box::new(m0014_federation::Migration),
            Box::new(m0015_account_links::Migration),
            Box::new(m0016_admin_audit::Migration),
            Box::new(m0017_privacy_sessions::Migration),
        ]
    }
}
