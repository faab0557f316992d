//! Emailed account links (A2, F1): self sign-up with email verification, password reset, and
//! the confirmation of a new email address. Each is a path into the account beside the
//! sign-in sequence: the link proves the address, the rest is the sequence's own machinery
//! (identity for accounts and passwords, mfa for devices and lockouts, [`crate::session`]
//! to end sessions).
//!
//! - A link's token is 256 random bits; only its keyed hash is stored (`account_links`). It
//!   works once, expires (`[signup]`), and a newer link of the same purpose for the same
//!   account supersedes it. Spending it and the change it carries are one transaction, so
//!   of parallel uses exactly one changes anything.
//! - Links are built from the configured issuer URL only, never a request's `Host`,
//!   `X-Forwarded-Host` or `Forwarded` (S49, Zitadel CVE-2023-49097).
//! - No enumeration (S43): [`AccountLinks::register`] and [`AccountLinks::request_reset`]
//!   answer from what was typed alone. Whatever depends on the address having an account —
//!   the lookup, the writes, the mail — runs in [`background`], after the answer, so
//!   neither the answer nor its timing says which it was; sign-up hashes the password
//!   either way.
//! - Mail bombing: every request counts against the address and the source; past the
//!   hourly limit nothing is sent, and the answer is the same.

mod background;
mod email_change;
mod mail;
mod reset;
mod settings;
mod signup;
mod throttle;

use std::sync::Arc;

use lanyard_core::model::{Account, AccountLink, AccountLinkId, AuditEvent, LinkPurpose};
use lanyard_core::ports::{AccountLinkRepo, EphemeralStore, SsoRequirement};
use lanyard_core::rng::random_token;
use lanyard_core::{Auditor, Clock, Mailer, Origin, OutgoingMail, Rng, StoreError};
use lanyard_crypto::TokenHasher;
use lanyard_identity::{AccountService, IdentityError};
use lanyard_mfa::MfaService;

pub use background::Background;
pub use settings::SignupSettings;

use crate::{SignInError, SignInService};

/// The page a verification link opens (`web` routes it here).
pub const VERIFY_PATH: &str = "/register/verify";
/// The page a reset link opens.
pub const RESET_PATH: &str = "/password/reset";
/// The page a new address's confirmation link opens.
pub const EMAIL_CONFIRM_PATH: &str = "/account/email/confirm";
/// The sign-up page (named in the "you already have an account" notice's context).
pub const FORGOT_PATH: &str = "/password/forgot";
/// 32 random bytes: 256 bits (A2 asks for at least 128).
const TOKEN_BYTES: usize = 32;
/// The length of a 32-byte token in base64url.
const TOKEN_LEN: usize = 43;

pub struct AccountLinkDeps {
    pub signin: Arc<SignInService>,
    pub accounts: Arc<AccountService>,
    pub mfa: Arc<MfaService>,
    pub links: Arc<dyn AccountLinkRepo>,
    /// G4: an address whose organization requires its own sign-in gets no reset link.
    pub sso: Arc<dyn SsoRequirement>,
    pub mailer: Arc<dyn Mailer>,
    pub ephemeral: Arc<dyn EphemeralStore>,
    pub hasher: Arc<TokenHasher>,
    pub clock: Arc<dyn Clock>,
    pub rng: Arc<dyn Rng>,
    pub audit: Auditor,
    /// The configured issuer URL: the only source of the links' scheme and host (S49).
    pub issuer: String,
    pub product_name: String,
}

/// Why a link (or a request for one) is refused; each is worded for people in `web::error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkRefusal {
    /// Not a link this server sent (malformed, unknown, or for another page).
    Invalid,
    /// Used already.
    Used,
    /// A newer link replaced it.
    Replaced,
    Expired,
    /// The account can no longer take it (disabled since, or verified already).
    AccountChanged,
    /// Email change: another account has the address by now.
    AddressTaken,
    /// Email change: followed while signed in as another account.
    WrongAccount,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LinkError {
    #[error("the link can not be used")]
    Refused(LinkRefusal),
    /// `[signup] enabled = false`: accounts come by invitation.
    #[error("self sign-up is off")]
    SignupClosed,
    /// A field the person can fix (email, name, password); the text is safe to show.
    #[error("{0}")]
    Field(IdentityError),
    #[error(transparent)]
    SignIn(#[from] SignInError),
}

impl From<StoreError> for LinkError {
    fn from(e: StoreError) -> Self {
        Self::SignIn(e.into())
    }
}

impl From<IdentityError> for LinkError {
    fn from(e: IdentityError) -> Self {
        match e {
            IdentityError::InvalidEmail(_)
            | IdentityError::InvalidName(_)
            | IdentityError::PasswordRefused(_) => Self::Field(e),
            other => Self::SignIn(other.into()),
        }
    }
}

impl From<lanyard_mfa::MfaError> for LinkError {
    fn from(e: lanyard_mfa::MfaError) -> Self {
        Self::SignIn(e.into())
    }
}

/// What the service holds, shared with its background jobs.
struct Inner {
    deps: AccountLinkDeps,
    settings: SignupSettings,
}

/// Sign-up, verification, reset and email change. Cheap to clone.
#[derive(Clone)]
pub struct AccountLinks {
    inner: Arc<Inner>,
    background: Background,
}

impl AccountLinks {
    pub fn new(deps: AccountLinkDeps, settings: SignupSettings) -> Self {
        Self {
            inner: Arc::new(Inner { deps, settings }),
            background: Background::default(),
        }
    }

    pub fn settings(&self) -> &SignupSettings {
        &self.inner.settings
    }

    /// Waits until every mail and write started so far is done (tests, shutdown).
    pub async fn settled(&self) {
        self.background.settled().await;
    }

    /// The live link `token` names, for `purpose`; the page shows its expiry.
    pub async fn open(&self, token: &str, purpose: LinkPurpose) -> Result<AccountLink, LinkError> {
        self.inner.open(token, purpose).await
    }
}

impl Inner {
    async fn open(&self, token: &str, purpose: LinkPurpose) -> Result<AccountLink, LinkError> {
        let found = if is_token_shaped(token) {
            self.deps
                .links
                .find_account_link(&self.token_hash(token))
                .await?
        } else {
            None
        };
        let Some(link) = found.filter(|l| l.purpose == purpose) else {
            return Err(LinkError::Refused(LinkRefusal::Invalid));
        };
        match refusal(&link, self.deps.clock.now()) {
            Some(refused) => Err(LinkError::Refused(refused)),
            None => Ok(link),
        }
    }

    /// Why a link that lost its conditional update can not be used: read again.
    async fn settled_refusal(&self, link: &AccountLink) -> Result<LinkRefusal, LinkError> {
        let current = self.deps.links.find_account_link(&link.token_hash).await?;
        let now = self.deps.clock.now();
        Ok(current
            .and_then(|c| refusal(&c, now))
            .unwrap_or(LinkRefusal::AccountChanged))
    }

    fn token_hash(&self, token: &str) -> String {
        self.deps.hasher.hash(&format!("account_link:{token}"))
    }

    /// Stores a new link (superseding the account's earlier one of this purpose) and
    /// returns its URL, built from the configured issuer alone (S49).
    async fn new_link(
        &self,
        account: &Account,
        purpose: LinkPurpose,
        fill: impl FnOnce(&mut AccountLink),
    ) -> Result<(String, AccountLink), LinkError> {
        let now = self.deps.clock.now();
        let token = random_token(&*self.deps.rng, TOKEN_BYTES);
        let ttl = match purpose {
            LinkPurpose::Verify => self.settings.verify_ttl_secs,
            LinkPurpose::Reset => self.settings.reset_ttl_secs,
            LinkPurpose::EmailChange => self.settings.email_change_ttl_secs,
        };
        let mut link = AccountLink {
            id: AccountLinkId::new(&*self.deps.clock, &*self.deps.rng),
            account_id: account.id,
            purpose,
            token_hash: self.token_hash(&token),
            email: None,
            name: None,
            password_hash: None,
            created_at: now,
            expires_at: now.plus_secs(ttl),
            used_at: None,
            superseded_at: None,
        };
        fill(&mut link);
        self.deps.links.insert_account_link(&link).await?;
        let path = match purpose {
            LinkPurpose::Verify => VERIFY_PATH,
            LinkPurpose::Reset => RESET_PATH,
            LinkPurpose::EmailChange => EMAIL_CONFIRM_PATH,
        };
        let url = format!(
            "{}{path}?token={token}",
            self.deps.issuer.trim_end_matches('/')
        );
        Ok((url, link))
    }

    /// Sends a mail; a failure is logged without the address or the text (which may hold a
    /// link) and swallowed: the person asks again.
    async fn send(&self, mail: OutgoingMail) {
        if let Err(e) = self.deps.mailer.send(&mail).await {
            tracing::warn!(error = %e, "an account mail could not be sent");
        }
    }

    async fn audit(&self, event: AuditEvent, origin: &Origin) {
        self.deps.audit.record(event, origin).await;
    }

    fn base(&self) -> &str {
        self.deps.issuer.trim_end_matches('/')
    }
}

/// Why a stored link can no longer be used, if it can't.
fn refusal(link: &AccountLink, now: lanyard_core::Timestamp) -> Option<LinkRefusal> {
    if link.used_at.is_some() {
        Some(LinkRefusal::Used)
    } else if link.superseded_at.is_some() {
        Some(LinkRefusal::Replaced)
    } else if now >= link.expires_at {
        Some(LinkRefusal::Expired)
    } else {
        None
    }
}

/// Refused on shape alone, before a lookup.
fn is_token_shaped(token: &str) -> bool {
    token.len() == TOKEN_LEN
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests;
