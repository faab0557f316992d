//! `lanyard audit purge`: the retention's purge, now.

use lanyard_core::Origin;
use serde_json::json;

use super::{CommandResult, print_json};
use crate::app::App;
use crate::cli::AuditCommand;
use crate::config::Config;

pub async fn run(app: &App, config: &Config, cmd: AuditCommand) -> CommandResult {
    match cmd {
        AuditCommand::Purge { json: as_json } => {
            let removed = crate::audit_retention::purge_once(
                app.state.admin.audit_log.as_ref(),
                &app.state.audit,
                app.state.clock.as_ref(),
                &config.audit,
                &Origin::cli(),
            )
            .await?;
            if as_json {
                print_json(&json!({ "purged": removed }));
            } else {
                println!(
                    "purged {removed} audit events older than {} days",
                    config.audit.retention_days
                );
            }
            Ok(())
        }
    }
}
