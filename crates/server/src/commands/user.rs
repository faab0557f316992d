//! `lanyard user create|list|disable|unlock|admin`.

use std::io::Read;

use lanyard_core::model::Account;
use lanyard_core::{Origin, Secret};
use lanyard_identity::IdentityError;
use serde_json::json;

use super::{CommandResult, ExitError, print_json, table};
use crate::app::App;
use crate::cli::UserCommand;

/// More than any password we accept, so an oversized input is refused, not truncated.
const MAX_STDIN: u64 = 4096;

pub async fn run(app: &App, cmd: UserCommand) -> CommandResult {
    let accounts = &app.state.accounts;
    match cmd {
        UserCommand::Create {
            email,
            name,
            password_stdin,
            json: as_json,
        } => {
            if !password_stdin {
                return Err(
                    "pass --password-stdin and write the password to standard input".into(),
                );
            }
            let password = read_password()?;
            let account = accounts
                .create_account(&email, &name, password, &Origin::cli())
                .await
                .map_err(|e| match e {
                    IdentityError::PasswordRefused(refusal) => {
                        Box::<dyn std::error::Error + Send + Sync>::from(ExitError {
                            code: super::EXIT_REFUSED_INPUT,
                            message: format!(
                                "the password was refused, no account was created: {refusal}"
                            ),
                        })
                    }
                    other => other.into(),
                })?;
            if as_json {
                print_json(&describe(&account));
            } else {
                println!("created account {} <{}>", account.id, account.email);
            }
            Ok(())
        }
        UserCommand::List(flag) => {
            let mut all = Vec::new();
            let mut after = None;
            loop {
                let page = accounts.list(after, 500).await?;
                after = page.last().map(|a| a.id);
                let done = page.len() < 500;
                all.extend(page);
                if done {
                    break;
                }
            }
            if flag.json {
                print_json(&json!(all.iter().map(describe).collect::<Vec<_>>()));
            } else {
                let rows: Vec<Vec<String>> = all
                    .iter()
                    .map(|a| {
                        vec![
                            a.email.clone(),
                            a.name.clone(),
                            a.status.as_str().to_owned(),
                            lanyard_mfa::when::date(a.created_at),
                        ]
                    })
                    .collect();
                table::print(
                    &["EMAIL", "NAME", "STATUS", "CREATED"],
                    &rows,
                    "No accounts yet: create one with `lanyard user create`.",
                );
            }
            Ok(())
        }
        UserCommand::Disable {
            email,
            json: as_json,
        } => {
            if accounts.find_by_email(&email).await?.is_none() {
                return Err("no account with this email".into());
            }
            // Ends every session too, and queues their back-channel logouts (issue 11, 8).
            let account = app
                .state
                .signin
                .disable_account(&email, &Origin::cli())
                .await?;
            if as_json {
                print_json(&describe(&account));
            } else {
                println!("disabled account {} <{}>", account.id, account.email);
            }
            Ok(())
        }
        UserCommand::Unlock {
            email,
            json: as_json,
        } => {
            let account = accounts
                .find_by_email(&email)
                .await?
                .ok_or("no account with this email")?;
            app.state.mfa.unlock(account.id, &Origin::cli()).await?;
            if as_json {
                print_json(&describe(&account));
            } else {
                println!("unlocked account {} <{}>", account.id, account.email);
            }
            Ok(())
        }
        UserCommand::Admin {
            email,
            grant,
            revoke: _,
            json: as_json,
        } => {
            let admins = &app.state.admin.admins;
            let account = admins.set_admin(&email, grant, &Origin::cli()).await?;
            if as_json {
                let mut doc = describe(&account);
                doc["admin"] = json!(grant);
                print_json(&doc);
            } else if grant {
                println!("{} <{}> is an admin", account.id, account.email);
            } else {
                println!("{} <{}> is no longer an admin", account.id, account.email);
            }
            Ok(())
        }
    }
}

fn read_password() -> Result<Secret, Box<dyn std::error::Error + Send + Sync>> {
    let mut buf = String::new();
    std::io::stdin()
        .take(MAX_STDIN + 1)
        .read_to_string(&mut buf)?;
    if buf.len() as u64 > MAX_STDIN {
        return Err("the password is too long".into());
    }
    // One trailing line break is what `echo` and a here-document add; the account service's
    // password rules judge the rest (and refuse any other control character).
    let password = buf
        .strip_suffix("\r\n")
        .or_else(|| buf.strip_suffix('\n'))
        .unwrap_or(&buf)
        .to_owned();
    buf.clear();
    Ok(Secret::new(password))
}

fn describe(a: &Account) -> serde_json::Value {
    json!({
        "id": a.id.to_string(),
        "email": a.email,
        "name": a.name,
        "status": a.status.as_str(),
        "created_at": a.created_at.seconds(),
    })
}
