//! The authenticator app (TOTP) over HTTP, named after the security tests they cover
//! (shared/design/security-tests.md S28–S31): a code is accepted once (also the one that
//! turned the app on, also on step-up), one step of skew either way and nothing else, wrong
//! codes counted per challenge and per account however fast they come, and the set-up behind
//! step-up with the secret sealed at rest. Time only moves when a test advances the clock.

use std::sync::Arc;

use lanyard_core::model::{Account, MfaMethod, MfaState};
use lanyard_core::ports::{AuditRepo, MfaRepo};
use lanyard_core::{Clock as _, Origin};
use lanyard_mfa::{Lock, totp};
use lanyard_testkit::recording::{RecordingRng, hidden_field};
use lanyard_testkit::{Backend, Browser, PASSWORD, TestApp};
use tokio::sync::Barrier;

use crate::helpers::{
    REDIRECT, authorize_url, confidential, database_snapshot, each_backend, is_sqlite,
    query_strings, side_connection, totp_secret_from,
};

const EMAIL: &str = "ada@example.com";
const SETUP: &str = "/account/mfa/totp/setup";
const TURN_OFF: &str = "/account/mfa/totp/turn-off";
/// The one answer to a wrong, expired or replayed code (S28, S30).
const WRONG: &str = "The code is not right, or it has expired. Check it and try again.";
/// The answer to something that is not a code at all (S29): not counted.
const MALFORMED: &str = "Enter the 6-digit code";
/// The page after a challenge's last try: back to the password.
const START_AGAIN: &str = "<h1>Start signing in again</h1>";
/// The page while the account waits (or is locked): even a correct code gets it.
const LOCKED: &str = "<h1>Too many attempts</h1>";
const WRONG_PASSWORD: &str = "The email address or password is not right.";

// ---- What a response said ----

#[derive(Debug)]
struct Reply {
    status: u16,
    location: Option<String>,
    retry_after: Option<String>,
    cache_control: Option<String>,
    www_authenticate: Option<String>,
    body: String,
}

impl Reply {
    async fn read(response: reqwest::Response) -> Reply {
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_owned())
        };
        let (location, retry_after, cache_control, www_authenticate) = (
            header("location"),
            header("retry-after"),
            header("cache-control"),
            header("www-authenticate"),
        );
        Reply {
            status: response.status().as_u16(),
            location,
            retry_after,
            cache_control,
            www_authenticate,
            body: response.text().await.unwrap(),
        }
    }

    /// The message shown under the code field, if any.
    fn field_error(&self) -> Option<String> {
        let start = self.body.find("id=\"code-error\"")?;
        let rest = &self.body[start..];
        let from = rest.find("</span>")? + "</span>".len();
        let to = rest[from..].find("</p>")? + from;
        Some(rest[from..to].to_owned())
    }

    /// A correct code on a sign-in: the session exists and the flow goes on to the app — or,
    /// for an app account, the question after the code: "Stay signed in?" (issue 12 item 4).
    fn signed_in(&self) -> bool {
        let to_app = self.status == 303
            && self
                .location
                .as_deref()
                .is_some_and(|l| l.starts_with("/authorize/continue?flow="));
        to_app || self.offers_stay()
    }

    fn offers_stay(&self) -> bool {
        self.status == 200 && self.body.contains("action=\"/login/stay-signed-in\"")
    }

    fn is_wrong_code(&self) -> bool {
        self.status == 400 && self.field_error().as_deref() == Some(WRONG)
    }

    fn is_start_again(&self) -> bool {
        self.status == 429 && self.body.contains(START_AGAIN)
    }

    fn is_locked(&self) -> bool {
        self.status == 429 && self.body.contains(LOCKED) && self.retry_after.is_some()
    }

    /// The password step of a locked account answers exactly like a wrong password (S53f).
    fn is_refused_like_a_wrong_password(&self) -> bool {
        self.status == 400 && self.body.contains(WRONG_PASSWORD)
    }

    /// A request on a challenge that already ended (its flow is gone).
    fn is_expired_flow(&self) -> bool {
        self.status == 400 && self.body.contains("<h1>Your sign-in has expired</h1>")
    }
}

async fn get(browser: &Browser, app: &TestApp, path: &str) -> Reply {
    let response = browser.http.get(app.url(path)).send().await.unwrap();
    Reply::read(response).await
}

async fn post(browser: &Browser, app: &TestApp, path: &str, fields: &[(&str, &str)]) -> Reply {
    let response = browser
        .http
        .post(app.url(path))
        .form(fields)
        .send()
        .await
        .unwrap();
    Reply::read(response).await
}

fn csrf(page: &str) -> String {
    hidden_field(page, "csrf_token").expect("a CSRF field on the page")
}

// ---- Codes and clock ----

fn now_step(app: &TestApp) -> i64 {
    totp::step_at(app.clock.now().seconds())
}

fn code_at(secret: &[u8], step: i64) -> String {
    totp::code_at_step(secret, step).unwrap()
}

/// Six digits that are no code of the app within two steps of `step`.
fn wrong_code(secret: &[u8], step: i64) -> String {
    let near: Vec<String> = (-3..=3).map(|d| code_at(secret, step + d)).collect();
    (0..10)
        .map(|d| d.to_string().repeat(6))
        .find(|c| !near.contains(c))
        .unwrap()
}

// ---- Server-side state ----

async fn mfa_state(app: &TestApp, account: &Account) -> MfaState {
    app.app.state.mfa.state(account.id).await.unwrap()
}

async fn devices(app: &TestApp, account: &Account) -> usize {
    app.app
        .state
        .mfa
        .trusted_devices(account.id)
        .await
        .unwrap()
        .len()
}

/// Advances the clock to the end of the account's wait, if it has one.
async fn wait_out_lock(app: &TestApp, account: &Account) {
    if let Lock::Until(until) = app.app.state.mfa.lock(account.id).await.unwrap() {
        app.clock
            .advance(until.seconds() - app.clock.now().seconds());
    }
}

async fn failures(app: &TestApp, account: &Account) -> u32 {
    mfa_state(app, account).await.failures
}

/// Audit events of `kind` about `account`.
async fn audits(app: &TestApp, kind: &str, account: &Account) -> usize {
    let subject = account.id.to_string();
    app.app
        .stores
        .sql
        .list_audit(Some(kind), 100_000)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.subject.as_deref() == Some(subject.as_str()))
        .count()
}

fn mails_about(app: &TestApp, subject: &str) -> usize {
    app.mail
        .messages_to(EMAIL)
        .iter()
        .filter(|m| m.subject.contains(subject))
        .count()
}

/// Waits for the next mail to `EMAIL` (the count was `before`) and returns its subject.
async fn next_mail_subject(app: &TestApp, before: usize) -> String {
    let mails = app.mail.wait_for(EMAIL, before + 1).await;
    mails[before].subject.clone()
}

// ---- Signing in ----

/// Email and password for `EMAIL` through an app's authorization request (`prompt=login`, so
/// a browser with a session signs in again); the password post's own reply (303 to the code
/// page, or a refusal).
async fn password(app: &TestApp, browser: &Browser) -> Reply {
    let base = &app.base_url;
    let url = authorize_url(app, "rp", "&prompt=login");
    let (status, _, page) = browser.get(&url, base).await;
    assert_eq!(status, 200, "{page}");
    let (status, _, page) = browser.submit(&page, base, &[("email", EMAIL)]).await;
    assert_eq!(status, 200, "{page}");
    let (csrf, flow) = (csrf(&page), hidden_field(&page, "flow").unwrap());
    post(
        browser,
        app,
        "/login/password",
        &[
            ("csrf_token", &csrf),
            ("flow", &flow),
            ("password", PASSWORD),
        ],
    )
    .await
}

/// One sign-in waiting at the code page.
struct Challenge {
    browser: Browser,
    page: String,
}

impl Challenge {
    fn flow(&self) -> String {
        hidden_field(&self.page, "flow").unwrap()
    }

    fn method(&self) -> String {
        hidden_field(&self.page, "method").unwrap()
    }

    /// The code form's fields with `code` typed, answering as `method`.
    fn form(&self, method: &str, code: &str) -> Vec<(String, String)> {
        vec![
            ("csrf_token".to_owned(), csrf(&self.page)),
            ("flow".to_owned(), self.flow()),
            ("method".to_owned(), method.to_owned()),
            ("code".to_owned(), code.to_owned()),
        ]
    }

    async fn answer(&self, app: &TestApp, code: &str) -> Reply {
        self.answer_as(app, &self.method(), code).await
    }

    async fn answer_as(&self, app: &TestApp, method: &str, code: &str) -> Reply {
        let response = self
            .browser
            .http
            .post(app.url("/login/code"))
            .form(&self.form(method, code))
            .send()
            .await
            .unwrap();
        Reply::read(response).await
    }
}

/// A new browser (nobody signed in) at the code page.
async fn challenge(app: &TestApp) -> Challenge {
    let browser = Browser::new();
    let reply = password(app, &browser).await;
    assert_eq!(reply.status, 303, "{}", reply.body);
    let location = reply.location.unwrap();
    assert!(location.starts_with("/login/code?flow="), "{location}");
    let (status, _, page) = browser.get(&app.url(&location), &app.base_url).await;
    assert_eq!(status, 200, "{page}");
    Challenge { browser, page }
}

/// Follows a successful answer on to the app: the authorization code comes back.
async fn complete(app: &TestApp, browser: &Browser, reply: &Reply) {
    assert!(reply.signed_in(), "{reply:?}");
    let (_, at, page) = if reply.offers_stay() {
        browser
            .submit(&reply.body, &app.base_url, &[("stay", "no")])
            .await
    } else {
        browser
            .get(&app.url(reply.location.as_deref().unwrap()), &app.base_url)
            .await
    };
    assert!(
        at.starts_with(REDIRECT) && at.contains("code="),
        "{at} {page}"
    );
}

/// A sign-in with the emailed code (the account's first: the backup code page, then
/// "don't trust"): the browser's session is fresh afterwards.
async fn email_sign_in(app: &TestApp, browser: &Browser) {
    let back = browser
        .sign_in(
            &authorize_url(app, "rp", ""),
            &app.base_url,
            &app.mail,
            EMAIL,
            PASSWORD,
        )
        .await;
    assert!(back.starts_with(REDIRECT), "{back}");
}

/// The set-up page (for a fresh session) and the secret it shows.
async fn open_setup(app: &TestApp, browser: &Browser) -> (Reply, Vec<u8>) {
    let page = get(browser, app, SETUP).await;
    assert_eq!(page.status, 200, "{page:?}");
    let secret = totp_secret_from(&page.body);
    (page, secret)
}

async fn confirm(app: &TestApp, browser: &Browser, page: &str, code: &str) -> Reply {
    post(
        browser,
        app,
        SETUP,
        &[("csrf_token", &csrf(page)), ("code", code)],
    )
    .await
}

struct Enrolled {
    account: Account,
    secret: Vec<u8>,
    /// The step whose code turned the app on.
    step: i64,
}

/// A new account that signs in once by email and turns the authenticator app on.
async fn enroll(app: &TestApp) -> Enrolled {
    let account = app.create_user(EMAIL).await;
    app.create_client(confidential("rp")).await;
    let browser = Browser::new();
    email_sign_in(app, &browser).await;
    let (page, secret) = open_setup(app, &browser).await;
    let step = now_step(app);
    let reply = confirm(app, &browser, &page.body, &code_at(&secret, step)).await;
    assert_eq!(reply.status, 303, "{reply:?}");
    assert_eq!(
        reply.location.as_deref(),
        Some("/account/security?done=totp-on")
    );
    Enrolled {
        account,
        secret,
        step,
    }
}

// ---- S28: a code is accepted once ----

#[tokio::test]
async fn s28_a_totp_code_is_accepted_once() {
    each_backend(|app| async move {
        let e = enroll(&app).await;
        app.clock.advance(60);
        let t = now_step(&app);
        let code = code_at(&e.secret, t);
        let first = challenge(&app).await;
        complete(&app, &first.browser, &first.answer(&app, &code).await).await;
        assert_eq!(audits(&app, "mfa.totp.replay", &e.account).await, 0);

        // The same code on a second browser, in the same step: refused exactly like a wrong
        // code, and recorded as a replay.
        let second = challenge(&app).await;
        let wrong = second.answer(&app, &wrong_code(&e.secret, t)).await;
        assert!(wrong.is_wrong_code(), "{wrong:?}");
        let replay = second.answer(&app, &code).await;
        assert!(replay.is_wrong_code(), "{replay:?}");
        assert_eq!(replay.field_error(), wrong.field_error());
        assert_eq!(audits(&app, "mfa.totp.replay", &e.account).await, 1);

        // After step T was accepted, the code for T−1 (still within the skew) is refused.
        let earlier = challenge(&app).await;
        let reply = earlier.answer(&app, &code_at(&e.secret, t - 1)).await;
        assert!(reply.is_wrong_code(), "{reply:?}");
        assert_eq!(audits(&app, "mfa.totp.replay", &e.account).await, 2);

        // One step later the code is still inside the skew, and still used.
        app.clock.advance(30);
        let later = challenge(&app).await;
        let reply = later.answer(&app, &code).await;
        assert!(reply.is_wrong_code(), "{reply:?}");
        assert_eq!(audits(&app, "mfa.totp.replay", &e.account).await, 3);
        assert_eq!(
            failures(&app, &e.account).await,
            4,
            "a replay counts like a wrong code"
        );

        // A fresh step signs in, and clears the count.
        let reply = later.answer(&app, &code_at(&e.secret, t + 1)).await;
        complete(&app, &later.browser, &reply).await;
        assert_eq!(failures(&app, &e.account).await, 0);
        let credential = app
            .app
            .stores
            .sql
            .totp_credential(e.account.id, false)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(credential.last_used_step, Some(t + 1));
        app
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn s28_two_parallel_submissions_of_one_code_succeed_once() {
    each_backend(|app| async move {
        let e = enroll(&app).await;
        for round in 1..=3 {
            app.clock.advance(30);
            let code = code_at(&e.secret, now_step(&app));
            let both = [challenge(&app).await, challenge(&app).await];
            let barrier = Arc::new(Barrier::new(2));
            let url = app.url("/login/code");
            let tasks = both.map(|ch| {
                let (barrier, url, code) = (barrier.clone(), url.clone(), code.clone());
                tokio::spawn(async move {
                    let form = ch.form(&ch.method(), &code);
                    let request = ch.browser.http.post(url).form(&form);
                    barrier.wait().await;
                    let reply = Reply::read(request.send().await.unwrap()).await;
                    (ch, reply)
                })
            });
            let [a, b] = tasks;
            let results = [a.await.unwrap(), b.await.unwrap()];
            let replies: Vec<_> = results.iter().map(|(_, r)| r).collect();
            let winners: Vec<_> = results.iter().filter(|(_, r)| r.signed_in()).collect();
            assert_eq!(winners.len(), 1, "round {round}: {replies:?}");
            let (_, loser) = results.iter().find(|(_, r)| !r.signed_in()).unwrap();
            assert!(loser.is_wrong_code(), "round {round}: {loser:?}");
            assert_eq!(audits(&app, "mfa.totp.replay", &e.account).await, round);
            let (ch, reply) = winners[0];
            complete(&app, &ch.browser, reply).await;
        }
        app
    })
    .await;
}

#[tokio::test]
async fn s28_the_code_that_turned_the_app_on_can_not_sign_in() {
    each_backend(|app| async move {
        let e = enroll(&app).await;
        // Signed out (a new browser), in the same step as the confirmation.
        let ch = challenge(&app).await;
        assert_eq!(ch.method(), "totp");
        let reply = ch.answer(&app, &code_at(&e.secret, e.step)).await;
        assert!(reply.is_wrong_code(), "{reply:?}");
        assert_eq!(audits(&app, "mfa.totp.replay", &e.account).await, 1);
        let reply = ch.answer(&app, &code_at(&e.secret, e.step - 1)).await;
        assert!(reply.is_wrong_code(), "{reply:?}");
        assert_eq!(audits(&app, "mfa.totp.replay", &e.account).await, 2);

        // The next step's code is new and signs in.
        app.clock.advance(30);
        let reply = ch.answer(&app, &code_at(&e.secret, e.step + 1)).await;
        complete(&app, &ch.browser, &reply).await;
        app
    })
    .await;
}

#[tokio::test]
async fn s28_step_up_refuses_a_code_already_used_to_sign_in() {
    each_backend(|app| async move {
        let e = enroll(&app).await;
        app.clock.advance(60);
        let a = challenge(&app).await;
        let reply = a.answer(&app, &code_at(&e.secret, now_step(&app))).await;
        complete(&app, &a.browser, &reply).await;
        app.clock.advance(601);

        // Another browser signs in with the current code...
        let t = now_step(&app);
        let used = code_at(&e.secret, t);
        let b = challenge(&app).await;
        complete(&app, &b.browser, &b.answer(&app, &used).await).await;

        // ...and the first browser, no longer fresh, reconfirms with that same code.
        let refused = get(&a.browser, &app, SETUP).await;
        assert_eq!(refused.status, 303, "{refused:?}");
        let reconfirm = refused.location.unwrap();
        assert!(reconfirm.starts_with("/account/reconfirm?"), "{reconfirm}");
        let (status, _, page) = a.browser.get(&app.url(&reconfirm), &app.base_url).await;
        assert_eq!(status, 200, "{page}");
        let reply = post(
            &a.browser,
            &app,
            "/account/reconfirm",
            &[
                ("csrf_token", &csrf(&page)),
                ("flow", &hidden_field(&page, "flow").unwrap()),
                ("password", PASSWORD),
            ],
        )
        .await;
        assert_eq!(reply.status, 303, "{reply:?}");
        let (status, _, page) = a
            .browser
            .get(&app.url(&reply.location.unwrap()), &app.base_url)
            .await;
        assert_eq!(status, 200, "{page}");
        let step_up = Challenge {
            browser: a.browser,
            page,
        };
        assert_eq!(step_up.method(), "totp");
        let replays = audits(&app, "mfa.totp.replay", &e.account).await;
        for old in [t, t - 1] {
            let reply = step_up.answer(&app, &code_at(&e.secret, old)).await;
            assert!(reply.is_wrong_code(), "step {old}: {reply:?}");
        }
        assert_eq!(
            audits(&app, "mfa.totp.replay", &e.account).await,
            replays + 2
        );

        // A new step's code reconfirms and returns to the page that asked.
        app.clock.advance(30);
        let reply = step_up.answer(&app, &code_at(&e.secret, t + 1)).await;
        assert_eq!(reply.status, 303, "{reply:?}");
        assert_eq!(reply.location.as_deref(), Some(SETUP));
        let page = get(&step_up.browser, &app, SETUP).await;
        assert_eq!(page.status, 200, "{page:?}");
        assert!(page.body.contains("Replace your authenticator app"));
        app
    })
    .await;
}

// ---- S29: skew and shape ----

#[tokio::test]
async fn s29_codes_one_step_either_side_are_accepted_and_two_steps_are_not() {
    each_backend(|app| async move {
        let e = enroll(&app).await;
        app.clock.advance(300);
        let t = now_step(&app);

        let first = challenge(&app).await;
        for offset in [-2, 2] {
            let reply = first.answer(&app, &code_at(&e.secret, t + offset)).await;
            assert!(reply.is_wrong_code(), "T{offset:+}: {reply:?}");
        }
        assert_eq!(failures(&app, &e.account).await, 2);
        assert_eq!(audits(&app, "mfa.totp.failed", &e.account).await, 2);
        assert_eq!(
            audits(&app, "mfa.totp.replay", &e.account).await,
            0,
            "out of the window, not a replay"
        );

        // T−1, T and T+1, each on its own sign-in, in that order (each step is new).
        let reply = first.answer(&app, &code_at(&e.secret, t - 1)).await;
        complete(&app, &first.browser, &reply).await;
        for offset in [0, 1] {
            let ch = challenge(&app).await;
            let reply = ch.answer(&app, &code_at(&e.secret, t + offset)).await;
            assert!(reply.signed_in(), "T{offset:+}: {reply:?}");
            complete(&app, &ch.browser, &reply).await;
        }
        assert_eq!(audits(&app, "mfa.totp.verified", &e.account).await, 3);
        assert_eq!(failures(&app, &e.account).await, 0);
        let credential = app
            .app
            .stores
            .sql
            .totp_credential(e.account.id, false)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(credential.last_used_step, Some(t + 1));
        app
    })
    .await;
}

#[tokio::test]
async fn s29_malformed_codes_get_400_and_are_not_counted() {
    each_backend(|app| async move {
        let e = enroll(&app).await;
        app.clock.advance(30);
        let code = code_at(&e.secret, now_step(&app));
        let full_width: String = code
            .chars()
            .map(|c| char::from_u32(u32::from(c) - u32::from('0') + 0xFF10).unwrap())
            .collect();
        let ch = challenge(&app).await;
        // Each is a variant of the right code, so a lenient parser would sign in.
        let malformed = [
            format!("{code}7"),
            code[..5].to_owned(),
            full_width,
            format!("+{code}"),
            format!("{}a", &code[..5]),
            "abcdef".to_owned(),
            String::new(),
            format!("{}\t{}", &code[..3], &code[3..]),
        ];
        for typed in &malformed {
            let reply = ch.answer(&app, typed).await;
            assert_eq!(reply.status, 400, "{typed:?}: {reply:?}");
            assert_eq!(reply.field_error().as_deref(), Some(MALFORMED), "{typed:?}");
        }
        assert_eq!(failures(&app, &e.account).await, 0);
        assert_eq!(audits(&app, "mfa.totp.failed", &e.account).await, 0);
        assert_eq!(audits(&app, "mfa.totp.replay", &e.account).await, 0);

        // Eight shapes and the challenge (five tries) is still open: spaces around and
        // inside the right code are the documented leniency.
        let spaced = format!(" {} {} ", &code[..3], &code[3..]);
        let reply = ch.answer(&app, &spaced).await;
        complete(&app, &ch.browser, &reply).await;
        app
    })
    .await;
}

// ---- S30: brute force and lockout ----

#[tokio::test]
async fn s30_five_wrong_codes_end_the_challenge_and_the_password_does_not_reset_the_count() {
    each_backend(|app| async move {
        let e = enroll(&app).await;
        app.clock.advance(30);
        let bad = wrong_code(&e.secret, now_step(&app));
        let ch = challenge(&app).await;
        for n in 1..=4 {
            let reply = ch.answer(&app, &bad).await;
            assert!(reply.is_wrong_code(), "try {n}: {reply:?}");
        }
        let reply = ch.answer(&app, &bad).await;
        assert!(reply.is_start_again(), "{reply:?}");
        assert_eq!(failures(&app, &e.account).await, 5);
        assert_eq!(mails_about(&app, "Too many wrong sign-in codes"), 1);

        // The challenge is gone: the right code can not finish it, and is not counted.
        let reply = ch.answer(&app, &code_at(&e.secret, now_step(&app))).await;
        assert!(!reply.signed_in() && reply.status >= 400, "{reply:?}");
        assert_eq!(failures(&app, &e.account).await, 5);

        // The password again: the account waits a minute first (and while it waits, the
        // right password is answered like a wrong one).
        let reply = password(&app, &Browser::new()).await;
        assert!(reply.is_refused_like_a_wrong_password(), "{reply:?}");
        assert_eq!(failures(&app, &e.account).await, 5);
        app.clock.advance(60);
        let ch = challenge(&app).await;
        assert_eq!(
            failures(&app, &e.account).await,
            5,
            "a correct password does not reset the count"
        );
        let reply = ch.answer(&app, &bad).await;
        assert!(reply.is_wrong_code(), "{reply:?}");
        assert_eq!(failures(&app, &e.account).await, 6);

        // Locked again: the correct code gets the same refusal as a wrong one.
        let right = ch.answer(&app, &code_at(&e.secret, now_step(&app))).await;
        let wrong = ch.answer(&app, &bad).await;
        assert!(right.is_locked(), "{right:?}");
        assert_eq!(right.retry_after.as_deref(), Some("60"));
        assert_eq!(
            (right.status, &right.retry_after, &right.body),
            (wrong.status, &wrong.retry_after, &wrong.body)
        );
        assert_eq!(failures(&app, &e.account).await, 6, "refusals while locked");

        // After the wait the same challenge takes the code.
        app.clock.advance(60);
        let reply = ch.answer(&app, &code_at(&e.secret, now_step(&app))).await;
        complete(&app, &ch.browser, &reply).await;
        assert_eq!(failures(&app, &e.account).await, 0);
        app
    })
    .await;
}

/// CVE-2024-4629: 200 wrong codes at once, 5 on each of 40 open challenges.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn s30_two_hundred_parallel_wrong_codes_are_all_counted() {
    each_backend(|app| async move {
        let e = enroll(&app).await;
        app.clock.advance(30);
        let bad = wrong_code(&e.secret, now_step(&app));
        let mut challenges = Vec::new();
        for _ in 0..41 {
            challenges.push(challenge(&app).await);
        }
        let spare = challenges.pop().unwrap();

        let barrier = Arc::new(Barrier::new(200));
        let url = app.url("/login/code");
        let mut tasks = Vec::new();
        for ch in &challenges {
            for _ in 0..5 {
                let request = ch.browser.http.post(&url).form(&ch.form("totp", &bad));
                let barrier = barrier.clone();
                tasks.push(tokio::spawn(async move {
                    barrier.wait().await;
                    Reply::read(request.send().await.unwrap()).await
                }));
            }
        }
        let (mut wrong, mut start_again, mut locked, mut ended) = (0usize, 0, 0, 0);
        for task in tasks {
            let reply = task.await.unwrap();
            if reply.is_wrong_code() {
                wrong += 1;
            } else if reply.is_start_again() {
                start_again += 1;
            } else if reply.is_locked() {
                locked += 1;
            } else if reply.is_expired_flow() {
                // Its challenge had already ended: nothing evaluated.
                ended += 1;
            } else {
                panic!("unexpected reply: {reply:?}");
            }
        }
        assert_eq!(wrong + start_again + locked + ended, 200);

        // Every evaluated wrong answer is counted once: the audit trail and the account's
        // count agree, and cover at least every "wrong code" reply.
        let counted = failures(&app, &e.account).await as usize;
        let evaluated = audits(&app, "mfa.totp.failed", &e.account).await;
        assert_eq!(
            counted, evaluated,
            "{wrong} wrong, {start_again} start again, {locked} locked, {ended} ended"
        );
        assert!(counted >= wrong, "{counted} < {wrong}");
        // An evaluated answer whose challenge another answer ended meanwhile may show
        // "expired"; the per-challenge limit held either way.
        assert!(counted <= wrong + start_again + ended, "{counted}");
        assert!(counted >= 5, "{counted}");

        // The account is locked: the correct code on an untouched challenge is refused.
        let reply = spare
            .answer(&app, &code_at(&e.secret, now_step(&app)))
            .await;
        assert!(reply.is_locked(), "{reply:?}");
        assert_eq!(failures(&app, &e.account).await as usize, counted);

        // After the wait (or, past the hard limit, an operator's unlock) it works again.
        match app.app.state.mfa.lock(e.account.id).await.unwrap() {
            Lock::Until(_) => wait_out_lock(&app, &e.account).await,
            Lock::Hard => {
                assert!(counted >= 100);
                app.app
                    .state
                    .mfa
                    .unlock(e.account.id, &Origin::cli())
                    .await
                    .unwrap();
            }
            Lock::Open => panic!("{counted} failures and no lock"),
        }
        app.clock.advance(30);
        let ch = challenge(&app).await;
        let reply = ch.answer(&app, &code_at(&e.secret, now_step(&app))).await;
        complete(&app, &ch.browser, &reply).await;
        assert_eq!(failures(&app, &e.account).await, 0);

        // Counting is not enough: the limits must hold against the burst too. From the
        // fifth failure on the account waits, and NIST's hard limit is at most 100 guesses;
        // an answer that finds the account locked is refused without being evaluated.
        let settings = app.app.state.mfa.settings();
        assert!(
            counted <= settings.hard_limit as usize,
            "{counted} wrong codes were evaluated in one burst: more than the hard limit of \
             {} ({wrong} wrong, {start_again} start again, {locked} locked, {ended} ended)",
            settings.hard_limit
        );
        assert!(
            counted <= settings.backoff_after as usize,
            "{counted} wrong codes were evaluated in one burst: the wait after {} failures \
             was skipped ({wrong} wrong, {start_again} start again, {locked} locked, {ended} ended)",
            settings.backoff_after
        );
        app
    })
    .await;
}

#[tokio::test]
async fn s30_backup_code_and_email_failures_feed_the_same_counter() {
    each_backend(|app| async move {
        let e = enroll(&app).await;
        app.clock.advance(30);
        let ch = challenge(&app).await;
        assert_eq!(ch.method(), "totp");

        let (status, _, page) = ch
            .browser
            .get(
                &app.url(&format!("/login/code?flow={}&method=backup", ch.flow())),
                &app.base_url,
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(hidden_field(&page, "method").as_deref(), Some("backup"));
        for _ in 0..2 {
            let reply = ch
                .answer_as(&app, "backup", "ABCD-EFGH-JKMN-PQRS-TVWX-YZ01")
                .await;
            assert_eq!(reply.status, 400, "{reply:?}");
            assert_eq!(
                reply.field_error().as_deref(),
                Some("The backup code is not right. Check it and try again.")
            );
        }

        // "Get code by email", then two wrong emailed codes.
        let before = app.mail.messages_to(EMAIL).len();
        let sent = post(
            &ch.browser,
            &app,
            "/login/code/email",
            &[("csrf_token", &csrf(&ch.page)), ("flow", &ch.flow())],
        )
        .await;
        assert_eq!(sent.status, 200, "{sent:?}");
        assert_eq!(hidden_field(&sent.body, "method").as_deref(), Some("email"));
        let emailed = app.email_code(EMAIL, before + 1).await;
        let not_emailed = if emailed == "123456" {
            "654321"
        } else {
            "123456"
        };
        for _ in 0..2 {
            let reply = ch.answer_as(&app, "email", not_emailed).await;
            assert!(reply.is_wrong_code(), "{reply:?}");
        }
        assert_eq!(failures(&app, &e.account).await, 4);

        // The fifth wrong answer, of a third kind, ends the challenge and starts the wait.
        let reply = ch
            .answer_as(&app, "totp", &wrong_code(&e.secret, now_step(&app)))
            .await;
        assert!(reply.is_start_again(), "{reply:?}");
        assert_eq!(failures(&app, &e.account).await, 5);
        assert_eq!(audits(&app, "mfa.backup_code.failed", &e.account).await, 2);
        assert_eq!(audits(&app, "mfa.email.failed", &e.account).await, 2);
        assert_eq!(audits(&app, "mfa.totp.failed", &e.account).await, 1);
        assert_eq!(mails_about(&app, "Too many wrong sign-in codes"), 1);
        let reply = password(&app, &Browser::new()).await;
        assert!(reply.is_refused_like_a_wrong_password(), "{reply:?}");
        app
    })
    .await;
}

#[tokio::test]
async fn s30_the_hard_limit_holds_until_an_operator_unlocks_and_is_mailed() {
    each_backend(|app| async move {
        let e = enroll(&app).await;
        // From the fifth failure on, every failure starts a wait: wait each one out.
        let mut last = None;
        for n in 1..=100 {
            wait_out_lock(&app, &e.account).await;
            let ch = challenge(&app).await;
            let reply = ch
                .answer(&app, &wrong_code(&e.secret, now_step(&app)))
                .await;
            assert!(reply.is_wrong_code(), "failure {n}: {reply:?}");
            last = Some(ch);
        }
        assert_eq!(failures(&app, &e.account).await, 100);
        assert_eq!(
            app.app.state.mfa.lock(e.account.id).await.unwrap(),
            Lock::Hard
        );
        let notices: Vec<_> = app
            .mail
            .messages_to(EMAIL)
            .into_iter()
            .filter(|m| m.subject.contains("Too many wrong sign-in codes"))
            .collect();
        assert_eq!(
            notices.len(),
            2,
            "one when the wait starts, one at the limit"
        );
        assert!(
            notices[1]
                .text
                .contains("Ask your administrator to unlock your account.")
        );

        // The last challenge is still open, but even the right code is refused.
        let ch = last.unwrap();
        let reply = ch.answer(&app, &code_at(&e.secret, now_step(&app))).await;
        assert!(reply.is_locked(), "{reply:?}");
        assert!(reply.body.contains("Contact your administrator"));
        assert_eq!(failures(&app, &e.account).await, 100);

        // No wait opens it.
        app.clock.advance(7 * 24 * 3600);
        let reply = password(&app, &Browser::new()).await;
        assert!(reply.is_refused_like_a_wrong_password(), "{reply:?}");

        app.app
            .state
            .mfa
            .unlock(e.account.id, &Origin::cli())
            .await
            .unwrap();
        let ch = challenge(&app).await;
        let reply = ch.answer(&app, &code_at(&e.secret, now_step(&app))).await;
        complete(&app, &ch.browser, &reply).await;
        app
    })
    .await;
}

// ---- S31: enrollment and storage ----

#[tokio::test]
async fn s31_the_full_enrollment_path_turns_the_app_on_and_sign_in_asks_for_its_code() {
    each_backend(|app| async move {
        let account = app.create_user(EMAIL).await;
        app.create_client(confidential("rp")).await;
        let browser = Browser::new();
        email_sign_in(&app, &browser).await;

        // Fresh (the sign-in used a code just now): the set-up page, never cached, with the
        // otpauth URI only inside the QR code.
        let (page, secret) = open_setup(&app, &browser).await;
        assert_eq!(page.cache_control.as_deref(), Some("no-store"));
        assert!(page.body.contains("Set up your authenticator app"));
        assert!(page.body.contains("<svg"));
        assert!(!page.body.contains("otpauth"), "{}", page.body);
        assert!(!page.body.contains("secret="));
        assert_eq!(secret.len(), 20);

        let before = app.mail.messages_to(EMAIL).len();
        let reply = confirm(
            &app,
            &browser,
            &page.body,
            &code_at(&secret, now_step(&app)),
        )
        .await;
        assert_eq!(reply.status, 303, "{reply:?}");
        let done = reply.location.unwrap();
        assert_eq!(done, "/account/security?done=totp-on");
        let (status, _, security) = browser.get(&app.url(&done), &app.base_url).await;
        assert_eq!(status, 200);
        assert!(security.contains("Your authenticator app is turned on"));
        assert!(!security.contains(&data_encoding::BASE32_NOPAD.encode(&secret)));
        assert!(
            next_mail_subject(&app, before)
                .await
                .contains("Authenticator app turned on")
        );
        assert_eq!(mfa_state(&app, &account).await.method, MfaMethod::Totp);
        assert!(app.app.state.mfa.has_totp(account.id).await.unwrap());
        assert_eq!(audits(&app, "mfa.totp.enabled", &account).await, 1);

        // Signed out (a new browser): the code page asks for the app's code, and no mail.
        app.clock.advance(30);
        let mails = app.mail.messages_to(EMAIL).len();
        let sent = audits(&app, "mfa.email.sent", &account).await;
        let ch = challenge(&app).await;
        assert_eq!(ch.method(), "totp");
        assert!(
            ch.page
                .contains("<h1>Enter the code from your authenticator app</h1>")
        );
        let reply = ch.answer(&app, &code_at(&secret, now_step(&app))).await;
        complete(&app, &ch.browser, &reply).await;
        assert_eq!(app.mail.messages_to(EMAIL).len(), mails);
        assert_eq!(audits(&app, "mfa.email.sent", &account).await, sent);
        assert_eq!(audits(&app, "mfa.totp.verified", &account).await, 1);
        app
    })
    .await;
}

#[tokio::test]
async fn s31_the_app_is_not_active_until_a_correct_code_confirms_it() {
    each_backend(|app| async move {
        let account = app.create_user(EMAIL).await;
        app.create_client(confidential("rp")).await;
        let browser = Browser::new();
        email_sign_in(&app, &browser).await;
        let (_, replaced) = open_setup(&app, &browser).await;
        let (page, secret) = open_setup(&app, &browser).await;
        assert_ne!(replaced, secret, "each visit makes a new pending secret");
        let step = now_step(&app);

        let reply = confirm(&app, &browser, &page.body, &wrong_code(&secret, step)).await;
        assert_eq!(reply.status, 400, "{reply:?}");
        assert_eq!(
            reply.field_error().as_deref(),
            Some("The code is not right. Check the app shows the new entry and try again.")
        );
        assert_eq!(reply.cache_control.as_deref(), Some("no-store"));
        assert_eq!(
            totp_secret_from(&reply.body),
            secret,
            "the same pending secret"
        );
        let reply = confirm(&app, &browser, &page.body, &code_at(&replaced, step)).await;
        assert_eq!(reply.status, 400, "the replaced secret: {reply:?}");
        let reply = confirm(&app, &browser, &page.body, "12345").await;
        assert_eq!(reply.status, 400, "{reply:?}");
        assert_eq!(
            reply.field_error().as_deref(),
            Some("Enter the 6-digit code from your authenticator app")
        );

        let sql = &app.app.stores.sql;
        assert!(
            sql.totp_credential(account.id, true)
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            sql.totp_credential(account.id, false)
                .await
                .unwrap()
                .is_none()
        );
        assert!(!app.app.state.mfa.has_totp(account.id).await.unwrap());
        assert_eq!(mfa_state(&app, &account).await.method, MfaMethod::Email);
        assert_eq!(audits(&app, "mfa.totp.setup_failed", &account).await, 2);
        assert_eq!(audits(&app, "mfa.totp.enabled", &account).await, 0);
        assert_eq!(mails_about(&app, "Authenticator app"), 0);

        // A sign-in meanwhile still gets an emailed code.
        let before = app.mail.messages_to(EMAIL).len();
        let ch = challenge(&app).await;
        assert_eq!(ch.method(), "email");
        assert!(
            next_mail_subject(&app, before)
                .await
                .contains("sign-in code")
        );
        let reply = ch.answer(&app, &code_at(&secret, step)).await;
        assert!(
            reply.is_wrong_code(),
            "a pending app's code is no answer: {reply:?}"
        );

        // Ten minutes on, the session is no longer fresh: even the right code can not turn
        // the app on without reconfirming first.
        app.clock.advance(601);
        let reply = confirm(
            &app,
            &browser,
            &page.body,
            &code_at(&secret, now_step(&app)),
        )
        .await;
        assert_eq!(reply.status, 303, "{reply:?}");
        assert_eq!(
            reply.location.as_deref(),
            Some("/account/reconfirm?return_to=%2Faccount%2Fmfa%2Ftotp%2Fsetup")
        );
        assert!(!app.app.state.mfa.has_totp(account.id).await.unwrap());
        assert_eq!(audits(&app, "stepup.required", &account).await, 1);
        assert_eq!(mails_about(&app, "Authenticator app"), 0);
        app
    })
    .await;
}

/// S31: 160 bits, one whole draw of the server's CSPRNG, and only ciphertext in the database.
#[tokio::test]
async fn s31_the_secret_is_160_random_bits_and_sealed_at_rest() {
    for backend in Backend::available() {
        let rng = Arc::new(RecordingRng::new());
        let app = TestApp::spawn_with_rng(backend, rng.clone()).await;
        app.create_user(EMAIL).await;
        app.create_client(confidential("rp")).await;
        let browser = Browser::new();
        email_sign_in(&app, &browser).await;
        let (page, secret) = open_setup(&app, &browser).await;
        assert_eq!(secret.len(), 20);
        assert!(
            rng.was_drawn(&secret),
            "the secret is one draw of the CSPRNG"
        );

        let db = side_connection(&app).await;
        let sealed_sql = if is_sqlite(&db) {
            "SELECT lower(hex(secret_sealed)) FROM totp_credentials"
        } else {
            "SELECT encode(secret_sealed, 'hex') FROM totp_credentials"
        };
        let raw_hex = hex::encode(&secret);
        let base32 = data_encoding::BASE32_NOPAD.encode(&secret).to_lowercase();
        for moment in ["pending", "active"] {
            if moment == "active" {
                let code = code_at(&secret, now_step(&app));
                let reply = confirm(&app, &browser, &page.body, &code).await;
                assert_eq!(reply.status, 303, "{reply:?}");
            }
            let sealed = query_strings(&db, sealed_sql).await;
            assert_eq!(sealed.len(), 1, "{moment}");
            assert!(sealed[0].len() > raw_hex.len(), "{moment}: {}", sealed[0]);
            assert!(!sealed[0].contains(&raw_hex), "{moment}");
            let dump = format!("{:?}", database_snapshot(&db).await).to_lowercase();
            assert!(
                !dump.contains(&raw_hex),
                "{moment}: the raw secret in the DB"
            );
            assert!(
                !dump.contains(&base32),
                "{moment}: the base32 secret in the DB"
            );
        }
        app.cleanup().await;
    }
}

#[tokio::test]
async fn s31_turning_on_replacing_or_off_needs_step_up_and_sends_a_notice() {
    each_backend(|app| async move {
        let e = enroll(&app).await;
        app.clock.advance(60);
        let a = challenge(&app).await;
        let reply = a.answer(&app, &code_at(&e.secret, now_step(&app))).await;
        complete(&app, &a.browser, &reply).await;
        app.clock.advance(601);

        // Not fresh: every change is refused, and the browser is sent to reconfirm.
        let security = get(&a.browser, &app, "/account/security").await;
        assert_eq!(security.status, 200, "{security:?}");
        let token = csrf(&security.body);
        let sql = &app.app.stores.sql;
        let active = sql.totp_credential(e.account.id, false).await.unwrap();
        let state = mfa_state(&app, &e.account).await;
        let mails = app.mail.messages_to(EMAIL).len();

        let reply = get(&a.browser, &app, SETUP).await;
        assert_eq!(reply.status, 303);
        assert_eq!(
            reply.location.as_deref(),
            Some("/account/reconfirm?return_to=%2Faccount%2Fmfa%2Ftotp%2Fsetup")
        );
        let reply = post(
            &a.browser,
            &app,
            SETUP,
            &[
                ("csrf_token", &token),
                ("code", &code_at(&e.secret, now_step(&app))),
            ],
        )
        .await;
        assert_eq!(reply.status, 303);
        assert!(
            reply
                .location
                .as_deref()
                .is_some_and(|l| l.starts_with("/account/reconfirm?")),
            "{reply:?}"
        );
        let reply = post(&a.browser, &app, TURN_OFF, &[("csrf_token", &token)]).await;
        assert_eq!(reply.status, 303);
        assert_eq!(
            reply.location.as_deref(),
            Some("/account/reconfirm?return_to=%2Faccount%2Fsecurity")
        );
        let response = a
            .browser
            .http
            .delete(app.url("/account/mfa/totp"))
            .header("x-csrf-token", &token)
            .send()
            .await
            .unwrap();
        let reply = Reply::read(response).await;
        assert_eq!(reply.status, 401, "{reply:?}");
        let challenge_header = reply.www_authenticate.clone().unwrap();
        assert!(challenge_header.contains("error=\"insufficient_user_authentication\""));
        assert!(challenge_header.contains("max_age=600"));
        let body: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
        assert_eq!(body["error"], "insufficient_user_authentication");

        assert_eq!(audits(&app, "stepup.required", &e.account).await, 4);
        assert!(
            sql.totp_credential(e.account.id, true)
                .await
                .unwrap()
                .is_none()
        );
        let still = sql.totp_credential(e.account.id, false).await.unwrap();
        assert_eq!(
            still.as_ref().map(|c| &c.secret_sealed),
            active.as_ref().map(|c| &c.secret_sealed)
        );
        let now_state = mfa_state(&app, &e.account).await;
        assert_eq!(
            (now_state.method, now_state.credential_epoch),
            (state.method, state.credential_epoch)
        );
        assert_eq!(app.mail.messages_to(EMAIL).len(), mails, "no notice");

        // Reconfirm with the app (a factor older than this session), then replace it.
        let (_, _, page) = a
            .browser
            .get(
                &app.url("/account/reconfirm?return_to=%2Faccount%2Fmfa%2Ftotp%2Fsetup"),
                &app.base_url,
            )
            .await;
        let reply = post(
            &a.browser,
            &app,
            "/account/reconfirm",
            &[
                ("csrf_token", &csrf(&page)),
                ("flow", &hidden_field(&page, "flow").unwrap()),
                ("password", PASSWORD),
            ],
        )
        .await;
        assert_eq!(reply.status, 303, "{reply:?}");
        let (_, _, page) = a
            .browser
            .get(&app.url(&reply.location.unwrap()), &app.base_url)
            .await;
        let step_up = Challenge {
            browser: a.browser,
            page,
        };
        assert_eq!(step_up.method(), "totp");
        let reply = step_up
            .answer(&app, &code_at(&e.secret, now_step(&app)))
            .await;
        assert_eq!(reply.location.as_deref(), Some(SETUP), "{reply:?}");
        let browser = step_up.browser;
        let (page, new_secret) = open_setup(&app, &browser).await;
        assert!(page.body.contains("Replace your authenticator app"));
        assert_ne!(new_secret, e.secret);

        // Until the new app is confirmed, the old one still signs in.
        app.clock.advance(30);
        let ch = challenge(&app).await;
        let reply = ch.answer(&app, &code_at(&e.secret, now_step(&app))).await;
        complete(&app, &ch.browser, &reply).await;

        let before = app.mail.messages_to(EMAIL).len();
        let reply = confirm(
            &app,
            &browser,
            &page.body,
            &code_at(&new_secret, now_step(&app)),
        )
        .await;
        assert_eq!(
            reply.location.as_deref(),
            Some("/account/security?done=totp-on"),
            "{reply:?}"
        );
        assert!(
            next_mail_subject(&app, before)
                .await
                .contains("Authenticator app turned on")
        );
        assert!(mfa_state(&app, &e.account).await.credential_epoch > state.credential_epoch);

        // Now only the new app works.
        app.clock.advance(30);
        let ch = challenge(&app).await;
        let t = now_step(&app);
        assert!(
            ch.answer(&app, &code_at(&e.secret, t))
                .await
                .is_wrong_code()
        );
        let reply = ch.answer(&app, &code_at(&new_secret, t)).await;
        complete(&app, &ch.browser, &reply).await;

        // Turning it off (still fresh from the reconfirmation).
        let before = app.mail.messages_to(EMAIL).len();
        let reply = post(&browser, &app, TURN_OFF, &[("csrf_token", &token)]).await;
        assert_eq!(
            reply.location.as_deref(),
            Some("/account/security"),
            "{reply:?}"
        );
        assert!(
            next_mail_subject(&app, before)
                .await
                .contains("Authenticator app turned off")
        );
        assert!(!app.app.state.mfa.has_totp(e.account.id).await.unwrap());
        assert_eq!(mfa_state(&app, &e.account).await.method, MfaMethod::Email);
        assert_eq!(audits(&app, "mfa.totp.disabled", &e.account).await, 1);
        let ch = challenge(&app).await;
        assert_eq!(ch.method(), "email");
        app
    })
    .await;
}

#[tokio::test]
async fn s31_turning_the_app_on_or_off_revokes_trusted_devices() {
    each_backend(|app| async move {
        let account = app.create_user(EMAIL).await;
        app.create_client(confidential("rp")).await;

        // Signed in by email, this browser trusted; its session is fresh.
        let first = Browser::new();
        sign_in_trusting(&app, &first, None).await;
        assert_eq!(devices(&app, &account).await, 1);
        let (page, secret) = open_setup(&app, &first).await;
        let reply = confirm(&app, &first, &page.body, &code_at(&secret, now_step(&app))).await;
        assert_eq!(reply.status, 303, "{reply:?}");
        assert_eq!(
            devices(&app, &account).await,
            0,
            "turning the app on distrusts every device"
        );

        // With the app on, a sign-in by emailed code is not offered to trust the browser (it
        // would still be asked for the app's code): "Stay signed in" instead (issue 12 item 4).
        app.clock.advance(60);
        let second = Browser::new();
        sign_in_trusting(&app, &second, Some("totp")).await;
        assert_eq!(devices(&app, &account).await, 0);

        // Turning the app off (this session is fresh) moves the epoch: any device is
        // distrusted.
        let epoch = mfa_state(&app, &account).await.credential_epoch;
        let security = get(&second, &app, "/account/security").await;
        let reply = post(
            &second,
            &app,
            TURN_OFF,
            &[("csrf_token", &csrf(&security.body))],
        )
        .await;
        assert_eq!(
            reply.location.as_deref(),
            Some("/account/security"),
            "{reply:?}"
        );
        assert_eq!(
            mfa_state(&app, &account).await.credential_epoch,
            epoch + 1,
            "turning the app off distrusts every device"
        );

        // The browser is asked for a code again.
        let before = app.mail.messages_to(EMAIL).len();
        let reply = password(&app, &second).await;
        assert_eq!(reply.status, 303, "{reply:?}");
        assert!(
            reply
                .location
                .as_deref()
                .is_some_and(|l| l.starts_with("/login/code?")),
            "{reply:?}"
        );
        assert!(
            next_mail_subject(&app, before)
                .await
                .contains("sign-in code")
        );
        app
    })
    .await;
}

/// A sign-in with an emailed code that answers "trust this device" — or, for an app account,
/// which is offered "Stay signed in" instead, "Don't stay signed in". `asked`: the question
/// the code page starts with (`Some("totp")` switches to "Get code by email" first).
async fn sign_in_trusting(app: &TestApp, browser: &Browser, asked: Option<&str>) {
    let base = &app.base_url;
    let before = app.mail.messages_to(EMAIL).len();
    let reply = password(app, browser).await;
    assert_eq!(reply.status, 303, "{reply:?}");
    let (_, _, mut page) = browser.get(&app.url(&reply.location.unwrap()), base).await;
    if let Some(method) = asked {
        assert_eq!(hidden_field(&page, "method").as_deref(), Some(method));
        let sent = post(
            browser,
            app,
            "/login/code/email",
            &[
                ("csrf_token", &csrf(&page)),
                ("flow", &hidden_field(&page, "flow").unwrap()),
            ],
        )
        .await;
        assert_eq!(sent.status, 200, "{sent:?}");
        page = sent.body;
    }
    assert_eq!(hidden_field(&page, "method").as_deref(), Some("email"));
    let code = app.email_code(EMAIL, before + 1).await;
    let (_, _, mut page) = browser.submit(&page, base, &[("code", &code)]).await;
    if page.contains("name=\"saved\"") {
        (_, _, page) = browser.submit(&page, base, &[("saved", "yes")]).await;
    }
    let answer = if asked.is_some() {
        assert!(!page.contains("name=\"trust\""), "{page}");
        ("stay", "no")
    } else {
        ("trust", "yes")
    };
    assert!(page.contains(&format!("name=\"{}\"", answer.0)), "{page}");
    let (_, at, _) = browser.submit(&page, base, &[answer]).await;
    assert!(at.starts_with(REDIRECT), "{at}");
}

/// Issue 12 item 8: turning the app off asks first, says what follows, and acts only on
/// the confirmation's CSRF-protected POST; with no app there is nothing to confirm.
#[tokio::test]
async fn issue12_turning_the_app_off_asks_first() {
    each_backend(|app| async move {
        let account = app.create_user(EMAIL).await;
        app.create_client(confidential("rp")).await;
        let browser = Browser::new();
        email_sign_in(&app, &browser).await;
        let nothing = get(&browser, &app, TURN_OFF).await;
        assert_eq!(nothing.location.as_deref(), Some("/account/security"));

        let (page, secret) = open_setup(&app, &browser).await;
        let reply = confirm(
            &app,
            &browser,
            &page.body,
            &code_at(&secret, now_step(&app)),
        )
        .await;
        assert_eq!(reply.status, 303, "{reply:?}");

        let page = get(&browser, &app, TURN_OFF).await;
        assert_eq!(page.status, 200, "{page:?}");
        assert_eq!(page.cache_control.as_deref(), Some("no-store"));
        assert!(
            page.body
                .contains("<h1>Turn off your authenticator app?</h1>")
        );
        assert!(
            page.body
                .contains(&format!("We will email a code to {EMAIL}"))
        );
        assert!(page.body.contains("Your trusted devices will be removed"));
        assert!(page.body.contains("href=\"/account/security\">Cancel</a>"));
        assert!(page.body.contains(&format!("action=\"{TURN_OFF}\"")));
        assert_eq!(
            mfa_state(&app, &account).await.method,
            MfaMethod::Totp,
            "a GET changes nothing"
        );

        // Wrong CSRF token, no session: nothing changes.
        let forged = post(&browser, &app, TURN_OFF, &[("csrf_token", "forged")]).await;
        assert_eq!(forged.status, 403);
        let stranger = post(&Browser::new(), &app, TURN_OFF, &[("csrf_token", "x")]).await;
        assert_eq!(stranger.status, 403);
        assert_eq!(mfa_state(&app, &account).await.method, MfaMethod::Totp);

        let done = post(
            &browser,
            &app,
            TURN_OFF,
            &[("csrf_token", &csrf(&page.body))],
        )
        .await;
        assert_eq!(done.location.as_deref(), Some("/account/security"));
        let security = get(&browser, &app, "/account/security").await;
        assert!(
            security
                .body
                .contains("Your authenticator app is turned off"),
            "{security:?}"
        );
        // The notice is read once; a replayed POST changes nothing more.
        let again = get(&browser, &app, "/account/security").await;
        assert!(!again.body.contains("is turned off"), "{again:?}");
        let replay = post(
            &browser,
            &app,
            TURN_OFF,
            &[("csrf_token", &csrf(&page.body))],
        )
        .await;
        assert_eq!(replay.location.as_deref(), Some("/account/security"));
        assert_eq!(mfa_state(&app, &account).await.method, MfaMethod::Email);
        app
    })
    .await;
}
