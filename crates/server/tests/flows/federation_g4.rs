//! G4: once an organization requires its own sign-in, nothing else signs its people in. A
//! password is refused before it is checked (federation.rs); a session, a refresh grant and
//! a PAT from before stop working; PATs are made only from a session the organization's
//! identity provider signed in.

use lanyard_core::Origin;
use lanyard_identity::IdentityError;
use lanyard_identity::pats::{Expiry, PatRequest};
use lanyard_testkit::{Browser, TestApp};
use serde_json::{Value, json};

use crate::federation_support::{ORG, Options, RP, set_connection, setup, sign_in, user};
use crate::helpers::{refresh, sign_in_tokens};

const TOOL: &str = "fed-tool";
const PERSON: &str = "pat@corp.example";

fn request() -> PatRequest {
    PatRequest {
        name: "ci".to_owned(),
        scopes: vec!["repo:read".to_owned()],
        audiences: vec![],
        expiry: Expiry::Default,
        site: None,
    }
}

async fn exchange(app: &TestApp, pat: &str) -> (u16, Value) {
    crate::helpers::exchange_pat(app, TOOL, pat).await
}

#[tokio::test]
async fn g4_sessions_grants_and_pats_from_other_sign_ins_stop_working_when_sso_becomes_required() {
    let users = json!([user("pat-1", PERSON, json!(true))]);
    let Some(fed) = setup(users, Options::default()).await else {
        return;
    };
    let app = &fed.app;
    app.create_client(crate::helpers::pat_tool(TOOL, "Tool"))
        .await;
    let account = app.create_user(PERSON).await;
    let state = &app.app.state;
    let federation = state.signin.federation();
    // Before: the organization's sign-in is off; a password session, a grant and a PAT.
    federation
        .set_enabled(ORG, false, &Origin::cli())
        .await
        .unwrap();
    let tokens = sign_in_tokens(app, RP, &fed.rp_secret, PERSON).await;
    let refresh_token = tokens["refresh_token"].as_str().unwrap().to_owned();
    let (_, pat) = state
        .pats
        .create(&account, request(), &Origin::cli())
        .await
        .unwrap();
    assert_eq!(exchange(app, pat.expose()).await.0, 200);
    let browser = Browser::new();
    browser
        .sign_in(
            &crate::helpers::authorize_url(app, RP, ""),
            &app.base_url,
            &app.mail,
            PERSON,
            lanyard_testkit::PASSWORD,
        )
        .await;
    let (status, _, _) = browser.get(&app.url("/account"), &app.base_url).await;
    assert_eq!(status, 200, "a password session");

    // The organization now requires its own sign-in.
    set_connection(
        app,
        ORG,
        fed.idp.issuer(),
        Options {
            require_sso: true,
            ..Options::default()
        },
    )
    .await;
    federation
        .set_enabled(ORG, true, &Origin::cli())
        .await
        .unwrap();
    let holders = state
        .signin
        .enforce_sso_requirement(ORG, &Origin::cli())
        .await
        .unwrap();
    assert_eq!(holders, 1);

    let (_, at, _) = browser.get(&app.url("/account"), &app.base_url).await;
    assert!(
        at.contains("/login"),
        "the password session counts for nothing: {at}"
    );
    let (status, body) = refresh(app, RP, &fed.rp_secret, &refresh_token, None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    let (status, body) = exchange(app, pat.expose()).await;
    assert_eq!(status, 400, "the PAT was revoked: {body}");
    assert!(matches!(
        state.pats.create(&account, request(), &Origin::cli()).await,
        Err(IdentityError::SsoRequired)
    ));
    assert!(matches!(
        state
            .pats
            .create_in_session(&account, request(), &["pwd".to_owned()], &Origin::cli())
            .await,
        Err(IdentityError::SsoRequired)
    ));

    // Signed in through the organization: a session that counts, and PATs again.
    let browser = Browser::new();
    let outcome = sign_in(&fed, &browser, PERSON, "pat-1").await;
    assert!(outcome.reached_app(), "{}", outcome.body);
    let (status, _, _) = browser.get(&app.url("/account"), &app.base_url).await;
    assert_eq!(status, 200);
    let (_, pat) = state
        .pats
        .create_in_session(&account, request(), &["fed".to_owned()], &Origin::cli())
        .await
        .unwrap();
    assert_eq!(exchange(app, pat.expose()).await.0, 200);
    fed.app.cleanup().await;
}
