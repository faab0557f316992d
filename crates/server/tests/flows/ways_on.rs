//! No dead ends (issue 12 item 7): the landing page, the themed 404 (JSON for API callers),
//! the signed-out page's way onward, an expired sign-in's way back to where it came from,
//! Cancel on the sign-out, step-up and password pages, the header's link home, and the
//! pages that name the app or the account (item 10).

use lanyard_testkit::recording::hidden_field;
use lanyard_testkit::{Backend, Browser, PASSWORD, TestApp};

use crate::helpers::{authorize_url, confidential, http, query_param};

const EMAIL: &str = "ways@example.com";

fn third_party(id: &str) -> lanyard_server::NewClient {
    lanyard_server::NewClient {
        first_party: false,
        ..confidential(id)
    }
}

/// Signs in to the account pages (no app): the security page's sign-in, the emailed code,
/// the backup code ticked, "Don't trust". Returns the page it ends on.
pub async fn sign_in_to_account(app: &TestApp, browser: &Browser, email: &str) -> String {
    let base = app.base_url.as_str();
    let (_, at, page) = browser.get(&app.url("/account"), base).await;
    assert!(at.contains("/login?flow="), "{at}");
    let (_, _, page) = browser.submit(&page, base, &[("email", email)]).await;
    let sent = app.mail.messages_to(email).len();
    let (_, _, page) = browser.submit(&page, base, &[("password", PASSWORD)]).await;
    let (_, page) = browser
        .second_step(page, base, &app.mail, email, sent)
        .await;
    page
}

/// The href of the first link whose text is `text`.
fn link_to(page: &str, text: &str) -> Option<String> {
    let end = page.find(&format!(">{text}<"))?;
    let start = page[..end].rfind("href=\"")? + "href=\"".len();
    let stop = page[start..].find('"')? + start;
    Some(
        page[start..stop]
            .replace("&amp;", "&")
            .replace("&#38;", "&"),
    )
}

#[tokio::test]
async fn unknown_addresses_get_a_themed_404_page_and_api_callers_json() {
    for backend in Backend::available() {
        let app = TestApp::spawn_with(backend, |config| {
            config.server.product_name = "Acme ID".into();
        })
        .await;
        for accept in [
            Some("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
            Some("*/*"),
            None,
        ] {
            let mut request = http().get(app.url("/no/such/page?x=1"));
            if let Some(accept) = accept {
                request = request.header("accept", accept);
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 404, "{accept:?}");
            let content_type = response.headers()["content-type"].to_str().unwrap();
            assert!(content_type.starts_with("text/html"), "{content_type}");
            assert_eq!(response.headers()["cache-control"], "no-store");
            assert!(response.headers().contains_key("content-security-policy"));
            let body = response.text().await.unwrap();
            assert!(body.contains("<h1>Page not found</h1>"), "{body}");
            assert!(body.contains("Acme ID"), "themed: {body}");
            assert_eq!(link_to(&body, "Go to the home page").as_deref(), Some("/"));
        }
        // API callers keep JSON: an Accept that prefers it, and any DELETE.
        for (method, accept) in [
            (reqwest::Method::GET, "application/json"),
            (reqwest::Method::POST, "application/json, text/html;q=0.5"),
            (reqwest::Method::DELETE, "text/html"),
        ] {
            let response = http()
                .request(method.clone(), app.url("/account/no-such-thing"))
                .header("accept", accept)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 404, "{method} {accept}");
            let body: serde_json::Value = response.json().await.unwrap();
            assert_eq!(body["error"], "not_found", "{method} {accept}");
        }
        // Routes that exist are untouched by the fallback.
        let health = http().get(app.url("/healthz")).send().await.unwrap();
        assert_eq!(health.status(), 200);
        app.cleanup().await;
    }
}

#[tokio::test]
async fn the_landing_page_says_what_this_is_and_the_ways_on() {
    for backend in Backend::available() {
        let app = TestApp::spawn(backend).await;
        app.create_user(EMAIL).await;
        let browser = Browser::new();
        let base = app.base_url.as_str();
        let (status, _, page) = browser.get(&app.url("/"), base).await;
        assert_eq!(status, 200);
        assert!(page.contains("<h1>Welcome to Lanyard</h1>"), "{page}");
        assert!(page.contains("sign-in service"), "{page}");
        assert_eq!(link_to(&page, "Sign in").as_deref(), Some("/account"));
        assert_eq!(
            link_to(&page, "discovery document").as_deref(),
            Some("/.well-known/openid-configuration")
        );
        assert!(
            page.contains(&app.config.server.issuer),
            "the issuer is named"
        );
        assert!(!page.contains("Signed in as"), "{page}");
        // The header's product name links home on every page.
        assert!(page.contains("class=\"product-link\" href=\"/\""), "{page}");

        // Signed in, the same page names the account and leads to it.
        sign_in_to_account(&app, &browser, EMAIL).await;
        let response = browser.http.get(app.url("/")).send().await.unwrap();
        assert_eq!(response.headers()["cache-control"], "no-store");
        let page = response.text().await.unwrap();
        assert!(
            page.contains(&format!("Signed in as <strong>{EMAIL}</strong>")),
            "{page}"
        );
        assert_eq!(
            link_to(&page, "Go to your account").as_deref(),
            Some("/account")
        );

        // HEAD and a POST to `/` are not pages to act on.
        let post = http().post(app.url("/")).send().await.unwrap();
        assert_eq!(post.status(), 405);
        app.cleanup().await;
    }
}

#[tokio::test]
async fn an_expired_sign_in_starts_again_from_the_apps_request() {
    for backend in Backend::available() {
        let app = TestApp::spawn(backend).await;
        app.create_client(confidential("rp")).await.unwrap();
        app.create_user(EMAIL).await;
        let base = app.base_url.as_str();
        let browser = Browser::new();
        let request = authorize_url(&app, "rp", "");
        let (_, at, page) = browser.get(&request, base).await;
        assert!(at.contains("/login?flow="), "{at}");
        // The sign-in page names the app (item 10).
        assert!(page.contains("to continue to App rp"), "{page}");

        // The flow is gone (it expired, or was used up in another tab) when the form is posted.
        let flow = hidden_field(&page, "flow").unwrap();
        let stale = page.replace(&flow, "expired0flow0id");
        let (status, _, expired) = browser.submit(&stale, base, &[("email", EMAIL)]).await;
        assert_eq!(status, 400);
        assert!(expired.contains("Your sign-in has expired"), "{expired}");
        let again = link_to(&expired, "Start again").expect("a way back to the app's request");
        assert!(again.starts_with("/authorize?"), "{again}");
        for part in ["client_id=rp", "state=st", "nonce=nn", "code_challenge="] {
            assert!(again.contains(part), "{part} in {again}");
        }
        // Following it is a new sign-in for the same request, which completes.
        let (status, at, page) = browser.get(&format!("{base}{again}"), base).await;
        assert_eq!(status, 200, "{at}");
        assert!(at.contains("/login?flow="), "{at}");
        let (_, _, page) = browser.submit(&page, base, &[("email", EMAIL)]).await;
        let sent = app.mail.messages_to(EMAIL).len();
        let (_, _, page) = browser.submit(&page, base, &[("password", PASSWORD)]).await;
        let (back, _) = browser
            .second_step(page, base, &app.mail, EMAIL, sent)
            .await;
        assert!(back.starts_with(crate::helpers::REDIRECT), "{back}");
        assert_eq!(query_param(&back, "state").as_deref(), Some("st"));

        // The app has its answer: a later expired page has no app to go back to.
        let (status, _, expired) = browser
            .get(&app.url("/login/password?flow=gone"), base)
            .await;
        assert_eq!(status, 400);
        assert!(link_to(&expired, "Start again").is_none(), "{expired}");
        assert_eq!(
            link_to(&expired, "Go to your account").as_deref(),
            Some("/account")
        );
        app.cleanup().await;
    }
}

#[tokio::test]
async fn an_expired_sign_in_without_an_app_goes_to_the_account_page_and_forged_addresses_are_not_offered()
 {
    for backend in Backend::available() {
        let app = TestApp::spawn(backend).await;
        // A browser that never came from an app.
        let response = http()
            .get(app.url("/login?flow=not-a-flow"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400);
        let page = response.text().await.unwrap();
        assert!(page.contains("Your sign-in has expired"), "{page}");
        assert_eq!(
            link_to(&page, "Go to your account").as_deref(),
            Some("/account")
        );

        // A restart cookie set by something else on the host, naming another site, a
        // non-authorize page, or garbage, is never linked to.
        use base64::Engine as _;
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        for forged in [
            b64("https://evil.example/authorize?x=1"),
            b64("//evil.example/authorize?x=1"),
            b64("/account/password?x=1"),
            b64("/authorize?x=\"><script>alert(1)</script>"),
            "/authorize?x=1".to_owned(),
            "%%%".to_owned(),
            "A".repeat(5000),
        ] {
            let response = http()
                .get(app.url("/login?flow=not-a-flow"))
                .header("cookie", format!("lanyard_restart={forged}"))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 400);
            let page = response.text().await.unwrap();
            assert!(link_to(&page, "Start again").is_none(), "{forged}: {page}");
            assert!(!page.contains("evil.example") && !page.contains("<script>"));
        }
        app.cleanup().await;
    }
}

#[tokio::test]
async fn signing_out_offers_cancel_and_then_a_way_onward() {
    for backend in Backend::available() {
        let app = TestApp::spawn(backend).await;
        app.create_user(EMAIL).await;
        let base = app.base_url.as_str();
        let browser = Browser::new();
        sign_in_to_account(&app, &browser, EMAIL).await;

        let (_, _, confirm) = browser.get(&app.url("/logout"), base).await;
        assert!(confirm.contains("Do you want to sign out?"), "{confirm}");
        assert_eq!(
            link_to(
                &confirm,
                "Cancel<span class=\"visually-hidden\"> and stay signed in</span>"
            )
            .as_deref(),
            Some("/account")
        );
        // Cancel keeps the session: the account page still opens.
        let (status, at, _) = browser.get(&app.url("/account"), base).await;
        assert_eq!(status, 200, "{at}");

        let (status, _, done) = browser.submit(&confirm, base, &[]).await;
        assert_eq!(status, 200);
        assert!(done.contains("You have signed out"), "{done}");
        assert_eq!(link_to(&done, "Sign in again").as_deref(), Some("/account"));
        assert_eq!(link_to(&done, "Go to the home page").as_deref(), Some("/"));
        // Signed out for real: the account page asks to sign in.
        let (_, at, _) = browser.get(&app.url("/account"), base).await;
        assert!(at.contains("/login?flow="), "{at}");

        // A replayed sign-out form (no session any more) signs nobody out: its CSRF token was
        // bound to the session that is gone (S44), so it is refused like a forged one.
        let (status, _, again) = browser.submit(&confirm, base, &[]).await;
        assert_eq!(status, 403);
        assert!(again.contains("This form has expired"), "{again}");
        let forged = browser
            .http
            .post(app.url("/logout"))
            .form(&[("csrf_token", "wrong")])
            .send()
            .await
            .unwrap();
        assert_eq!(forged.status(), 403);
        app.cleanup().await;
    }
}

#[tokio::test]
async fn step_up_and_password_pages_offer_cancel() {
    for backend in Backend::available() {
        let app = TestApp::spawn(backend).await;
        app.create_user(EMAIL).await;
        let base = app.base_url.as_str();
        let browser = Browser::new();
        sign_in_to_account(&app, &browser, EMAIL).await;
        // Just signed in: fresh, so the password page opens directly.
        let (status, _, page) = browser.get(&app.url("/account/password"), base).await;
        assert_eq!(status, 200);
        assert!(page.contains("Change your password"), "{page}");
        assert_eq!(
            link_to(&page, "Cancel").as_deref(),
            Some("/account/security")
        );
        // The first field is focused (no error on the page).
        assert!(page.contains("autofocus"), "{page}");
        // Stale: the step-up page, with its Cancel.
        app.clock.advance(2 * 3600);
        let (_, at, page) = browser.get(&app.url("/account/password"), base).await;
        assert!(at.contains("/account/reconfirm"), "{at}");
        assert!(page.contains("Confirm it"), "{page}");
        assert_eq!(
            link_to(&page, "Cancel").as_deref(),
            Some("/account/security")
        );
        app.cleanup().await;
    }
}

#[tokio::test]
async fn consent_and_device_pages_name_the_signed_in_account() {
    for backend in Backend::available() {
        let app = TestApp::spawn(backend).await;
        app.create_client(third_party("rp3")).await.unwrap();
        app.create_user(EMAIL).await;
        let base = app.base_url.as_str();
        let browser = Browser::new();
        sign_in_to_account(&app, &browser, EMAIL).await;

        let (_, at, consent) = browser.get(&authorize_url(&app, "rp3", ""), base).await;
        assert!(consent.contains("name=\"decision\""), "{at}: {consent}");
        assert!(
            consent.contains(&format!("Signed in as <strong>{EMAIL}</strong>")),
            "{consent}"
        );
        assert_eq!(
            link_to(&consent, "Not you? Sign out").as_deref(),
            Some("/logout")
        );

        let (status, _, device) = browser.get(&app.url("/device"), base).await;
        assert_eq!(status, 200);
        assert!(
            device.contains(&format!("Signed in as <strong>{EMAIL}</strong>")),
            "{device}"
        );
        assert_eq!(
            link_to(&device, "Not you? Sign out").as_deref(),
            Some("/logout")
        );
        assert!(hidden_field(&device, "csrf_token").is_some());
        app.cleanup().await;
    }
}
