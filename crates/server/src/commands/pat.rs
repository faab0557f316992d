//! `lanyard pat create|list|revoke`: operators mint tokens for automation. The token is
//! printed once, on stdout, and never logged.

use lanyard_core::Origin;
use lanyard_core::model::{Pat, PatId};
use lanyard_identity::pats::{Expiry, PatRequest};
use serde_json::json;

use lanyard_mfa::when;

use super::{CommandResult, emails, print_json, table};
use crate::app::App;
use crate::cli::{PatCommand, PatCreate};

pub async fn run(app: &App, cmd: PatCommand) -> CommandResult {
    let pats = &app.state.pats;
    match cmd {
        PatCommand::Create(args) => create(app, args).await,
        PatCommand::List {
            user,
            json: as_json,
        } => {
            let list = match user {
                Some(email) => {
                    let account = app
                        .state
                        .accounts
                        .find_by_email(&email)
                        .await?
                        .ok_or("no such account")?;
                    pats.list(account.id).await?
                }
                None => pats.list_all().await?,
            };
            let owners = emails(app, list.iter().map(|p| p.account_id)).await?;
            let owner = |p: &Pat| owners.get(&p.account_id).cloned().unwrap_or_default();
            if as_json {
                print_json(&json!(
                    list.iter()
                        .map(|p| {
                            let mut doc = describe(p);
                            doc["email"] = json!(owner(p));
                            doc
                        })
                        .collect::<Vec<_>>()
                ));
            } else {
                let rows: Vec<Vec<String>> = list
                    .iter()
                    .map(|p| {
                        vec![
                            p.id.to_string(),
                            owner(p),
                            p.name.clone(),
                            p.display.clone(),
                            p.expires_at.map_or_else(|| "never".to_owned(), when::date),
                        ]
                    })
                    .collect();
                table::print(
                    &["ID", "OWNER", "NAME", "TOKEN", "EXPIRES"],
                    &rows,
                    "No personal access tokens.",
                );
            }
            Ok(())
        }
        PatCommand::Revoke { id, json: as_json } => {
            let id = PatId::parse(&id).ok_or("no such token")?;
            let revoked = pats
                .revoke(None, id, &Origin::cli())
                .await
                .map_err(|e| match e {
                    lanyard_identity::IdentityError::NotFound => "no such token".into(),
                    other => Box::<dyn std::error::Error + Send + Sync>::from(other),
                })?;
            if as_json {
                print_json(&json!({ "id": id.to_string(), "revoked": revoked }));
            } else if revoked {
                println!("revoked token {id}");
            } else {
                println!("token {id} was already revoked");
            }
            Ok(())
        }
    }
}

/// `30d` → 30 days; `never` → no expiry.
fn parse_expiry(text: Option<&str>) -> Result<Expiry, String> {
    match text {
        None => Ok(Expiry::Default),
        Some("never") => Ok(Expiry::Never),
        Some(text) => text
            .strip_suffix('d')
            .and_then(|days| days.parse::<i64>().ok())
            .map(Expiry::Days)
            .ok_or_else(|| format!("--expires-in must look like 30d or be never, not {text:?}")),
    }
}

async fn create(app: &App, args: PatCreate) -> CommandResult {
    let expiry = parse_expiry(args.expires_in.as_deref())?;
    let account = app
        .state
        .accounts
        .find_by_email(&args.user)
        .await?
        .ok_or("no such account")?;
    let request = PatRequest {
        name: args.name,
        scopes: args.scopes,
        audiences: args.audiences,
        expiry,
        site: args.site,
    };
    let (pat, token) = app
        .state
        .pats
        .create(&account, request, &Origin::cli())
        .await?;
    if args.json {
        let mut doc = describe(&pat);
        doc["token"] = json!(token.expose());
        print_json(&doc);
    } else {
        println!("created token {} for {}", pat.id, account.email);
        println!("token (shown once, store it now): {}", token.expose());
    }
    Ok(())
}

fn describe(p: &Pat) -> serde_json::Value {
    json!({
        "id": p.id.to_string(),
        "account_id": p.account_id.to_string(),
        "name": p.name,
        "display": p.display,
        "scopes": p.scopes,
        "audiences": p.audiences,
        "created_at": p.created_at.seconds(),
        "expires_at": p.expires_at.map(|t| t.seconds()),
        "last_used_at": p.last_used_at.map(|t| t.seconds()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_flags_parse() {
        assert_eq!(parse_expiry(None), Ok(Expiry::Default));
        assert_eq!(parse_expiry(Some("30d")), Ok(Expiry::Days(30)));
        assert_eq!(parse_expiry(Some("never")), Ok(Expiry::Never));
        assert!(parse_expiry(Some("30")).is_err());
        assert!(parse_expiry(Some("d")).is_err());
        assert!(parse_expiry(Some("1y")).is_err());
    }
}
