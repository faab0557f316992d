//! Invitation links over HTTP (C5, S41): the claim page, linking an existing identity
//! account after signing in, creating the account, and every refusal — reuse, expiry,
//! another account, parallel claims, guessing — with nothing half-written. Tokens for the
//! site's client then name the site user.

use lanyard_core::model::{MigrationState, SiteRole};
use lanyard_core::ports::AuditRepo;
use lanyard_sites::invitations::Selection;
use lanyard_testkit::{Browser, TestApp};

use super::helpers::{
    VERIFIER, authorize_url, each_backend, field, get_reply, http, json, post, query_param, redeem,
};
use super::sites_support::{
    CLIENT, SITE_USERS, STRONG, email_of, finish_sign_in, invite, latest_invitation, link_for,
    sign_in_to_account, studio, token_of, user,
};

fn path_of(app: &TestApp, link: &str) -> String {
    link.strip_prefix(&app.base_url).unwrap().to_owned()
}

async fn audit_kinds(app: &TestApp) -> Vec<String> {
    app.app
        .stores
        .sql
        .list_audit(None, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect()
}

/// S41: the link names the configured issuer; its page moves the token into the form and
/// sends `Referrer-Policy: no-referrer` and `no-store`.
#[tokio::test]
async fn s41_the_claim_page_moves_the_token_into_the_form() {
    each_backend(|app| async move {
        let (site, _) = studio(&app, &SITE_USERS, MigrationState::Dual).await;
        invite(&app, &site, Selection::All).await;
        let link = link_for(&app, &email_of("bob"), 1).await;
        assert!(link.starts_with(&format!("{}/migrate/claim?token=", app.base_url)));
        let token = token_of(&link);
        assert_eq!(token.len(), 43);
        let response = http().get(&link).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200);
        let headers = response.headers().clone();
        assert_eq!(headers["referrer-policy"], "no-referrer");
        assert_eq!(headers["cache-control"], "no-store");
        let page = response.text().await.unwrap();
        assert_eq!(field(&page, "token"), token);
        assert!(page.contains("action=\"/migrate/claim\""));
        assert!(
            !page.contains("?token="),
            "the token is not in any address on the page"
        );
        assert!(page.contains("Complete your account creation"));
        app
    })
    .await;
}

/// C5: "you now sign in to <site> with your account": sign in with it, come back, link; the
/// site's tokens then name the site user, with the site claims.
#[tokio::test]
async fn c5_an_access_invitation_links_after_sign_in_and_tokens_name_the_site_user() {
    each_backend(|app| async move {
        let (site, secret) = studio(&app, &SITE_USERS, MigrationState::Identity).await;
        let bob = app.create_user(&email_of("bob")).await;
        invite(&app, &site, Selection::All).await;
        let link = link_for(&app, &email_of("bob"), 1).await;
        assert!(
            app.mail.messages_to(&email_of("bob"))[0]
                .subject
                .contains("You now sign in to Studio")
        );
        let browser = Browser::new();
        let (_, _, page) = browser.get(&link, &app.base_url).await;
        assert!(page.contains("Sign in to accept"), "{page}");
        let (_, at, page) = browser.submit(&page, &app.base_url, &[]).await;
        assert!(at.contains("/login"), "{at}");
        let (_, page) = finish_sign_in(&app, &browser, page, &email_of("bob")).await;
        assert!(page.contains("Use this account for Studio"), "{page}");
        assert_eq!(
            user(&app, &site, "bob").await.account_id,
            None,
            "not before the click"
        );
        let (status, at, page) = browser.submit(&page, &app.base_url, &[]).await;
        assert_eq!(status, 200, "{page}");
        assert!(at.ends_with("/migrate/claim/done"), "{at}");
        let bob_user = user(&app, &site, "bob").await;
        assert_eq!(bob_user.account_id, Some(bob.id));

        // The site's client: sub is the site user, with the site claims.
        let (_, back, _) = browser
            .get(&authorize_url(&app, CLIENT, ""), &app.base_url)
            .await;
        let code = query_param(&back, "code").unwrap_or_else(|| panic!("{back}"));
        let (status, tokens) = json(redeem(&app, CLIENT, &secret, &code, VERIFIER).await).await;
        assert_eq!(status, 200, "{tokens}");
        for token in ["id_token", "access_token"] {
            let claims = super::helpers::jwt_claims(tokens[token].as_str().unwrap());
            assert_eq!(claims["sub"], bob_user.id.to_string(), "{token}");
            assert_eq!(claims["site"], "studio");
            assert_eq!(claims["site_login"], "bob");
            assert_eq!(claims["site_role"], "licensed_user");
        }
        let info = http()
            .get(app.url("/userinfo"))
            .bearer_auth(tokens["access_token"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        let (status, info) = json(info).await;
        assert_eq!(status, 200, "{info}");
        assert_eq!(info["sub"], bob_user.id.to_string());
        assert_eq!(info["site_login"], "bob");
        app
    })
    .await;
}

/// S41: claim once, then the same link: 410 and `migration.token_reuse`.
#[tokio::test]
async fn s41_a_used_link_is_gone_and_audited() {
    each_backend(|app| async move {
        let (site, _) = studio(&app, &SITE_USERS, MigrationState::Dual).await;
        invite(&app, &site, Selection::Logins(vec!["carol".to_owned()])).await;
        let link = link_for(&app, &email_of("carol"), 1).await;
        let browser = Browser::new();
        let (_, _, page) = browser.get(&link, &app.base_url).await;
        let (status, at, _) = browser
            .submit(
                &page,
                &app.base_url,
                &[("name", "Carol"), ("password", STRONG)],
            )
            .await;
        assert_eq!(status, 200);
        assert!(at.contains("/migrate/claim/done?created=1"), "{at}");
        let again = get_reply(&app, &Browser::new(), &path_of(&app, &link)).await;
        assert_eq!(again.status, 410, "{}", again.body);
        assert!(again.body.contains("already used"));
        assert!(
            audit_kinds(&app)
                .await
                .contains(&"migration.token_reuse".to_owned())
        );
        app
    })
    .await;
}

/// C5: "complete your account creation": the email is shown, not editable, never taken from
/// the form; a refused password does not spend the link; the account's first sign-in gives
/// its first backup code.
#[tokio::test]
async fn c5_a_create_account_invitation_makes_the_account_with_the_invited_email() {
    each_backend(|app| async move {
        let (site, _) = studio(&app, &SITE_USERS, MigrationState::Dual).await;
        invite(&app, &site, Selection::Logins(vec!["carol".to_owned()])).await;
        let link = link_for(&app, &email_of("carol"), 1).await;
        let browser = Browser::new();
        let (_, _, page) = browser.get(&link, &app.base_url).await;
        assert!(page.contains(&email_of("carol")));
        assert!(!page.contains("name=\"email\""), "the email is not a field");
        assert!(page.contains("autocomplete=\"new-password\""));
        let (status, _, page) = browser
            .submit(
                &page,
                &app.base_url,
                &[("name", "Carol"), ("password", "short")],
            )
            .await;
        assert_eq!(status, 400);
        assert!(page.contains("There is a problem"), "{page}");
        let tampered = post(
            &app,
            &browser,
            "/migrate/claim",
            &[
                ("csrf_token", &field(&page, "csrf_token")),
                ("token", &field(&page, "token")),
                ("step", "create"),
                ("email", "mallory@example.com"),
                ("name", "Carol"),
                ("password", STRONG),
            ],
        )
        .await;
        assert_eq!(tampered.status, 400, "{}", tampered.body);
        let accounts = &app.app.state.accounts;
        assert!(
            accounts
                .find_by_email("mallory@example.com")
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            accounts
                .find_by_email(&email_of("carol"))
                .await
                .unwrap()
                .is_none()
        );
        let (status, at, done) = browser
            .submit(
                &page,
                &app.base_url,
                &[("name", "Carol"), ("password", STRONG)],
            )
            .await;
        assert_eq!(status, 200);
        assert!(at.ends_with("/migrate/claim/done?created=1"), "{at}");
        assert!(done.contains("Your account is ready"));
        let carol = accounts
            .find_by_email(&email_of("carol"))
            .await
            .unwrap()
            .unwrap();
        assert!(carol.email_verified);
        assert_eq!(user(&app, &site, "carol").await.account_id, Some(carol.id));
        // The first sign-in shows the account's first backup code.
        let (_, _, page) = browser.get(&app.url("/account"), &app.base_url).await;
        let (_, _, page) = browser
            .submit(&page, &app.base_url, &[("email", &email_of("carol"))])
            .await;
        let sent = app.mail.messages_to(&email_of("carol")).len();
        let (_, _, page) = browser
            .submit(&page, &app.base_url, &[("password", STRONG)])
            .await;
        let code = app.email_code(&email_of("carol"), sent + 1).await;
        let (_, _, page) = browser
            .submit(&page, &app.base_url, &[("code", &code)])
            .await;
        assert!(
            page.contains("name=\"saved\""),
            "the first backup code: {page}"
        );
        app
    })
    .await;
}

/// S41: an invitation for one email can't be accepted while signed in as another: the page
/// and the form both refuse (403), nothing is linked, the link still works for its owner.
#[tokio::test]
async fn s41_signed_in_as_someone_else_is_refused_and_nothing_is_linked() {
    each_backend(|app| async move {
        let (site, _) = studio(&app, &SITE_USERS, MigrationState::Dual).await;
        app.create_user(&email_of("alice")).await;
        app.create_user("mallory@example.com").await;
        invite(&app, &site, Selection::Logins(vec!["alice".to_owned()])).await;
        let link = link_for(&app, &email_of("alice"), 1).await;
        let token = token_of(&link);
        let mallory = Browser::new();
        sign_in_to_account(&app, &mallory, "mallory@example.com").await;
        let page = get_reply(&app, &mallory, &path_of(&app, &link)).await;
        assert_eq!(page.status, 403, "{}", page.body);
        assert!(page.body.contains("This invitation is for another account"));
        // Posting directly (a CSRF token from another page of the session).
        let (_, _, account_page) = mallory.get(&app.url("/account"), &app.base_url).await;
        let csrf = field(&account_page, "csrf_token");
        let posted = post(
            &app,
            &mallory,
            "/migrate/claim",
            &[("csrf_token", &csrf), ("token", &token), ("step", "link")],
        )
        .await;
        assert_eq!(posted.status, 403, "{}", posted.body);
        assert_eq!(user(&app, &site, "alice").await.account_id, None);
        assert!(
            latest_invitation(&app, &site, "alice")
                .await
                .accepted_at
                .is_none()
        );
        app
    })
    .await;
}

/// S41: expiry + 1 s is refused.
#[tokio::test]
async fn s41_a_link_is_refused_one_second_after_it_expires() {
    each_backend(|app| async move {
        let (site, _) = studio(&app, &SITE_USERS, MigrationState::Dual).await;
        invite(&app, &site, Selection::Logins(vec!["bob".to_owned()])).await;
        let link = link_for(&app, &email_of("bob"), 1).await;
        let invitation = latest_invitation(&app, &site, "bob").await;
        app.clock.set(invitation.expires_at.minus_secs(1));
        assert_eq!(
            get_reply(&app, &Browser::new(), &path_of(&app, &link))
                .await
                .status,
            200
        );
        app.clock.set(invitation.expires_at.plus_secs(1));
        let page = get_reply(&app, &Browser::new(), &path_of(&app, &link)).await;
        assert_eq!(page.status, 410);
        assert!(page.body.contains("expired"));
        app
    })
    .await;
}

/// S41: 20 parallel claims of one link: exactly one account, exactly one success.
#[tokio::test]
async fn s41_twenty_parallel_claims_make_exactly_one_account() {
    each_backend(|app| async move {
        let (site, _) = studio(&app, &SITE_USERS, MigrationState::Dual).await;
        invite(&app, &site, Selection::Logins(vec!["dave".to_owned()])).await;
        let link = link_for(&app, &email_of("dave"), 1).await;
        let mut ready = Vec::new();
        for _ in 0..20 {
            let browser = Browser::new();
            let (_, _, page) = browser.get(&link, &app.base_url).await;
            ready.push((browser, page));
        }
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(20));
        let base = app.base_url.clone();
        let mut tasks = Vec::new();
        for (browser, page) in ready {
            let barrier = barrier.clone();
            let base = base.clone();
            tasks.push(tokio::spawn(async move {
                let fields = [
                    ("csrf_token".to_owned(), field(&page, "csrf_token")),
                    ("token".to_owned(), field(&page, "token")),
                    ("step".to_owned(), "create".to_owned()),
                    ("name".to_owned(), "Dave".to_owned()),
                    ("password".to_owned(), STRONG.to_owned()),
                ];
                barrier.wait().await;
                let response = browser
                    .http
                    .post(format!("{base}/migrate/claim"))
                    .form(&fields)
                    .send()
                    .await
                    .unwrap();
                response.status().as_u16()
            }));
        }
        let mut statuses = Vec::new();
        for task in tasks {
            statuses.push(task.await.unwrap());
        }
        statuses.sort_unstable();
        assert_eq!(
            statuses.iter().filter(|s| **s == 303).count(),
            1,
            "{statuses:?}"
        );
        // The others learn that the link was used (not that an account exists).
        assert!(
            statuses.iter().all(|s| *s == 303 || *s == 410),
            "{statuses:?}"
        );
        let dave = app
            .app
            .state
            .accounts
            .find_by_email(&email_of("dave"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(user(&app, &site, "dave").await.account_id, Some(dave.id));
        app
    })
    .await;
}

/// S41: wrong-token guesses are limited per address; past the limit even the right link
/// waits (429 with Retry-After).
#[tokio::test]
async fn s41_wrong_tokens_are_rate_limited_per_address() {
    each_backend(|app| async move {
        let (site, _) = studio(&app, &SITE_USERS, MigrationState::Dual).await;
        invite(&app, &site, Selection::Logins(vec!["bob".to_owned()])).await;
        let link = link_for(&app, &email_of("bob"), 1).await;
        let browser = Browser::new();
        for i in 0..10 {
            let guess = format!("/migrate/claim?token={i:0>43}");
            let page = get_reply(&app, &browser, &guess).await;
            assert_eq!(page.status, 400, "guess {i}");
        }
        let blocked = get_reply(&app, &browser, &path_of(&app, &link)).await;
        assert_eq!(blocked.status, 429, "{}", blocked.body);
        assert_eq!(blocked.retry_after, "900");
        assert!(
            latest_invitation(&app, &site, "bob")
                .await
                .accepted_at
                .is_none()
        );
        app
    })
    .await;
}

/// Bad input changes nothing: no token, a malformed or oversized one, a form without its
/// CSRF token, an unknown step.
#[tokio::test]
async fn malformed_oversized_and_unauthorised_claims_change_nothing() {
    each_backend(|app| async move {
        let (site, _) = studio(
            &app,
            &[("bob", SiteRole::LicensedUser)],
            MigrationState::Dual,
        )
        .await;
        invite(&app, &site, Selection::All).await;
        let link = link_for(&app, &email_of("bob"), 1).await;
        let token = token_of(&link);
        let browser = Browser::new();
        for path in [
            "/migrate/claim".to_owned(),
            "/migrate/claim?token=".to_owned(),
            "/migrate/claim?token=%00%01".to_owned(),
            format!("/migrate/claim?token={}", "A".repeat(4000)),
        ] {
            let page = get_reply(&app, &browser, &path).await;
            assert!(
                [400, 414, 431].contains(&page.status),
                "{path}: {}",
                page.status
            );
        }
        let no_csrf = post(
            &app,
            &browser,
            "/migrate/claim",
            &[
                ("token", &token),
                ("step", "create"),
                ("name", "Bob"),
                ("password", STRONG),
            ],
        )
        .await;
        assert_eq!(no_csrf.status, 403);
        let (_, _, page) = browser.get(&link, &app.base_url).await;
        let odd = post(
            &app,
            &browser,
            "/migrate/claim",
            &[
                ("csrf_token", &field(&page, "csrf_token")),
                ("token", &token),
                ("step", "steal"),
            ],
        )
        .await;
        assert_eq!(odd.status, 403);
        assert_eq!(user(&app, &site, "bob").await.account_id, None);
        assert!(
            latest_invitation(&app, &site, "bob")
                .await
                .accepted_at
                .is_none()
        );
        assert!(
            app.app
                .state
                .accounts
                .find_by_email(&email_of("bob"))
                .await
                .unwrap()
                .is_none()
        );
        app
    })
    .await;
}

/// RP-initiated logout with a site client's ID token: its `sub` is the site user, and it
/// still names the signed-in account, so the sign-out happens without asking.
#[tokio::test]
async fn a_site_id_token_hint_names_the_signed_in_account() {
    each_backend(|app| async move {
        let (site, secret) = studio(&app, &SITE_USERS, MigrationState::Identity).await;
        let bob = app.create_user(&email_of("bob")).await;
        use lanyard_core::Clock as _;
        use lanyard_core::ports::SiteRepo as _;
        app.app
            .stores
            .sql
            .link_site_user(user(&app, &site, "bob").await.id, bob.id, app.clock.now())
            .await
            .unwrap();
        let browser = Browser::new();
        sign_in_to_account(&app, &browser, &email_of("bob")).await;
        let (_, back, _) = browser
            .get(&authorize_url(&app, CLIENT, ""), &app.base_url)
            .await;
        let code = query_param(&back, "code").unwrap_or_else(|| panic!("{back}"));
        let (_, tokens) = json(redeem(&app, CLIENT, &secret, &code, VERIFIER).await).await;
        let hint = tokens["id_token"].as_str().unwrap();
        let logout = format!(
            "/logout?id_token_hint={hint}&post_logout_redirect_uri={}",
            super::helpers::urlencode(super::helpers::LOGOUT_REDIRECT)
        );
        let reply = get_reply(&app, &browser, &logout).await;
        assert!(
            [302, 303].contains(&reply.status),
            "{}: {}",
            reply.status,
            reply.body
        );
        assert!(
            reply.location.starts_with(super::helpers::LOGOUT_REDIRECT),
            "{}",
            reply.location
        );
        let account = get_reply(&app, &browser, "/account").await;
        assert_eq!(account.status, 303, "signed out");
        app
    })
    .await;
}
