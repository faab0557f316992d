//! Personal access tokens (E1–E4): creation (the caller has checked step-up), listing,
//! revocation, and the exchange's lookup behind the [`PatVerifier`] port.
//!
//! The token format lives in `lanyard_core::pat_token`. Only the keyed hash (HMAC-SHA-256
//! with the server's token hash key) is stored: the token carries 256 random bits, so a fast
//! hash is right (E4), and the key means a stolen database alone can't even confirm a
//! token found elsewhere.

mod cache;
mod request;
mod settings;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Weak};

use async_trait::async_trait;
use lanyard_core::model::{
    Account, AccountKind, AccountStatus, AuditEvent, Pat, PatId, Resources, Site, SiteUser,
    SiteUserId, VerifiedPat,
};
use lanyard_core::pat_token;
use lanyard_core::ports::{AccountRepo, Invalidations, PatRepo, PatVerifier, SiteRepo};
use lanyard_core::{AccountId, Auditor, Clock, Origin, Rng, Secret, StoreError, Timestamp};
use lanyard_crypto::token_hash::TokenHasher;

use crate::IdentityError;
use cache::PatCache;
pub use request::{Expiry, PatField, PatProblem, PatRequest};
pub use settings::PatSettings;

/// `last_used_at` is written at most this often per PAT and node (S27).
const LAST_USED_EVERY_SECS: i64 = 60;
/// Listings show at most this many tokens.
const LIST_LIMIT: u64 = 1000;

pub struct PatDeps {
    pub repo: Arc<dyn PatRepo>,
    pub accounts: Arc<dyn AccountRepo>,
    pub invalidations: Arc<dyn Invalidations>,
    pub hasher: Arc<TokenHasher>,
    pub clock: Arc<dyn Clock>,
    pub rng: Arc<dyn Rng>,
    pub audit: Auditor,
    /// PATs are not created while an organization's policy waits for an authenticator app.
    pub policy: crate::EnrollmentPolicy,
    /// The sites whose users a PAT may be tied to (E2).
    pub sites: Arc<dyn SiteRepo>,
    /// G4: an account whose organization requires its own sign-in gets PATs only from a
    /// session that sign-in made.
    pub sso: Arc<dyn lanyard_core::ports::SsoRequirement>,
}

/// Entries in a node's exchange cache: a bound on its memory, not a config key.
const CACHE_MAX_ENTRIES: usize = 100_000;

pub struct PatService {
    deps: PatDeps,
    settings: PatSettings,
    /// `[[resources]]`: the APIs PATs may name; their scopes are what a PAT may carry.
    resources: Resources,
    cache: Option<PatCache>,
}

impl PatService {
    pub fn new(deps: PatDeps, settings: PatSettings, resources: Resources) -> Arc<Self> {
        let cache = settings
            .cache
            .then(|| PatCache::new(CACHE_MAX_ENTRIES, settings.cache_ttl_secs));
        let service = Arc::new(Self {
            deps,
            settings,
            resources,
            cache,
        });
        if service.cache.is_some() {
            let weak: Weak<Self> = Arc::downgrade(&service);
            service.deps.invalidations.listen(Arc::new(move |message| {
                if let Some(service) = weak.upgrade() {
                    service.invalidated(message);
                }
            }));
        }
        service
    }

    pub fn settings(&self) -> &PatSettings {
        &self.settings
    }

    pub fn resources(&self) -> &Resources {
        &self.resources
    }

    /// Every field's refusal of `request` at once, for a form that shows them all; empty
    /// when [`PatService::create`] would accept the fields.
    pub fn problems(&self, request: &PatRequest) -> Vec<PatProblem> {
        request
            .clone()
            .check(&self.settings, &self.resources, self.deps.clock.now())
            .err()
            .unwrap_or_default()
    }

    /// Mints a PAT for `account` and returns it with its plaintext, which is never available
    /// again. The caller has checked that the session is fresh (B8) or is the operator. An
    /// account whose organization requires its own sign-in gets none this way (G4): see
    /// [`Self::create_in_session`].
    pub async fn create(
        &self,
        account: &Account,
        request: PatRequest,
        origin: &Origin,
    ) -> Result<(Pat, Secret), IdentityError> {
        self.create_checked(account, request, false, origin).await
    }

    /// [`Self::create`] from a signed-in session whose methods (`amr`) are given: a session
    /// an organization's identity provider made (`fed`) meets that organization's
    /// requirement of its own sign-in (G4).
    pub async fn create_in_session(
        &self,
        account: &Account,
        request: PatRequest,
        amr: &[String],
        origin: &Origin,
    ) -> Result<(Pat, Secret), IdentityError> {
        let federated = amr.iter().any(|m| m == "fed");
        self.create_checked(account, request, federated, origin)
            .await
    }

    async fn create_checked(
        &self,
        account: &Account,
        request: PatRequest,
        federated: bool,
        origin: &Origin,
    ) -> Result<(Pat, Secret), IdentityError> {
        let now = self.deps.clock.now();
        let request_site = request.site.clone();
        let checked = request.validate(&self.settings, &self.resources, now)?;
        // Site principals have no PATs: their sessions count only for their site's apps.
        if account.status != AccountStatus::Active || account.kind != AccountKind::Person {
            return Err(IdentityError::NotFound);
        }
        if self.deps.policy.enrollment_due(account.id).await? {
            return Err(IdentityError::AuthenticatorRequired);
        }
        if !federated && self.deps.sso.sso_required(&account.email).await? {
            return Err(IdentityError::SsoRequired);
        }
        let site_user = match &request_site {
            Some(slug) => Some(self.tied_site_user(account, slug).await?),
            None => None,
        };
        let live = self.deps.repo.count_live_pats(account.id, now).await?;
        if live >= self.settings.max_per_account {
            return Err(IdentityError::TooManyPats(self.settings.max_per_account));
        }
        let minted = pat_token::mint(&*self.deps.rng);
        let pat = Pat {
            id: PatId::new(&*self.deps.clock, &*self.deps.rng),
            account_id: account.id,
            name: checked.name,
            token_hash: self.deps.hasher.hash(minted.token.expose()),
            display: minted.display,
            scopes: checked.scopes,
            audiences: checked.audiences,
            site_user,
            created_at: now,
            expires_at: checked.expires_at,
            last_used_at: None,
            revoked_at: None,
        };
        self.deps.repo.insert_pat(&pat).await?;
        let event = AuditEvent::new(now, "pat.created", "success")
            .subject(account.id.to_string())
            .reason(match pat.site_user {
                Some(user) => format!("pat {} site_user {user}", pat.id),
                None => format!("pat {}", pat.id),
            });
        self.deps.audit.record(event, origin).await;
        Ok((pat, minted.token))
    }

    /// The site users a PAT of `account` may be tied to (E2): those linked to it, of sites
    /// in `dual` or `identity` (where identity accounts sign in), by site name.
    pub async fn site_choices(
        &self,
        account: &Account,
    ) -> Result<Vec<(Site, SiteUser)>, IdentityError> {
        if account.kind != AccountKind::Person {
            return Ok(Vec::new());
        }
        let mut choices = Vec::new();
        for user in self.deps.sites.site_users_of_account(account.id).await? {
            if let Some(site) = self.deps.sites.get_site(user.site_id).await?
                && site.state.allows_identity_login()
            {
                choices.push((site, user));
            }
        }
        choices.sort_by(|a, b| a.0.name.cmp(&b.0.name));
        Ok(choices)
    }

    /// The site user of the site `slug` that `account` may tie a PAT to, or the refusal: "no
    /// such site", or one text whether the site is still `legacy` or has no user linked to
    /// the account (the form offers only the right ones; slugs are public, in its pages'
    /// addresses).
    async fn tied_site_user(
        &self,
        account: &Account,
        slug: &str,
    ) -> Result<SiteUserId, IdentityError> {
        let refused = || IdentityError::InvalidPat(PatField::Site, "you have no user on that site");
        let Some(site) = self.deps.sites.site_by_slug(slug).await? else {
            return Err(IdentityError::InvalidPat(PatField::Site, "no such site"));
        };
        if !site.state.allows_identity_login() {
            return Err(refused());
        }
        self.deps
            .sites
            .site_user_for_account(site.id, account.id)
            .await?
            .map(|user| user.id)
            .ok_or_else(refused)
    }

    /// The account's PATs that are not revoked (expired ones included), newest first.
    pub async fn list(&self, account: AccountId) -> Result<Vec<Pat>, IdentityError> {
        Ok(self.deps.repo.list_pats(Some(account), LIST_LIMIT).await?)
    }

    /// Every account's PATs that are not revoked, newest first (operators).
    pub async fn list_all(&self) -> Result<Vec<Pat>, IdentityError> {
        Ok(self.deps.repo.list_pats(None, LIST_LIMIT).await?)
    }

    /// One PAT of `owner` (any account's when `None`); a foreign id is "not found".
    pub async fn get(&self, owner: Option<AccountId>, id: PatId) -> Result<Pat, IdentityError> {
        match self.deps.repo.get_pat(id).await? {
            Some(pat) if owner.is_none_or(|o| o == pat.account_id) => Ok(pat),
            _ => Err(IdentityError::NotFound),
        }
    }

    /// Revokes a PAT of `owner` (or, for operators, of anyone). New exchanges fail on every
    /// node once this returns; tokens already minted live out their short lifetime and are
    /// reported inactive by introspection. True when this call revoked it.
    pub async fn revoke(
        &self,
        owner: Option<AccountId>,
        id: PatId,
        origin: &Origin,
    ) -> Result<bool, IdentityError> {
        let pat = self.get(owner, id).await?;
        let now = self.deps.clock.now();
        let revoked = self.deps.repo.revoke_pat(id, owner, now).await?;
        // Published even when it was revoked already: a retry after a failed publish must
        // still reach the other nodes.
        self.deps
            .invalidations
            .publish(&format!("pat:{id}"))
            .await?;
        if revoked {
            let actor = if owner.is_some() { "owner" } else { "operator" };
            let event = AuditEvent::new(now, "pat.revoked", "success")
                .subject(pat.account_id.to_string())
                .actor(actor)
                .reason(format!("pat {id}"));
            self.deps.audit.record(event, origin).await;
        }
        Ok(revoked)
    }

    /// Revokes every PAT of the account (it was disabled); returns how many were live.
    pub async fn revoke_all(
        &self,
        account: AccountId,
        origin: &Origin,
    ) -> Result<u64, IdentityError> {
        let now = self.deps.clock.now();
        let revoked = self.deps.repo.revoke_pats_of_account(account, now).await?;
        self.deps
            .invalidations
            .publish(&format!("account:{account}"))
            .await?;
        if revoked > 0 {
            let event = AuditEvent::new(now, "pat.revoked", "success")
                .subject(account.to_string())
                .reason(format!("{revoked} pats of the account"));
            self.deps.audit.record(event, origin).await;
        }
        Ok(revoked)
    }

    /// `pat:<id>` or `account:<id>`, as [`PatService::revoke`] and
    /// [`PatService::revoke_all`] publish them; the other kinds are not this cache's.
    fn invalidated(&self, message: &str) {
        let Some(cache) = &self.cache else { return };
        match message.split_once(':') {
            Some(("pat", id)) => {
                if let Some(id) = PatId::parse(id) {
                    cache.forget_pat(id);
                }
            }
            Some(("account", id)) => {
                if let Ok(uuid) = id.parse() {
                    cache.forget_account(AccountId(uuid));
                }
            }
            // Other kinds belong to other caches (core's `Invalidations` lists them).
            Some(_) => {}
            None => tracing::warn!("an invalidation message without a kind was ignored"),
        }
    }

    /// The stored PAT behind `token_hash` if it is live and its account active.
    async fn load(&self, token_hash: &str, now: Timestamp) -> Result<Option<Pat>, StoreError> {
        let Some(pat) = self.deps.repo.find_pat_by_hash(token_hash).await? else {
            return Ok(None);
        };
        if !pat.is_live(now) {
            return Ok(None);
        }
        match self.deps.accounts.get_account(pat.account_id).await {
            Ok(account) if account.status == AccountStatus::Active => Ok(Some(pat)),
            Ok(_) | Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Coalesces "last used": one write (and one `pat.used` audit event) per PAT per minute
    /// per node, off the request's path.
    fn note_use(&self, pat: &Arc<Pat>, last_written: &AtomicI64, now: Timestamp, origin: &Origin) {
        let previous = last_written.load(Ordering::Relaxed);
        if now.seconds().saturating_sub(previous) < LAST_USED_EVERY_SECS {
            return;
        }
        if last_written
            .compare_exchange(previous, now.seconds(), Ordering::AcqRel, Ordering::Relaxed)
            .is_err()
        {
            return;
        }
        let repo = self.deps.repo.clone();
        let audit = self.deps.audit.clone();
        let (id, account) = (pat.id, pat.account_id);
        let origin = origin.clone();
        tokio::spawn(async move {
            if let Err(e) = repo.touch_pat(id, now).await {
                tracing::warn!(error = %e, pat = %id, "recording a PAT's last use failed");
            }
            let event = AuditEvent::new(now, "pat.used", "success")
                .subject(account.to_string())
                .reason(format!("pat {id}"));
            audit.record(event, &origin).await;
        });
    }
}

#[async_trait]
impl PatVerifier for PatService {
    async fn verify(
        &self,
        token: &Secret,
        origin: &Origin,
    ) -> Result<Option<VerifiedPat>, StoreError> {
        let now = self.deps.clock.now();
        let token_hash = self.deps.hasher.hash(token.expose());
        // Only a cache needs the invalidations (on the embedded default, one `stat`).
        let epoch = self
            .cache
            .as_ref()
            .and_then(|_| self.deps.invalidations.sync_epoch());
        if let (Some(cache), Some(epoch)) = (&self.cache, epoch) {
            if let Some(entry) = cache.get(&token_hash, epoch, now) {
                self.note_use(&entry.pat, &entry.last_written, now, origin);
                return Ok(Some(VerifiedPat {
                    pat: entry.pat.clone(),
                }));
            }
            let ticket = cache.ticket(epoch);
            let Some(pat) = self.load(&token_hash, now).await? else {
                return Ok(None);
            };
            let entry = cache.insert(&token_hash, Arc::new(pat), ticket, now);
            self.note_use(&entry.pat, &entry.last_written, now, origin);
            return Ok(Some(VerifiedPat {
                pat: entry.pat.clone(),
            }));
        }
        let Some(pat) = self.load(&token_hash, now).await? else {
            return Ok(None);
        };
        let pat = Arc::new(pat);
        let last_written = AtomicI64::new(pat.last_used_at.map_or(i64::MIN, |t| t.seconds()));
        self.note_use(&pat, &last_written, now, origin);
        Ok(Some(VerifiedPat { pat }))
    }

    async fn is_live(&self, id: PatId) -> Result<bool, StoreError> {
        let now = self.deps.clock.now();
        let Some(pat) = self.deps.repo.get_pat(id).await? else {
            return Ok(false);
        };
        if !pat.is_live(now) {
            return Ok(false);
        }
        match self.deps.accounts.get_account(pat.account_id).await {
            Ok(account) => Ok(account.status == AccountStatus::Active),
            Err(StoreError::NotFound) => Ok(false),
            Err(e) => Err(e),
        }
    }
}
