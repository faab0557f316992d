//! Issue 12, items 1, 2 and 4, over HTTP: the owner's lock mail says what happened (wrong
//! passwords or wrong codes), until when, and the ways back in; "Too many codes sent" after
//! the right password offers the account's other ways and a stated time to retry (sign-in
//! and step-up); authenticator-app accounts are offered "Stay signed in for 30 days" instead
//! of a trusted device, and the promise holds. Bad input for each: replayed posts, a wrong
//! CSRF token, a choice posted for the other question, garbage answers. Time only moves
//! through the `ManualClock`.

use lanyard_core::Clock as _;
use lanyard_core::Timestamp;
use lanyard_mfa::{Lock, totp, when};
use lanyard_testkit::recording::hidden_field;
use lanyard_testkit::{Browser, PASSWORD, TestApp};

use crate::helpers::{
    REDIRECT, authorize_url, confidential, each_backend, post, reply, totp_secret_from,
};

const EMAIL: &str = "ux@example.com";
const HOUR: i64 = 3600;
const DAY: i64 = 24 * HOUR;
const SECURITY: &str = "/account/security";
const TOTP_SETUP: &str = "/account/mfa/totp/setup";
const WRONG_PASSWORD: &str = "The email address or password is not right.";
const TOO_MANY_SENDS: &str = "<h1>Too many codes sent</h1>";
const STAY_PAGE: &str = "<h1>Stay signed in on this browser?</h1>";
const TRUST_PAGE: &str = "<h1>Trust this device?</h1>";
const EXPIRED: &str = "<h1>Your sign-in has expired</h1>";

// ---- Small helpers ----

async fn setup(app: &TestApp) {
    app.create_client(confidential("rp")).await;
    app.create_user(EMAIL).await;
}

fn between<'a>(text: &'a str, open: &str, close: &str) -> &'a str {
    let start = text
        .find(open)
        .unwrap_or_else(|| panic!("{open} in {text}"))
        + open.len();
    let end = text[start..].find(close).unwrap() + start;
    &text[start..end]
}

fn csrf(page: &str) -> String {
    hidden_field(page, "csrf_token").expect("a CSRF field")
}

fn flow(page: &str) -> String {
    hidden_field(page, "flow").expect("a flow field")
}

fn mails_to(app: &TestApp) -> Vec<lanyard_testkit::ReceivedMail> {
    app.mail.messages_to(EMAIL)
}

/// How many sign-in codes were mailed to `EMAIL`.
fn code_mails(app: &TestApp) -> usize {
    mails_to(app)
        .iter()
        .filter(|m| m.subject == "Your Lanyard sign-in code")
        .count()
}

fn newest_code(app: &TestApp) -> String {
    let mails = mails_to(app);
    lanyard_testkit::code_in(&mails.last().expect("a mail").text)
}

/// A new browser at the password page of an app's sign-in, with the email given.
async fn at_password(app: &TestApp) -> (Browser, String) {
    let browser = Browser::new();
    let base = &app.base_url;
    let (status, _, page) = browser
        .get(&authorize_url(app, "rp", "&prompt=login"), base)
        .await;
    assert_eq!(status, 200, "{page}");
    let (status, _, page) = browser.submit(&page, base, &[("email", EMAIL)]).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("name=\"password\""), "{page}");
    (browser, page)
}

/// A new browser past the right password: the page it lands on (the code page, or "Too many
/// codes sent").
async fn past_password(app: &TestApp) -> (Browser, String) {
    let (browser, page) = at_password(app).await;
    let (status, at, page) = browser
        .submit(&page, &app.base_url, &[("password", PASSWORD)])
        .await;
    assert_eq!(status, 200, "{at}: {page}");
    assert!(at.contains("/login/code?flow="), "{at}");
    (browser, page)
}

/// The account's first sign-in, with the emailed code; answers "Trust this device?" with
/// `trust`. Returns the browser (signed in) and the backup code it was shown.
async fn first_sign_in(app: &TestApp, trust: &str) -> (Browser, String) {
    let base = &app.base_url;
    let (browser, page) = past_password(app).await;
    let (_, _, page) = browser
        .submit(&page, base, &[("code", &newest_code(app))])
        .await;
    let backup = crate::helpers::code_after(&page, "secret-block");
    let (_, _, page) = browser.submit(&page, base, &[("saved", "yes")]).await;
    assert!(page.contains(TRUST_PAGE), "{page}");
    let (_, at, _) = browser.submit(&page, base, &[("trust", trust)]).await;
    assert!(at.starts_with(REDIRECT), "{at}");
    (browser, backup)
}

fn totp_now(app: &TestApp, secret: &[u8]) -> String {
    totp::code_at_step(secret, totp::step_at(app.clock.now().seconds())).unwrap()
}

/// Turns the authenticator app on from a signed-in, fresh browser; returns its secret. The
/// set-up page says before that trusted devices go, and the notice after says they went.
async fn turn_on_app(app: &TestApp, browser: &Browser) -> Vec<u8> {
    let base = &app.base_url;
    let (status, _, page) = browser.get(&app.url(TOTP_SETUP), base).await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("Turning it on removes your trusted devices"),
        "{page}"
    );
    let secret = totp_secret_from(&page);
    let (_, at, page) = browser
        .submit(&page, base, &[("code", &totp_now(app, &secret))])
        .await;
    assert!(at.ends_with("/account/security?done=totp-on"), "{at}");
    assert!(page.contains("Your trusted devices were removed"), "{page}");
    // The code just used can not sign in again: move to the next step.
    app.clock.advance(30);
    secret
}

/// An authenticator-app account's sign-in in a new browser, up to the page after the code
/// (at a new time step, so the code is not one used before).
async fn app_sign_in(app: &TestApp, secret: &[u8]) -> (Browser, String) {
    app.clock.advance(30);
    let (browser, page) = past_password(app).await;
    assert_eq!(hidden_field(&page, "method").as_deref(), Some("totp"));
    let (status, _, page) = browser
        .submit(&page, &app.base_url, &[("code", &totp_now(app, secret))])
        .await;
    assert_eq!(status, 200, "{page}");
    (browser, page)
}

/// The app's sign-in page answers without asking anything: straight back with a code.
async fn signed_in_without_asking(app: &TestApp, browser: &Browser) -> bool {
    let (_, at, _) = browser
        .get(&authorize_url(app, "rp", ""), &app.base_url)
        .await;
    at.starts_with(REDIRECT) && at.contains("code=")
}

fn set_cookie(reply_headers: &reqwest::header::HeaderMap, name: &str) -> Option<String> {
    reply_headers
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

/// Posts the stay-signed-in (or trust) form of `page` with `fields`, raw.
async fn post_choice(
    app: &TestApp,
    browser: &Browser,
    path: &str,
    page: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let (csrf, flow) = (csrf(page), flow(page));
    let mut form = vec![("csrf_token", csrf.as_str()), ("flow", flow.as_str())];
    form.extend_from_slice(fields);
    browser
        .http
        .post(app.url(path))
        .form(&form)
        .send()
        .await
        .unwrap()
}

// ================================ Item 1: the lock mail ================================

#[tokio::test]
async fn item1_wrong_passwords_lock_and_the_mail_says_passwords_until_when_and_ways_back_in() {
    each_backend(|app| async move {
        setup(&app).await;
        // The owner trusted this laptop earlier: a way back in during the lock.
        let (laptop, _) = first_sign_in(&app, "yes").await;

        let before = mails_to(&app).len();
        let (browser, page) = at_password(&app).await;
        let mut page = page;
        for _ in 0..5 {
            let (status, _, next) = browser
                .submit(&page, &app.base_url, &[("password", "not the password")])
                .await;
            assert_eq!(status, 400);
            assert!(next.contains(WRONG_PASSWORD), "{next}");
            page = next;
        }
        // S53f kept: now even the right password is answered as a wrong one.
        let (status, _, refused) = browser
            .submit(&page, &app.base_url, &[("password", PASSWORD)])
            .await;
        assert_eq!(status, 400);
        assert!(refused.contains(WRONG_PASSWORD), "{refused}");
        // The way out of a forgotten password is offered on the page.
        assert!(refused.contains("href=\"/password/forgot\""), "{refused}");

        let account = app
            .app
            .state
            .accounts
            .find_by_email(EMAIL)
            .await
            .unwrap()
            .unwrap();
        let Lock::Until(until) = app.app.state.mfa.lock(account.id).await.unwrap() else {
            panic!("a wait")
        };
        let mails = app.mail.wait_for(EMAIL, before + 1).await;
        let locks: Vec<_> = mails[before..]
            .iter()
            .filter(|m| m.subject.contains("Too many"))
            .collect();
        assert_eq!(locks.len(), 1, "one mail when the wait starts");
        let mail = locks[0];
        assert_eq!(mail.subject, "Lanyard: Too many wrong passwords");
        let text = &mail.text;
        assert!(
            text.contains("A wrong password was entered for your account 5 times in a row."),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "paused until {} (for 1 minute)",
                when::date_time(until)
            )),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "- Wait until {}, then sign in as usual.",
                when::date_time(until)
            )),
            "{text}"
        );
        assert!(
            text.contains("- Sign in on a device you chose to trust before"),
            "{text}"
        );
        // The reset is a way back in; the mail carries no link (S32).
        assert!(text.contains("- Choose a new password"), "{text}");
        assert!(!text.contains("http"), "{text}");

        // The mail's way back in is true: the trusted laptop signs in during the lock.
        let base = &app.base_url;
        let (_, _, page) = laptop
            .get(&authorize_url(&app, "rp", "&prompt=login"), base)
            .await;
        let (_, _, page) = laptop.submit(&page, base, &[("email", EMAIL)]).await;
        let (_, at, _) = laptop.submit(&page, base, &[("password", PASSWORD)]).await;
        assert!(at.starts_with(REDIRECT), "the trusted device got in: {at}");
        // And so is the other: after the stated time the right password works again.
        app.clock
            .advance(until.seconds() - app.clock.now().seconds());
        let (_, page) = past_password(&app).await;
        assert!(page.contains("<h1>Check your email</h1>"), "{page}");
        app
    })
    .await;
}

#[tokio::test]
async fn item1_wrong_codes_lock_and_the_mail_says_codes_with_no_trusted_device_to_offer() {
    each_backend(|app| async move {
        setup(&app).await;
        first_sign_in(&app, "no").await;
        let before = mails_to(&app).len();
        // Five wrong codes on one sign-in: the fifth ends the challenge and starts the wait.
        let (browser, page) = past_password(&app).await;
        let code = newest_code(&app);
        let wrong = if code == "000000" { "111111" } else { "000000" };
        let (csrf, flow) = (csrf(&page), flow(&page));
        for n in 1..=5 {
            let r = post(
                &app,
                &browser,
                "/login/code",
                &[
                    ("csrf_token", &csrf),
                    ("flow", &flow),
                    ("method", "email"),
                    ("code", wrong),
                ],
            )
            .await;
            assert!(
                r.status == 400 || (n == 5 && r.status == 429),
                "{n}: {}",
                r.status
            );
        }
        let account = app
            .app
            .state
            .accounts
            .find_by_email(EMAIL)
            .await
            .unwrap()
            .unwrap();
        let Lock::Until(until) = app.app.state.mfa.lock(account.id).await.unwrap() else {
            panic!("a wait")
        };
        let mails = app.mail.wait_for(EMAIL, before + 2).await;
        let lock: Vec<_> = mails[before..]
            .iter()
            .filter(|m| m.subject.contains("Too many"))
            .collect();
        assert_eq!(lock.len(), 1);
        assert_eq!(lock[0].subject, "Lanyard: Too many wrong sign-in codes");
        let text = &lock[0].text;
        assert!(
            text.contains("A wrong sign-in code was entered for your account 5 times in a row"),
            "{text}"
        );
        assert!(text.contains(&when::date_time(until)), "{text}");
        assert!(text.contains("(for 1 minute)"), "{text}");
        assert!(!text.contains("trust"), "no trusted device: {text}");
        assert!(text.contains("someone knows your password"), "{text}");
        assert!(text.contains("- Choose a new password"), "{text}");
        app
    })
    .await;
}

// ================================ Item 2: too many codes sent ================================

/// Uses up the account's emailed codes for the hour: the first sign-in sent one, then four
/// more sign-ins each send one. Returns when the hour ends.
async fn use_up_sends(app: &TestApp, first_sent_at: Timestamp) -> Timestamp {
    let sent = code_mails(app);
    for _ in sent..5 {
        past_password(app).await;
    }
    first_sent_at.plus_secs(HOUR)
}

#[tokio::test]
async fn item2_too_many_codes_offers_the_backup_code_a_time_to_retry_and_the_backup_code_works() {
    each_backend(|app| async move {
        setup(&app).await;
        let t0 = app.clock.now();
        let (_, backup) = first_sign_in(&app, "no").await;
        let earlier_code = newest_code(&app);
        app.clock.advance(120);
        let until = use_up_sends(&app, t0).await;
        let sent = mails_to(&app).len();

        let (browser, page) = past_password(&app).await;
        assert_eq!(mails_to(&app).len(), sent, "no sixth code");
        assert!(page.contains(TOO_MANY_SENDS), "{page}");
        // A stated time, concrete and relative.
        let now = app.clock.now();
        assert!(
            page.contains(&format!(
                "You can ask for a new code at {} ({})",
                when::clock_time(until),
                when::from_now(now, until)
            )),
            "{page}"
        );
        // Advice the user can act on: every other way this account has.
        assert!(page.contains(">Use a backup code</a>"), "{page}");
        assert!(
            !page.contains("Use your authenticator app"),
            "no app: {page}"
        );
        // No code of this sign-in exists, so no code box, and no "use the code we sent".
        assert!(!page.contains("name=\"code\""), "{page}");
        assert!(
            page.contains("A code we sent for an earlier sign-in does not work here."),
            "{page}"
        );

        // A code from an earlier sign-in, posted anyway, is wrong here.
        let r = post(
            &app,
            &browser,
            "/login/code",
            &[
                ("csrf_token", &csrf(&page)),
                ("flow", &flow(&page)),
                ("method", "email"),
                ("code", &earlier_code),
            ],
        )
        .await;
        assert_eq!(r.status, 400, "{}", r.body);

        // "Send a new code" before the time: the same page, no mail.
        let r = post(
            &app,
            &browser,
            "/login/code/email",
            &[("csrf_token", &csrf(&page)), ("flow", &flow(&page))],
        )
        .await;
        assert_eq!(r.status, 303);
        let (_, _, again) = browser.get(&app.url(&r.location), &app.base_url).await;
        assert!(again.contains(TOO_MANY_SENDS), "{again}");
        assert_eq!(mails_to(&app).len(), sent);
        // Without the CSRF token: refused, nothing sent.
        let r = post(
            &app,
            &browser,
            "/login/code/email",
            &[("csrf_token", "forged"), ("flow", &flow(&page))],
        )
        .await;
        assert!(r.status == 400 || r.status == 403, "{}", r.status);

        // The backup code signs in.
        let href = between(&page, "<li><a href=\"", "\">Use a backup code");
        let href = href.replace("&amp;", "&").replace("&#38;", "&");
        let (status, _, page) = browser.get(&app.url(&href), &app.base_url).await;
        assert_eq!(status, 200);
        assert!(page.contains("Enter your backup code"), "{page}");
        let (_, _, page) = browser
            .submit(&page, &app.base_url, &[("code", &backup)])
            .await;
        assert!(page.contains("You used your backup code"), "{page}");
        let (_, at, _) = browser
            .submit(&page, &app.base_url, &[("saved", "yes")])
            .await;
        assert!(at.starts_with(REDIRECT) && at.contains("code="), "{at}");

        // At the stated time, a new sign-in gets its code again.
        app.clock
            .advance(until.seconds() - app.clock.now().seconds());
        if !app.config.ephemeral.redis_url.is_empty() {
            // Redis expires the hour's counter by the wall clock, which the test's manual
            // clock does not move: its expiry is played by deleting it.
            let account = app
                .app
                .state
                .accounts
                .find_by_email(EMAIL)
                .await
                .unwrap()
                .unwrap();
            let key = lanyard_core::EphemeralKey::MfaSends(account.id).to_string();
            assert!(app.app.ephemeral.delete(&key).await.unwrap());
        }
        let codes = code_mails(&app);
        let (_, page) = past_password(&app).await;
        assert!(page.contains("<h1>Check your email</h1>"), "{page}");
        assert_eq!(code_mails(&app), codes + 1);
        app
    })
    .await;
}

#[tokio::test]
async fn item2_reaching_the_limit_on_resend_keeps_this_sign_ins_code_usable() {
    each_backend(|app| async move {
        setup(&app).await;
        let t0 = app.clock.now();
        first_sign_in(&app, "no").await;
        // Sends 2..=4 on other sign-ins; the fifth is this sign-in's own.
        for _ in 0..3 {
            past_password(&app).await;
        }
        let (browser, page) = past_password(&app).await;
        let own_code = newest_code(&app);
        app.clock.advance(61);
        let r = post(
            &app,
            &browser,
            "/login/code/email",
            &[("csrf_token", &csrf(&page)), ("flow", &flow(&page))],
        )
        .await;
        assert_eq!(r.status, 303);
        let (_, _, page) = browser.get(&app.url(&r.location), &app.base_url).await;
        assert!(page.contains(TOO_MANY_SENDS), "{page}");
        assert!(
            page.contains("The code we sent for this sign-in still works until"),
            "{page}"
        );
        assert!(
            page.contains(&when::clock_time(t0.plus_secs(HOUR))),
            "{page}"
        );
        assert!(page.contains("name=\"code\""), "{page}");
        let (_, _, page) = browser
            .submit(&page, &app.base_url, &[("code", &own_code)])
            .await;
        assert!(page.contains(TRUST_PAGE), "{page}");
        app
    })
    .await;
}

#[tokio::test]
async fn item2_an_app_user_who_asks_for_an_email_code_past_the_limit_is_offered_the_app() {
    each_backend(|app| async move {
        setup(&app).await;
        let t0 = app.clock.now();
        let (browser, _) = first_sign_in(&app, "no").await;
        let secret = turn_on_app(&app, &browser).await;
        // App accounts get no code up front: ask for codes by email until the limit.
        let (browser, page) = past_password(&app).await;
        let (csrf, flow) = (csrf(&page), flow(&page));
        for _ in 0..4 {
            let r = post(
                &app,
                &browser,
                "/login/code/email",
                &[("csrf_token", &csrf), ("flow", &flow)],
            )
            .await;
            assert_eq!(r.status, 200, "{}", r.body);
            app.clock.advance(61);
        }
        let r = post(
            &app,
            &browser,
            "/login/code/email",
            &[("csrf_token", &csrf), ("flow", &flow)],
        )
        .await;
        assert_eq!(r.status, 303);
        let (_, _, page) = browser.get(&app.url(&r.location), &app.base_url).await;
        assert!(page.contains(TOO_MANY_SENDS), "{page}");
        assert!(page.contains(">Use your authenticator app</a>"), "{page}");
        assert!(page.contains(">Use a backup code</a>"), "{page}");
        assert!(
            page.contains(&when::clock_time(t0.plus_secs(HOUR))),
            "{page}"
        );
        // The app answers the same sign-in.
        let href = between(&page, "<li><a href=\"", "\">Use your authenticator app");
        let (_, _, page) = browser
            .get(
                &app.url(&href.replace("&amp;", "&").replace("&#38;", "&")),
                &app.base_url,
            )
            .await;
        let (_, _, page) = browser
            .submit(&page, &app.base_url, &[("code", &totp_now(&app, &secret))])
            .await;
        assert!(page.contains(STAY_PAGE), "{page}");
        app
    })
    .await;
}

#[tokio::test]
async fn item2_step_up_past_the_limit_offers_the_backup_code_and_it_confirms() {
    each_backend(|app| async move {
        setup(&app).await;
        let t0 = app.clock.now();
        let (browser, backup) = first_sign_in(&app, "no").await;
        use_up_sends(&app, t0).await;
        // Stale: a sensitive page sends this browser to reconfirm.
        app.clock.advance(11 * 60);
        let base = &app.base_url;
        let (_, at, page) = browser.get(&app.url(TOTP_SETUP), base).await;
        assert!(at.contains("/account/reconfirm"), "{at}");
        let (_, _, page) = browser.submit(&page, base, &[("password", PASSWORD)]).await;
        assert!(page.contains("Too many codes sent</h1>"), "{page}");
        assert!(page.contains("Confirm it's you"), "{page}");
        assert!(page.contains(">Use a backup code</a>"), "{page}");
        let href = between(&page, "<li><a href=\"", "\">Use a backup code");
        let (_, _, page) = browser
            .get(
                &app.url(&href.replace("&amp;", "&").replace("&#38;", "&")),
                base,
            )
            .await;
        let (_, _, page) = browser.submit(&page, base, &[("code", &backup)]).await;
        let (_, at, page) = browser.submit(&page, base, &[("saved", "yes")]).await;
        assert!(at.ends_with(TOTP_SETUP), "back where it asked: {at}");
        assert!(page.contains("Set up your authenticator app"), "{page}");
        app
    })
    .await;
}

// ================================ Item 4: stay signed in ================================

#[tokio::test]
async fn item4_an_app_user_who_stays_signed_in_is_not_asked_again_for_30_days() {
    each_backend(|app| async move {
        setup(&app).await;
        let (browser, _) = first_sign_in(&app, "no").await;
        let secret = turn_on_app(&app, &browser).await;

        let (browser, page) = app_sign_in(&app, &secret).await;
        assert!(page.contains(STAY_PAGE), "{page}");
        assert!(!page.contains("Trust this device"), "{page}");
        assert!(
            page.contains(">Stay signed in for 30 days</button>"),
            "{page}"
        );
        let until = app.clock.now().plus_secs(30 * DAY);
        // What the page promises, to the minute.
        assert!(page.contains(&when::date_time(until)), "{page}");

        let response = post_choice(
            &app,
            &browser,
            "/login/stay-signed-in",
            &page,
            &[("stay", "yes")],
        )
        .await;
        assert_eq!(response.status(), 303);
        let cookie = set_cookie(response.headers(), "lanyard_session").expect("a session cookie");
        let attributes = format!("{cookie};");
        let max_age: i64 = between(&attributes, "Max-Age=", ";").parse().unwrap();
        let left = until.seconds() - app.clock.now().seconds();
        assert_eq!(
            max_age, left,
            "the cookie outlives the browser until then: {cookie}"
        );
        let location = response.headers()[reqwest::header::LOCATION]
            .to_str()
            .unwrap()
            .to_owned();
        let (_, at, _) = browser.get(&app.url(&location), &app.base_url).await;
        assert!(at.starts_with(REDIRECT), "{at}");

        // Unused for two days (an ordinary session ends after 24 hours): still signed in.
        app.clock.advance(2 * DAY);
        assert!(signed_in_without_asking(&app, &browser).await);
        // Step-up still asks: the kept session is not fresh.
        let (_, at, _) = browser.get(&app.url(TOTP_SETUP), &app.base_url).await;
        assert!(at.contains("/account/reconfirm"), "{at}");
        // Unused for 27 more days: still signed in, one second before the end...
        app.clock
            .advance(until.seconds() - 1 - app.clock.now().seconds());
        assert!(signed_in_without_asking(&app, &browser).await);
        // ...and not at the end.
        app.clock.advance(1);
        assert!(!signed_in_without_asking(&app, &browser).await);
        app
    })
    .await;
}

#[tokio::test]
async fn item4_not_staying_signed_in_ends_after_a_day_unused_and_the_cookie_ends_with_the_browser()
{
    each_backend(|app| async move {
        setup(&app).await;
        let (browser, _) = first_sign_in(&app, "no").await;
        let secret = turn_on_app(&app, &browser).await;
        let (browser, page) = app_sign_in(&app, &secret).await;
        let response = post_choice(
            &app,
            &browser,
            "/login/stay-signed-in",
            &page,
            &[("stay", "no")],
        )
        .await;
        assert_eq!(response.status(), 303);
        let cookie = set_cookie(response.headers(), "lanyard_session").unwrap();
        assert!(
            !cookie.contains("Max-Age") && !cookie.contains("Expires"),
            "{cookie}"
        );
        app.clock.advance(DAY - 60);
        assert!(signed_in_without_asking(&app, &browser).await);
        app.clock.advance(DAY);
        assert!(!signed_in_without_asking(&app, &browser).await);
        app
    })
    .await;
}

#[tokio::test]
async fn item4_a_kept_session_still_ends_on_sign_out_and_on_sign_out_everywhere_else() {
    each_backend(|app| async move {
        setup(&app).await;
        let (laptop, _) = first_sign_in(&app, "no").await;
        let secret = turn_on_app(&app, &laptop).await;
        let base = &app.base_url;

        // Sign-out ends it.
        let (browser, page) = app_sign_in(&app, &secret).await;
        let (_, at, _) = browser.submit(&page, base, &[("stay", "yes")]).await;
        assert!(at.starts_with(REDIRECT), "{at}");
        let (_, _, page) = browser.get(&app.url("/logout"), base).await;
        browser.submit(&page, base, &[]).await;
        assert!(!signed_in_without_asking(&app, &browser).await);

        // "Sign out everywhere else" on another device ends it.
        let (kept, page) = app_sign_in(&app, &secret).await;
        let (_, at, _) = kept.submit(&page, base, &[("stay", "yes")]).await;
        assert!(at.starts_with(REDIRECT), "{at}");
        let (other, page) = app_sign_in(&app, &secret).await;
        other.submit(&page, base, &[("stay", "no")]).await;
        let (_, _, security) = other.get(&app.url(SECURITY), base).await;
        let form_start = security
            .find("action=\"/account/sessions/end-others\"")
            .expect("the sign out everywhere else form");
        let form = &security[security[..form_start].rfind("<form").unwrap()..];
        let (_, _, _) = other.submit(form, base, &[]).await;
        assert!(!signed_in_without_asking(&app, &kept).await);
        assert!(signed_in_without_asking(&app, &other).await);
        app
    })
    .await;
}

#[tokio::test]
async fn item4_an_email_code_user_is_still_offered_trust_this_device_and_no_stay_choice() {
    each_backend(|app| async move {
        setup(&app).await;
        let base = &app.base_url;
        first_sign_in(&app, "no").await;
        let (browser, page) = past_password(&app).await;
        let (_, _, page) = browser
            .submit(&page, base, &[("code", &newest_code(&app))])
            .await;
        assert!(page.contains(TRUST_PAGE), "{page}");
        assert!(page.contains("we will not ask you for a code"), "{page}");
        assert!(!page.contains("name=\"stay\""), "{page}");
        // "Stay signed in" posted for this flow: refused, no session, the question stands.
        let response = post_choice(
            &app,
            &browser,
            "/login/stay-signed-in",
            &page,
            &[("stay", "yes")],
        )
        .await;
        let r = reply(response).await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(r.body.contains(EXPIRED), "{}", r.body);
        // The trust answer still works after the refusal.
        let (_, at, _) = browser.submit(&page, base, &[("trust", "yes")]).await;
        assert!(at.starts_with(REDIRECT), "{at}");
        app
    })
    .await;
}

#[tokio::test]
async fn item4_bad_answers_to_stay_signed_in_are_refused_and_change_nothing() {
    each_backend(|app| async move {
        setup(&app).await;
        let (browser, _) = first_sign_in(&app, "no").await;
        let secret = turn_on_app(&app, &browser).await;
        let account = app
            .app
            .state
            .accounts
            .find_by_email(EMAIL)
            .await
            .unwrap()
            .unwrap();
        let (browser, page) = app_sign_in(&app, &secret).await;
        let path = "/login/stay-signed-in";

        // "Trust this device" posted for the stay question: refused, no device trusted.
        let r =
            reply(post_choice(&app, &browser, "/login/trust", &page, &[("trust", "yes")]).await)
                .await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(
            app.app
                .state
                .mfa
                .trusted_devices(account.id)
                .await
                .unwrap()
                .is_empty(),
            "no device trusted"
        );
        // No answer, or not one of the two.
        for fields in [
            &[][..],
            &[("stay", "maybe")][..],
            &[("stay", &*"y".repeat(5000))][..],
        ] {
            let r = reply(post_choice(&app, &browser, path, &page, fields).await).await;
            assert_eq!(r.status, 400, "{}", r.body);
            assert!(r.body.contains("Choose an answer"), "{}", r.body);
        }
        // A wrong CSRF token.
        let r = post(
            &app,
            &browser,
            path,
            &[
                ("csrf_token", "forged"),
                ("flow", &flow(&page)),
                ("stay", "yes"),
            ],
        )
        .await;
        assert!(r.status == 400 || r.status == 403, "{}", r.status);
        assert!(r.location.is_empty());
        // A flow id that is not one, or another browser's CSRF cookie.
        let r = post(
            &app,
            &browser,
            path,
            &[
                ("csrf_token", &csrf(&page)),
                ("flow", "not-a-flow"),
                ("stay", "yes"),
            ],
        )
        .await;
        assert_eq!(r.status, 400, "{}", r.body);
        let stranger = Browser::new();
        let r = post(
            &app,
            &stranger,
            path,
            &[
                ("csrf_token", &csrf(&page)),
                ("flow", &flow(&page)),
                ("stay", "yes"),
            ],
        )
        .await;
        assert!(r.status == 400 || r.status == 403, "{}", r.status);

        // The real answer still works after all that, once; a replay of it finds nothing.
        let response = post_choice(&app, &browser, path, &page, &[("stay", "yes")]).await;
        assert_eq!(response.status(), 303);
        // The replay's CSRF token was made before the session existed (S44): refused.
        let replay =
            reply(post_choice(&app, &browser, path, &page, &[("stay", "yes")]).await).await;
        assert_eq!(replay.status, 403, "{}", replay.body);
        assert!(
            replay.body.contains("This form has expired"),
            "{}",
            replay.body
        );

        // Posted before the code was answered: nothing to answer yet.
        let (early, page) = past_password(&app).await;
        let r = reply(post_choice(&app, &early, path, &page, &[("stay", "yes")]).await).await;
        assert_eq!(r.status, 400, "{}", r.body);
        app
    })
    .await;
}
