//! `lanyard org add-domain|verify-domain|set-sso|sso-state`: an organization's email domains
//! and its identity provider (G1, G4; docs/federation.md).

use lanyard_core::model::{AcrMapping, ClaimMapping, GroupRole, OrgRole};
use lanyard_core::{Origin, Secret};
use lanyard_federation::{DEFAULT_SCOPES, DomainCheck, FederationError, OidcSettings};
use serde_json::json;

use super::{CommandResult, print_json};
use crate::app::App;
use crate::cli::{OrgCommand, SetSso};

pub async fn run(app: &App, cmd: OrgCommand) -> CommandResult {
    let federation = app.state.signin.federation();
    let origin = Origin::cli();
    match cmd {
        OrgCommand::AddDomain {
            org,
            domain,
            json: as_json,
        } => {
            let record = federation.add_domain(&org, &domain, &origin).await?;
            let name = lanyard_federation::domains::record_name(&record.domain);
            if as_json {
                print_json(&json!({
                    "org": org,
                    "domain": record.domain,
                    "record": name,
                    "type": "TXT",
                    "value": record.verification_token,
                }));
            } else {
                println!(
                    "{} claimed for {org}. Publish this DNS record, then run verify-domain:\n\n  {name}  TXT  \"{}\"",
                    record.domain, record.verification_token
                );
            }
        }
        OrgCommand::VerifyDomain {
            org,
            domain,
            override_dns,
            json: as_json,
        } => {
            let check = if override_dns {
                federation.override_domain(&org, &domain, &origin).await?;
                DomainCheck::Verified
            } else {
                federation.verify_domain(&org, &domain, &origin).await?
            };
            if check == DomainCheck::Verified {
                // G4: a new domain under a requirement brings its people's PATs under it.
                let revoked = app
                    .state
                    .signin
                    .enforce_sso_requirement(&org, &origin)
                    .await?;
                if as_json {
                    print_json(&json!({
                        "org": org, "domain": domain, "verified": true,
                        "accounts_with_pats_revoked": revoked,
                    }));
                } else {
                    println!("{domain} is verified for {org}");
                    if revoked > 0 {
                        println!(
                            "PATs revoked for {revoked} account(s): {org} requires its own sign-in"
                        );
                    }
                }
            }
            match check {
                DomainCheck::Verified => {}
                DomainCheck::NotFound { name, token } => {
                    if as_json {
                        print_json(&json!({
                            "org": org, "domain": domain, "verified": false,
                            "record": name, "value": token,
                        }));
                    }
                    return Err(format!(
                        "{domain} is not verified yet: no TXT record {name} with the value \"{token}\" was found (DNS changes can take a while to spread)"
                    )
                    .into());
                }
            }
        }
        OrgCommand::SetSso(set) => set_sso(app, set, &origin).await?,
        OrgCommand::SsoState {
            org,
            state,
            json: as_json,
        } => {
            let enabled = match state.as_str() {
                "on" => true,
                "off" => false,
                other => return Err(format!("state must be on or off, not {other:?}").into()),
            };
            federation.set_enabled(&org, enabled, &origin).await?;
            app.state
                .signin
                .enforce_sso_requirement(&org, &origin)
                .await?;
            if as_json {
                print_json(&json!({ "org": org, "enabled": enabled }));
            } else {
                println!(
                    "single sign-on {} for {org}",
                    if enabled { "on" } else { "off" }
                );
            }
        }
        _ => return Err("not a single sign-on command".into()),
    }
    Ok(())
}

async fn set_sso(app: &App, set: SetSso, origin: &Origin) -> CommandResult {
    let secret = std::fs::read_to_string(&set.client_secret_file).map_err(|e| {
        format!(
            "can not read --client-secret-file {}: {e}",
            set.client_secret_file.display()
        )
    })?;
    let secret = secret.trim();
    if secret.is_empty() {
        return Err(format!("{} is empty", set.client_secret_file.display()).into());
    }
    let acr = set
        .acr
        .iter()
        .map(|pair| {
            pair.split_once('=')
                .map(|(upstream, ours)| AcrMapping {
                    upstream: upstream.to_owned(),
                    ours: ours.to_owned(),
                })
                .ok_or_else(|| format!("--acr takes UPSTREAM=OURS, not {pair:?}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let scopes = if set.scopes.is_empty() {
        DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect()
    } else {
        set.scopes
    };
    let settings = OidcSettings {
        issuer: set.issuer,
        client_id: set.client_id,
        client_secret: Secret::new(secret),
        scopes,
        claims: ClaimMapping {
            email: set.email_claim,
            name: set.name_claim,
            groups: set.groups_claim,
            roles: set
                .admin_groups
                .into_iter()
                .map(|group| GroupRole {
                    group,
                    role: OrgRole::Admin,
                })
                .collect(),
            acr,
        },
    };
    let federation = app.state.signin.federation();
    let set_up = federation
        .set_oidc(
            &set.org,
            settings,
            set.require,
            set.end_upstream_session,
            origin,
        )
        .await
        .map_err(|e| match e {
            FederationError::InvalidSetting(why) => why,
            other => other.to_string(),
        })?;
    // G4: PATs are used without a sign-in; the people now covered make new ones from a
    // session their organization signed in.
    let revoked = app
        .state
        .signin
        .enforce_sso_requirement(&set.org, origin)
        .await?;
    if set.json {
        print_json(&json!({
            "org": set.org,
            "issuer": set_up.connection.upstream.issuer(),
            "redirect_uri": set_up.callback.as_str(),
            "backchannel_logout_uri": federation.backchannel_logout_url(&set.org).as_str(),
            "require_sso": set_up.connection.require_sso,
            "accounts_with_pats_revoked": revoked,
            "enabled": set_up.connection.enabled,
        }));
    } else {
        println!(
            "single sign-on set for {} ({}). Register these at the provider:\n  redirect URI:            {}\n  back-channel logout URI:  {}",
            set.org,
            if set.require { "required" } else { "optional" },
            set_up.callback,
            federation.backchannel_logout_url(&set.org),
        );
        if revoked > 0 {
            println!("PATs revoked for {revoked} account(s) the requirement now covers");
        }
    }
    Ok(())
}
