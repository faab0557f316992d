//! Setting up a site for the migration's flow tests: a client, a site, imported users (rows
//! straight into the store, the way the import stores them), a state; and driving the
//! invitation pages in a browser.

use lanyard_core::model::{
    Invitation, MigrationState, Site, SiteId, SiteRole, SiteUser, SiteUserId,
};
use lanyard_core::ports::{ImportedSiteUser, SiteRepo};
use lanyard_core::{AccountId, ClientId, Clock, Origin, OsRng};
use lanyard_sites::invitations::Selection;
use lanyard_testkit::{Browser, PASSWORD, TestApp};

use super::helpers::confidential;

pub const CLIENT: &str = "studio-app";

pub fn email_of(login: &str) -> String {
    format!("{login}@studio.example")
}

/// A site `studio` with the client `studio-app` (returned: its secret) and `users`, moved
/// through the states up to `state`.
pub async fn studio(
    app: &TestApp,
    users: &[(&str, SiteRole)],
    state: MigrationState,
) -> (Site, String) {
    let secret = app.create_client(confidential(CLIENT)).await.unwrap();
    let site = new_site(app, "studio", "Studio", &[CLIENT]).await;
    import(app, &site, users).await;
    let mut path = vec![MigrationState::Dual, MigrationState::Identity];
    path.truncate(match state {
        MigrationState::Legacy => 0,
        MigrationState::Dual => 1,
        MigrationState::Identity => 2,
    });
    for to in path {
        move_site(app, &site, to).await;
    }
    let site = repo(app).get_site(site.id).await.unwrap().unwrap();
    (site, secret)
}

pub fn repo(app: &TestApp) -> &dyn SiteRepo {
    &*app.app.stores.sql
}

/// Straight into the store, so no node's client cache hears of it: call it before the clients
/// reach the token endpoint (or create the site with `SiteService::create`, which publishes).
pub async fn new_site(app: &TestApp, slug: &str, name: &str, clients: &[&str]) -> Site {
    let now = app.clock.now();
    let site = Site {
        id: SiteId::new(&*app.clock, &OsRng),
        slug: slug.to_owned(),
        name: name.to_owned(),
        clients: clients
            .iter()
            .map(|c| ClientId::parse(c).unwrap())
            .collect(),
        state: MigrationState::Legacy,
        two_factor_required_since: None,
        created_at: now,
        updated_at: now,
    };
    repo(app).insert_site(&site).await.unwrap();
    site
}

pub async fn import(app: &TestApp, site: &Site, users: &[(&str, SiteRole)]) {
    let now = app.clock.now();
    let rows: Vec<ImportedSiteUser> = users
        .iter()
        .map(|(login, role)| {
            let email = email_of(login);
            ImportedSiteUser {
                user: SiteUser {
                    id: SiteUserId::new(&*app.clock, &OsRng),
                    site_id: site.id,
                    login: (*login).to_owned(),
                    login_normalized: login.to_lowercase(),
                    email: email.clone(),
                    email_normalized: email.to_lowercase(),
                    role: *role,
                    legacy_password_hash: Some(
                        "$2b$04$abcdefghijklmnopqrstuu5fmP0kZ9tY1Q8x2sT6vJ3gHkL0aBcDe".to_owned(),
                    ),
                    principal: AccountId::new(&*app.clock, &OsRng),
                    account_id: None,
                    linked_at: None,
                    email_unverified_since: None,
                    created_at: now,
                    updated_at: now,
                },
                sealed_totp_secret: None,
            }
        })
        .collect();
    repo(app)
        .import_site_users(site.id, &rows, now)
        .await
        .unwrap();
}

pub async fn move_site(app: &TestApp, site: &Site, to: MigrationState) {
    let current = repo(app).get_site(site.id).await.unwrap().unwrap();
    assert!(
        repo(app)
            .set_migration_state(site.id, current.state, to, app.clock.now())
            .await
            .unwrap()
    );
}

pub async fn user(app: &TestApp, site: &Site, login: &str) -> SiteUser {
    repo(app)
        .site_user_by_login(site.id, &login.to_lowercase())
        .await
        .unwrap()
        .unwrap()
}

pub async fn latest_invitation(app: &TestApp, site: &Site, login: &str) -> Invitation {
    let user = user(app, site, login).await;
    repo(app).latest_invitation(user.id).await.unwrap().unwrap()
}

/// Sends invitations as the operator would.
pub async fn invite(app: &TestApp, site: &Site, selection: Selection) {
    app.app
        .state
        .invitations
        .invite(site, &selection, &Origin::cli())
        .await
        .unwrap();
}

/// The invitation link in the newest mail to `email` (read from the SMTP sink).
pub async fn link_for(app: &TestApp, email: &str, nth: usize) -> String {
    let mails = app.mail.wait_for(email, nth).await;
    let text = &mails[nth - 1].text;
    let start = text.find("http").expect("a link in the invitation");
    text[start..].split_whitespace().next().unwrap().to_owned()
}

pub fn token_of(link: &str) -> String {
    super::helpers::query_param(link, "token").unwrap()
}

/// From a sign-in page reached in `browser` (email already asked or not): the email, the
/// password, the emailed code, "I saved my backup code" and "Don't trust this device".
/// Returns where it ended and that page.
pub async fn finish_sign_in(
    app: &TestApp,
    browser: &Browser,
    page: String,
    email: &str,
) -> (String, String) {
    let base = &app.base_url;
    let mut page = page;
    if page.contains("name=\"email\"") {
        (_, _, page) = browser.submit(&page, base, &[("email", email)]).await;
    }
    let sent = app.mail.messages_to(email).len();
    let (_, _, page) = browser.submit(&page, base, &[("password", PASSWORD)]).await;
    browser
        .second_step(page, base, &app.mail, email, sent)
        .await
}

/// Signs `email` in to the account pages in `browser`.
pub async fn sign_in_to_account(app: &TestApp, browser: &Browser, email: &str) {
    let (_, _, page) = browser.get(&app.url("/account"), &app.base_url).await;
    let (_, page) = finish_sign_in(app, browser, page, email).await;
    assert!(
        page.contains(email) || page.contains("Your account"),
        "{page}"
    );
}

pub const SITE_USERS: [(&str, SiteRole); 4] = [
    ("alice", SiteRole::Admin),
    ("bob", SiteRole::LicensedUser),
    ("carol", SiteRole::ClientUser),
    ("dave", SiteRole::LicensedUser),
];

pub const STRONG: &str = PASSWORD;
