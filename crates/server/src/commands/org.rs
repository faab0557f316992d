//! `lanyard org create|add-member|remove-member|show|require-authenticator`: the operator
//! manages organizations (G1) and their sign-in policy (S54). Organization admins change the
//! policy through the admin API (`PUT /orgs/{slug}/policy`).

use lanyard_core::Origin;
use lanyard_core::model::{OrgRole, Organization};
use lanyard_identity::IdentityError;
use lanyard_identity::orgs::Actor;
use serde_json::json;

use super::{CommandResult, print_json};
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
            if as_json {
                let mut value = describe(&org);
                value["members"] = json!(
                    members
                        .iter()
                        .map(|m| json!({
                            "account_id": m.account_id.to_string(),
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
                println!("{} ({}): authenticator app {required}", org.slug, org.name);
                for m in &members {
                    println!("{}\t{}", m.account_id, m.role.as_str());
                }
            }
        }
        OrgCommand::RequireAuthenticator {
            slug,
            state,
            json: as_json,
        } => {
            let required = match state.as_str() {
                "on" => true,
                "off" => false,
                other => return Err(format!("state must be on or off, not {other:?}").into()),
            };
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
    }
    Ok(())
}
