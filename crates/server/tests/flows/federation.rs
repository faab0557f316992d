//! "Sign in with your organization" (issue 14: F1, G1–G4) against a real OpenID provider on
//! loopback (`tests/idp`): just-in-time sign-up and the second sign-in, home-realm
//! discovery, an organization that requires its own sign-in, the linking rules (S38, S39)
//! and logout both ways.

use lanyard_core::Origin;
use lanyard_testkit::{Backend, Browser};
use serde_json::{Value, json};

use crate::federation_support::{
    Fed, ORG, Options, account_count, after_email, audits, follow, set_connection, setup, setup_on,
    sign_in, to_callback, user,
};
use crate::helpers::{VERIFIER, json as json_of, jwt_claims, redeem};

async fn id_token(fed: &Fed, code: &str) -> Value {
    let (status, tokens) = json_of(
        redeem(
            &fed.app,
            crate::federation_support::RP,
            &fed.rp_secret,
            code,
            VERIFIER,
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{tokens}");
    jwt_claims(tokens["id_token"].as_str().unwrap())
}

#[tokio::test]
async fn jit_sign_up_then_the_second_sign_in_finds_the_same_account() {
    for backend in Backend::available() {
        let users = json!([user("ann-1", "ann@corp.example", json!(true))]);
        let Some(fed) = setup_on(backend, users, Options::default()).await else {
            return;
        };
        let before = account_count(&fed.app).await;
        let browser = Browser::new();
        let code = sign_in(&fed, &browser, "ann@corp.example", "ann-1")
            .await
            .code(&browser, &fed)
            .await;
        let claims = id_token(&fed, &code).await;
        assert_eq!(claims["amr"], json!(["fed"]), "{claims}");
        assert_eq!(claims["acr"], "urn:lanyard:loa:2");
        // G2: no emailed code for an SSO sign-in.
        assert!(fed.app.mail.messages_to("ann@corp.example").is_empty());
        assert_eq!(account_count(&fed.app).await, before + 1);
        assert_eq!(audits(&fed.app, "federation.provisioned").await.len(), 1);
        let account = fed
            .app
            .app
            .state
            .accounts
            .find_by_email("ann@corp.example")
            .await
            .unwrap()
            .unwrap();
        assert!(
            account.password_hash.is_none(),
            "no password for an SSO account"
        );
        let members = fed.app.app.state.orgs.members(ORG).await.unwrap();
        assert!(members.iter().any(|m| m.account_id == account.id));

        // A second sign-in, in another browser: the same account, nothing new created.
        let browser = Browser::new();
        let code = sign_in(&fed, &browser, "ann@corp.example", "ann-1")
            .await
            .code(&browser, &fed)
            .await;
        assert_eq!(id_token(&fed, &code).await["sub"], claims["sub"]);
        assert_eq!(account_count(&fed.app).await, before + 1);
        fed.app.cleanup().await;
    }
}

#[tokio::test]
async fn home_realm_discovery_sends_only_verified_domains_with_a_connection_to_the_idp() {
    let Some(fed) = setup(json!([]), Options::default()).await else {
        return;
    };
    let origin = Origin::cli();
    let federation = fed.app.app.state.signin.federation();
    // Claimed but never verified: still the password.
    federation
        .add_domain(ORG, "pending.example", &origin)
        .await
        .unwrap();
    for (email, to_idp) in [
        ("ann@corp.example", true),
        ("ANN@Corp.Example", true),
        ("ann@pending.example", false),
        ("ann@elsewhere.example", false),
        // A subdomain is another domain.
        ("ann@eu.corp.example", false),
    ] {
        let browser = Browser::new();
        let (status, _, next) = after_email(&fed, &browser, email).await;
        assert_eq!(status, 200);
        assert_eq!(
            next.contains("Continue to Acme Corp"),
            to_idp,
            "{email}: {next}"
        );
        assert_eq!(next.contains("Enter your password"), !to_idp, "{email}");
    }
    // Optional SSO offers the password too.
    let browser = Browser::new();
    let (_, _, org_page) = after_email(&fed, &browser, "ann@corp.example").await;
    assert!(org_page.contains("Use your password instead"));
    // A connection turned off sends nobody upstream.
    federation.set_enabled(ORG, false, &origin).await.unwrap();
    let browser = Browser::new();
    let (_, _, next) = after_email(&fed, &browser, "ann@corp.example").await;
    assert!(next.contains("Enter your password"), "{next}");
    fed.app.cleanup().await;
}

#[tokio::test]
async fn g4_an_organization_that_requires_sso_refuses_the_password() {
    let options = Options {
        require_sso: true,
        ..Options::default()
    };
    let Some(fed) = setup(json!([]), options).await else {
        return;
    };
    fed.app.create_user("bob@corp.example").await;
    let browser = Browser::new();
    let (_, at, org_page) = after_email(&fed, &browser, "bob@corp.example").await;
    assert!(org_page.contains("Continue to Acme Corp"), "{org_page}");
    assert!(!org_page.contains("Use your password instead"));
    // Posting the password anyway: refused before it is checked, with a clear page.
    let flow = crate::helpers::query_param(&at, "flow").unwrap();
    let csrf = lanyard_testkit::hidden_inputs(&org_page)
        .into_iter()
        .find(|(k, _)| k != "flow")
        .unwrap();
    let response = browser
        .http
        .post(fed.app.url("/login/password"))
        .form(&[
            ("flow", flow.as_str()),
            (csrf.0.as_str(), csrf.1.as_str()),
            ("password", lanyard_testkit::PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let body = response.text().await.unwrap();
    assert!(
        body.contains("Your password can&#x27;t be used here")
            || body.contains("Your password can't be used here"),
        "{body}"
    );
    assert!(
        audits(&fed.app, "login.password").await.is_empty(),
        "no password was checked"
    );
    fed.app.cleanup().await;
}

#[tokio::test]
async fn s38_an_upstream_email_that_is_not_the_boolean_true_never_links() {
    let users = json!([
        user("u-false", "victim@corp.example", json!(false)),
        user("u-absent", "victim@corp.example", Value::Null),
        user("u-string", "victim@corp.example", json!("true")),
    ]);
    let Some(fed) = setup(users, Options::default()).await else {
        return;
    };
    let victim = fed.app.create_user("victim@corp.example").await;
    let accounts = account_count(&fed.app).await;
    for sub in ["u-false", "u-absent", "u-string"] {
        let browser = Browser::new();
        let outcome = sign_in(&fed, &browser, "victim@corp.example", sub).await;
        assert_eq!(outcome.status, 200, "{sub}: {}", outcome.body);
        assert!(
            outcome.body.contains("You already have an account"),
            "{sub}: {}",
            outcome.body
        );
        // No session as the victim.
        let (_, at, _) = browser
            .get(&fed.app.url("/account"), &fed.app.base_url)
            .await;
        assert!(
            at.contains("/login"),
            "{sub}: signed in as the victim? {at}"
        );
    }
    assert_eq!(account_count(&fed.app).await, accounts);
    let refused = audits(&fed.app, "federation.link_refused").await;
    assert_eq!(refused.len(), 3);
    assert!(
        refused
            .iter()
            .all(|e| e.subject.as_deref() == Some(&victim.id.to_string()[..]))
    );
    assert!(audits(&fed.app, "federation.linked").await.is_empty());
    fed.app.cleanup().await;
}

#[tokio::test]
async fn s38_proving_the_account_links_it_and_the_next_sign_in_goes_straight_through() {
    let users = json!([user("u-unverified", "carol@corp.example", json!(false))]);
    let Some(fed) = setup(users, Options::default()).await else {
        return;
    };
    let carol = fed.app.create_user("carol@corp.example").await;
    let browser = Browser::new();
    let outcome = sign_in(&fed, &browser, "carol@corp.example", "u-unverified").await;
    assert!(outcome.body.contains("You already have an account"));
    // The link page leads to the password, then the usual second step.
    let (_, _, password_page) = browser
        .get(
            &fed.app.url(&outcome.link_to("/login/password")),
            &fed.app.base_url,
        )
        .await;
    let sent = fed.app.mail.messages_to("carol@corp.example").len();
    let (_, _, page) = browser
        .submit(
            &password_page,
            &fed.app.base_url,
            &[("password", lanyard_testkit::PASSWORD)],
        )
        .await;
    let (_, _) = browser
        .second_step(
            page,
            &fed.app.base_url,
            &fed.app.mail,
            "carol@corp.example",
            sent,
        )
        .await;
    let linked = audits(&fed.app, "federation.linked").await;
    assert_eq!(linked.len(), 1, "linked after the proof");
    assert_eq!(
        linked[0].subject.as_deref(),
        Some(&carol.id.to_string()[..])
    );
    assert_eq!(linked[0].reason.as_deref(), Some("proved_account"));
    // Next time the organization's sign-in is enough: same account, no code.
    let browser = Browser::new();
    let sent = fed.app.mail.messages_to("carol@corp.example").len();
    let code = sign_in(&fed, &browser, "carol@corp.example", "u-unverified")
        .await
        .code(&browser, &fed)
        .await;
    let claims = id_token(&fed, &code).await;
    assert_eq!(claims["sub"], carol.id.to_string());
    assert_eq!(fed.app.mail.messages_to("carol@corp.example").len(), sent);
    fed.app.cleanup().await;
}

#[tokio::test]
async fn s38_a_verified_email_in_a_verified_domain_links_at_once() {
    let users = json!([user("dan-1", "dan@corp.example", json!(true))]);
    let Some(fed) = setup(users, Options::default()).await else {
        return;
    };
    let dan = fed.app.create_user("dan@corp.example").await;
    let browser = Browser::new();
    let code = sign_in(&fed, &browser, "dan@corp.example", "dan-1")
        .await
        .code(&browser, &fed)
        .await;
    assert_eq!(id_token(&fed, &code).await["sub"], dan.id.to_string());
    let linked = audits(&fed.app, "federation.linked").await;
    assert_eq!(linked[0].reason.as_deref(), Some("verified_email"));
    fed.app.cleanup().await;
}

#[tokio::test]
async fn s39_the_issuer_and_sub_are_the_key_and_domains_are_scoped() {
    let users = json!([
        user("erin-1", "erin@corp.example", json!(true)),
        user("mallory", "mallory@other.example", json!(true)),
    ]);
    let Some(fed) = setup(users, Options::default()).await else {
        return;
    };
    let browser = Browser::new();
    let code = sign_in(&fed, &browser, "erin@corp.example", "erin-1")
        .await
        .code(&browser, &fed)
        .await;
    let erin = id_token(&fed, &code).await["sub"].clone();
    // The IdP changes Erin's email: still Erin's account, no new one, no re-link.
    fed.idp
        .put_user(user("erin-1", "erin.new@corp.example", json!(true)))
        .await;
    let accounts = account_count(&fed.app).await;
    let browser = Browser::new();
    let code = sign_in(&fed, &browser, "erin@corp.example", "erin-1")
        .await
        .code(&browser, &fed)
        .await;
    assert_eq!(id_token(&fed, &code).await["sub"], erin);
    assert_eq!(account_count(&fed.app).await, accounts);
    // The organization's IdP asserting an address of a domain it has not verified.
    let browser = Browser::new();
    let outcome = sign_in(&fed, &browser, "erin@corp.example", "mallory").await;
    assert_eq!(outcome.status, 403, "{}", outcome.body);
    assert!(
        outcome.body.contains("sign in this way"),
        "{}",
        outcome.body
    );
    assert_eq!(account_count(&fed.app).await, accounts);
    // A disabled connection: a callback in flight is refused, nothing created.
    fed.idp
        .put_user(user("frank-1", "frank@corp.example", json!(true)))
        .await;
    let browser = Browser::new();
    let callback = to_callback(&fed, &browser, "frank@corp.example", "frank-1").await;
    fed.app
        .app
        .state
        .signin
        .federation()
        .set_enabled(ORG, false, &Origin::cli())
        .await
        .unwrap();
    let outcome = follow(&fed, &browser, callback).await;
    assert_eq!(outcome.status, 400, "{}", outcome.body);
    assert_eq!(account_count(&fed.app).await, accounts);
    fed.app.cleanup().await;
}

#[tokio::test]
async fn s39_another_idp_asserting_the_same_sub_is_another_identity() {
    let users = json!([user("same-sub", "gina@corp.example", json!(true))]);
    let Some(fed) = setup(users, Options::default()).await else {
        return;
    };
    // A second organization with its own IdP and domain; its user has the same `sub`.
    let origin = Origin::cli();
    let state = &fed.app.app.state;
    state
        .orgs
        .create("globex", "Globex", &origin)
        .await
        .unwrap();
    let Some(idp2) = lanyard_testkit::idp::TestIdp::start(crate::federation_support::idp_config(
        &fed.app.base_url,
        "globex",
        json!([user("same-sub", "gina@globex.example", json!(true))]),
    ))
    .await
    else {
        return;
    };
    let federation = state.signin.federation();
    federation
        .add_domain("globex", "globex.example", &origin)
        .await
        .unwrap();
    federation
        .override_domain("globex", "globex.example", &origin)
        .await
        .unwrap();
    set_connection(&fed.app, "globex", idp2.issuer(), Options::default()).await;

    let browser = Browser::new();
    let first = sign_in(&fed, &browser, "gina@corp.example", "same-sub")
        .await
        .code(&browser, &fed)
        .await;
    let first = id_token(&fed, &first).await["sub"].clone();
    let fed2 = Fed {
        app: fed.app,
        idp: idp2,
        rp_secret: fed.rp_secret,
    };
    let browser = Browser::new();
    let second = sign_in(&fed2, &browser, "gina@globex.example", "same-sub")
        .await
        .code(&browser, &fed2)
        .await;
    let second = id_token(&fed2, &second).await["sub"].clone();
    assert_ne!(
        first, second,
        "the same sub at another issuer is someone else"
    );
    drop(fed.idp);
    fed2.app.cleanup().await;
}

#[tokio::test]
async fn backchannel_logout_from_the_idp_ends_the_local_session_and_is_used_once() {
    let users = json!([user("hal-1", "hal@corp.example", json!(true))]);
    let Some(fed) = setup(users, Options::default()).await else {
        return;
    };
    let browser = Browser::new();
    sign_in(&fed, &browser, "hal@corp.example", "hal-1")
        .await
        .code(&browser, &fed)
        .await;
    let (status, _, _) = browser
        .get(&fed.app.url("/account"), &fed.app.base_url)
        .await;
    assert_eq!(status, 200, "signed in");
    let sent = fed
        .idp
        .backchannel_logout("hal-1", crate::federation_support::IDP_CLIENT)
        .await;
    let sent = &sent["sent"][0];
    assert_eq!(sent["status"], 200, "{sent}");
    assert!(sent["sid"].is_string(), "the IdP names its session: {sent}");
    let (_, at, _) = browser
        .get(&fed.app.url("/account"), &fed.app.base_url)
        .await;
    assert!(at.contains("/login"), "the session ended: {at}");
    assert_eq!(
        audits(&fed.app, "federation.backchannel_logout").await[0].outcome,
        "success"
    );
    // The same token again: refused.
    {
        let token = sent["logout_token"].as_str().unwrap();
        let response = crate::helpers::http()
            .post(
                fed.app
                    .url(&format!("/federation/{ORG}/backchannel-logout")),
            )
            .form(&[("logout_token", token)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400);
    }
    // Not a logout token at all, or none: refused.
    for body in [vec![("logout_token", "a.b.c")], vec![]] {
        let response = crate::helpers::http()
            .post(
                fed.app
                    .url(&format!("/federation/{ORG}/backchannel-logout")),
            )
            .form(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400);
    }
    fed.app.cleanup().await;
}

#[tokio::test]
async fn signing_out_ends_the_upstream_session_when_the_organization_asks() {
    let users = json!([user("ivy-1", "ivy@corp.example", json!(true))]);
    let options = Options {
        end_upstream_session: true,
        ..Options::default()
    };
    let Some(fed) = setup(users, options).await else {
        return;
    };
    let browser = Browser::new();
    sign_in(&fed, &browser, "ivy@corp.example", "ivy-1")
        .await
        .code(&browser, &fed)
        .await;
    let (_, _, confirm) = browser
        .get(&fed.app.url("/logout"), &fed.app.base_url)
        .await;
    let (status, upstream, _) = browser.submit(&confirm, &fed.app.base_url, &[]).await;
    assert_eq!(status, 303);
    assert!(
        upstream.starts_with(&format!("{}/session/end", fed.idp.issuer())),
        "{upstream}"
    );
    // The IdP asks its own confirmation, then sends the browser back to us.
    let (_, _, confirm) = browser.get(&upstream, fed.idp.issuer()).await;
    let (_, back, _) = browser.submit(&confirm, fed.idp.issuer(), &[]).await;
    assert!(
        back.contains(&format!("/federation/{ORG}/logged-out")),
        "{back}"
    );
    let (status, _, page) = browser.get(&back, &fed.app.base_url).await;
    assert_eq!(status, 200);
    assert!(page.contains("signed out"), "{page}");
    let (_, at, _) = browser
        .get(&fed.app.url("/account"), &fed.app.base_url)
        .await;
    assert!(at.contains("/login"), "{at}");
    fed.app.cleanup().await;
}

#[tokio::test]
async fn s40_an_account_locked_by_failed_codes_is_refused_at_the_federated_sign_in_too() {
    use lanyard_core::Clock;
    use lanyard_core::ports::MfaRepo;
    let users = json!([user("lou-1", "lou@corp.example", json!(true))]);
    let Some(fed) = setup(users, Options::default()).await else {
        return;
    };
    let lou = fed.app.create_user("lou@corp.example").await;
    // Five failures: the first backoff (B5's limits) applies to every way in.
    for _ in 0..5 {
        fed.app
            .app
            .stores
            .sql
            .record_mfa_failure(lou.id, fed.app.clock.now())
            .await
            .unwrap();
    }
    let browser = Browser::new();
    let outcome = sign_in(&fed, &browser, "lou@corp.example", "lou-1").await;
    assert_eq!(outcome.status, 429, "{}", outcome.body);
    let (_, at, _) = browser
        .get(&fed.app.url("/account"), &fed.app.base_url)
        .await;
    assert!(at.contains("/login"), "no session while locked: {at}");
    fed.app.cleanup().await;
}
