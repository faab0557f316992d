//! Shared set-up of the federation tests: a Lanyard server, the test IdP (oidc-provider on
//! loopback, `lanyard_testkit::idp`) registered as organization `acme`'s provider for the
//! verified domain `corp.example`, and a browser that signs in through both.

use lanyard_core::Origin;
use lanyard_core::model::AuditEvent;
use lanyard_core::ports::AuditRepo;
use lanyard_federation::OidcSettings;
use lanyard_testkit::idp::TestIdp;
use lanyard_testkit::{Backend, Browser, TestApp};
use serde_json::{Value, json};

use crate::helpers::{REDIRECT, authorize_url, confidential, query_param};

pub const ORG: &str = "acme";
pub const DOMAIN: &str = "corp.example";
/// Our client id at the IdP, and its secret.
pub const IDP_CLIENT: &str = "lanyard";
pub const IDP_SECRET: &str = "idp-client-secret-for-the-federation-tests";
/// The app that signs people in through us.
pub const RP: &str = "fed-rp";

pub struct Fed {
    pub app: TestApp,
    pub idp: TestIdp,
    pub rp_secret: String,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    pub require_sso: bool,
    pub end_upstream_session: bool,
}

pub fn user(sub: &str, email: &str, email_verified: Value) -> Value {
    let mut user = json!({ "sub": sub, "email": email, "name": format!("User {sub}") });
    if !email_verified.is_null() {
        user["email_verified"] = email_verified;
    }
    user
}

/// The IdP's configuration for a Lanyard server at `base`, organization `org`.
pub fn idp_config(base: &str, org: &str, users: Value) -> Value {
    json!({
        "clients": [{
            "client_id": IDP_CLIENT,
            "client_secret": IDP_SECRET,
            "redirect_uris": [format!("{base}/federation/{org}/callback")],
            "post_logout_redirect_uris": [format!("{base}/federation/{org}/logged-out")],
            "backchannel_logout_uri": format!("{base}/federation/{org}/backchannel-logout"),
            "backchannel_logout_session_required": true,
        }],
        "users": users,
    })
}

/// Starts the pair; `None` (the test skips) without the IdP's packages.
pub async fn setup(users: Value, options: Options) -> Option<Fed> {
    setup_on(Backend::Embedded, users, options).await
}

pub async fn setup_on(backend: Backend, users: Value, options: Options) -> Option<Fed> {
    let app = TestApp::spawn_with(backend, |config| {
        config.federation.allow_http_loopback = true;
        config.federation.request_timeout_secs = 2;
        config.federation.connect_timeout_secs = 1;
        // An API a PAT can be exchanged for (G4's tests).
        config.resources =
            lanyard_core::model::Resources(vec![lanyard_core::model::ResourceServer {
                identifier: "api.example.com".to_owned(),
                scopes: vec!["repo:read".to_owned()],
                ..Default::default()
            }]);
    })
    .await;
    let Some(idp) = TestIdp::start(idp_config(&app.base_url, ORG, users)).await else {
        app.cleanup().await;
        return None;
    };
    let origin = Origin::cli();
    app.app
        .state
        .orgs
        .create(ORG, "Acme Corp", &origin)
        .await
        .unwrap();
    let federation = app.app.state.signin.federation();
    federation.add_domain(ORG, DOMAIN, &origin).await.unwrap();
    federation
        .override_domain(ORG, DOMAIN, &origin)
        .await
        .unwrap();
    set_connection(&app, ORG, idp.issuer(), options).await;
    let rp_secret = app.create_client(confidential(RP)).await.unwrap();
    Some(Fed {
        app,
        idp,
        rp_secret,
    })
}

pub async fn set_connection(app: &TestApp, org: &str, issuer: &str, options: Options) {
    app.app
        .state
        .signin
        .federation()
        .set_oidc(
            org,
            OidcSettings {
                issuer: issuer.to_owned(),
                client_id: IDP_CLIENT.to_owned(),
                client_secret: lanyard_core::Secret::new(IDP_SECRET),
                scopes: vec!["email".into(), "profile".into()],
                claims: Default::default(),
            },
            options.require_sso,
            options.end_upstream_session,
            &Origin::cli(),
        )
        .await
        .unwrap();
}

/// Where one upstream sign-in got to.
#[derive(Debug)]
pub struct Outcome {
    pub status: u16,
    /// Where it ended: a page of ours, or the app's redirect URI.
    pub at: String,
    pub body: String,
}

impl Outcome {
    /// The sign-in reached the app: its consent page, or the redirect back to it.
    pub fn reached_app(&self) -> bool {
        self.at.starts_with(REDIRECT) || self.body.contains("name=\"decision\"")
    }

    /// The href of the page's link to `path` (with its query).
    pub fn link_to(&self, path: &str) -> String {
        let start = self
            .body
            .find(&format!("href=\"{path}"))
            .unwrap_or_else(|| panic!("no link to {path}: {}", self.body));
        let rest = &self.body[start + 6..];
        rest[..rest.find('"').unwrap()].replace("&amp;", "&")
    }

    /// The authorization code when the sign-in reached the app (consent answered).
    pub async fn code(self, browser: &Browser, fed: &Fed) -> String {
        let at = if self.body.contains("name=\"decision\"") {
            let (_, at, _) = browser
                .submit(&self.body, &fed.app.base_url, &[("decision", "allow")])
                .await;
            at
        } else {
            self.at
        };
        assert!(at.starts_with(REDIRECT), "not back at the app: {at}");
        query_param(&at, "code").expect("code")
    }
}

/// The app's authorization request in a browser, then the email typed: the page that comes
/// next (status, address, body).
pub async fn after_email(fed: &Fed, browser: &Browser, email: &str) -> (u16, String, String) {
    let base = &fed.app.base_url;
    let (_, _, page) = browser.get(&authorize_url(&fed.app, RP, ""), base).await;
    browser.submit(&page, base, &[("email", email)]).await
}

/// From the app's authorization request to the IdP's answer at our callback, not yet
/// followed: the email page, the organization page, the IdP's sign-in page as `sub`.
pub async fn to_callback(fed: &Fed, browser: &Browser, email: &str, sub: &str) -> String {
    let (status, at, org_page) = after_email(fed, browser, email).await;
    assert_eq!(status, 200, "{at}: {org_page}");
    assert!(
        org_page.contains("Sign in with your organization"),
        "{org_page}"
    );
    upstream_from_org_page(fed, browser, &org_page, sub, &[]).await
}

/// Posts the organization page and signs in at the IdP; the callback URL it sends back.
pub async fn upstream_from_org_page(
    fed: &Fed,
    browser: &Browser,
    org_page: &str,
    sub: &str,
    extra: &[(&str, &str)],
) -> String {
    let (status, idp_url, _) = browser.submit(org_page, &fed.app.base_url, &[]).await;
    assert_eq!(status, 303, "{idp_url}");
    assert!(idp_url.starts_with(fed.idp.issuer()), "{idp_url}");
    let (_, at, login) = browser.get(&idp_url, fed.idp.issuer()).await;
    // Still signed in at the IdP from an earlier round trip: straight back to us.
    if at.starts_with(&fed.app.base_url) {
        return at;
    }
    let mut fields = vec![("login", sub)];
    fields.extend_from_slice(extra);
    let (_, callback, _) = browser.submit(&login, fed.idp.issuer(), &fields).await;
    assert!(
        callback.starts_with(&format!("{}/federation/", fed.app.base_url)),
        "{callback}"
    );
    callback
}

/// The whole round trip, the callback followed on our side.
pub async fn sign_in(fed: &Fed, browser: &Browser, email: &str, sub: &str) -> Outcome {
    let callback = to_callback(fed, browser, email, sub).await;
    follow(fed, browser, callback).await
}

pub async fn follow(fed: &Fed, browser: &Browser, callback: String) -> Outcome {
    let (status, at, body) = browser.get(&callback, &fed.app.base_url).await;
    Outcome { status, at, body }
}

/// The audit events of a kind, newest first.
pub async fn audits(app: &TestApp, kind: &str) -> Vec<AuditEvent> {
    app.app
        .stores
        .sql
        .list_audit(Some(kind), 500)
        .await
        .unwrap()
}

/// How many accounts the store holds.
pub async fn account_count(app: &TestApp) -> u64 {
    use lanyard_core::ports::AccountRepo;
    app.app.stores.sql.count_accounts().await.unwrap()
}
