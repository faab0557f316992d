//! Claiming an invitation (C5, S41). The link's token is checked here and nowhere else:
//! - a malformed or unknown token counts against the address; past
//!   `claim_failures_per_address` within the window every claim from it waits, right token
//!   or not;
//! - a used one is refused and audited as `migration.token_reuse`; a replaced or expired
//!   one is refused; acceptance is one conditional update, so of 20 parallel claims one wins;
//! - `access`: the identity account must be signed in, a person, active, with a verified
//!   email equal to the invitation's — anyone else is refused and nothing is linked;
//! - `create_account`: the account is created with the invitation's email (never one from
//!   the form), after its name and password passed the policy, so a refused password does
//!   not spend the invitation.
//!
//! Accepting also confirms a changed email waiting for it (C6).

use std::time::Duration;

use lanyard_core::model::{
    Account, AccountKind, AccountStatus, AuditEvent, Invitation, Site, SiteUser,
};
use lanyard_core::{EphemeralKey, Origin, Secret, StoreError, Timestamp};
use lanyard_identity::IdentityError;

use super::InvitationService;
use crate::SitesError;

/// The length of a 32-byte token in base64url.
const TOKEN_LEN: usize = 43;

/// A live invitation and whom it is for.
#[derive(Debug, Clone)]
pub struct OpenInvitation {
    pub invitation: Invitation,
    pub site: Site,
    pub user: SiteUser,
}

/// Why a claim is refused; each is worded for people in `web::error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimRefusal {
    /// Not a link this server sent (malformed or unknown).
    Invalid,
    /// Too many invalid links from this address: wait this many seconds.
    Throttled(i64),
    /// Used already (S41: 410, audited `migration.token_reuse`).
    Used,
    /// A newer invitation replaced it (its link is the one that works).
    Replaced,
    Expired,
    /// Signed in with an account that is not the invitation's (another email, an unverified
    /// email, a site's principal).
    WrongAccount,
    /// `create_account`, but an account has this email now: sign in with it instead.
    AccountExists,
    /// The site user is linked to another account already.
    AlreadyLinked,
    /// The account is linked to another user of the same site already.
    AccountHasUser,
}

impl InvitationService {
    /// The invitation `token` opens, if it may still be claimed.
    pub async fn open(&self, token: &str, origin: &Origin) -> Result<OpenInvitation, SitesError> {
        if let Some(wait) = self.throttled(origin).await? {
            return Err(SitesError::Claim(ClaimRefusal::Throttled(wait)));
        }
        let found = if is_token_shaped(token) {
            self.deps
                .sites
                .invitation_by_token_hash(&self.token_hash(token))
                .await?
        } else {
            None
        };
        let Some(invitation) = found else {
            self.count_failure(origin).await?;
            return Err(SitesError::Claim(ClaimRefusal::Invalid));
        };
        let now = self.deps.clock.now();
        if let Some(refusal) = self.refusal(&invitation, now, origin).await {
            return Err(SitesError::Claim(refusal));
        }
        let user = self.deps.sites.get_site_user(invitation.site_user).await?;
        let site = match &user {
            Some(user) => self.deps.sites.get_site(user.site_id).await?,
            None => None,
        };
        match (user, site) {
            (Some(user), Some(site)) => Ok(OpenInvitation {
                invitation,
                site,
                user,
            }),
            _ => Err(SitesError::Claim(ClaimRefusal::Invalid)),
        }
    }

    /// Links the invitation's site user to `account`, the identity account signed in.
    pub async fn accept_with_account(
        &self,
        token: &str,
        account: &Account,
        origin: &Origin,
    ) -> Result<OpenInvitation, SitesError> {
        let open = self.open(token, origin).await?;
        let now = self.deps.clock.now();
        let matches = account.kind == AccountKind::Person
            && account.status == AccountStatus::Active
            && account.email_verified
            && account.email_normalized == open.invitation.email_normalized;
        if !matches {
            let event = AuditEvent::new(now, "migration.claim_refused", "failure")
                .subject(format!("site_user:{}", open.user.id))
                .actor(account.id.to_string())
                .reason("signed in with another account");
            self.deps.audit.record(event, origin).await;
            return Err(SitesError::Claim(ClaimRefusal::WrongAccount));
        }
        if open.user.account_id.is_some_and(|a| a != account.id) {
            return Err(self
                .settled(&open, ClaimRefusal::AlreadyLinked, origin)
                .await?);
        }
        let has_user = self
            .deps
            .sites
            .site_user_for_account(open.site.id, account.id)
            .await?;
        if has_user.is_some_and(|u| u.id != open.user.id) {
            return Err(SitesError::Claim(ClaimRefusal::AccountHasUser));
        }
        self.accept(&open.invitation, now, origin).await?;
        self.link(&open, account, "invitation", origin).await?;
        Ok(open)
    }

    /// `create_account`: creates the identity account with the invitation's email, `name`
    /// and `password` (the password policy applies), and links it.
    pub async fn accept_creating_account(
        &self,
        token: &str,
        name: &str,
        password: Secret,
        origin: &Origin,
    ) -> Result<(OpenInvitation, Account), SitesError> {
        let open = self.open(token, origin).await?;
        if open.user.account_id.is_some() {
            return Err(self
                .settled(&open, ClaimRefusal::AlreadyLinked, origin)
                .await?);
        }
        let email = open.user.email.clone();
        if self.deps.accounts.find_by_email(&email).await?.is_some() {
            return Err(self
                .settled(&open, ClaimRefusal::AccountExists, origin)
                .await?);
        }
        // Before the invitation is spent: a refused name or password can be fixed and sent
        // again with the same link.
        self.deps
            .accounts
            .check_new_account(&email, name, &password)?;
        let now = self.deps.clock.now();
        self.accept(&open.invitation, now, origin).await?;
        let account = match self
            .deps
            .accounts
            .create_account(&email, name, password, origin)
            .await
        {
            Ok(account) => account,
            Err(IdentityError::EmailTaken) => {
                return Err(SitesError::Claim(ClaimRefusal::AccountExists));
            }
            Err(e) => return Err(e.into()),
        };
        self.link(&open, &account, "invitation, new account", origin)
            .await?;
        Ok((open, account))
    }

    /// `refusal`, unless the invitation itself is used (or replaced, expired) by now: a
    /// parallel claim of this same link that won is most often why the account exists or the
    /// user is linked, and "already used" is what the loser should hear.
    async fn settled(
        &self,
        open: &OpenInvitation,
        refusal: ClaimRefusal,
        origin: &Origin,
    ) -> Result<SitesError, SitesError> {
        let now = self.deps.clock.now();
        let current = self
            .deps
            .sites
            .invitation_by_token_hash(&open.invitation.token_hash)
            .await?;
        let settled = match current {
            Some(current) => self.refusal(&current, now, origin).await,
            None => None,
        };
        Ok(SitesError::Claim(settled.unwrap_or(refusal)))
    }

    /// Marks the invitation used; of parallel claims one gets here, the others learn why not.
    async fn accept(
        &self,
        invitation: &Invitation,
        now: Timestamp,
        origin: &Origin,
    ) -> Result<(), SitesError> {
        if self
            .deps
            .sites
            .accept_invitation(invitation.id, now)
            .await?
        {
            return Ok(());
        }
        let current = self
            .deps
            .sites
            .invitation_by_token_hash(&invitation.token_hash)
            .await?;
        let refusal = match current {
            Some(current) => self.refusal(&current, now, origin).await,
            None => None,
        };
        Err(SitesError::Claim(refusal.unwrap_or(ClaimRefusal::Used)))
    }

    async fn link(
        &self,
        open: &OpenInvitation,
        account: &Account,
        how: &str,
        origin: &Origin,
    ) -> Result<(), SitesError> {
        let now = self.deps.clock.now();
        let user = &open.user;
        if user.account_id.is_none() {
            let linked = match self
                .deps
                .sites
                .link_site_user(user.id, account.id, now)
                .await
            {
                Ok(linked) => linked,
                Err(StoreError::Conflict(_)) => {
                    return Err(SitesError::Claim(ClaimRefusal::AccountHasUser));
                }
                Err(e) => return Err(e.into()),
            };
            let now_linked = match linked {
                true => Some(account.id),
                false => self
                    .deps
                    .sites
                    .get_site_user(user.id)
                    .await?
                    .and_then(|u| u.account_id),
            };
            if now_linked != Some(account.id) {
                return Err(SitesError::Claim(ClaimRefusal::AlreadyLinked));
            }
        }
        if user.email_unverified_since.is_some() {
            self.deps
                .sites
                .confirm_site_user_email(user.id, now)
                .await?;
        }
        let event = AuditEvent::new(now, "migration.linked", "success")
            .subject(format!("site_user:{}", user.id))
            .actor(account.id.to_string())
            .reason(format!("site {} by {how}", open.site.slug));
        self.deps.audit.record(event, origin).await;
        Ok(())
    }

    /// Why a stored invitation can no longer be claimed, if it can't; a reuse is audited.
    async fn refusal(
        &self,
        invitation: &Invitation,
        now: Timestamp,
        origin: &Origin,
    ) -> Option<ClaimRefusal> {
        let refusal = if invitation.accepted_at.is_some() {
            let event = AuditEvent::new(now, "migration.token_reuse", "failure")
                .subject(format!("site_user:{}", invitation.site_user))
                .reason(format!("invitation {}", invitation.id));
            self.deps.audit.record(event, origin).await;
            ClaimRefusal::Used
        } else if invitation.superseded_at.is_some() {
            ClaimRefusal::Replaced
        } else if now >= invitation.expires_at {
            ClaimRefusal::Expired
        } else {
            return None;
        };
        Some(refusal)
    }

    /// Seconds this address must wait, when its invalid links reached the limit.
    async fn throttled(&self, origin: &Origin) -> Result<Option<i64>, SitesError> {
        let Some(ip) = &origin.ip else {
            return Ok(None);
        };
        let key = EphemeralKey::ClaimFailIp(ip).to_string();
        let Some(bytes) = self.deps.ephemeral.get(&key).await? else {
            return Ok(None);
        };
        let count: u64 = std::str::from_utf8(&bytes)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        Ok((count >= self.settings.claim_failures_per_address)
            .then_some(self.settings.claim_failure_window_secs))
    }

    async fn count_failure(&self, origin: &Origin) -> Result<(), SitesError> {
        let Some(ip) = &origin.ip else {
            return Ok(());
        };
        let window = Duration::from_secs(self.settings.claim_failure_window_secs.unsigned_abs());
        let key = EphemeralKey::ClaimFailIp(ip).to_string();
        let count = self.deps.ephemeral.increment(&key, window).await?;
        if count == self.settings.claim_failures_per_address {
            let event = AuditEvent::new(
                self.deps.clock.now(),
                "migration.claims_throttled",
                "failure",
            )
            .reason("too many invalid invitation links from one address");
            self.deps.audit.record(event, origin).await;
        }
        Ok(())
    }
}

/// Refused on shape alone, before a lookup.
fn is_token_shaped(token: &str) -> bool {
    token.len() == TOKEN_LEN
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
