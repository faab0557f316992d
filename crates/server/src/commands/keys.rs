//! `lanyard keys rotate|list`.

use serde_json::json;

use super::{CommandResult, print_json, table};
use crate::app::App;
use crate::cli::KeysCommand;

pub async fn run(app: &App, cmd: KeysCommand) -> CommandResult {
    match cmd {
        KeysCommand::Rotate { json: as_json } => {
            let created = app.keys.rotate(None).await?;
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
    }
}
