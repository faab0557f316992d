//! The whole sign-in sequence through `SignInService`, with no HTTP: SQLite in memory as the
//! durable store, the in-process ephemeral store, a recording mailer and a manual clock (no
//! test sleeps). Each rule is checked by the `Next` it answers, not by the absence of a panic.

// The harness helpers are plain fns called from the #[tokio::test]s, so clippy's
// allow-*-in-tests does not reach them; failing loudly is what a test should do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use lanyard_core::Clock as _;
use lanyard_core::model::{Account, Membership, OrgId, OrgRole, Organization, Resources};
use lanyard_core::ports::{EphemeralStore, Invalidations, OrgRepo};
use lanyard_core::{
    Auditor, MailError, Mailer, ManualClock, Origin, OsRng, OutgoingMail, Secret, StoreError,
    Timestamp,
};
use lanyard_crypto::password::{PasswordHasher, PasswordPolicy};
use lanyard_crypto::{Kek, TokenHasher};
use lanyard_identity::pats::PatDeps;
use lanyard_identity::{AccountService, EnrollmentPolicy, PatService, PatSettings};
use lanyard_issuer::backchannel::{Backchannel, BackchannelSettings};
use lanyard_mfa::{MfaDeps, MfaService, MfaSettings};
use lanyard_signin::{
    BackupShown, Browser, CodeKind, Done, Flow, FlowId, Next, Problem, SessionSettings, SignInDeps,
    SignInError, SignInService, Wait,
};
use lanyard_store::{MemoryStore, SqlStore};

const START: Timestamp = Timestamp(1_700_000_010);
const PASSWORD: &str = "correct horse battery";
const WRONG: &str = "not the password at all";
const EMAIL: &str = "ada@example.com";

// ---------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------

#[derive(Default)]
struct RecordingMailer {
    sent: Mutex<Vec<OutgoingMail>>,
}

#[async_trait]
impl Mailer for RecordingMailer {
    async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError> {
        self.sent.lock().unwrap().push(mail.clone());
        Ok(())
    }
}

/// No other nodes: nothing to tell (the PAT cache is off in this harness).
struct NoOtherNodes;

#[async_trait]
impl Invalidations for NoOtherNodes {
    async fn publish(&self, _message: &str) -> Result<(), StoreError> {
        Ok(())
    }
    fn listen(&self, _listener: Arc<dyn Fn(&str) + Send + Sync>) {}
    fn sync_epoch(&self) -> Option<u64> {
        Some(0)
    }
}

/// An ephemeral store that is down: every call fails as unreachable.
struct DownStore;

#[async_trait]
impl EphemeralStore for DownStore {
    async fn put(&self, _: &str, _: &[u8], _: Duration) -> Result<(), StoreError> {
        Err(StoreError::Unavailable("test: down".to_owned()))
    }
    async fn put_if_absent(&self, _: &str, _: &[u8], _: Duration) -> Result<bool, StoreError> {
        Err(StoreError::Unavailable("test: down".to_owned()))
    }
    async fn get(&self, _: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Err(StoreError::Unavailable("test: down".to_owned()))
    }
    async fn take(&self, _: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Err(StoreError::Unavailable("test: down".to_owned()))
    }
    async fn delete(&self, _: &str) -> Result<bool, StoreError> {
        Err(StoreError::Unavailable("test: down".to_owned()))
    }
    async fn increment(&self, _: &str, _: Duration) -> Result<u64, StoreError> {
        Err(StoreError::Unavailable("test: down".to_owned()))
    }
}

struct Harness {
    store: SqlStore,
    clock: Arc<ManualClock>,
    mailer: Arc<RecordingMailer>,
    accounts: Arc<AccountService>,
    mfa: Arc<MfaService>,
    signin: SignInService,
}

async fn harness() -> Harness {
    harness_with(None).await
}

async fn harness_with(ephemeral: Option<Arc<dyn EphemeralStore>>) -> Harness {
    let clock = Arc::new(ManualClock::new(START));
    let store = SqlStore::connect("sqlite::memory:", clock.clone(), Arc::new(OsRng))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let ephemeral = ephemeral.unwrap_or_else(|| Arc::new(MemoryStore::new(clock.clone())));
    let mailer = Arc::new(RecordingMailer::default());
    let hasher = Arc::new(TokenHasher::new(&[7u8; 32]));
    let audit = Auditor::new(Arc::new(store.clone()));
    let durable = Arc::new(store.clone());
    let policy = EnrollmentPolicy::new(durable.clone(), durable.clone(), durable.clone());
    let pats = PatService::new(
        PatDeps {
            repo: durable.clone(),
            accounts: durable.clone(),
            invalidations: Arc::new(NoOtherNodes),
            hasher: hasher.clone(),
            clock: clock.clone(),
            rng: Arc::new(OsRng),
            audit: audit.clone(),
            policy: policy.clone(),
            sites: durable.clone(),
            sso: Arc::new(lanyard_core::ports::NoSsoRequirement),
        },
        PatSettings {
            cache: false,
            ..PatSettings::default()
        },
        Resources::default(),
    );
    // The smallest argon2 parameters: these tests are about the sequence, not the hash.
    let cheap = PasswordPolicy {
        m_cost_kib: 64,
        t_cost: 1,
        p_cost: 1,
        max_concurrent_hashes: 2,
        ..PasswordPolicy::default()
    };
    let passwords = Arc::new(PasswordHasher::new(cheap, Arc::new(OsRng)).unwrap());
    let accounts = Arc::new(AccountService::new(
        durable.clone(),
        durable.clone(),
        pats,
        audit.clone(),
        passwords,
        clock.clone(),
    ));
    let mfa = Arc::new(MfaService::new(
        MfaDeps {
            repo: durable.clone(),
            ephemeral: ephemeral.clone(),
            mailer: mailer.clone(),
            clock: clock.clone(),
            rng: Arc::new(OsRng),
            hasher: hasher.clone(),
            kek: Arc::new(Kek::from_bytes([9u8; 32])),
            audit: audit.clone(),
            product_name: "Lanyard".to_owned(),
        },
        MfaSettings::default(),
    ));
    let signin = SignInService::new(
        SignInDeps {
            accounts: accounts.clone(),
            mfa: mfa.clone(),
            policy,
            ephemeral,
            hasher,
            clock: clock.clone(),
            rng: Arc::new(OsRng),
            account_repo: durable.clone(),
            session_listings: durable.clone(),
            backchannel: Arc::new(Backchannel::new(
                durable.clone(),
                clock.clone(),
                audit.clone(),
                BackchannelSettings::default(),
            )),
            kek: Arc::new(Kek::from_bytes([9u8; 32])),
            sites: durable.clone(),
            linking: Arc::new(lanyard_sites::linking::Linking::new(
                durable.clone(),
                clock.clone(),
                audit.clone(),
            )),
            federation: Arc::new(lanyard_federation::FederationService::new(
                lanyard_federation::FederationDeps {
                    repo: durable.clone(),
                    orgs: durable.clone(),
                    accounts: durable.clone(),
                    kek: Arc::new(Kek::from_bytes([9u8; 32])),
                    clock: clock.clone(),
                    rng: Arc::new(OsRng),
                    dns: Arc::new(NoDns),
                    auditor: audit,
                },
                lanyard_federation::FederationSettings {
                    public_base: url::Url::parse("http://127.0.0.1:1").unwrap(),
                    allow_http_loopback: false,
                    rp: Default::default(),
                },
            )),
        },
        SessionSettings::default(),
    );
    Harness {
        store,
        clock,
        mailer,
        accounts,
        mfa,
        signin,
    }
}

fn origin(ip: &str) -> Origin {
    Origin {
        ip: Some(ip.to_owned()),
        user_agent: Some("Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0".to_owned()),
        actor: None,
    }
}

fn browser<'a>(
    origin: &'a Origin,
    session: Option<&'a str>,
    device: Option<&'a str>,
) -> Browser<'a> {
    Browser {
        origin,
        session,
        device,
    }
}

impl Harness {
    async fn account(&self) -> Account {
        self.accounts
            .create_account(EMAIL, "Ada", Secret::new(PASSWORD), &Origin::cli())
            .await
            .unwrap()
    }

    async fn flow(&self) -> FlowId {
        let flow = Flow::for_account("/account/security".to_owned(), None);
        self.signin.flows().create(&flow).await.unwrap()
    }

    /// A flow with the email given, at the password question.
    async fn at_password(&self) -> FlowId {
        let id = self.flow().await;
        let next = self.signin.submit_email(&id, EMAIL).await.unwrap();
        assert!(
            matches!(next, Next::AskPassword { problem: None, .. }),
            "{next:?}"
        );
        id
    }

    fn newest_code(&self) -> String {
        let sent = self.mailer.sent.lock().unwrap();
        sent.iter()
            .rev()
            .find_map(|m| {
                m.text
                    .lines()
                    .map(str::trim)
                    .find(|l| l.len() == 6 && l.bytes().all(|b| b.is_ascii_digit()))
            })
            .expect("a mailed code")
            .to_owned()
    }

    async fn failures(&self, account: &Account) -> u32 {
        self.mfa.state(account.id).await.unwrap().failures
    }
}

fn other_than(code: &str) -> &'static str {
    if code == "000000" { "111111" } else { "000000" }
}

/// Password, emailed code, backup code saved, "trust this device?" answered `trust`.
async fn sign_in(h: &Harness, from: &Origin, device: Option<&str>, trust: bool) -> Done {
    let id = h.at_password().await;
    let b = browser(from, None, device);
    let next = h.signin.submit_password(&id, PASSWORD, &b).await.unwrap();
    let next = match next {
        Next::AskCode(q) => {
            assert_eq!(q.kind, CodeKind::Email);
            h.signin
                .submit_code(&id, Some(CodeKind::Email), &h.newest_code(), &b)
                .await
                .unwrap()
        }
        other => other,
    };
    let next = match next {
        Next::ShowBackupCode { .. } => h
            .signin
            .acknowledge_backup_code(&id, true, &b)
            .await
            .unwrap(),
        other => other,
    };
    let next = match next {
        Next::OfferTrust { .. } => h.signin.answer_trust(&id, trust, &b).await.unwrap(),
        other => other,
    };
    match next {
        Next::Done(done) => done,
        other => panic!("expected the end of the sequence, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// The sequence
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn first_sign_in_asks_the_emailed_code_shows_the_backup_code_once_and_offers_trust() {
    let h = harness().await;
    let account = h.account().await;
    let at = origin("192.0.2.1");
    let b = browser(&at, None, None);
    let id = h.at_password().await;

    let Next::AskCode(question) = h.signin.submit_password(&id, PASSWORD, &b).await.unwrap() else {
        panic!("expected the code question");
    };
    assert_eq!(question.kind, CodeKind::Email);
    assert_eq!(question.email, EMAIL);
    assert!(question.email_allowed && !question.step_up);

    let code = h.newest_code();
    let next = h
        .signin
        .submit_code(&id, Some(CodeKind::Email), other_than(&code), &b)
        .await
        .unwrap();
    let Next::AskCode(again) = next else {
        panic!("{next:?}")
    };
    assert_eq!(again.problem, Some(Problem::WrongCode(CodeKind::Email)));

    let next = h
        .signin
        .submit_code(&id, Some(CodeKind::Email), &code, &b)
        .await
        .unwrap();
    let Next::ShowBackupCode {
        why, code: shown, ..
    } = next
    else {
        panic!("{next:?}")
    };
    assert_eq!(why, BackupShown::First);
    let shown = shown.expose().to_owned();
    let issued = h.mfa.backup_code_info(account.id).await.unwrap();
    // Leaving without "I saved it" shows the same code again (issue 12 item 5): a file
    // already downloaded stays good.
    let next = h
        .signin
        .acknowledge_backup_code(&id, false, &b)
        .await
        .unwrap();
    let Next::ShowBackupCode {
        why, problem, code, ..
    } = next
    else {
        panic!("{next:?}")
    };
    assert_eq!(
        (why, problem),
        (BackupShown::First, Some(Problem::BackupCodeNotSaved))
    );
    assert_eq!(code.expose(), shown);
    assert_eq!(
        h.mfa
            .backup_code_info(account.id)
            .await
            .unwrap()
            .map(|b| b.created_at),
        issued.map(|b| b.created_at),
        "no new code was issued"
    );

    let next = h
        .signin
        .acknowledge_backup_code(&id, true, &b)
        .await
        .unwrap();
    let Next::OfferTrust { until, .. } = next else {
        panic!("{next:?}")
    };
    assert_eq!(
        until,
        START.plus_secs(MfaSettings::default().device_trust_secs())
    );

    let next = h.signin.answer_trust(&id, true, &b).await.unwrap();
    let Next::Done(Done::SignedIn {
        session,
        trusted_device,
        ..
    }) = next
    else {
        panic!("{next:?}")
    };
    assert!(trusted_device.is_some());
    assert_eq!(session.session.auth.account_id, account.id);
    assert_eq!(session.session.verified_at, Some(START));
    let current = h
        .signin
        .sessions()
        .current(Some(&session.id))
        .await
        .unwrap();
    assert_eq!(current.unwrap().auth.account_id, account.id);
    assert_eq!(h.failures(&account).await, 0);
}

#[tokio::test]
async fn not_an_email_is_asked_again_and_nothing_is_stored() {
    let h = harness().await;
    let id = h.flow().await;
    let next = h.signin.submit_email(&id, "not an address").await.unwrap();
    let Next::AskEmail { problem, email, .. } = next else {
        panic!("{next:?}")
    };
    assert_eq!(problem, Some(Problem::NotAnEmail));
    assert_eq!(email, "not an address");
    let Next::AskEmail { email, .. } = h.signin.password_question(&id).await.unwrap() else {
        panic!("no address yet: the email question again")
    };
    assert_eq!(email, "");
}

#[tokio::test]
async fn a_missing_or_oversized_password_is_asked_again_without_counting() {
    let h = harness().await;
    let account = h.account().await;
    let at = origin("192.0.2.2");
    let id = h.at_password().await;
    for password in ["", &"x".repeat(lanyard_signin::MAX_PASSWORD_LEN + 1)] {
        let next = h
            .signin
            .submit_password(&id, password, &browser(&at, None, None))
            .await
            .unwrap();
        let Next::AskPassword { problem, .. } = next else {
            panic!("{next:?}")
        };
        assert_eq!(problem, Some(Problem::NoPassword));
    }
    assert_eq!(h.failures(&account).await, 0);
}

#[tokio::test]
async fn s53_wrong_passwords_back_off_the_account_and_then_the_right_one_is_answered_as_wrong() {
    let h = harness().await;
    let account = h.account().await;
    let at = origin("192.0.2.3");
    let b = browser(&at, None, None);
    let id = h.at_password().await;
    let backoff = MfaSettings::default().backoff_after;
    for n in 1..=backoff {
        let next = h.signin.submit_password(&id, WRONG, &b).await.unwrap();
        let Next::AskPassword { problem, .. } = next else {
            panic!("{next:?}")
        };
        assert_eq!(problem, Some(Problem::WrongPassword));
        assert_eq!(h.failures(&account).await, n);
    }
    // Locked: the right password gets the wrong-password answer (S53f) and no code is sent.
    let mails = h.mailer.sent.lock().unwrap().len();
    let next = h.signin.submit_password(&id, PASSWORD, &b).await.unwrap();
    let Next::AskPassword { problem, .. } = next else {
        panic!("{next:?}")
    };
    assert_eq!(problem, Some(Problem::WrongPassword));
    assert_eq!(h.mailer.sent.lock().unwrap().len(), mails);
    // After the wait the right password goes on to the code.
    h.clock.advance(61);
    let next = h.signin.submit_password(&id, PASSWORD, &b).await.unwrap();
    assert!(matches!(next, Next::AskCode(_)), "{next:?}");
}

#[tokio::test]
async fn s53_one_address_failing_too_often_must_wait_whatever_the_account() {
    let h = harness().await;
    h.account().await;
    let at = origin("192.0.2.4");
    let b = browser(&at, None, None);
    let limit = MfaSettings::default().password_failures_per_ip;
    for _ in 0..limit {
        let id = h.flow().await;
        h.signin
            .submit_email(&id, "nobody@example.com")
            .await
            .unwrap();
        h.signin.submit_password(&id, WRONG, &b).await.unwrap();
    }
    let id = h.at_password().await;
    let next = h.signin.submit_password(&id, PASSWORD, &b).await.unwrap();
    let Next::Wait(Wait::AddressThrottled { retry_after_secs }) = next else {
        panic!("{next:?}")
    };
    assert!(retry_after_secs > 0);
    // Another address is not affected.
    let elsewhere = origin("192.0.2.5");
    let next = h
        .signin
        .submit_password(&id, PASSWORD, &browser(&elsewhere, None, None))
        .await
        .unwrap();
    assert!(matches!(next, Next::AskCode(_)), "{next:?}");
}

#[tokio::test]
async fn s37_steps_out_of_order_or_replayed_find_nothing_to_continue() {
    let h = harness().await;
    h.account().await;
    let at = origin("192.0.2.6");
    let b = browser(&at, None, None);
    let id = h.at_password().await;
    // Before the password: no second step to answer, acknowledge or trust.
    assert!(matches!(
        h.signin
            .submit_code(&id, Some(CodeKind::Email), "123456", &b)
            .await,
        Err(SignInError::FlowGone)
    ));
    assert!(matches!(
        h.signin.answer_trust(&id, true, &b).await,
        Err(SignInError::FlowGone)
    ));
    assert!(matches!(
        h.signin.acknowledge_backup_code(&id, true, &b).await,
        Err(SignInError::FlowGone)
    ));
    h.signin.submit_password(&id, PASSWORD, &b).await.unwrap();
    let code = h.newest_code();
    // Trust before the code: refused.
    assert!(matches!(
        h.signin.answer_trust(&id, true, &b).await,
        Err(SignInError::FlowGone)
    ));
    h.signin
        .submit_code(&id, Some(CodeKind::Email), &code, &b)
        .await
        .unwrap();
    // The same code again: the code step is over.
    assert!(matches!(
        h.signin
            .submit_code(&id, Some(CodeKind::Email), &code, &b)
            .await,
        Err(SignInError::FlowGone)
    ));
    // An id that was never issued.
    let unknown = FlowId::parse(&"A".repeat(43)).unwrap();
    assert!(matches!(
        h.signin.email_question(&unknown).await,
        Err(SignInError::FlowGone)
    ));
    assert!(FlowId::parse("short").is_none());
}

#[tokio::test]
async fn b6_a_trusted_device_skips_the_code_until_its_trust_ends() {
    let h = harness().await;
    let at = origin("192.0.2.7");
    h.account().await;
    let Done::SignedIn { trusted_device, .. } = sign_in(&h, &at, None, true).await else {
        panic!("a sign-in")
    };
    let device = trusted_device.unwrap().token;
    let mails = h.mailer.sent.lock().unwrap().len();
    let id = h.at_password().await;
    let next = h
        .signin
        .submit_password(&id, PASSWORD, &browser(&at, None, Some(&device)))
        .await
        .unwrap();
    let Next::Done(Done::SignedIn { session, .. }) = next else {
        panic!("{next:?}")
    };
    // A trusted-device sign-in is not a fresh second step (B8).
    assert_eq!(session.session.verified_at, None);
    assert_eq!(h.mailer.sent.lock().unwrap().len(), mails, "no code mailed");
    h.clock
        .advance(MfaSettings::default().device_trust_secs() + 1);
    let id = h.at_password().await;
    let next = h
        .signin
        .submit_password(&id, PASSWORD, &browser(&at, None, Some(&device)))
        .await
        .unwrap();
    assert!(matches!(next, Next::AskCode(_)), "{next:?}");
}

#[tokio::test]
async fn b8_reconfirming_goes_through_the_password_gate_and_freshens_only_its_own_session() {
    let h = harness().await;
    let account = h.account().await;
    let at = origin("192.0.2.8");
    let Done::SignedIn { session, .. } = sign_in(&h, &at, None, false).await else {
        panic!("a sign-in")
    };
    let Done::SignedIn { session: other, .. } = sign_in(&h, &at, None, false).await else {
        panic!("a sign-in")
    };
    h.clock.advance(3600);
    let mine = browser(&at, Some(&session.id), None);
    let (id, email) = h
        .signin
        .begin_reconfirm(&session.session, "/account/security".to_owned(), &mine)
        .await
        .unwrap();
    assert_eq!(email, EMAIL);

    // A wrong password counts like one on the sign-in page (S53d).
    let next = h
        .signin
        .submit_reconfirm_password(&id, &session.session, WRONG, &mine)
        .await
        .unwrap();
    let Next::AskPassword { problem, .. } = next else {
        panic!("{next:?}")
    };
    assert_eq!(problem, Some(Problem::WrongPassword));
    assert_eq!(h.failures(&account).await, 1);

    // Another session can not continue this reconfirmation (S37).
    let theirs = browser(&at, Some(&other.id), None);
    assert!(matches!(
        h.signin
            .submit_reconfirm_password(&id, &other.session, PASSWORD, &theirs)
            .await,
        Err(SignInError::FlowGone)
    ));

    let next = h
        .signin
        .submit_reconfirm_password(&id, &session.session, PASSWORD, &mine)
        .await
        .unwrap();
    let Next::AskCode(question) = next else {
        panic!("{next:?}")
    };
    assert!(question.step_up);
    let next = h
        .signin
        .submit_code(&id, Some(CodeKind::Email), &h.newest_code(), &mine)
        .await
        .unwrap();
    let Next::Done(Done::SteppedUp { return_to }) = next else {
        panic!("{next:?}")
    };
    assert_eq!(return_to.as_deref(), Some("/account/security"));
    let now = h.clock_now();
    let fresh = h
        .signin
        .sessions()
        .current(Some(&session.id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(fresh.verified_at, Some(now));
    let stale = h
        .signin
        .sessions()
        .current(Some(&other.id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stale.verified_at, Some(START));
}

#[tokio::test]
async fn s54_an_organization_requiring_an_app_puts_the_set_up_before_the_session() {
    let h = harness().await;
    let account = h.account().await;
    let org = Organization {
        id: OrgId(uuid::Uuid::from_u128(1)),
        slug: "acme".to_owned(),
        name: "Acme".to_owned(),
        authenticator_required_since: None,
        created_at: START,
    };
    h.store.insert_org(&org).await.unwrap();
    h.store
        .put_member(&Membership {
            org_id: org.id,
            account_id: account.id,
            role: OrgRole::Member,
            joined_at: START,
        })
        .await
        .unwrap();
    h.store
        .set_authenticator_required(org.id, Some(START))
        .await
        .unwrap();

    let at = origin("192.0.2.9");
    let b = browser(&at, None, None);
    let id = h.at_password().await;
    h.signin.submit_password(&id, PASSWORD, &b).await.unwrap();
    let next = h
        .signin
        .submit_code(&id, Some(CodeKind::Email), &h.newest_code(), &b)
        .await
        .unwrap();
    let next = match next {
        Next::ShowBackupCode { .. } => h
            .signin
            .acknowledge_backup_code(&id, true, &b)
            .await
            .unwrap(),
        other => other,
    };
    // No "trust this device?" and no session: the set-up comes first.
    let Next::SetUpApp { problem: None, .. } = next else {
        panic!("{next:?}")
    };
    let next = h.signin.confirm_setup(&id, "000000", &b).await.unwrap();
    let Next::SetUpApp { problem, .. } = next else {
        panic!("{next:?}")
    };
    assert!(matches!(
        problem,
        Some(Problem::WrongSetupCode | Problem::MalformedSetupCode)
    ));
    assert!(matches!(
        h.signin.answer_trust(&id, true, &b).await,
        Err(SignInError::FlowGone)
    ));
}

#[tokio::test]
async fn an_unreachable_store_is_an_outage_not_an_expired_sign_in() {
    let h = harness_with(Some(Arc::new(DownStore))).await;
    let id = FlowId::parse(&"B".repeat(43)).unwrap();
    assert!(matches!(
        h.signin.email_question(&id).await,
        Err(SignInError::Unavailable(_))
    ));
    assert!(matches!(
        h.signin.sessions().current(Some(&"C".repeat(43))).await,
        Err(SignInError::Unavailable(_))
    ));
}

impl Harness {
    fn clock_now(&self) -> Timestamp {
        use lanyard_core::Clock;
        self.clock.now()
    }
}

/// Issue 11, item 8 (S46): disabling an account ends every one of its sessions at once, and
/// nothing about the account changes through it afterwards.
#[tokio::test]
async fn s46_disabling_an_account_ends_every_one_of_its_sessions_at_once() {
    let h = harness().await;
    let account = h.account().await;
    let at = origin("192.0.2.46");
    let Done::SignedIn { session: one, .. } = sign_in(&h, &at, None, false).await else {
        panic!("a sign-in")
    };
    let Done::SignedIn { session: two, .. } = sign_in(&h, &at, None, false).await else {
        panic!("a sign-in")
    };
    let sessions = h.signin.sessions();
    for s in [&one, &two] {
        assert!(sessions.current(Some(&s.id)).await.unwrap().is_some());
    }

    let disabled = h
        .signin
        .disable_account(EMAIL, &Origin::cli())
        .await
        .unwrap();
    assert_eq!(disabled.id, account.id);
    for s in [&one, &two] {
        assert!(
            sessions.current(Some(&s.id)).await.unwrap().is_none(),
            "every session ended"
        );
    }
    let refused = h
        .accounts
        .change_password(
            account.id,
            Secret::new("a completely new password"),
            &Origin::cli(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(refused, lanyard_identity::IdentityError::AccountDisabled),
        "{refused:?}"
    );
}

/// The status alone is enough: a session of an account disabled behind the sign-in service's
/// back (the CLI beside an embedded server writes no cut into the server's memory) counts for
/// nothing either.
#[tokio::test]
async fn s46_a_session_of_an_account_disabled_elsewhere_is_no_session() {
    use lanyard_core::model::AccountStatus;
    use lanyard_core::ports::AccountRepo;
    let h = harness().await;
    let account = h.account().await;
    let Done::SignedIn { session, .. } = sign_in(&h, &origin("192.0.2.47"), None, false).await
    else {
        panic!("a sign-in")
    };
    h.store
        .update_account_status(account.id, AccountStatus::Disabled, START)
        .await
        .unwrap();
    assert!(
        h.signin
            .sessions()
            .current(Some(&session.id))
            .await
            .unwrap()
            .is_none()
    );
}

// ---------------------------------------------------------------------------------------------
// Issue 12: no dead end at the send limit; "Stay signed in" for authenticator-app accounts
// ---------------------------------------------------------------------------------------------

/// RFC 4648 base32 (the set-up page's key, in groups of four), for the tests' own TOTP codes.
fn base32_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut bits, mut value, mut out) = (0u32, 0u32, Vec::new());
    for c in text
        .bytes()
        .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
    {
        let v = ALPHABET.iter().position(|a| *a == c).expect("base32") as u32;
        value = (value << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((value >> bits) as u8);
            value &= (1 << bits) - 1;
        }
    }
    out
}

impl Harness {
    /// The account's first sign-in (emailed code, backup code, not trusted); the backup code.
    async fn first_sign_in(&self, b: &Browser<'_>) -> String {
        let id = self.at_password().await;
        self.signin.submit_password(&id, PASSWORD, b).await.unwrap();
        let next = self
            .signin
            .submit_code(&id, Some(CodeKind::Email), &self.newest_code(), b)
            .await
            .unwrap();
        let Next::ShowBackupCode { code, .. } = next else {
            panic!("{next:?}")
        };
        let backup = code.expose().to_owned();
        self.signin
            .acknowledge_backup_code(&id, true, b)
            .await
            .unwrap();
        let next = self.signin.answer_trust(&id, false, b).await.unwrap();
        assert!(
            matches!(next, Next::Done(Done::SignedIn { .. })),
            "{next:?}"
        );
        backup
    }

    /// Turns the authenticator app on; returns its secret. The clock moves one step on, so
    /// the code used here can not be the next sign-in's.
    async fn turn_on_app(&self, account: &Account, at: &Origin) -> Vec<u8> {
        let setup = self.mfa.start_totp_setup(account, at).await.unwrap();
        let secret = base32_decode(&setup.enrollment.secret_text);
        let code = self.app_code(&secret);
        self.mfa
            .confirm_totp_setup(account, &code, at)
            .await
            .unwrap();
        self.clock.advance(30);
        secret
    }

    fn app_code(&self, secret: &[u8]) -> String {
        let step = lanyard_mfa::totp::step_at(self.clock.now().seconds());
        lanyard_mfa::totp::code_at_step(secret, step).unwrap()
    }

    /// An app sign-in up to the question after the code.
    async fn app_sign_in(&self, secret: &[u8], b: &Browser<'_>) -> (FlowId, Next) {
        let id = self.at_password().await;
        let Next::AskCode(q) = self.signin.submit_password(&id, PASSWORD, b).await.unwrap() else {
            panic!("the code question")
        };
        assert_eq!(q.kind, CodeKind::App);
        let next = self
            .signin
            .submit_code(&id, Some(CodeKind::App), &self.app_code(secret), b)
            .await
            .unwrap();
        self.clock.advance(30);
        (id, next)
    }
}

#[tokio::test]
async fn item2_the_send_limit_leaves_the_sign_in_open_for_the_backup_code() {
    let h = harness().await;
    h.account().await;
    let at = origin("192.0.2.30");
    let b = browser(&at, None, None);
    let backup = h.first_sign_in(&b).await; // code 1 of the hour, at START
    for _ in 2..=5 {
        let id = h.at_password().await;
        h.signin.submit_password(&id, PASSWORD, &b).await.unwrap();
    }
    h.clock.advance(300);
    let id = h.at_password().await;
    let Next::AskCode(q) = h.signin.submit_password(&id, PASSWORD, &b).await.unwrap() else {
        panic!("the code question, not a dead end")
    };
    assert_eq!(q.kind, CodeKind::Email);
    assert_eq!(q.sends_blocked_until, Some(START.plus_secs(3600)));
    assert_eq!(q.email_code_expires_at, None, "no code for this sign-in");
    assert!(q.has_backup_code);
    // "Send a new code" is refused until then, and the page stays the same question.
    h.clock.advance(60);
    let Next::AskCode(q) = h.signin.send_email_code(&id, &b).await.unwrap() else {
        panic!("the code question again")
    };
    assert_eq!(q.sends_blocked_until, Some(START.plus_secs(3600)));
    // The backup code answers it.
    let next = h
        .signin
        .submit_code(&id, Some(CodeKind::Backup), &backup, &b)
        .await
        .unwrap();
    let Next::ShowBackupCode { why, .. } = next else {
        panic!("{next:?}")
    };
    assert_eq!(why, BackupShown::ReplacesUsed);
    let next = h
        .signin
        .acknowledge_backup_code(&id, true, &b)
        .await
        .unwrap();
    assert!(
        matches!(next, Next::Done(Done::SignedIn { .. })),
        "{next:?}"
    );
    // At the stated time a code can be sent again, in this or a new sign-in.
    h.clock.set(START.plus_secs(3600));
    let id = h.at_password().await;
    let Next::AskCode(q) = h.signin.submit_password(&id, PASSWORD, &b).await.unwrap() else {
        panic!("the code question")
    };
    assert_eq!(q.sends_blocked_until, None);
    assert!(q.email_code_expires_at.is_some());
}

#[tokio::test]
async fn item4_an_app_account_is_offered_to_stay_signed_in_and_the_session_skips_the_idle_limit() {
    let h = harness().await;
    let account = h.account().await;
    let at = origin("192.0.2.31");
    let b = browser(&at, None, None);
    h.first_sign_in(&b).await;
    let secret = h.turn_on_app(&account, &at).await;

    let (id, next) = h.app_sign_in(&secret, &b).await;
    let Next::OfferStaySignedIn { until, .. } = next else {
        panic!("{next:?}")
    };
    let asked_at = h.clock.now().minus_secs(30);
    assert_eq!(
        until,
        asked_at.plus_secs(SessionSettings::default().max_secs)
    );
    // The other question's answer is not taken for this one.
    assert!(matches!(
        h.signin.answer_trust(&id, true, &b).await,
        Err(SignInError::FlowGone)
    ));
    let next = h.signin.answer_stay_signed_in(&id, true, &b).await.unwrap();
    let Next::Done(Done::SignedIn {
        session,
        trusted_device: None,
        ..
    }) = next
    else {
        panic!("{next:?}")
    };
    assert!(session.session.stay_signed_in);
    // Replayed: nothing to answer.
    assert!(matches!(
        h.signin.answer_stay_signed_in(&id, true, &b).await,
        Err(SignInError::FlowGone)
    ));
    let sessions = h.signin.sessions();
    // Two days unused: still there (an ordinary session ends after one).
    h.clock.advance(2 * 24 * 3600);
    assert!(sessions.current(Some(&session.id)).await.unwrap().is_some());
    // The absolute end still holds.
    let end = session.session.ends_at(sessions.settings());
    h.clock.set(end.minus_secs(1));
    assert!(sessions.current(Some(&session.id)).await.unwrap().is_some());
    h.clock.set(end);
    assert!(sessions.current(Some(&session.id)).await.unwrap().is_none());

    // "Don't stay signed in": the ordinary idle limit.
    let (id, _) = h.app_sign_in(&secret, &b).await;
    let Next::Done(Done::SignedIn { session, .. }) = h
        .signin
        .answer_stay_signed_in(&id, false, &b)
        .await
        .unwrap()
    else {
        panic!("signed in")
    };
    assert!(!session.session.stay_signed_in);
    h.clock.advance(SessionSettings::default().idle_secs);
    assert!(sessions.current(Some(&session.id)).await.unwrap().is_none());
}

#[tokio::test]
async fn item4_an_email_code_account_is_offered_trust_and_never_asked_to_stay() {
    let h = harness().await;
    h.account().await;
    let at = origin("192.0.2.32");
    let b = browser(&at, None, None);
    h.first_sign_in(&b).await;
    let id = h.at_password().await;
    h.signin.submit_password(&id, PASSWORD, &b).await.unwrap();
    let next = h
        .signin
        .submit_code(&id, Some(CodeKind::Email), &h.newest_code(), &b)
        .await
        .unwrap();
    assert!(matches!(next, Next::OfferTrust { .. }), "{next:?}");
    assert!(matches!(
        h.signin.answer_stay_signed_in(&id, true, &b).await,
        Err(SignInError::FlowGone)
    ));
    let next = h.signin.answer_trust(&id, true, &b).await.unwrap();
    let Next::Done(Done::SignedIn {
        session,
        trusted_device,
        ..
    }) = next
    else {
        panic!("{next:?}")
    };
    assert!(trusted_device.is_some());
    assert!(!session.session.stay_signed_in);
}

/// These tests sign in with passwords only: no domain is ever checked in DNS.
struct NoDns;

#[async_trait::async_trait]
impl lanyard_federation::domains::TxtLookup for NoDns {
    async fn txt(&self, _: &str) -> Result<Vec<String>, lanyard_federation::FederationError> {
        Ok(Vec::new())
    }
}
