//! `lanyard client create|list|show|delete`.

use lanyard_core::Origin;
use lanyard_core::model::{Client, ClientAuthMethod, GrantType};
use lanyard_issuer::clients::NewClient;
use serde_json::json;

use super::{CommandResult, print_json};
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
                for c in &all {
                    println!("{}\t{}\t{}", c.id, c.auth_method.as_str(), c.name);
                }
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
        .map(|g| GrantType::parse(g.trim()).ok_or_else(|| format!("unknown grant type {g:?}")))
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
