//! `lanyard client create|list|show|delete`.

use lanyard_core::Origin;
use lanyard_core::model::{Client, ClientAuthMethod, GrantType};
use lanyard_issuer::clients::NewClient;
use serde_json::json;

use super::{CommandResult, print_json, table};
use crate::app::App;
use crate::cli::{ClientCommand, ClientCreate};

pub async fn run(app: &App, cmd: ClientCommand) -> CommandResult {
    let clients = app.state.issuer.clients();
    match cmd {
        ClientCommand::Create(args) => create(app, *args).await,
        ClientCommand::List(flag) => {
            let all = clients.list().await?;
            if flag.json {
                print_json(&json!(all.iter().map(describe).collect::<Vec<_>>()));
            } else {
                let rows: Vec<Vec<String>> = all
                    .iter()
                    .map(|c| {
                        vec![
                            c.id.as_str().to_owned(),
                            c.name.clone(),
                            c.auth_method.as_str().to_owned(),
                            c.grant_types
                                .iter()
                                .map(|g| short_grant(*g))
                                .collect::<Vec<_>>()
                                .join(","),
                        ]
                    })
                    .collect();
                table::print(
                    &["CLIENT ID", "NAME", "AUTH", "GRANTS"],
                    &rows,
                    "No clients yet: register one with `lanyard client create`.",
                );
            }
            Ok(())
        }
        ClientCommand::Show { id, json: as_json } => {
            let client = clients.find(&id).await?.ok_or("no such client")?;
            if as_json {
                print_json(&describe(&client));
            } else {
                println!("{:#}", describe(&client));
            }
            Ok(())
        }
        ClientCommand::Delete { id, json: as_json } => {
            let deleted = clients.delete(&id, &Origin::cli()).await?;
            if !deleted {
                return Err("no such client".into());
            }
            if as_json {
                print_json(&json!({ "client_id": id, "deleted": true }));
            } else {
                println!("deleted client {id}");
            }
            Ok(())
        }
    }
}

async fn create(app: &App, args: ClientCreate) -> CommandResult {
    let auth_method = ClientAuthMethod::parse(&args.auth)
        .ok_or("--auth must be client_secret_basic, client_secret_post, private_key_jwt or none")?;
    let grant_types = args
        .grant
        .iter()
        .map(|g| parse_grant(g.trim()))
        .collect::<Result<Vec<_>, _>>()?;
    let jwks = match &args.jwks_file {
        Some(path) => Some(serde_json::from_str(&std::fs::read_to_string(path)?)?),
        None => None,
    };
    let registered = app
        .state
        .issuer
        .clients()
        .register(
            NewClient {
                name: args.name.clone().unwrap_or_else(|| args.id.clone()),
                id: args.id,
                redirect_uris: args.redirect_uris,
                post_logout_redirect_uris: args.post_logout_redirect_uris,
                grant_types,
                auth_method,
                jwks,
                first_party: args.first_party,
                allowed_scopes: args.scopes,
                exchange_audiences: args.exchange_audiences,
                backchannel_logout_uri: args.backchannel_logout_uri,
                backchannel_logout_session_required: args.backchannel_logout_session_required,
            },
            &Origin::cli(),
        )
        .await?;
    let secret = registered.secret.as_ref().map(|s| s.expose().to_owned());
    if args.json {
        let mut doc = describe(&registered.client);
        doc["client_secret"] = json!(secret);
        print_json(&doc);
    } else {
        println!("created client {}", registered.client.id);
        if let Some(secret) = secret {
            println!("client secret (shown once, store it now): {secret}");
        }
    }
    Ok(())
}

/// The grant types by the names `--grant` takes: the RFC names, and the short names of the two
/// URN grants.
const GRANTS: [(&str, GrantType); 5] = [
    ("authorization_code", GrantType::AuthorizationCode),
    ("refresh_token", GrantType::RefreshToken),
    ("client_credentials", GrantType::ClientCredentials),
    ("device_code", GrantType::DeviceCode),
    ("token_exchange", GrantType::TokenExchange),
];

fn parse_grant(text: &str) -> Result<GrantType, String> {
    GRANTS
        .iter()
        .find(|(short, _)| *short == text)
        .map(|(_, grant)| *grant)
        .or_else(|| GrantType::parse(text))
        .ok_or_else(|| {
            let names: Vec<&str> = GRANTS.iter().map(|(short, _)| *short).collect();
            format!(
                "unknown grant type {text:?}: use one of {}",
                names.join(", ")
            )
        })
}

fn short_grant(grant: GrantType) -> &'static str {
    GRANTS
        .iter()
        .find(|(_, g)| *g == grant)
        .map_or(grant.as_str(), |(short, _)| short)
}

fn describe(c: &Client) -> serde_json::Value {
    json!({
        "client_id": c.id.as_str(),
        "name": c.name,
        "redirect_uris": c.redirect_uris,
        "post_logout_redirect_uris": c.post_logout_redirect_uris,
        "grant_types": c.grant_types.iter().map(|g| g.as_str()).collect::<Vec<_>>(),
        "token_endpoint_auth_method": c.auth_method.as_str(),
        "first_party": c.first_party,
        "allowed_scopes": c.allowed_scopes,
        "exchange_audiences": c.exchange_audiences,
        "backchannel_logout_uri": c.backchannel_logout_uri,
        "backchannel_logout_session_required": c.backchannel_logout_session_required,
        "created_at": c.created_at.seconds(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_grant_parses_by_its_short_and_its_protocol_name() {
        for (short, grant) in GRANTS {
            assert_eq!(parse_grant(short), Ok(grant));
            assert_eq!(parse_grant(grant.as_str()), Ok(grant));
            assert_eq!(short_grant(grant), short);
        }
        let err = parse_grant("implicit").unwrap_err();
        assert!(err.contains("device_code"), "{err}");
    }
}
