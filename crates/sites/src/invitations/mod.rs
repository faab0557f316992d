//! Invitations (C5, S41): a site user who is not linked yet gets a link by mail. `access` when
//! an active identity account with a verified email has the site user's email ("you now sign
//! in to <site> with your account"), else `create_account` ("complete your account
//! creation"). Claiming it links the site user to the identity account: see [`claim`].
//!
//! - The token is 256 random bits; only its keyed hash is stored. It works once, expires
//!   (`[sites] invitation_ttl_secs`, 14 days by default), and sending again supersedes it.
//! - The link's host is the configured issuer, never a request's `Host` or
//!   `X-Forwarded-Host` (S41, Zitadel CVE-2023-49097): invitations are sent by the CLI and the
//!   site admin page alike from this one place.
//! - A mail the server could not hand over marks the invitation bounced: progress lists it
//!   with the expired ones, to send again.

mod claim;
mod email_change;
mod mail;

use std::sync::Arc;

use lanyard_core::model::{
    AccountStatus, AuditEvent, Invitation, InvitationId, InvitationKind, Site, SiteUser,
};
use lanyard_core::ports::{EphemeralStore, SiteRepo};
use lanyard_core::rng::random_token;
use lanyard_core::{Auditor, Clock, MailError, Mailer, Origin, Rng, Timestamp};
use lanyard_crypto::TokenHasher;
use lanyard_identity::AccountService;

pub use claim::{ClaimRefusal, OpenInvitation};
pub use email_change::EmailChange;

use crate::{SitesError, SitesSettings};

/// The page a link opens (`web` routes it here).
pub const CLAIM_PATH: &str = "/migrate/claim";
/// 32 random bytes: 256 bits (S41 asks for at least 128).
const TOKEN_BYTES: usize = 32;
/// The users of a site are read in pages of this many.
const PAGE: u32 = 500;

pub struct InvitationDeps {
    pub sites: Arc<dyn SiteRepo>,
    /// Finds people by email (never a site principal) and creates identity accounts.
    pub accounts: Arc<AccountService>,
    pub mailer: Arc<dyn Mailer>,
    /// Wrong-token counters per address.
    pub ephemeral: Arc<dyn EphemeralStore>,
    pub hasher: Arc<TokenHasher>,
    pub clock: Arc<dyn Clock>,
    pub rng: Arc<dyn Rng>,
    pub audit: Auditor,
    /// The configured issuer URL: the only source of the links' scheme and host.
    pub issuer: String,
    pub product_name: String,
}

pub struct InvitationService {
    deps: InvitationDeps,
    settings: SitesSettings,
}

/// Whom `invite` sends to; linked site users never get one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// Every unlinked user without a live invitation (never invited, expired, bounced).
    NotYetInvited,
    /// Every unlinked user; a live invitation is replaced (its link dies).
    All,
    /// These logins (as typed; compared case-insensitively); a live invitation is replaced.
    Logins(Vec<String>),
}

/// What one `invite` did, user by user.
#[derive(Debug, Clone, Default)]
pub struct InviteReport {
    pub sent: Vec<Sent>,
    /// Login and why it got nothing.
    pub skipped: Vec<(String, Skipped)>,
    /// Login and why the mail did not go out (the invitation is then marked bounced).
    pub failed: Vec<(String, &'static str)>,
}

#[derive(Debug, Clone)]
pub struct Sent {
    pub login: String,
    pub email: String,
    pub kind: InvitationKind,
    pub expires_at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skipped {
    /// Already linked to an identity account: nothing to claim.
    Linked,
    /// Has a live invitation (only with [`Selection::NotYetInvited`]).
    AlreadyInvited,
}

impl InvitationService {
    pub fn new(deps: InvitationDeps, settings: SitesSettings) -> Self {
        Self { deps, settings }
    }

    pub fn settings(&self) -> &SitesSettings {
        &self.settings
    }

    /// Sends invitations to the site's users that `selection` names.
    pub async fn invite(
        &self,
        site: &Site,
        selection: &Selection,
        origin: &Origin,
    ) -> Result<InviteReport, SitesError> {
        let mut report = InviteReport::default();
        let users = match selection {
            Selection::Logins(logins) => self.named_users(site, logins).await?,
            Selection::All | Selection::NotYetInvited => self.all_users(site).await?,
        };
        let now = self.deps.clock.now();
        for user in users {
            if user.account_id.is_some() {
                report.skipped.push((user.login.clone(), Skipped::Linked));
                continue;
            }
            if *selection == Selection::NotYetInvited
                && self.has_live_invitation(&user, now).await?
            {
                report
                    .skipped
                    .push((user.login.clone(), Skipped::AlreadyInvited));
                continue;
            }
            match self.send(site, &user, origin).await? {
                Ok(sent) => report.sent.push(sent),
                Err(why) => report.failed.push((user.login.clone(), why)),
            }
        }
        Ok(report)
    }

    /// The users `logins` name, or — when one names nobody — a refusal before anything is
    /// sent.
    async fn named_users(
        &self,
        site: &Site,
        logins: &[String],
    ) -> Result<Vec<SiteUser>, SitesError> {
        let mut found: Vec<SiteUser> = Vec::new();
        for login in logins {
            let normalized = login.trim().to_lowercase();
            let user = self
                .deps
                .sites
                .site_user_by_login(site.id, &normalized)
                .await?
                .ok_or_else(|| {
                    SitesError::Invalid(format!("{} has no user {login:?}", site.slug))
                })?;
            if found.iter().all(|u| u.id != user.id) {
                found.push(user);
            }
        }
        Ok(found)
    }

    async fn all_users(&self, site: &Site) -> Result<Vec<SiteUser>, SitesError> {
        let mut all = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = self
                .deps
                .sites
                .list_site_users(site.id, after.as_deref(), PAGE)
                .await?;
            let full = page.len() == PAGE as usize;
            after = page.last().map(|u| u.login_normalized.clone());
            all.extend(page);
            if !full {
                return Ok(all);
            }
        }
    }

    async fn has_live_invitation(
        &self,
        user: &SiteUser,
        now: Timestamp,
    ) -> Result<bool, SitesError> {
        Ok(self
            .deps
            .sites
            .latest_invitation(user.id)
            .await?
            .is_some_and(|i| is_live(&i, now)))
    }

    /// Stores a new invitation for `user` (superseding earlier ones) and mails its link. The
    /// inner `Err` says why the mail did not go out; the invitation is then marked bounced.
    pub(crate) async fn send(
        &self,
        site: &Site,
        user: &SiteUser,
        origin: &Origin,
    ) -> Result<Result<Sent, &'static str>, SitesError> {
        let now = self.deps.clock.now();
        let kind = self.kind_for(user).await?;
        let token = random_token(&*self.deps.rng, TOKEN_BYTES);
        let invitation = Invitation {
            id: InvitationId::new(&*self.deps.clock, &*self.deps.rng),
            site_user: user.id,
            kind,
            token_hash: self.token_hash(&token),
            email_normalized: user.email_normalized.clone(),
            created_at: now,
            expires_at: now.plus_secs(self.settings.invitation_ttl_secs),
            accepted_at: None,
            superseded_at: None,
            bounced_at: None,
        };
        self.deps.sites.insert_invitation(&invitation).await?;
        let link = format!(
            "{}{CLAIM_PATH}?token={token}",
            self.deps.issuer.trim_end_matches('/')
        );
        let outgoing = mail::invitation(
            &self.deps.product_name,
            site,
            user,
            kind,
            &link,
            invitation.expires_at,
        );
        let outcome = match self.deps.mailer.send(&outgoing).await {
            Ok(()) => Ok(Sent {
                login: user.login.clone(),
                email: user.email.clone(),
                kind,
                expires_at: invitation.expires_at,
            }),
            Err(e) => {
                self.deps
                    .sites
                    .mark_invitation_bounced(invitation.id, now)
                    .await?;
                Err(match e {
                    MailError::InvalidRecipient => "the email address can not receive mail",
                    _ => "the mail server did not take the message; send it again later",
                })
            }
        };
        let event = AuditEvent::new(now, "migration.invited", outcome_word(&outcome))
            .subject(format!("site_user:{}", user.id))
            .reason(format!("site {} {}", site.slug, kind.as_str()));
        self.deps.audit.record(event, origin).await;
        Ok(outcome)
    }

    /// `access` when an active identity account with a verified email has the site user's
    /// email; `create_account` otherwise (an unverified account is never offered: S42).
    async fn kind_for(&self, user: &SiteUser) -> Result<InvitationKind, SitesError> {
        let account = self
            .deps
            .accounts
            .find_by_email(&user.email_normalized)
            .await
            .ok()
            .flatten();
        Ok(match account {
            Some(a) if a.status == AccountStatus::Active && a.email_verified => {
                InvitationKind::Access
            }
            _ => InvitationKind::CreateAccount,
        })
    }

    pub(crate) fn token_hash(&self, token: &str) -> String {
        self.deps.hasher.hash(&format!("invitation:{token}"))
    }
}

/// Neither accepted, superseded, bounced nor expired at `now`.
pub fn is_live(invitation: &Invitation, now: Timestamp) -> bool {
    invitation.accepted_at.is_none()
        && invitation.superseded_at.is_none()
        && invitation.bounced_at.is_none()
        && now < invitation.expires_at
}

fn outcome_word<T, E>(outcome: &Result<T, E>) -> &'static str {
    if outcome.is_ok() {
        "success"
    } else {
        "failure"
    }
}
