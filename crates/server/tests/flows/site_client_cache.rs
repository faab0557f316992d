//! A site created for a client the server has cached. The token endpoint asks about sites only
//! for a client its cached record says is of a site, so `lanyard site create`, run in its own
//! process while the server runs, must reach every node's client cache: the next grant names
//! the site user, not the account. Two nodes on the production backend (Redis pub/sub); the
//! server and the CLI on the embedded default (the shared invalidation file).

use lanyard_core::Clock;
use lanyard_core::model::{MigrationState, SiteRole};
use lanyard_testkit::TestApp;
use serde_json::Value;

use crate::helpers::{
    confidential, each_backend, jwt_claims, lanyard_cli, refresh, second_node, sign_in_tokens,
};
use crate::sites_support::{CLIENT, email_of, import, move_site, repo, user};

fn sub_and_site(tokens: &Value) -> (String, Option<String>) {
    let claims = jwt_claims(tokens["access_token"].as_str().unwrap());
    (
        claims["sub"].as_str().unwrap().to_owned(),
        claims["site"].as_str().map(str::to_owned),
    )
}

/// Refreshes on `node`, expecting success: the new refresh token and the access token's
/// `sub` and `site`.
async fn refreshed(node: &TestApp, secret: &str, rt: &str) -> (String, (String, Option<String>)) {
    let (status, tokens) = refresh(node, CLIENT, secret, rt, None).await;
    assert_eq!(status, 200, "{tokens}");
    let next = tokens["refresh_token"].as_str().unwrap().to_owned();
    (next, sub_and_site(&tokens))
}

#[tokio::test]
async fn a_site_created_by_the_cli_for_a_cached_client_takes_effect_on_every_node() {
    each_backend(|app| async move {
        let secret = app.create_client(confidential(CLIENT)).await.unwrap();
        let bob = app.create_user(&email_of("bob")).await;
        let account_sub = (bob.id.to_string(), None);

        // Node A caches the client (of no site) with the code grant and a refresh.
        let first = sign_in_tokens(&app, CLIENT, &secret, &email_of("bob")).await;
        assert_eq!(sub_and_site(&first), account_sub);
        let (rt_a, seen) = refreshed(&app, &secret, first["refresh_token"].as_str().unwrap()).await;
        assert_eq!(seen, account_sub);
        // Node B (production backend only: nodes share Redis, not a data folder) caches it too.
        let node_b = match app.config.ephemeral.redis_url.is_empty() {
            true => None,
            false => {
                let b = second_node(&app, |_| {}).await;
                b.clock.set(app.clock.now());
                let second = sign_in_tokens(&app, CLIENT, &secret, &email_of("bob")).await;
                let (rt_b, seen) =
                    refreshed(&b, &secret, second["refresh_token"].as_str().unwrap()).await;
                assert_eq!(seen, account_sub);
                Some((b, rt_b))
            }
        };

        // Another process makes the client a site's; the rest goes straight to the database
        // and is read afresh anyway: bob becomes a site user of a `dual` site, linked.
        let out = lanyard_cli(
            &app,
            &[
                "site", "create", "--slug", "studio", "--name", "Studio", "--client", CLIENT,
            ],
            "",
        )
        .await;
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let site = repo(&app).site_by_slug("studio").await.unwrap().unwrap();
        import(&app, &site, &[("bob", SiteRole::LicensedUser)]).await;
        let site_user = user(&app, &site, "bob").await;
        assert!(
            repo(&app)
                .link_site_user(site_user.id, bob.id, app.clock.now())
                .await
                .unwrap()
        );
        move_site(&app, &site, MigrationState::Dual).await;

        // Neither node's clock moved: no TTL ran out, only the invalidation can explain it.
        let site_sub = (site_user.id.to_string(), Some("studio".to_owned()));
        let (_, seen) = refreshed(&app, &secret, &rt_a).await;
        assert_eq!(seen, site_sub, "node A");
        if let Some((b, rt_b)) = node_b {
            let (_, seen) = refreshed(&b, &secret, &rt_b).await;
            assert_eq!(seen, site_sub, "node B");
            b.cleanup().await;
        }
        app
    })
    .await;
}
