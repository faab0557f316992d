//! `lanyard site create|list|import|users|migrate|two-factor|progress`: the operator manages sites and
//! their migration (C1, C5). Names are the issue's, so scripts can rely on them. A refused
//! input (an import's problems, a move the migration does not allow, a bad slug) exits 65;
//! an import's problems go to standard error, one per line, each with its row.

use std::io::Read;
use std::path::Path;

use lanyard_core::Origin;
use lanyard_core::model::{MigrationProgress, MigrationState, Site, SiteUser};
use lanyard_sites::SitesError;
use lanyard_sites::import::MAX_FILE_BYTES;
use serde_json::json;

use super::{CommandResult, EXIT_REFUSED_INPUT, ExitError, emails, print_json, table};
use crate::app::App;
use crate::cli::SiteCommand;

fn describe(site: &Site) -> serde_json::Value {
    json!({
        "id": site.id.to_string(),
        "slug": site.slug,
        "name": site.name,
        "state": site.state.as_str(),
        "clients": site.clients.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
        "two_factor_required": site.two_factor_required_since.is_some(),
        "created_at": site.created_at.seconds(),
    })
}

fn describe_progress(slug: &str, p: &MigrationProgress) -> serde_json::Value {
    json!({
        "site": slug,
        "total": p.total,
        "linked": p.linked,
        "invited": p.invited,
        "not_invited": p.not_invited,
        "expired_or_bounced": p.expired_or_bounced,
    })
}

/// Input the rules refuse exits 65; the rest keeps its message and exits 1.
fn refused(e: SitesError) -> Box<dyn std::error::Error + Send + Sync> {
    match e {
        SitesError::Invalid(_)
        | SitesError::SlugTaken
        | SitesError::UnknownClient(_)
        | SitesError::ClientTaken { .. }
        | SitesError::MoveRefused { .. } => Box::new(ExitError {
            code: EXIT_REFUSED_INPUT,
            message: format!("{e}; nothing changed"),
        }),
        SitesError::ImportRefused(problems) => {
            for problem in &problems {
                eprintln!("{problem}");
            }
            Box::new(ExitError {
                code: EXIT_REFUSED_INPUT,
                message: format!(
                    "the import was refused ({} {}); nothing was written",
                    problems.len(),
                    if problems.len() == 1 {
                        "problem"
                    } else {
                        "problems"
                    }
                ),
            })
        }
        other => other.into(),
    }
}

/// The file's bytes, refusing (65) one larger than the import accepts without reading it all.
fn read_import_file(path: &Path) -> Result<Vec<u8>, Box<dyn std::error::Error + Send + Sync>> {
    let cannot = |e: std::io::Error| format!("cannot read {}: {e}", path.display());
    let file = std::fs::File::open(path).map_err(cannot)?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() > MAX_FILE_BYTES {
        return Err(refused(SitesError::ImportRefused(vec![
            lanyard_sites::import::Problem::file(format!(
                "larger than {} MiB",
                MAX_FILE_BYTES / (1024 * 1024)
            )),
        ])));
    }
    Ok(bytes)
}

/// Every user of the site, page by page.
async fn all_users(app: &App, slug: &str) -> Result<Vec<SiteUser>, SitesError> {
    let mut users: Vec<SiteUser> = Vec::new();
    loop {
        let after = users.last().map(|u| u.login_normalized.clone());
        let page = app
            .sites
            .users(slug, after.as_deref(), lanyard_sites::service::MAX_PAGE)
            .await?;
        let done = page.len() < lanyard_sites::service::MAX_PAGE as usize;
        users.extend(page);
        if done {
            return Ok(users);
        }
    }
}

pub async fn run(app: &App, cmd: SiteCommand) -> CommandResult {
    let sites = &app.sites;
    let origin = Origin::cli();
    match cmd {
        SiteCommand::Create {
            slug,
            name,
            clients,
            json: as_json,
        } => {
            let site = sites
                .create(&slug, &name, &clients, &origin)
                .await
                .map_err(refused)?;
            if as_json {
                print_json(&describe(&site));
            } else {
                println!("created site {} ({}) in legacy mode", site.slug, site.id);
            }
        }
        SiteCommand::List { json: as_json } => {
            let all = sites.list().await?;
            if as_json {
                print_json(&json!(all.iter().map(describe).collect::<Vec<_>>()));
            } else {
                let rows: Vec<Vec<String>> = all
                    .iter()
                    .map(|s| {
                        let clients: Vec<&str> = s.clients.iter().map(|c| c.as_str()).collect();
                        let two_factor = if s.two_factor_required_since.is_some() {
                            "required"
                        } else {
                            "-"
                        };
                        vec![
                            s.slug.clone(),
                            s.name.clone(),
                            s.state.as_str().to_owned(),
                            two_factor.to_owned(),
                            clients.join(" "),
                        ]
                    })
                    .collect();
                let headers = ["SLUG", "NAME", "MODE", "2FA", "CLIENTS"];
                table::print(&headers, &rows, "No sites yet.");
            }
        }
        SiteCommand::Import {
            site,
            file,
            json: as_json,
        } => {
            let bytes = read_import_file(&file)?;
            let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let summary = sites
                .import(&site, name, &bytes, &origin)
                .await
                .map_err(refused)?;
            if as_json {
                print_json(&json!({
                    "site": site,
                    "added": summary.added,
                    "unchanged": summary.unchanged,
                }));
            } else {
                println!(
                    "imported {} users into {site} ({} already there, unchanged)",
                    summary.added, summary.unchanged
                );
            }
        }
        SiteCommand::Users {
            site,
            json: as_json,
        } => {
            let users = all_users(app, &site).await?;
            let linked = emails(app, users.iter().filter_map(|u| u.account_id)).await?;
            let linked_to = |u: &SiteUser| u.account_id.and_then(|a| linked.get(&a).cloned());
            if as_json {
                let list: Vec<_> = users
                    .iter()
                    .map(|u| {
                        json!({
                            "id": u.id.to_string(),
                            "login": u.login,
                            "email": u.email,
                            "role": u.role.as_str(),
                            "legacy_password": u.legacy_password_hash.is_some(),
                            "linked_account": linked_to(u),
                            "email_unverified": u.email_unverified_since.is_some(),
                        })
                    })
                    .collect();
                print_json(&json!(list));
            } else {
                let rows: Vec<Vec<String>> = users
                    .iter()
                    .map(|u| {
                        vec![
                            u.login.clone(),
                            u.email.clone(),
                            u.role.as_str().to_owned(),
                            linked_to(u).unwrap_or_else(|| "-".to_owned()),
                        ]
                    })
                    .collect();
                let headers = ["LOGIN", "EMAIL", "ROLE", "LINKED TO"];
                table::print(&headers, &rows, "No users yet.");
            }
        }
        SiteCommand::Migrate {
            site,
            state,
            json: as_json,
        } => {
            let to = MigrationState::parse(&state)
                .ok_or_else(|| refused(SitesError::Invalid(format!("unknown mode {state:?}"))))?;
            let step = sites.migrate(&site, to, &origin).await.map_err(refused)?;
            // Their sessions are refused already (the accounts are disabled); ending them
            // queues the back-channel logouts of the site's clients.
            app.state
                .signin
                .sessions()
                .end_all_of(&step.disabled_principals, &origin)
                .await?;
            if as_json {
                print_json(&json!({
                    "site": site,
                    "from": step.from.as_str(),
                    "state": step.site.state.as_str(),
                    "changed": step.changed,
                    "signed_out": step.disabled_principals.len(),
                }));
            } else if !step.changed {
                println!("{site} is in {} mode already; nothing changed", to.as_str());
            } else if to == MigrationState::Identity {
                println!(
                    "{site}: {} → identity. Legacy passwords and authenticator apps erased, \
                     {} legacy accounts signed out.",
                    step.from.as_str(),
                    step.disabled_principals.len()
                );
            } else {
                println!("{site}: {} → {}", step.from.as_str(), to.as_str());
            }
        }
        SiteCommand::TwoFactor {
            site,
            state,
            json: as_json,
        } => {
            let on = state == "on";
            let (site, changed) = sites
                .set_two_factor(&site, on, None, &origin)
                .await
                .map_err(refused)?;
            if as_json {
                let mut doc = describe(&site);
                doc["changed"] = json!(changed);
                print_json(&doc);
            } else if !changed {
                println!(
                    "{}: two-factor authentication is {state} already; nothing changed",
                    site.slug
                );
            } else if on {
                println!(
                    "{}: two-factor authentication required; licensed users and admins \
                     without an authenticator app set one up at their next sign-in",
                    site.slug
                );
            } else {
                println!(
                    "{}: two-factor authentication no longer required",
                    site.slug
                );
            }
        }
        SiteCommand::Progress {
            site,
            json: as_json,
        } => {
            let p = sites.progress(&site).await?;
            let users = super::site_migration::progress_rows(app, &site).await?;
            if as_json {
                let mut doc = describe_progress(&site, &p);
                doc["users"] = json!(users);
                print_json(&doc);
            } else {
                let rows = vec![
                    vec!["total".to_owned(), p.total.to_string()],
                    vec!["linked".to_owned(), p.linked.to_string()],
                    vec!["invited".to_owned(), p.invited.to_string()],
                    vec!["not invited".to_owned(), p.not_invited.to_string()],
                    vec![
                        "expired or bounced".to_owned(),
                        p.expired_or_bounced.to_string(),
                    ],
                ];
                table::print(&["USERS", "COUNT"], &rows, "");
                println!();
                super::site_migration::print_rows(&users);
            }
        }
        other => super::site_migration::run(app, other).await?,
    }
    Ok(())
}
