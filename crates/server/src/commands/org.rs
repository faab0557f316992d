//! `lanyard org create|add-member|remove-member|show|require-authenticator`: the operator
//! manages organizations (G1) and their sign-in policy (S54). Organization admins change the
//! policy through the admin API (`PUT /orgs/{slug}/policy`).

use lanyard_core::Origin;
use lanyard_core::model::{OrgRole, Organization};
use lanyard_identity::IdentityError;
use lanyard_identity::orgs::Actor;
use serde_json::json;

use lanyard_identity::orgs::PolicyPreview;
use lanyard_mfa::when;

use super::{CommandResult, EXIT_NOT_CONFIRMED, ExitError, emails, print_json, table};
use crate::app::App;
use crate::cli::OrgCommand;

fn describe(org: &Organization) -> serde_json::Value {
    json!({
        "id": org.id.to_string(),
        "slug": org.slug,
        "name": org.name,
        "authenticator_required": org.authenticator_required_since.is_some(),
        "authenticator_required_since": org.authenticator_required_since.map(|t| t.seconds()),
    })
}

/// What turning the policy on would do, and how to go ahead.
fn not_confirmed(slug: &str, preview: &PolicyPreview) -> String {
    let plural = |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    format!(
        "nothing changed. Requiring an authenticator app in {slug} affects {without} with no \
         app: they would have to set one up at their next sign-in, and their personal access \
         tokens would be revoked at once ({tokens} of {holders}). Run again with --yes to go \
         ahead.",
        without = plural(preview.members_without_app, "member", "members"),
        tokens = plural(preview.pats, "token", "tokens"),
        holders = plural(preview.members_with_pats, "member", "members"),
    )
}

/// "Not found" in the operator's words: which of the two was missing is not known here.
fn not_found(e: IdentityError) -> Box<dyn std::error::Error + Send + Sync> {
    match e {
        IdentityError::NotFound => "no such organization or account".into(),
        other => other.into(),
    }
}

pub async fn run(app: &App, cmd: OrgCommand) -> CommandResult {
    let orgs = &app.state.orgs;
    let origin = Origin::cli();
    match cmd {
        OrgCommand::Create {
            slug,
            name,
            json: as_json,
        } => {
            let org = orgs.create(&slug, &name, &origin).await?;
            if as_json {
                print_json(&describe(&org));
            } else {
                println!("created organization {} ({})", org.slug, org.id);
            }
        }
        OrgCommand::AddMember {
            org,
            user,
            role,
            json: as_json,
        } => {
            let role = OrgRole::parse(&role)
                .ok_or_else(|| format!("--role must be member or admin, not {role:?}"))?;
            let member = orgs
                .put_member(&org, &user, role, &origin)
                .await
                .map_err(not_found)?;
            if as_json {
                print_json(&json!({
                    "org": org,
                    "account_id": member.account_id.to_string(),
                    "role": member.role.as_str(),
                }));
            } else {
                println!("{user} is now {} of {org}", member.role.as_str());
            }
        }
        OrgCommand::RemoveMember {
            org,
            user,
            json: as_json,
        } => {
            let removed = orgs
                .remove_member(&org, &user, &origin)
                .await
                .map_err(not_found)?;
            if as_json {
                print_json(&json!({ "org": org, "removed": removed }));
            } else if removed {
                println!("{user} is no longer a member of {org}");
            } else {
                println!("{user} was not a member of {org}");
            }
        }
        OrgCommand::Show {
            slug,
            json: as_json,
        } => {
            let org = orgs.get(&slug).await.map_err(not_found)?;
            let members = orgs.members(&slug).await?;
            let names = emails(app, members.iter().map(|m| m.account_id)).await?;
            let email = |id| names.get(&id).cloned().unwrap_or_default();
            if as_json {
                let mut value = describe(&org);
                value["members"] = json!(
                    members
                        .iter()
                        .map(|m| json!({
                            "account_id": m.account_id.to_string(),
                            "email": email(m.account_id),
                            "role": m.role.as_str(),
                            "joined_at": m.joined_at.seconds(),
                        }))
                        .collect::<Vec<_>>()
                );
                print_json(&value);
            } else {
                let required = if org.authenticator_required_since.is_some() {
                    "required"
                } else {
                    "not required"
                };
                println!(
                    "{} ({}): authenticator app {required}\n",
                    org.slug, org.name
                );
                let rows: Vec<Vec<String>> = members
                    .iter()
                    .map(|m| {
                        vec![
                            email(m.account_id),
                            m.role.as_str().to_owned(),
                            when::date(m.joined_at),
                        ]
                    })
                    .collect();
                table::print(&["EMAIL", "ROLE", "JOINED"], &rows, "No members yet.");
            }
        }
        OrgCommand::RequireAuthenticator {
            slug,
            state,
            yes,
            json: as_json,
        } => {
            let required = match state.as_str() {
                "on" => true,
                "off" => false,
                other => return Err(format!("state must be on or off, not {other:?}").into()),
            };
            let already = orgs
                .get(&slug)
                .await
                .map_err(not_found)?
                .authenticator_required_since
                .is_some();
            if required && !already && !yes {
                let preview = orgs
                    .preview_authenticator_required(&slug)
                    .await
                    .map_err(not_found)?;
                return Err(ExitError {
                    code: EXIT_NOT_CONFIRMED,
                    message: not_confirmed(&slug, &preview),
                }
                .into());
            }
            let change = orgs
                .set_authenticator_required(&slug, Actor::Operator, required, &origin)
                .await
                .map_err(not_found)?;
            if as_json {
                let mut value = describe(&change.org);
                value["changed"] = json!(change.changed);
                value["members_with_pats_revoked"] = json!(change.members_with_pats_revoked);
                print_json(&value);
            } else if change.changed {
                println!(
                    "authenticator app {} for {}; PATs revoked for {} member(s) without one",
                    if required {
                        "required"
                    } else {
                        "no longer required"
                    },
                    slug,
                    change.members_with_pats_revoked
                );
            } else {
                println!("nothing changed for {slug}");
            }
        }
        OrgCommand::AddDomain { .. }
        | OrgCommand::VerifyDomain { .. }
        | OrgCommand::SetSso(_)
        | OrgCommand::SsoState { .. } => return super::org_sso::run(app, cmd).await,
    }
    Ok(())
}
