//! `MfaService` with real adapters and no HTTP: SQLite in memory as the durable store, the
//! in-process ephemeral store, a recording mailer, a manual clock (no test ever sleeps), the
//! OS CSPRNG, real keyed hashing and sealing. Every rule is checked by asserting the refusal,
//! not only the absence of a panic.

// The harness helpers are plain fns called from the #[tokio::test]s, so clippy's
// allow-*-in-tests does not reach them; failing loudly is what a test should do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use lanyard_core::model::{Account, AccountKind, AccountStatus, MfaMethod, NewAccount};
use lanyard_core::ports::{AccountRepo, AuditRepo, MfaRepo};
use lanyard_core::rng::random_token;
use lanyard_core::{
    Auditor, Clock, MailError, Mailer, ManualClock, Origin, OsRng, OutgoingMail, Timestamp,
};
use lanyard_crypto::{Kek, TokenHasher};
use lanyard_mfa::lockout::Lock;
use lanyard_mfa::totp::{code_at_step, step_at};
use lanyard_mfa::{
    Answer, Factor, MfaDeps, MfaError, MfaService, MfaSettings, PasswordGate, Purpose, Verified,
};
use lanyard_store::{MemoryStore, SqlStore};

/// A multiple of the 30 s TOTP step, so step arithmetic in the tests stays readable.
const START: Timestamp = Timestamp(1_700_000_010);
const PRODUCT: &str = "Lanyard";
const CODE_SUBJECT: &str = "Your Lanyard sign-in code";
/// Both lock mails: "... sign-in codes" and "... passwords".
const LOCK_SUBJECT: &str = "Lanyard: Too many wrong ";
const DAY: i64 = 24 * 3600;
const KEK_BYTES: [u8; 32] = [9u8; 32];

// ---------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------

#[derive(Default)]
struct RecordingMailer {
    sent: Mutex<Vec<OutgoingMail>>,
    fail: AtomicBool,
}

#[async_trait]
impl Mailer for RecordingMailer {
    async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError> {
        if self.fail.load(Ordering::SeqCst) {
            return Err(MailError::Unavailable(
                "test mailer told to fail".to_owned(),
            ));
        }
        self.sent.lock().unwrap().push(mail.clone());
        Ok(())
    }
}

struct Harness {
    store: SqlStore,
    clock: Arc<ManualClock>,
    mailer: Arc<RecordingMailer>,
    mfa: MfaService,
}

async fn harness() -> Harness {
    let clock = Arc::new(ManualClock::new(START));
    let store = SqlStore::connect("sqlite::memory:", clock.clone(), Arc::new(OsRng))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let mailer = Arc::new(RecordingMailer::default());
    let deps = MfaDeps {
        repo: Arc::new(store.clone()),
        ephemeral: Arc::new(MemoryStore::new(clock.clone())),
        mailer: mailer.clone(),
        clock: clock.clone(),
        rng: Arc::new(OsRng),
        hasher: Arc::new(TokenHasher::new(&[7u8; 32])),
        kek: Arc::new(Kek::from_bytes(KEK_BYTES)),
        audit: Auditor::new(Arc::new(store.clone())),
        product_name: PRODUCT.to_owned(),
    };
    let mfa = MfaService::new(deps, MfaSettings::default());
    Harness {
        store,
        clock,
        mailer,
        mfa,
    }
}

fn web(ip: &str) -> Origin {
    Origin {
        ip: Some(ip.to_owned()),
        user_agent: Some("test-agent".to_owned()),
        actor: None,
    }
}

fn origin() -> Origin {
    web("198.51.100.10")
}

/// A fresh 43-character challenge id, as the sign-in flow makes them.
fn new_id() -> String {
    random_token(&OsRng, 32)
}

impl Harness {
    fn now(&self) -> Timestamp {
        self.clock.now()
    }

    async fn account(&self, email: &str) -> Account {
        let new = NewAccount {
            email: email.to_owned(),
            email_normalized: email.to_lowercase(),
            email_verified: true,
            name: "Test User".to_owned(),
            password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned()),
            status: AccountStatus::Active,
            kind: AccountKind::Person,
        };
        self.store.insert_account(new, self.now()).await.unwrap()
    }

    fn mails_to(&self, email: &str) -> Vec<OutgoingMail> {
        self.mailer
            .sent
            .lock()
            .unwrap()
            .iter()
            .filter(|m| m.to == email)
            .cloned()
            .collect()
    }

    fn code_mails(&self, email: &str) -> Vec<OutgoingMail> {
        self.mails_to(email)
            .into_iter()
            .filter(|m| m.subject == CODE_SUBJECT)
            .collect()
    }

    fn lock_notices(&self, email: &str) -> Vec<OutgoingMail> {
        self.mails_to(email)
            .into_iter()
            .filter(|m| m.subject.starts_with(LOCK_SUBJECT))
            .collect()
    }

    /// The code in the newest sign-in code mail to `email`.
    fn last_code(&self, email: &str) -> String {
        let mails = self.code_mails(email);
        let mail = mails.last().expect("a code mail was sent");
        code_in(&mail.text)
    }

    fn mail_count(&self) -> usize {
        self.mailer.sent.lock().unwrap().len()
    }

    async fn failures(&self, account: &Account) -> u32 {
        self.store.mfa_state(account.id).await.unwrap().failures
    }

    async fn audit_count(&self, kind: &str, account: &Account) -> usize {
        self.store
            .list_audit(Some(kind), 1000)
            .await
            .unwrap()
            .iter()
            .filter(|e| e.subject.as_deref() == Some(account.id.to_string().as_str()))
            .count()
    }

    /// A sign-in challenge; email-method accounts get their code mailed.
    async fn sign_in(&self, account: &Account) -> String {
        let id = new_id();
        self.mfa
            .begin(&id, account, Purpose::SignIn, None, &origin())
            .await
            .unwrap();
        id
    }

    /// A challenge that mails nothing (an app asking for a higher level).
    async fn raise(&self, account: &Account) -> String {
        let id = new_id();
        self.mfa
            .begin(&id, account, Purpose::RaiseAssurance, None, &origin())
            .await
            .unwrap();
        id
    }

    async fn verify(&self, id: &str, answer: Answer<'_>) -> Result<Verified, MfaError> {
        self.mfa.verify(id, answer, &origin()).await
    }

    /// Turns the authenticator app on at the current step; returns the raw secret.
    async fn enable_totp(&self, account: &Account) -> Vec<u8> {
        let setup = self.mfa.start_totp_setup(account, &origin()).await.unwrap();
        let secret = base32_decode(&setup.enrollment.secret_text);
        let code = code_at_step(&secret, step_at(self.now().seconds())).unwrap();
        self.mfa
            .confirm_totp_setup(account, &code, &origin())
            .await
            .unwrap();
        secret
    }

    /// One password post as the sign-in page makes it: the attempt is counted against the
    /// account before the check and handed back when the password was right.
    async fn password(
        &self,
        account: Option<&Account>,
        device_cookie: Option<&str>,
        right: bool,
        from: &Origin,
    ) -> PasswordGate {
        let gate = self
            .mfa
            .password_attempt(account, device_cookie)
            .await
            .unwrap();
        self.mfa
            .password_checked(account, gate, right, from)
            .await
            .unwrap();
        gate
    }

    async fn wrong_password(&self, account: &Account) -> PasswordGate {
        self.password(Some(account), None, false, &origin()).await
    }

    /// One counted failure on a fresh challenge that mails nothing, after any running wait.
    async fn fail_once(&self, account: &Account) {
        if let Lock::Until(until) = self.mfa.lock(account.id).await.unwrap() {
            self.clock.set(until);
        }
        let id = self.raise(account).await;
        let err = self
            .verify(&id, Answer::EmailCode("000000"))
            .await
            .unwrap_err();
        assert!(matches!(err, MfaError::WrongCode { .. }), "{err:?}");
    }
}

/// The 6-digit code on its own line in a code mail.
fn code_in(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .find(|l| l.len() == 6 && l.bytes().all(|b| b.is_ascii_digit()))
        .expect("a 6-digit code in the mail")
        .to_owned()
}

/// A 6-digit code that is not `code`.
fn other_than(code: &str) -> &'static str {
    if code == "000000" { "111111" } else { "000000" }
}

/// RFC 4648 base32 without padding; spaces (the page's grouping) are ignored.
fn base32_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = Vec::new();
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in text.bytes().filter(|c| *c != b' ' && *c != b'=') {
        let value = ALPHABET
            .iter()
            .position(|a| *a == c)
            .expect("a base32 character") as u32;
        acc = (acc << 5) | value;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// The associated data the service seals an account's TOTP secret under (`lib.rs`
/// `totp_aad`), rebuilt here to show a sealed secret opens only for its own account.
fn totp_aad(account: &Account) -> Vec<u8> {
    let mut aad = b"lanyard:totp:".to_vec();
    aad.extend_from_slice(account.id.0.as_bytes());
    aad
}

/// The wait after `failures` consecutive failures, written out from the rules (B5/S30):
/// none below 5, then 1 minute doubling every 5 further failures, capped at 1 hour.
fn expected_wait(failures: u32) -> i64 {
    match failures {
        0..=4 => 0,
        5..=9 => 60,
        10..=14 => 120,
        15..=19 => 240,
        20..=24 => 480,
        25..=29 => 960,
        30..=34 => 1920,
        _ => 3600,
    }
}

macro_rules! assert_err {
    ($result:expr, $pattern:pat $(if $guard:expr)?) => {
        match $result {
            Err($pattern) $(if $guard)? => {}
            other => panic!(
                "expected Err({}), got {:?}",
                stringify!($pattern $(if $guard)?),
                other
            ),
        }
    };
}

// ---------------------------------------------------------------------------------------------
// Emailed codes
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn emailed_code_is_valid_until_sent_plus_600_seconds() {
    let h = harness().await;
    let ann = h.account("ann@example.com").await;
    let t0 = h.now();

    let a = new_id();
    let view = h
        .mfa
        .begin(&a, &ann, Purpose::SignIn, None, &origin())
        .await
        .unwrap();
    assert_eq!(view.method, MfaMethod::Email);
    assert_eq!(view.email_code_expires_at, Some(t0.plus_secs(600)));
    assert_eq!(view.resend_at, Some(t0.plus_secs(60)));
    let code_a = h.last_code("ann@example.com");
    let mail = h.code_mails("ann@example.com").pop().unwrap();
    assert!(mail.text.contains(&code_a));
    assert!(!mail.text.contains("http"), "a code mail holds no link");

    let b = h.sign_in(&ann).await;
    let code_b = h.last_code("ann@example.com");
    assert_eq!(h.code_mails("ann@example.com").len(), 2);

    h.clock.advance(599);
    let ok = h.verify(&a, Answer::EmailCode(&code_a)).await.unwrap();
    assert_eq!(ok.account_id, ann.id);
    assert_eq!(ok.factor, Factor::EmailCode);
    assert_eq!(ok.purpose, Purpose::SignIn);
    assert_eq!(ok.new_backup_code, None);

    h.clock.advance(1);
    assert_eq!(h.now(), t0.plus_secs(600));
    assert_err!(
        h.verify(&b, Answer::EmailCode(&code_b)).await,
        MfaError::WrongCode { tries_left: 4 }
    );
    assert_eq!(h.failures(&ann).await, 1, "an expired code counts as wrong");
    assert_eq!(h.audit_count("mfa.email.failed", &ann).await, 1);
    assert_eq!(h.audit_count("mfa.email.verified", &ann).await, 1);
}

#[tokio::test]
async fn only_the_latest_emailed_code_counts() {
    let h = harness().await;
    let ann = h.account("ann@example.com").await;
    let id = h.sign_in(&ann).await;
    let first = h.last_code("ann@example.com");

    h.clock.advance(60);
    let expires = h.mfa.send_email_code(&id, &origin()).await.unwrap();
    assert_eq!(expires, h.now().plus_secs(600));
    let second = h.last_code("ann@example.com");
    assert_eq!(h.code_mails("ann@example.com").len(), 2);
    let view = h.mfa.view(&id).await.unwrap();
    assert_eq!(view.email_code_expires_at, Some(expires));
    assert_eq!(view.resend_at, Some(h.now().plus_secs(60)));

    // One in a million the two random codes are equal; the replaced one is then the same text.
    if first != second {
        assert_err!(
            h.verify(&id, Answer::EmailCode(&first)).await,
            MfaError::WrongCode { tries_left: 4 }
        );
    }
    h.verify(&id, Answer::EmailCode(&second)).await.unwrap();
}

#[tokio::test]
async fn resend_is_refused_within_60_seconds_and_allowed_after() {
    let h = harness().await;
    let ann = h.account("ann@example.com").await;
    let t0 = h.now();
    let id = h.sign_in(&ann).await;

    assert_err!(
        h.mfa.send_email_code(&id, &origin()).await,
        MfaError::ResendTooSoon { at } if at == t0.plus_secs(60)
    );
    h.clock.advance(59);
    assert_err!(
        h.mfa.send_email_code(&id, &origin()).await,
        MfaError::ResendTooSoon { at } if at == t0.plus_secs(60)
    );
    assert_eq!(
        h.code_mails("ann@example.com").len(),
        1,
        "no mail when refused"
    );

    h.clock.advance(1);
    let expires = h.mfa.send_email_code(&id, &origin()).await.unwrap();
    assert_eq!(expires, t0.plus_secs(660));
    assert_eq!(h.code_mails("ann@example.com").len(), 2);
    assert_err!(
        h.mfa.send_email_code(&id, &origin()).await,
        MfaError::ResendTooSoon { at } if at == t0.plus_secs(120)
    );
    assert_eq!(h.code_mails("ann@example.com").len(), 2);
}

#[tokio::test]
async fn five_sends_per_hour_per_account_then_allowed_after_the_hour() {
    let h = harness().await;
    let ann = h.account("ann@example.com").await;
    let bob = h.account("bob@example.com").await;
    let t0 = h.now();
    let id = h.sign_in(&ann).await; // send 1
    for _ in 0..4 {
        h.clock.advance(60);
        h.mfa.send_email_code(&id, &origin()).await.unwrap(); // sends 2..=5
    }
    assert_eq!(h.code_mails("ann@example.com").len(), 5);
    let fifth = h.last_code("ann@example.com");

    h.clock.advance(60);
    // The refusal says when the account's hour ends: an hour after the first code.
    assert_err!(
        h.mfa.send_email_code(&id, &origin()).await,
        MfaError::TooManySends { until } if until == t0.plus_secs(3600)
    );
    let view = h.mfa.view(&id).await.unwrap();
    assert_eq!(view.sends_blocked_until, Some(t0.plus_secs(3600)));
    // Per account, not per challenge: a new sign-in can not mail either, but its challenge
    // is open (the other ways still answer) and says until when.
    let other = new_id();
    let view = h
        .mfa
        .begin(&other, &ann, Purpose::SignIn, None, &origin())
        .await
        .unwrap();
    assert_eq!(view.sends_blocked_until, Some(t0.plus_secs(3600)));
    assert_eq!(view.email_code_expires_at, None);
    assert_eq!(h.code_mails("ann@example.com").len(), 5);
    assert!(h.audit_count("mfa.email.send_limited", &ann).await >= 2);
    // The refusal did not replace the code the user already has.
    h.verify(&id, Answer::EmailCode(&fifth)).await.unwrap();

    // Another account from the same address is not affected.
    h.sign_in(&bob).await;
    assert_eq!(h.code_mails("bob@example.com").len(), 1);

    h.clock.set(t0.plus_secs(3599));
    let view = h
        .mfa
        .begin(&new_id(), &ann, Purpose::SignIn, None, &origin())
        .await
        .unwrap();
    assert_eq!(view.sends_blocked_until, Some(t0.plus_secs(3600)));
    h.clock.set(t0.plus_secs(3600));
    let id = h.sign_in(&ann).await;
    assert_eq!(h.code_mails("ann@example.com").len(), 6);
    let code = h.last_code("ann@example.com");
    h.verify(&id, Answer::EmailCode(&code)).await.unwrap();
}

#[tokio::test]
async fn thirty_sends_per_hour_per_address() {
    let h = harness().await;
    let ip = web("203.0.113.7");
    let t0 = h.now();
    for n in 0..30 {
        let account = h.account(&format!("user{n}@example.com")).await;
        h.mfa
            .begin(&new_id(), &account, Purpose::SignIn, None, &ip)
            .await
            .unwrap();
    }
    let last = h.account("last@example.com").await;
    // The address's window start is not kept: an hour from now is the latest it ends.
    let view = h
        .mfa
        .begin(&new_id(), &last, Purpose::SignIn, None, &ip)
        .await
        .unwrap();
    assert!(
        view.sends_blocked_until
            .is_some_and(|at| at <= h.now().plus_secs(3600))
    );
    assert!(h.code_mails("last@example.com").is_empty());
    // The same account from another address is fine.
    h.mfa
        .begin(&new_id(), &last, Purpose::SignIn, None, &web("203.0.113.8"))
        .await
        .unwrap();
    assert_eq!(h.code_mails("last@example.com").len(), 1);

    h.clock.set(t0.plus_secs(3600));
    let later = h.account("later@example.com").await;
    h.mfa
        .begin(&new_id(), &later, Purpose::SignIn, None, &ip)
        .await
        .unwrap();
    assert_eq!(h.code_mails("later@example.com").len(), 1);
}

#[tokio::test]
async fn a_code_from_challenge_a_is_wrong_in_challenge_b() {
    let h = harness().await;
    let ann = h.account("ann@example.com").await;
    let a = h.sign_in(&ann).await;
    let code_a = h.last_code("ann@example.com");
    let b = h.sign_in(&ann).await;
    let code_b = h.last_code("ann@example.com");

    if code_a != code_b {
        assert_err!(
            h.verify(&b, Answer::EmailCode(&code_a)).await,
            MfaError::WrongCode { tries_left: 4 }
        );
        assert_err!(
            h.verify(&a, Answer::EmailCode(&code_b)).await,
            MfaError::WrongCode { tries_left: 4 }
        );
    }
    h.verify(&a, Answer::EmailCode(&code_a)).await.unwrap();
    h.verify(&b, Answer::EmailCode(&code_b)).await.unwrap();

    // Ids that are not a live challenge: wrong length, unknown.
    assert_err!(
        h.verify("short", Answer::EmailCode(&code_a)).await,
        MfaError::ChallengeGone
    );
    assert_err!(
        h.verify(&new_id(), Answer::EmailCode(&code_a)).await,
        MfaError::ChallengeGone
    );
}

#[tokio::test]
async fn a_code_is_single_use() {
    let h = harness().await;
    let ann = h.account("ann@example.com").await;
    let id = h.sign_in(&ann).await;
    let code = h.last_code("ann@example.com");
    h.verify(&id, Answer::EmailCode(&code)).await.unwrap();
    assert_err!(
        h.verify(&id, Answer::EmailCode(&code)).await,
        MfaError::ChallengeGone
    );
    assert_err!(h.mfa.view(&id).await, MfaError::ChallengeGone);
    assert_err!(
        h.mfa.send_email_code(&id, &origin()).await,
        MfaError::ChallengeGone
    );
    assert_eq!(h.audit_count("mfa.email.verified", &ann).await, 1);
}

#[tokio::test]
async fn the_fifth_wrong_answer_ends_the_challenge() {
    let h = harness().await;
    let ann = h.account("ann@example.com").await;
    let id = h.sign_in(&ann).await;
    let code = h.last_code("ann@example.com");
    let wrong = other_than(&code);
    for left in [4, 3, 2, 1] {
        assert_err!(
            h.verify(&id, Answer::EmailCode(wrong)).await,
            MfaError::WrongCode { tries_left } if tries_left == left
        );
    }
    assert_err!(
        h.verify(&id, Answer::EmailCode(wrong)).await,
        MfaError::TooManyTries
    );
    // Gone: even the right code is refused, and so is any further try.
    assert_err!(
        h.verify(&id, Answer::EmailCode(&code)).await,
        MfaError::ChallengeGone
    );
    assert_err!(
        h.verify(&id, Answer::EmailCode(wrong)).await,
        MfaError::ChallengeGone
    );
    assert_err!(h.mfa.view(&id).await, MfaError::ChallengeGone);
    assert_eq!(h.failures(&ann).await, 5);
    assert_eq!(h.audit_count("mfa.email.failed", &ann).await, 5);
}

#[tokio::test]
async fn starting_again_under_the_same_id_resets_the_tries_but_not_the_account_count() {
    let h = harness().await;
    let ann = h.account("ann@example.com").await;
    let id = new_id();
    h.mfa
        .begin(&id, &ann, Purpose::SignIn, None, &origin())
        .await
        .unwrap();
    let code = h.last_code("ann@example.com");
    for left in [4, 3, 2] {
        assert_err!(
            h.verify(&id, Answer::EmailCode(other_than(&code))).await,
            MfaError::WrongCode { tries_left } if tries_left == left
        );
    }
    h.mfa
        .begin(&id, &ann, Purpose::SignIn, None, &origin())
        .await
        .unwrap();
    let code = h.last_code("ann@example.com");
    assert_err!(
        h.verify(&id, Answer::EmailCode(other_than(&code))).await,
        MfaError::WrongCode { tries_left: 4 }
    );
    assert_eq!(h.failures(&ann).await, 4);
}

#[tokio::test]
async fn malformed_answers_are_not_counted() {
    let h = harness().await;
    let ann = h.account("ann@example.com").await;
    let id = h.sign_in(&ann).await;
    let code = h.last_code("ann@example.com");
    let malformed = [
        "",
        "12345",
        "1234567",
        "12345a",
        "abcdef",
        "+123456",
        "\u{ff11}\u{ff12}\u{ff13}\u{ff14}\u{ff15}\u{ff16}",
        "123\t456",
        "12.3456",
        "0x1234",
    ];
    assert_eq!(malformed.len(), 10);
    for typed in malformed {
        assert_err!(
            h.verify(&id, Answer::EmailCode(typed)).await,
            MfaError::Malformed
        );
    }
    assert_eq!(h.failures(&ann).await, 0);
    assert_eq!(h.audit_count("mfa.email.failed", &ann).await, 0);
    // The challenge's tries are untouched: the first counted answer still has 4 after it.
    assert_err!(
        h.verify(&id, Answer::EmailCode(other_than(&code))).await,
        MfaError::WrongCode { tries_left: 4 }
    );
    // Separators are allowed around a correct code.
    let spaced = format!("{} {}", &code[..3], &code[3..]);
    h.verify(&id, Answer::EmailCode(&spaced)).await.unwrap();
}

#[tokio::test]
async fn mail_failures_refuse_the_send_and_keep_the_old_code() {
    let h = harness().await;
    let ann = h.account("ann@example.com").await;
    h.mailer.fail.store(true, Ordering::SeqCst);
    let id = new_id();
    assert_err!(
        h.mfa
            .begin(&id, &ann, Purpose::SignIn, None, &origin())
            .await,
        MfaError::Mail(_)
    );
    assert_err!(h.mfa.view(&id).await, MfaError::ChallengeGone);

    h.mailer.fail.store(false, Ordering::SeqCst);
    let id = h.sign_in(&ann).await;
    let code = h.last_code("ann@example.com");
    h.clock.advance(60);
    h.mailer.fail.store(true, Ordering::SeqCst);
    assert_err!(
        h.mfa.send_email_code(&id, &origin()).await,
        MfaError::Mail(_)
    );
    // The old code was not replaced by the send that failed.
    for left in [4, 3, 2, 1] {
        assert_err!(
            h.verify(&id, Answer::EmailCode(other_than(&code))).await,
            MfaError::WrongCode { tries_left } if tries_left == left
        );
    }
    h.verify(&id, Answer::EmailCode(&code)).await.unwrap();

    // A lock notice that can not be sent does not change the answer.
    for _ in 0..4 {
        h.fail_once(&ann).await;
    }
    assert_eq!(h.failures(&ann).await, 4);
    h.fail_once(&ann).await; // asserts WrongCode
    assert_eq!(h.failures(&ann).await, 5);
    assert!(h.lock_notices("ann@example.com").is_empty());
    assert!(matches!(h.mfa.lock(ann.id).await.unwrap(), Lock::Until(_)));
}

// ---------------------------------------------------------------------------------------------
// Account-wide failures, backoff, hard limit
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn failures_accumulate_across_challenges_and_lock_even_a_correct_code() {
    let h = harness().await;
    let ann = h.account("ann@example.com").await;
    let a = h.sign_in(&ann).await;
    let code_a = h.last_code("ann@example.com");
    for _ in 0..3 {
        assert_err!(
            h.verify(&a, Answer::EmailCode(other_than(&code_a))).await,
            MfaError::WrongCode { .. }
        );
    }
    assert_eq!(h.failures(&ann).await, 3);

    let b = h.sign_in(&ann).await;
    let code_b = h.last_code("ann@example.com");
    assert_err!(
        h.verify(&b, Answer::EmailCode(other_than(&code_b))).await,
        MfaError::WrongCode { tries_left: 4 }
    );
    assert_eq!(h.failures(&ann).await, 4);
    assert_eq!(h.mfa.lock(ann.id).await.unwrap(), Lock::Open);
    assert!(h.lock_notices("ann@example.com").is_empty());

    let t = h.now();
    assert_err!(
        h.verify(&b, Answer::EmailCode(other_than(&code_b))).await,
        MfaError::WrongCode { tries_left: 3 }
    );
    assert_eq!(h.failures(&ann).await, 5);
    assert_eq!(
        h.mfa.lock(ann.id).await.unwrap(),
        Lock::Until(t.plus_secs(60))
    );
    assert_eq!(h.lock_notices("ann@example.com").len(), 1);

    // While the wait runs even the right code is refused, and not counted.
    assert_err!(
        h.verify(&b, Answer::EmailCode(&code_b)).await,
        MfaError::Locked { until: Some(until) } if until == t.plus_secs(60)
    );
    assert_err!(
        h.verify(&a, Answer::EmailCode(&code_a)).await,
        MfaError::Locked { until: Some(_) }
    );
    assert_err!(
        h.mfa
            .begin(&new_id(), &ann, Purpose::SignIn, None, &origin())
            .await,
        MfaError::Locked { until: Some(_) }
    );
    assert_eq!(h.failures(&ann).await, 5);
    assert!(h.audit_count("mfa.locked", &ann).await >= 3);

    h.clock.advance(59);
    assert_err!(
        h.verify(&b, Answer::EmailCode(&code_b)).await,
        MfaError::Locked { .. }
    );
    h.clock.advance(1);
    h.verify(&b, Answer::EmailCode(&code_b)).await.unwrap();
}

/// S30 race (CVE-2024-4629): wrong answers fired at once on separate challenges of one
/// account can not all pass the lock check before any of them is counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_wrong_answers_can_not_outrun_the_lock() {
    let h = Arc::new(harness().await);
    let ann = h.account("ann@example.com").await;
    let mut ids = Vec::new();
    for _ in 0..10 {
        ids.push(h.raise(&ann).await);
    }
    let barrier = Arc::new(tokio::sync::Barrier::new(ids.len()));
    let mut tasks = Vec::new();
    for id in ids {
        let h = h.clone();
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            h.verify(&id, Answer::EmailCode("000000")).await
        }));
    }
    let mut wrong = 0;
    let mut locked = 0;
    for task in tasks {
        match task.await.unwrap() {
            Err(MfaError::WrongCode { tries_left: 4 }) => wrong += 1,
            Err(MfaError::Locked { until: Some(_) }) => locked += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((wrong, locked), (5, 5));
    assert_eq!(h.failures(&ann).await, 5);
    assert_eq!(h.lock_notices("ann@example.com").len(), 1);
}

/// An answer that is not a guess (no authenticator app, a factor too new) is counted in
/// advance like any other and then handed back whole: the count *and* the time of the last
/// failure, so it does not restart a wait that has passed.
#[tokio::test]
async fn an_answer_that_is_not_a_guess_changes_no_count_and_no_wait() {
    let h = harness().await;
    let ann = h.account("ann@example.com").await;
    for _ in 0..5 {
        h.fail_once(&ann).await;
    }
    let before = h.store.mfa_state(ann.id).await.unwrap();
    let last = before.last_failure_at.unwrap();
    h.clock.set(last.plus_secs(60));
    assert_eq!(h.mfa.lock(ann.id).await.unwrap(), Lock::Open);

    let id = h.sign_in(&ann).await;
    assert_err!(
        h.verify(&id, Answer::Totp("123456")).await,
        MfaError::NotAvailable
    );
    let after = h.store.mfa_state(ann.id).await.unwrap();
    assert_eq!(after.failures, 5);
    assert_eq!(after.last_failure_at, Some(last));
    assert_eq!(h.mfa.lock(ann.id).await.unwrap(), Lock::Open);
    let code = h.last_code("ann@example.com");
    h.verify(&id, Answer::EmailCode(&code)).await.unwrap();
    assert_eq!(h.failures(&ann).await, 0);
}

#[tokio::test]
async fn a_successful_second_step_clears_the_failures() {
    let h = harness().await;
    let ann = h.account("ann@example.com").await;
    let id = h.sign_in(&ann).await;
    let code = h.last_code("ann@example.com");
    for _ in 0..4 {
        let _ = h.verify(&id, Answer::EmailCode(other_than(&code))).await;
    }
    assert_eq!(h.failures(&ann).await, 4);
    h.verify(&id, Answer::EmailCode(&code)).await.unwrap();
    let state = h.store.mfa_state(ann.id).await.unwrap();
    assert_eq!(state.failures, 0);
    assert_eq!(state.last_failure_at, None);

    // Four more do not lock: the count really started again.
    for _ in 0..4 {
        h.fail_once(&ann).await;
    }
    assert_eq!(h.failures(&ann).await, 4);
    assert_eq!(h.mfa.lock(ann.id).await.unwrap(), Lock::Open);
}

#[tokio::test]
async fn backoff_starts_at_five_doubles_every_five_and_is_capped() {
    let h = harness().await;
    let ann = h.account("ann@example.com").await;
    let max = MfaSettings::default().max_backoff_secs;
    assert_eq!(max, 3600);
    for n in 1..=45u32 {
        h.fail_once(&ann).await;
        let t = h.now();
        assert_eq!(h.failures(&ann).await, n);
        let lock = h.mfa.lock(ann.id).await.unwrap();
        let wait = expected_wait(n);
        if wait == 0 {
            assert_eq!(lock, Lock::Open, "after {n} failures");
        } else {
            assert_eq!(lock, Lock::Until(t.plus_secs(wait)), "after {n} failures");
            assert!(wait <= max);
            // A challenge can not even start; nothing is counted meanwhile.
            assert_err!(
                h.mfa
                    .begin(&new_id(), &ann, Purpose::RaiseAssurance, None, &origin())
                    .await,
                MfaError::Locked { until: Some(until) } if until == t.plus_secs(wait)
            );
            assert_eq!(h.failures(&ann).await, n);
        }
        if n == 4 {
            assert!(h.lock_notices("ann@example.com").is_empty());
        }
        if n == 5 {
            let notices = h.lock_notices("ann@example.com");
            assert_eq!(notices.len(), 1);
            assert!(notices[0].text.contains("wrong sign-in code was entered"));
            assert!(
                notices[0].text.contains("paused until"),
                "{}",
                notices[0].text
            );
            assert!(
                notices[0].text.contains("(for 1 minute)"),
                "{}",
                notices[0].text
            );
        }
    }
    // Mail only when the wait starts, not at every step.
    assert_eq!(h.lock_notices("ann@example.com").len(), 1);

    // One second before the wait ends it still holds; at its end a challenge may start.
    let Lock::Until(until) = h.mfa.lock(ann.id).await.unwrap() else {
        panic!("locked")
    };
    h.clock.set(until.minus_secs(1));
    assert_err!(
        h.mfa
            .begin(&new_id(), &ann, Purpose::RaiseAssurance, None, &origin())
            .await,
        MfaError::Locked { .. }
    );
    h.clock.set(until);
    h.raise(&ann).await;
}

#[tokio::test]
async fn the_hard_limit_locks_until_an_operator_unlocks() {
    let h = harness().await;
    let ann = h.account("ann@example.com").await;
    let backup = h.mfa.issue_backup_code(ann.id, &origin()).await.unwrap();
    for _ in 1..=99 {
        h.fail_once(&ann).await;
    }
    assert_eq!(h.failures(&ann).await, 99);
    assert_eq!(h.lock_notices("ann@example.com").len(), 1);

    // The 100th failure, on a challenge that stays open.
    if let Lock::Until(until) = h.mfa.lock(ann.id).await.unwrap() {
        h.clock.set(until);
    }
    let id = h.raise(&ann).await;
    assert_err!(
        h.verify(&id, Answer::EmailCode("000000")).await,
        MfaError::WrongCode { .. }
    );
    assert_eq!(h.failures(&ann).await, 100);
    assert_eq!(h.mfa.lock(ann.id).await.unwrap(), Lock::Hard);
    let notices = h.lock_notices("ann@example.com");
    assert_eq!(notices.len(), 2, "a notice at 5 and at 100");
    assert!(notices[1].text.contains("administrator"));

    // Even the correct backup code is refused, and nothing is counted any more.
    assert_err!(
        h.verify(&id, Answer::BackupCode(&backup)).await,
        MfaError::Locked { until: None }
    );
    h.clock.advance(365 * DAY);
    assert_eq!(h.mfa.lock(ann.id).await.unwrap(), Lock::Hard);
    assert_err!(
        h.mfa
            .begin(&new_id(), &ann, Purpose::SignIn, None, &origin())
            .await,
        MfaError::Locked { until: None }
    );
    assert_eq!(h.wrong_password(&ann).await, PasswordGate::Locked);
    assert_eq!(
        h.password(Some(&ann), None, true, &origin()).await,
        PasswordGate::Locked,
        "even the right password is refused"
    );
    assert_eq!(h.failures(&ann).await, 100);

    h.mfa.unlock(ann.id, &Origin::cli()).await.unwrap();
    assert_eq!(h.failures(&ann).await, 0);
    assert_eq!(h.mfa.lock(ann.id).await.unwrap(), Lock::Open);
    assert!(matches!(
        h.password(Some(&ann), None, true, &origin()).await,
        PasswordGate::Counted { .. }
    ));
    assert_eq!(h.failures(&ann).await, 0, "a right password is handed back");
    assert_eq!(h.audit_count("mfa.unlocked", &ann).await, 1);
    let id = h.raise(&ann).await;
    let ok = h.verify(&id, Answer::BackupCode(&backup)).await.unwrap();
    assert_eq!(ok.factor, Factor::BackupCode);
}

// ---------------------------------------------------------------------------------------------
// Authenticator app (TOTP)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_pending_totp_is_not_active_until_confirmed() {
    let h = harness().await;
    let ann = h.account("ann@example.com").await;
    let epoch = h.store.mfa_state(ann.id).await.unwrap().credential_epoch;
    let setup = h.mfa.start_totp_setup(&ann, &origin()).await.unwrap();
    let secret = base32_decode(&setup.enrollment.secret_text);
    assert_eq!(secret.len(), 20, "160-bit secret");
    assert!(setup.enrollment.qr_svg.contains("<svg"));

    assert!(!h.mfa.has_totp(ann.id).await.unwrap());
    let state = h.store.mfa_state(ann.id).await.unwrap();
    assert_eq!(state.method, MfaMethod::Email);
    assert_eq!(state.credential_epoch, epoch);
    let pending = h
        .store
        .totp_credential(ann.id, true)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(pending.confirmed_at, None);

    // Not usable for signing in while pending.
    let step = step_at(h.now().seconds());
    let code = code_at_step(&secret, step).unwrap();
    let id = h.sign_in(&ann).await;
    assert_err!(
        h.verify(&id, Answer::Totp(&code)).await,
        MfaError::NotAvailable
    );
    assert_eq!(h.failures(&ann).await, 0);

    // Wrong and malformed confirmations leave it pending.
    assert_err!(
        h.mfa
            .confirm_totp_setup(&ann, other_than(&code), &origin())
            .await,
        MfaError::WrongCode { .. }
    );
    assert_err!(
        h.mfa.confirm_totp_setup(&ann, "12345", &origin()).await,
        MfaError::Malformed
    );
    assert!(!h.mfa.has_totp(ann.id).await.unwrap());
    assert_eq!(h.audit_count("mfa.totp.setup_failed", &ann).await, 1);

    h.mfa
        .confirm_totp_setup(&ann, &code, &origin())
        .await
        .unwrap();
    assert!(h.mfa.has_totp(ann.id).await.unwrap());
    let state = h.store.mfa_state(ann.id).await.unwrap();
    assert_eq!(state.method, MfaMethod::Totp);
    assert_eq!(state.credential_epoch, epoch + 1);
    assert!(
        h.store
            .totp_credential(ann.id, true)
            .await
            .unwrap()
            .is_none()
    );
    let active = h
        .store
        .totp_credential(ann.id, false)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(active.confirmed_at, Some(h.now()));
    assert_eq!(active.last_used_step, Some(step));
    assert_eq!(h.audit_count("mfa.totp.enabled", &ann).await, 1);
    assert!(
        h.mails_to("ann@example.com")
            .iter()
            .any(|m| m.subject == "Lanyard: Authenticator app turned on")
    );

    // The confirming code can not sign in: same step, refused as a replay.
    let mails = h.mail_count();
    let id = h.sign_in(&ann).await;
    assert_eq!(h.mail_count(), mails, "an app account is not mailed a code");
    assert_eq!(
        h.mfa.view(&id).await.unwrap().method,
        MfaMethod::Totp,
        "the app is asked first"
    );
    assert_err!(
        h.verify(&id, Answer::Totp(&code)).await,
        MfaError::WrongCode { tries_left: 4 }
    );
    assert_eq!(h.audit_count("mfa.totp.replay", &ann).await, 1);

    h.clock.advance(30);
    let next = code_at_step(&secret, step + 1).unwrap();
    let ok = h.verify(&id, Answer::Totp(&next)).await.unwrap();
    assert_eq!(ok.factor, Factor::Totp);
}

#[tokio::test]
async fn totp_accepts_one_step_of_skew_and_only_moves_forward() {
    let h = harness().await;
    let ann = h.account("ann@example.com").await;
    let secret = h.enable_totp(&ann).await;
    let code = |step: i64| code_at_step(&secret, step).unwrap();

    h.clock.advance(10 * 30);
    let n = step_at(h.now().seconds());

    // T-1, then T: a later step after an earlier one is fine.
    let id = h.sign_in(&ann).await;
    h.verify(&id, Answer::Totp(&code(n - 1))).await.unwrap();
    let id = h.sign_in(&ann).await;
    h.verify(&id, Answer::Totp(&code(n))).await.unwrap();
    // T+1 is accepted too; after it, T (an earlier step) is not.
    let id = h.sign_in(&ann).await;
    h.verify(&id, Answer::Totp(&code(n + 1))).await.unwrap();
    let id = h.sign_in(&ann).await;
    let replays = h.audit_count("mfa.totp.replay", &ann).await;
    assert_err!(
        h.verify(&id, Answer::Totp(&code(n))).await,
        MfaError::WrongCode { tries_left: 4 }
    );
    assert_err!(
        h.verify(&id, Answer::Totp(&code(n + 1))).await,
        MfaError::WrongCode { tries_left: 3 }
    );
    assert_eq!(h.audit_count("mfa.totp.replay", &ann).await, replays + 2);

    // Twenty steps on (well past the last accepted one): ±2 are outside the window.
    h.clock.advance(20 * 30);
    let m = step_at(h.now().seconds());
    assert_eq!(m, n + 20);
    let id = h.sign_in(&ann).await;
    let replays = h.audit_count("mfa.totp.replay", &ann).await;
    assert_err!(
        h.verify(&id, Answer::Totp(&code(m - 2))).await,
        MfaError::WrongCode { .. }
    );
    assert_err!(
        h.verify(&id, Answer::Totp(&code(m + 2))).await,
        MfaError::WrongCode { .. }
    );
    assert_eq!(
        h.audit_count("mfa.totp.replay", &ann).await,
        replays,
        "refused by the window, not as replays"
    );
    assert_eq!(h.failures(&ann).await, 4);
    h.verify(&id, Answer::Totp(&code(m + 1))).await.unwrap();
    assert_eq!(h.failures(&ann).await, 0);
    let active = h
        .store
        .totp_credential(ann.id, false)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(active.last_used_step, Some(m + 1));
}

/// The rule as written in `challenge.rs` (`factors_before`: "Step-up only accepts factors
/// enrolled before this time") and in the brief's HTTP section (a TOTP turned on in this
/// session can not be used for step-up): a credential confirmed at or after the session's
/// start is too new; one confirmed before it may vouch for the session.
#[tokio::test]
async fn step_up_refuses_an_authenticator_enrolled_during_the_session() {
    let h = harness().await;
    let ann = h.account("ann@example.com").await;
    let session_started = h.now();
    h.clock.advance(120);
    let secret = h.enable_totp(&ann).await;
    let confirmed = h
        .store
        .totp_credential(ann.id, false)
        .await
        .unwrap()
        .unwrap()
        .confirmed_at
        .unwrap();
    assert_eq!(confirmed, h.now());
    h.clock.advance(60);
    let code = code_at_step(&secret, step_at(h.now().seconds())).unwrap();

    // The session began before the app was turned on: the app can not vouch for it.
    for before in [session_started, confirmed] {
        let id = new_id();
        h.mfa
            .begin(&id, &ann, Purpose::StepUp, Some(before), &origin())
            .await
            .unwrap();
        assert_err!(
            h.verify(&id, Answer::Totp(&code)).await,
            MfaError::FactorTooNew
        );
    }
    assert_eq!(h.failures(&ann).await, 0, "not a guess");

    // A session that began after the app was confirmed may use it.
    let id = new_id();
    h.mfa
        .begin(
            &id,
            &ann,
            Purpose::StepUp,
            Some(confirmed.plus_secs(1)),
            &origin(),
        )
        .await
        .unwrap();
    let ok = h.verify(&id, Answer::Totp(&code)).await.unwrap();
    assert_eq!(ok.purpose, Purpose::StepUp);
    assert_eq!(ok.factor, Factor::Totp);
}

#[tokio::test]
async fn turning_totp_off_goes_back_to_email_and_bumps_the_epoch() {
    let h = harness().await;
    let ann = h.account("ann@example.com").await;
    let secret = h.enable_totp(&ann).await;
    let epoch = h.store.mfa_state(ann.id).await.unwrap().credential_epoch;

    assert!(h.mfa.turn_off_totp(&ann, &origin()).await.unwrap());
    let state = h.store.mfa_state(ann.id).await.unwrap();
    assert_eq!(state.method, MfaMethod::Email);
    assert_eq!(state.credential_epoch, epoch + 1);
    assert!(!h.mfa.has_totp(ann.id).await.unwrap());
    assert!(
        h.store
            .totp_credential(ann.id, false)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(h.audit_count("mfa.totp.disabled", &ann).await, 1);
    assert!(
        h.mails_to("ann@example.com")
            .iter()
            .any(|m| m.subject == "Lanyard: Authenticator app turned off")
    );

    // Sign-in is by emailed code again, and the old app's codes are not accepted.
    h.clock.advance(30);
    let id = h.sign_in(&ann).await;
    assert_eq!(h.code_mails("ann@example.com").len(), 1);
    let code = code_at_step(&secret, step_at(h.now().seconds())).unwrap();
    assert_err!(
        h.verify(&id, Answer::Totp(&code)).await,
        MfaError::NotAvailable
    );

    assert!(!h.mfa.turn_off_totp(&ann, &origin()).await.unwrap());
}

/// BUG (documented, not fixed here): `MfaService::turn_off_totp` (crates/mfa/src/enroll.rs)
/// calls `MfaRepo::delete_totp`, which bumps the credential epoch even when there was no
/// active credential. So a turn-off that removes nothing — it returns `false`, and
/// `DELETE /account/mfa/totp` answers 404 — still distrusts every trusted device of the
/// account, with no `mfa.totp.disabled` / `mfa.device.revoked_all` audit event and no mail.
#[tokio::test]
async fn turning_off_an_app_that_is_not_on_changes_nothing() {
    let h = harness().await;
    let ann = h.account("ann@example.com").await;
    let epoch = h.store.mfa_state(ann.id).await.unwrap().credential_epoch;
    // Nothing to turn off: `false` (the API answers 404), and nothing may change — in
    // particular the account's trusted devices must stay trusted.
    let device = h
        .mfa
        .trust_device(ann.id, Factor::EmailCode, "laptop", &origin())
        .await
        .unwrap();
    assert!(!h.mfa.turn_off_totp(&ann, &origin()).await.unwrap());
    assert!(
        h.mfa
            .device_skips_code(ann.id, Some(&device.token))
            .await
            .unwrap(),
        "a turn-off that removed nothing distrusted the account's devices"
    );
    assert_eq!(
        h.store.mfa_state(ann.id).await.unwrap().credential_epoch,
        epoch,
        "a turn-off that removed nothing bumped the credential epoch"
    );
}

#[tokio::test]
async fn the_sealed_secret_is_bound_to_its_account() {
    let h = harness().await;
    let ann = h.account("ann@example.com").await;
    let bob = h.account("bob@example.com").await;
    let setup = h.mfa.start_totp_setup(&ann, &origin()).await.unwrap();
    let raw = base32_decode(&setup.enrollment.secret_text);
    let sealed = h
        .store
        .totp_credential(ann.id, true)
        .await
        .unwrap()
        .unwrap()
        .secret_sealed;
    assert_ne!(sealed, raw);
    assert!(
        !sealed.windows(raw.len()).any(|w| w == raw.as_slice()),
        "the raw secret does not appear in the sealed bytes"
    );
    let kek = Kek::from_bytes(KEK_BYTES);
    assert_eq!(
        kek.decrypt(&sealed, &totp_aad(&ann)).unwrap().as_slice(),
        raw.as_slice()
    );
    assert!(kek.decrypt(&sealed, &totp_aad(&bob)).is_err());

    // Tamper: Ann's sealed secret copied into Bob's row does not open there.
    h.store
        .put_pending_totp(bob.id, &sealed, h.now())
        .await
        .unwrap();
    let code = code_at_step(&raw, step_at(h.now().seconds())).unwrap();
    let err = h
        .mfa
        .confirm_totp_setup(&bob, &code, &origin())
        .await
        .unwrap_err();
    assert!(matches!(err, MfaError::Internal(_)), "{err:?}");
    assert!(h.mfa.pending_setup(&bob).await.is_err());
    assert!(!h.mfa.has_totp(bob.id).await.unwrap());
    assert_eq!(
        h.store.mfa_state(bob.id).await.unwrap().method,
        MfaMethod::Email
    );

    // Ann's own confirmation still works.
    h.mfa
        .confirm_totp_setup(&ann, &code, &origin())
        .await
        .unwrap();
    assert!(h.mfa.has_totp(ann.id).await.unwrap());
}

// ---------------------------------------------------------------------------------------------
// Backup code
// ---------------------------------------------------------------------------------------------

fn assert_grouped_backup_code(code: &str) {
    assert_eq!(code.len(), 29, "{code}");
    let groups: Vec<&str> = code.split('-').collect();
    assert_eq!(groups.len(), 6, "{code}");
    for g in groups {
        assert_eq!(g.len(), 4, "{code}");
        assert!(
            g.bytes()
                .all(|b| b"0123456789ABCDEFGHJKMNPQRSTVWXYZ".contains(&b)),
            "{code}"
        );
    }
}

#[tokio::test]
async fn a_backup_code_is_used_once_and_replaced() {
    let h = harness().await;
    let ann = h.account("ann@example.com").await;
    assert_eq!(h.mfa.backup_code_info(ann.id).await.unwrap(), None);
    let id = h.raise(&ann).await;
    assert!(!h.mfa.view(&id).await.unwrap().has_backup_code);
    assert_err!(
        h.verify(&id, Answer::BackupCode("0000-0000-0000-0000-0000-0000"))
            .await,
        MfaError::WrongCode { .. }
    );

    let first = h.mfa.issue_backup_code(ann.id, &origin()).await.unwrap();
    assert_grouped_backup_code(&first);
    assert_eq!(
        h.mfa
            .backup_code_info(ann.id)
            .await
            .unwrap()
            .map(|i| i.created_at),
        Some(h.now())
    );
    assert!(h.mfa.view(&id).await.unwrap().has_backup_code);
    assert_eq!(h.audit_count("mfa.backup_code.generated", &ann).await, 1);

    // Not a backup code's shape: refused without counting.
    assert_err!(
        h.verify(&id, Answer::BackupCode("ABCD-EFGH")).await,
        MfaError::Malformed
    );
    assert_err!(
        h.verify(&id, Answer::BackupCode("UUUU-UUUU-UUUU-UUUU-UUUU-UUUU"))
            .await,
        MfaError::Malformed
    );

    // Lower case with spaces is the same code.
    let typed = first.to_lowercase().replace('-', " ");
    let ok = h.verify(&id, Answer::BackupCode(&typed)).await.unwrap();
    assert_eq!(ok.factor, Factor::BackupCode);
    let second = ok.new_backup_code.expect("a replacement is shown at once");
    assert_ne!(second.replace('-', ""), first.replace('-', ""));
    assert!(h.mfa.backup_code_info(ann.id).await.unwrap().is_some());

    // The used code is refused; the replacement works, typed without any separators.
    let id = h.raise(&ann).await;
    assert_err!(
        h.verify(&id, Answer::BackupCode(&first)).await,
        MfaError::WrongCode { tries_left: 4 }
    );
    let plain = second.replace('-', "");
    assert_eq!(plain.len(), 24);
    let ok = h.verify(&id, Answer::BackupCode(&plain)).await.unwrap();
    let third = ok.new_backup_code.unwrap();

    // Issuing again retires the unused one.
    let fourth = h.mfa.issue_backup_code(ann.id, &origin()).await.unwrap();
    assert_grouped_backup_code(&fourth);
    let id = h.raise(&ann).await;
    assert_err!(
        h.verify(&id, Answer::BackupCode(&third)).await,
        MfaError::WrongCode { tries_left: 4 }
    );
    h.verify(&id, Answer::BackupCode(&fourth)).await.unwrap();
    assert_eq!(h.failures(&ann).await, 0);
}

#[tokio::test]
async fn a_backup_code_answers_an_email_sign_in_and_is_not_another_accounts() {
    let h = harness().await;
    let ann = h.account("ann@example.com").await;
    let bob = h.account("bob@example.com").await;
    let anns = h.mfa.issue_backup_code(ann.id, &origin()).await.unwrap();
    h.mfa.issue_backup_code(bob.id, &origin()).await.unwrap();
    let id = h.sign_in(&bob).await;
    assert_err!(
        h.verify(&id, Answer::BackupCode(&anns)).await,
        MfaError::WrongCode { tries_left: 4 }
    );
    let id = h.sign_in(&ann).await;
    h.verify(&id, Answer::BackupCode(&anns)).await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// Trusted devices
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_trusted_device_skips_the_code_only_for_its_account() {
    let h = harness().await;
    let ann = h.account("ann@example.com").await;
    let bob = h.account("bob@example.com").await;
    let cookie = h
        .mfa
        .trust_device(ann.id, Factor::EmailCode, "Firefox on Linux", &origin())
        .await
        .unwrap();
    assert_eq!(cookie.token.len(), 43);
    assert_eq!(cookie.expires_at, h.now().plus_secs(30 * DAY));
    assert_eq!(h.audit_count("mfa.device.trusted", &ann).await, 1);
    let listed = h.mfa.trusted_devices(ann.id).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].label, "Firefox on Linux");
    assert_ne!(listed[0].token_hash, cookie.token, "only a hash is stored");

    let token = Some(cookie.token.as_str());
    assert!(h.mfa.device_skips_code(ann.id, token).await.unwrap());
    assert!(h.mfa.is_trusted_device(ann.id, token).await.unwrap());

    assert!(!h.mfa.device_skips_code(bob.id, token).await.unwrap());
    assert!(!h.mfa.is_trusted_device(bob.id, token).await.unwrap());
    let forged = random_token(&OsRng, 32);
    assert_eq!(forged.len(), 43);
    assert!(
        !h.mfa
            .device_skips_code(ann.id, Some(&forged))
            .await
            .unwrap()
    );
    assert!(!h.mfa.device_skips_code(ann.id, None).await.unwrap());
    assert!(
        !h.mfa
            .device_skips_code(ann.id, Some(&cookie.token[..42]))
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn device_trust_ends_after_30_days() {
    let h = harness().await;
    let ann = h.account("ann@example.com").await;
    let t0 = h.now();
    let cookie = h
        .mfa
        .trust_device(ann.id, Factor::EmailCode, "laptop", &origin())
        .await
        .unwrap();
    let token = Some(cookie.token.as_str());
    h.clock.set(t0.plus_secs(30 * DAY - 1));
    assert!(h.mfa.device_skips_code(ann.id, token).await.unwrap());
    h.clock.set(t0.plus_secs(30 * DAY + 1));
    assert!(!h.mfa.device_skips_code(ann.id, token).await.unwrap());
    assert!(!h.mfa.is_trusted_device(ann.id, token).await.unwrap());
    assert!(h.mfa.trusted_devices(ann.id).await.unwrap().is_empty());
}

#[tokio::test]
async fn revoking_one_device_leaves_the_others() {
    let h = harness().await;
    let ann = h.account("ann@example.com").await;
    let bob = h.account("bob@example.com").await;
    let laptop = h
        .mfa
        .trust_device(ann.id, Factor::EmailCode, "laptop", &origin())
        .await
        .unwrap();
    let phone = h
        .mfa
        .trust_device(ann.id, Factor::EmailCode, "phone", &origin())
        .await
        .unwrap();
    let laptop_id = h
        .mfa
        .trusted_devices(ann.id)
        .await
        .unwrap()
        .into_iter()
        .find(|d| d.label == "laptop")
        .unwrap()
        .id;

    // Another account can not revoke it.
    assert!(
        !h.mfa
            .revoke_device(bob.id, laptop_id, &origin())
            .await
            .unwrap()
    );
    assert!(
        h.mfa
            .device_skips_code(ann.id, Some(&laptop.token))
            .await
            .unwrap()
    );

    assert!(
        h.mfa
            .revoke_device(ann.id, laptop_id, &origin())
            .await
            .unwrap()
    );
    assert!(
        !h.mfa
            .device_skips_code(ann.id, Some(&laptop.token))
            .await
            .unwrap()
    );
    assert!(
        !h.mfa
            .is_trusted_device(ann.id, Some(&laptop.token))
            .await
            .unwrap()
    );
    assert!(
        !h.mfa
            .revoke_device(ann.id, laptop_id, &origin())
            .await
            .unwrap()
    );
    assert!(
        h.mfa
            .device_skips_code(ann.id, Some(&phone.token))
            .await
            .unwrap()
    );
    assert_eq!(h.mfa.trusted_devices(ann.id).await.unwrap().len(), 1);
}

#[tokio::test]
async fn revoke_all_distrusts_every_device() {
    let h = harness().await;
    let ann = h.account("ann@example.com").await;
    let bob = h.account("bob@example.com").await;
    let epoch = h.store.mfa_state(ann.id).await.unwrap().credential_epoch;
    let a = h
        .mfa
        .trust_device(ann.id, Factor::EmailCode, "a", &origin())
        .await
        .unwrap();
    let b = h
        .mfa
        .trust_device(ann.id, Factor::EmailCode, "b", &origin())
        .await
        .unwrap();
    let bobs = h
        .mfa
        .trust_device(bob.id, Factor::EmailCode, "bob", &origin())
        .await
        .unwrap();
    assert_eq!(
        h.mfa.revoke_all_devices(ann.id, &origin()).await.unwrap(),
        2
    );
    assert_eq!(
        h.store.mfa_state(ann.id).await.unwrap().credential_epoch,
        epoch + 1
    );
    for token in [&a.token, &b.token] {
        assert!(!h.mfa.device_skips_code(ann.id, Some(token)).await.unwrap());
        assert!(!h.mfa.is_trusted_device(ann.id, Some(token)).await.unwrap());
    }
    assert!(h.mfa.trusted_devices(ann.id).await.unwrap().is_empty());
    assert!(
        h.mfa
            .device_skips_code(bob.id, Some(&bobs.token))
            .await
            .unwrap()
    );
    // A device trusted afterwards counts again.
    let c = h
        .mfa
        .trust_device(ann.id, Factor::EmailCode, "c", &origin())
        .await
        .unwrap();
    assert!(
        h.mfa
            .device_skips_code(ann.id, Some(&c.token))
            .await
            .unwrap()
    );
}

/// A credential change elsewhere (a new password, an MFA reset) only bumps the epoch; the
/// device rows stay unrevoked, and still no longer count.
#[tokio::test]
async fn a_credential_epoch_change_distrusts_devices_without_revoking_them() {
    let h = harness().await;
    let ann = h.account("ann@example.com").await;
    let device = h
        .mfa
        .trust_device(ann.id, Factor::EmailCode, "laptop", &origin())
        .await
        .unwrap();
    assert!(
        h.mfa
            .device_skips_code(ann.id, Some(&device.token))
            .await
            .unwrap()
    );
    h.store.bump_credential_epoch(ann.id).await.unwrap();
    assert!(
        !h.mfa
            .device_skips_code(ann.id, Some(&device.token))
            .await
            .unwrap()
    );
    assert!(
        !h.mfa
            .is_trusted_device(ann.id, Some(&device.token))
            .await
            .unwrap()
    );
    for _ in 0..5 {
        h.wrong_password(&ann).await;
    }
    assert_eq!(
        h.password(Some(&ann), Some(&device.token), true, &origin())
            .await,
        PasswordGate::Locked
    );
}

#[tokio::test]
async fn an_app_account_is_never_skipped_but_its_device_is_still_trusted() {
    let h = harness().await;
    let ann = h.account("ann@example.com").await;
    let before = h
        .mfa
        .trust_device(ann.id, Factor::EmailCode, "before", &origin())
        .await
        .unwrap();
    h.enable_totp(&ann).await;
    assert_eq!(
        h.store.mfa_state(ann.id).await.unwrap().method,
        MfaMethod::Totp
    );
    // Turning the app on distrusted the earlier device.
    assert!(
        !h.mfa
            .device_skips_code(ann.id, Some(&before.token))
            .await
            .unwrap()
    );
    assert!(
        !h.mfa
            .is_trusted_device(ann.id, Some(&before.token))
            .await
            .unwrap()
    );

    // A device trusted with the app on never skips the app, but it is the account's device.
    let after = h
        .mfa
        .trust_device(ann.id, Factor::Totp, "after", &origin())
        .await
        .unwrap();
    assert!(
        !h.mfa
            .device_skips_code(ann.id, Some(&after.token))
            .await
            .unwrap()
    );
    assert!(
        h.mfa
            .is_trusted_device(ann.id, Some(&after.token))
            .await
            .unwrap()
    );

    // Turning the app off distrusts it too.
    h.mfa.turn_off_totp(&ann, &origin()).await.unwrap();
    assert!(
        !h.mfa
            .device_skips_code(ann.id, Some(&after.token))
            .await
            .unwrap()
    );
    assert!(
        !h.mfa
            .is_trusted_device(ann.id, Some(&after.token))
            .await
            .unwrap()
    );
}

// ---------------------------------------------------------------------------------------------
// Password-step limits
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_address_is_throttled_after_too_many_wrong_passwords_within_the_window() {
    let h = harness().await;
    let settings = MfaSettings::default();
    let limit = settings.password_failures_per_ip;
    let window = settings.password_failure_window_secs;
    assert_eq!((limit, window), (50, 900));
    let sprayer = web("192.0.2.66");
    let t0 = h.now();
    // Unknown emails and existing accounts alike count for the address.
    let ann = h.account("ann@example.com").await;
    assert!(matches!(
        h.password(Some(&ann), None, false, &sprayer).await,
        PasswordGate::Counted { .. }
    ));
    for _ in 2..limit {
        assert_eq!(
            h.password(None, None, false, &sprayer).await,
            PasswordGate::NoAccount
        );
    }
    // A right password does not count for the address.
    h.password(None, None, true, &sprayer).await;
    assert_eq!(h.mfa.address_throttled(&sprayer).await.unwrap(), None);
    h.password(None, None, false, &sprayer).await;
    assert_eq!(
        h.mfa.address_throttled(&sprayer).await.unwrap(),
        Some(window)
    );
    // Other addresses, and requests without one, are not affected.
    assert_eq!(
        h.mfa.address_throttled(&web("192.0.2.67")).await.unwrap(),
        None
    );
    assert_eq!(
        h.mfa.address_throttled(&Origin::default()).await.unwrap(),
        None
    );

    h.clock.set(t0.plus_secs(window - 1));
    assert_eq!(
        h.mfa.address_throttled(&sprayer).await.unwrap(),
        Some(window)
    );
    h.clock.set(t0.plus_secs(window));
    assert_eq!(h.mfa.address_throttled(&sprayer).await.unwrap(), None);
}

#[tokio::test]
async fn wrong_passwords_feed_the_account_count_but_not_while_locked() {
    let h = harness().await;
    let ann = h.account("ann@example.com").await;
    for n in 1..=5 {
        assert!(matches!(
            h.wrong_password(&ann).await,
            PasswordGate::Counted { .. }
        ));
        assert_eq!(h.failures(&ann).await, n);
    }
    let t = h.now();
    assert_eq!(
        h.mfa.lock(ann.id).await.unwrap(),
        Lock::Until(t.plus_secs(60))
    );
    assert_eq!(h.audit_count("signin.account_throttled", &ann).await, 1);
    assert_eq!(
        h.lock_notices(&ann.email).len(),
        1,
        "a wait started by wrong passwords is mailed too"
    );
    assert_eq!(
        h.lock_notices(&ann.email)[0].subject,
        "Lanyard: Too many wrong passwords"
    );
    h.clock.advance(30);
    for _ in 0..3 {
        assert_eq!(h.wrong_password(&ann).await, PasswordGate::Locked);
    }
    assert_eq!(
        h.password(Some(&ann), None, true, &origin()).await,
        PasswordGate::Locked,
        "while locked the right password is answered like a wrong one"
    );
    assert_eq!(
        h.failures(&ann).await,
        5,
        "a locked account's count does not grow"
    );
    assert_eq!(
        h.mfa.lock(ann.id).await.unwrap(),
        Lock::Until(t.plus_secs(60)),
        "nor does its wait move"
    );
    // Code answers share the count: a wrong-password lock refuses the second step too.
    assert_err!(
        h.mfa
            .begin(&new_id(), &ann, Purpose::SignIn, None, &origin())
            .await,
        MfaError::Locked { until: Some(until) } if until == t.plus_secs(60)
    );

    h.clock.set(t.plus_secs(60));
    let t6 = h.now();
    h.wrong_password(&ann).await;
    assert_eq!(h.failures(&ann).await, 6);
    assert_eq!(
        h.mfa.lock(ann.id).await.unwrap(),
        Lock::Until(t6.plus_secs(60))
    );

    // After the wait, the right password neither adds to the count nor clears it, and it
    // does not restart the wait: the second step can begin at once.
    h.clock.set(t6.plus_secs(60));
    assert!(matches!(
        h.password(Some(&ann), None, true, &origin()).await,
        PasswordGate::Counted { .. }
    ));
    let state = h.store.mfa_state(ann.id).await.unwrap();
    assert_eq!(state.failures, 6);
    assert_eq!(state.last_failure_at, Some(t6));
    assert_eq!(h.mfa.lock(ann.id).await.unwrap(), Lock::Open);
    let id = h.sign_in(&ann).await;
    let code = h.last_code("ann@example.com");
    h.verify(&id, Answer::EmailCode(&code)).await.unwrap();
    assert_eq!(h.failures(&ann).await, 0, "a full sign-in clears the count");
}

#[tokio::test]
async fn a_locked_account_lets_its_own_trusted_device_through() {
    let h = harness().await;
    let ann = h.account("ann@example.com").await;
    let bob = h.account("bob@example.com").await;
    let anns = h
        .mfa
        .trust_device(ann.id, Factor::EmailCode, "ann's laptop", &origin())
        .await
        .unwrap();
    let bobs = h
        .mfa
        .trust_device(bob.id, Factor::EmailCode, "bob's laptop", &origin())
        .await
        .unwrap();
    for _ in 0..5 {
        h.wrong_password(&ann).await;
    }
    assert_eq!(h.failures(&ann).await, 5);
    assert_eq!(
        h.password(Some(&ann), None, true, &origin()).await,
        PasswordGate::Locked
    );
    assert_eq!(
        h.password(Some(&ann), Some(&anns.token), true, &origin())
            .await,
        PasswordGate::TrustedDevice
    );
    assert_eq!(
        h.password(Some(&ann), Some(&bobs.token), true, &origin())
            .await,
        PasswordGate::Locked
    );
    let forged = random_token(&OsRng, 32);
    assert_eq!(
        h.password(Some(&ann), Some(&forged), true, &origin()).await,
        PasswordGate::Locked
    );
    assert_eq!(h.failures(&ann).await, 5);
    // The owner's device skips the code as well: the attack locks the owner out of nothing.
    assert!(
        h.mfa
            .device_skips_code(ann.id, Some(&anns.token))
            .await
            .unwrap()
    );
    h.clock.advance(60);
    assert!(matches!(
        h.password(Some(&ann), None, true, &origin()).await,
        PasswordGate::Counted { .. }
    ));
    assert_eq!(h.failures(&ann).await, 5);
}
