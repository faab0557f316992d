//! `lanyard keys rotate|list|retire`, through the same `KeyService` as the admin API (which
//! audits `key.rotated` / `key.retired`).

use lanyard_core::Origin;
use serde_json::json;

use super::{CommandResult, print_json, table};
use crate::app::App;
use crate::cli::KeysCommand;

pub async fn run(app: &App, cmd: KeysCommand) -> CommandResult {
    let keys = &app.state.admin.keys;
    match cmd {
        KeysCommand::Rotate { json: as_json } => {
            let created = keys.rotate(None, &Origin::cli()).await?;
            if as_json {
                print_json(&json!(created.iter().map(|k| json!({
                    "kid": k.kid, "alg": k.alg.as_str(), "active_from": k.active_from.seconds()
                })).collect::<Vec<_>>()));
            } else {
                for k in &created {
                    println!(
                        "published {} key {}; it signs from {}",
                        k.alg.as_str(),
                        k.kid,
                        k.active_from.seconds()
                    );
                }
            }
            Ok(())
        }
        KeysCommand::List(flag) => {
            let ring = app.key_ring.current();
            let kids: Vec<&str> = ring.kids().collect();
            if flag.json {
                print_json(&json!({ "published": kids }));
            } else {
                let rows: Vec<Vec<String>> = kids.iter().map(|k| vec![(*k).to_owned()]).collect();
                table::print(&["KEY ID (published)"], &rows, "No published keys.");
            }
            Ok(())
        }
        KeysCommand::Retire { kid, json: as_json } => {
            if !keys.retire(&kid, &Origin::cli()).await? {
                return Err("no key with this id".into());
            }
            if as_json {
                print_json(&json!({ "retired": kid }));
            } else {
                println!("retired key {kid}");
            }
            Ok(())
        }
    }
}
