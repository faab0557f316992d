//! E2: a personal access token tied to a site user. Offered on the token form for the
//! account's linked users of `dual`/`identity` sites; its exchange names the site user
//! (`sub` and the site claims) and is refused with `invalid_grant` once the site user is no
//! longer linked to the token's account, or while the site requires an authenticator app
//! that the account lacks (C3 for non-browser clients).

use std::sync::Arc;

use lanyard_core::Clock;
use lanyard_core::model::{MigrationState, ResourceServer, Resources};
use lanyard_core::ports::{MfaRepo, SiteRepo};
use lanyard_testkit::{Browser, TestApp};
use reqwest::cookie::Jar;
use serde_json::{Value, json};

use super::helpers::{each_backend_with, json as body_json, jwt_claims};
use super::sites_support::{
    SITE_USERS, email_of, finish_sign_in, move_site, new_site, studio, user,
};

const TOOL: &str = "studio-tool";
const API: &str = "api.studio.example";

fn configure(c: &mut lanyard_server::config::Config) {
    c.resources = Resources(vec![ResourceServer {
        identifier: API.to_owned(),
        scopes: vec!["shots:read".to_owned()],
        ..Default::default()
    }]);
}

async fn tool(app: &TestApp) {
    app.create_client(crate::helpers::pat_tool(TOOL, "Studio desktop"))
        .await;
}

struct Person {
    browser: Browser,
}

impl Person {
    async fn sign_in(app: &TestApp, email: &str) -> Person {
        let jar = Arc::new(Jar::default());
        let browser = Browser::with_cookie_jar(jar);
        let (_, _, page) = browser.get(&app.url("/account/pats"), &app.base_url).await;
        let (_, page) = finish_sign_in(app, &browser, page, email).await;
        assert!(page.contains("<h1>Personal access tokens</h1>"), "{page}");
        Person { browser }
    }

    async fn create(&self, app: &TestApp, body: Value) -> (u16, Value) {
        let csrf = self.browser.csrf_token(&app.base_url).await;
        let response = self
            .browser
            .http
            .post(app.url("/account/pats"))
            .header("accept", "application/json")
            .header("x-csrf-token", csrf)
            .json(&body)
            .send()
            .await
            .unwrap();
        body_json(response).await
    }

    async fn page(&self, app: &TestApp) -> String {
        let (_, _, page) = self
            .browser
            .get(&app.url("/account/pats"), &app.base_url)
            .await;
        page
    }
}

async fn exchange(app: &TestApp, pat: &str) -> (u16, Value) {
    crate::helpers::exchange_pat(app, TOOL, pat).await
}

fn assert_site_refused(status: u16, body: &Value) {
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_grant", "{body}");
}

#[tokio::test]
async fn e2_a_pat_tied_to_a_site_user_names_it_until_the_link_or_the_rules_break() {
    each_backend_with(configure, |app| async move {
        tool(&app).await;
        let (site, _) = studio(&app, &SITE_USERS, MigrationState::Dual).await;
        let bob = app.create_user(&email_of("bob")).await;
        let bob_user = user(&app, &site, "bob").await;
        let sites: &dyn SiteRepo = &*app.app.stores.sql;
        sites
            .link_site_user(bob_user.id, bob.id, app.clock.now())
            .await
            .unwrap();
        let person = Person::sign_in(&app, &email_of("bob")).await;
        let page = person.page(&app).await;
        assert!(
            page.contains("<option value=\"studio\">Studio (bob)</option>"),
            "{page}"
        );

        let (status, created) = person
            .create(
                &app,
                json!({"name": "desktop", "scopes": ["shots:read"], "site": "studio"}),
            )
            .await;
        assert_eq!(status, 201, "{created}");
        assert_eq!(created["site_user"], bob_user.id.to_string());
        let pat = created["token"].as_str().unwrap().to_owned();
        assert!(
            person
                .page(&app)
                .await
                .contains("For the site user Studio (bob)")
        );

        let (status, minted) = exchange(&app, &pat).await;
        assert_eq!(status, 200, "{minted}");
        let claims = jwt_claims(minted["access_token"].as_str().unwrap());
        assert_eq!(claims["sub"], bob_user.id.to_string());
        assert_eq!(claims["site"], "studio");
        assert_eq!(claims["site_login"], "bob");
        assert_eq!(claims["site_role"], "licensed_user");

        // The site requires an authenticator app of licensed users: refused until Bob has one.
        let now = app.clock.now();
        sites
            .set_two_factor_required(site.id, Some(now), now)
            .await
            .unwrap();
        let (status, body) = exchange(&app, &pat).await;
        assert_site_refused(status, &body);
        let mfa: &dyn MfaRepo = &*app.app.stores.sql;
        mfa.put_pending_totp(bob.id, b"sealed", now).await.unwrap();
        assert!(
            mfa.activate_pending_totp(bob.id, b"sealed", 1, now)
                .await
                .unwrap()
        );
        assert_eq!(exchange(&app, &pat).await.0, 200);

        // No longer linked: refused, and the form no longer offers the site.
        assert!(
            sites
                .unlink_site_user(bob_user.id, app.clock.now())
                .await
                .unwrap()
        );
        let (status, body) = exchange(&app, &pat).await;
        assert_site_refused(status, &body);
        assert!(!person.page(&app).await.contains("<option value=\"studio\""));
        app
    })
    .await;
}

/// Only the account's own users of `dual`/`identity` sites: a legacy site, a site where the
/// account has no user, an unknown site are refused and nothing is created.
#[tokio::test]
async fn e2_a_pat_can_not_name_someone_elses_or_a_legacy_sites_user() {
    each_backend_with(configure, |app| async move {
        tool(&app).await;
        let (site, _) = studio(&app, &SITE_USERS, MigrationState::Dual).await;
        let legacy = new_site(&app, "legacy", "Legacy", &[]).await;
        super::sites_support::import(
            &app,
            &legacy,
            &[("bob", lanyard_core::model::SiteRole::LicensedUser)],
        )
        .await;
        let bob = app.create_user(&email_of("bob")).await;
        let sites: &dyn SiteRepo = &*app.app.stores.sql;
        let legacy_bob = sites
            .site_user_by_login(legacy.id, "bob")
            .await
            .unwrap()
            .unwrap();
        sites
            .link_site_user(legacy_bob.id, bob.id, app.clock.now())
            .await
            .unwrap();
        let person = Person::sign_in(&app, &email_of("bob")).await;
        assert!(
            !person.page(&app).await.contains("id=\"site\""),
            "no site to offer"
        );
        for (site_slug, says) in [
            ("legacy", "you have no user on that site"),
            ("studio", "you have no user on that site"),
            ("nowhere", "no such site"),
            ("", "no such site"),
        ] {
            let (status, body) = person
                .create(
                    &app,
                    json!({"name": "t", "scopes": ["shots:read"], "site": site_slug}),
                )
                .await;
            assert_eq!(status, 400, "{site_slug}: {body}");
            assert_eq!(body["error_description"], says, "{site_slug}");
        }
        let (_, list) = {
            let response = person
                .browser
                .http
                .get(app.url("/account/pats"))
                .header("accept", "application/json")
                .send()
                .await
                .unwrap();
            body_json(response).await
        };
        assert_eq!(list, json!([]), "nothing was created");
        // The legacy site opens to identity accounts: now Bob's user there is offered.
        move_site(&app, &legacy, MigrationState::Dual).await;
        assert!(
            person
                .page(&app)
                .await
                .contains("<option value=\"legacy\">Legacy (bob)</option>")
        );
        let _ = site;
        app
    })
    .await;
}
