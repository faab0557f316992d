//! What a sign-in step answers: the next thing to show or do. The web layer renders each
//! value as a page or a redirect; the words people read are chosen there, not here.

use lanyard_core::model::Site;
use lanyard_core::{Secret, Timestamp};
use lanyard_mfa::{TotpSetup, TrustedDeviceCookie};

use crate::flow::FlowId;
use crate::session::NewSession;

/// The next step of a flow.
#[derive(Debug)]
pub enum Next {
    /// Ask for the email address.
    AskEmail {
        flow: FlowId,
        email: String,
        problem: Option<Problem>,
    },
    /// Ask for a site user's login and password (the legacy site login, C2).
    AskSiteLogin(SiteLoginQuestion),
    /// Ask for the password of `email`.
    AskPassword {
        flow: FlowId,
        email: String,
        problem: Option<Problem>,
    },
    /// Ask for a code (emailed, from the authenticator app, or the backup code).
    AskCode(CodeQuestion),
    /// Show the new backup code once; the flow waits for "I saved it".
    ShowBackupCode {
        flow: FlowId,
        code: Secret,
        why: BackupShown,
        generated_at: Timestamp,
        problem: Option<Problem>,
    },
    /// Offer to trust this browser until the given time (after an emailed code, to an
    /// account whose second step is the emailed code).
    OfferTrust { flow: FlowId, until: Timestamp },
    /// Offer an authenticator-app account a session on this browser that lasts until the
    /// given time (a trusted device would not spare it the app's code).
    OfferStaySignedIn { flow: FlowId, until: Timestamp },
    /// An organization requires an authenticator app (S54): set one up before the session.
    SetUpApp {
        flow: FlowId,
        setup: TotpSetup,
        problem: Option<Problem>,
        /// The site whose two-factor preference asks it, when a site user's principal sets
        /// up its app (the page says "Verify and Save" and names the site).
        site_name: Option<String>,
    },
    /// The email's domain signs in through its organization (home-realm discovery, F1).
    AskOrganization(OrgQuestion),
    /// Send the browser to the organization's identity provider; `binder` goes into a
    /// cookie that the callback must bring back (S40: the same browser).
    GoUpstream { url: String, binder: String },
    /// An account has the upstream's email, but linking needs the person to prove it
    /// (G3, S38): its password and second step come next, then the link.
    ProveToLink { flow: FlowId, email: String },
    /// The sign-in through the organization did not work; nothing was created.
    UpstreamFailed(UpstreamProblem),
    /// Refused for now; nothing was checked or nothing counts.
    Wait(Wait),
    /// The sequence is over.
    Done(Done),
}

/// How the flow ended.
#[derive(Debug)]
pub enum Done {
    /// A new session for this browser (its id goes into the cookie), and possibly a newly
    /// trusted device; the flow continues where it came from (the app, or an account page).
    SignedIn {
        flow: FlowId,
        session: Box<NewSession>,
        trusted_device: Option<TrustedDeviceCookie>,
        /// A site user's principal just set up its authenticator app for the site's
        /// two-factor preference: the slug of the site whose backup codes come next (C4).
        site_codes: Option<String>,
    },
    /// The current session is fresh again (step-up); back to the page that asked.
    SteppedUp { return_to: Option<String> },
}

/// Why an answer can not go ahead now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// This address failed too often (S53a); it says nothing about any account.
    AddressThrottled { retry_after_secs: i64 },
    /// The account's failures ask for a wait, or (`until: None`) an operator unlock (S30).
    Locked { until: Option<Timestamp> },
    /// The challenge is over (too many wrong codes, or it took too long): start again at the
    /// password.
    StartAgain,
}

/// The legacy site login page: the site, what was typed, what was wrong.
#[derive(Debug, Clone)]
pub struct SiteLoginQuestion {
    pub flow: FlowId,
    pub site: Site,
    pub login: String,
    pub problem: Option<Problem>,
}

/// The page of an email whose organization signs it in.
#[derive(Debug, Clone)]
pub struct OrgQuestion {
    pub flow: FlowId,
    pub email: String,
    pub org_name: String,
    /// The organization does not require its own sign-in: "use your password" is offered.
    pub password_allowed: bool,
    /// A password was just refused for this email (G4).
    pub password_refused: bool,
}

/// Why a sign-in through an organization ended without a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamProblem {
    /// The identity provider said no, or the person cancelled there.
    Refused,
    /// It could not be reached, or did not answer in time.
    Unavailable,
    /// Its answer did not pass our checks (signature, audience, expiry, nonce, issuer).
    InvalidAnswer,
    /// The organization's sign-in is turned off or not set up.
    ConnectionOff,
    /// It sent no email address we can use.
    NoEmail,
    /// The email's domain is not one the organization has verified.
    DomainNotAllowed,
    /// The account is disabled.
    AccountUnavailable,
    /// Something changed while it was being decided: start again.
    TryAgain,
}

/// Which kind of code a page asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeKind {
    Email,
    App,
    Backup,
}

impl CodeKind {
    /// The form value that names it.
    pub fn as_str(self) -> &'static str {
        match self {
            CodeKind::Email => "email",
            CodeKind::App => "totp",
            CodeKind::Backup => "backup",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "email" => Some(CodeKind::Email),
            "totp" => Some(CodeKind::App),
            "backup" => Some(CodeKind::Backup),
            _ => None,
        }
    }
}

/// Everything the code page shows.
#[derive(Debug, Clone)]
pub struct CodeQuestion {
    pub flow: FlowId,
    pub kind: CodeKind,
    /// Where an emailed code goes.
    pub email: String,
    /// False when the app asked for more than an emailed code gives.
    pub email_allowed: bool,
    pub email_code_expires_at: Option<Timestamp>,
    pub resend_at: Option<Timestamp>,
    /// The hourly limit on emailed codes is reached: none can be sent before then. A code
    /// already sent for *this* sign-in (`email_code_expires_at`) still works.
    pub sends_blocked_until: Option<Timestamp>,
    pub has_backup_code: bool,
    pub has_app: bool,
    pub step_up: bool,
    pub notice: Option<Notice>,
    pub problem: Option<Problem>,
}

/// Something the page tells without it being a problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    CodeSent,
    /// Another code can be asked for at this time.
    ResendAt(Timestamp),
}

/// Why the backup code page shows a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum BackupShown {
    /// The first sign-in after the account was created (B4).
    First,
    /// The code just used was replaced.
    ReplacesUsed,
}

/// What was wrong with an answer, for the page to explain next to the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// Not an email address.
    NotAnEmail,
    /// Empty, or longer than any password we hash.
    NoPassword,
    /// The email and password do not match, or the account is locked (S53f: the same).
    WrongPassword,
    /// Not the shape of a code of this kind.
    MalformedCode(CodeKind),
    /// Wrong, expired, reused or replayed.
    WrongCode(CodeKind),
    /// The kind asked for is not set up.
    KindNotAvailable,
    /// Step-up can not use a factor set up in the session it protects.
    AppTooNew,
    /// Step-up can not use a set of backup codes made in the session it protects (C4).
    BackupCodesTooNew,
    /// "I saved my backup code" was not ticked.
    BackupCodeNotSaved,
    /// A set-up code was not 6 digits.
    MalformedSetupCode,
    /// A set-up code did not match the new secret.
    WrongSetupCode,
    /// Neither answer was chosen.
    NoChoice,
    /// The site login was empty or longer than any login.
    NoLogin,
    /// The site has moved to identity accounts: its legacy login is refused (C5, S42).
    LegacyLoginClosed,
}
