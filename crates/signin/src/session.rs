//! Browser sessions, kept in the ephemeral store under the keyed hash of an opaque random id
//! that lives in a cookie (the web layer owns the cookie; this module owns the record).
//!
//! A session ends after `idle_secs` without use (24 h, B7) and at the latest `max_secs` after
//! it started. A session the user chose to keep ("Stay signed in for 30 days", offered to
//! authenticator-app accounts) skips the idle rule only: it still ends at `max_secs`, and by
//! every way below. It remembers when *this* session last saw a password plus a second step
//! (`verified_at`): the step-up guard (B8) looks at nothing else.
//!
//! Every way a session ends (sign-out, a new sign-in in the same browser, "sign out
//! everywhere else", a password change, disabling the account) goes through [`SessionStore`]
//! and then queues back-channel logout notices for the clients that got a code in it
//! (`issuer::backchannel`). A session's `sid` is a keyed hash of its id under its own label:
//! stable, opaque, and useless as a cookie.
//!
//! The principal boundary (design of issue 13): a session of a site user's principal account
//! (`AccountKind::SiteUser`) counts only where [`SessionFor::Site`] names its own site — that
//! site's clients at `/authorize` and the device page, and the site's own pages. Everywhere
//! else ([`SessionStore::current`]: account pages and APIs, other clients, organizations,
//! PATs, step-up of account pages) it is as if nobody were signed in. The account's kind is
//! read from the store on every lookup, so no flag in the record can widen it.

use std::sync::Arc;
use std::time::Duration;

use lanyard_core::model::{
    Account, AccountKind, AccountStatus, Authenticated, SessionsEnded, SiteId,
};
use lanyard_core::ports::EphemeralStore;
use lanyard_core::ports::{AccountRepo, SessionListRepo};
use lanyard_core::rng::random_token;
use lanyard_core::{AccountId, Clock, EphemeralKey, Origin, Rng, StoreError, Timestamp};
use lanyard_crypto::TokenHasher;
use lanyard_identity::EnrollmentPolicy;
use lanyard_issuer::backchannel::Backchannel;
use serde::{Deserialize, Serialize};

use crate::{SessionSettings, SignInError};

mod listing;
mod upstream;

pub use listing::{ListedSession, ip_prefix};

/// Touching a session rewrites it; doing so at most this often keeps page views cheap.
const TOUCH_EVERY_SECS: i64 = 60;

/// A session id has exactly this shape (32 random bytes, base64url).
const ID_LEN: usize = 43;

/// A signed-in browser.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    pub auth: Authenticated,
    pub started_at: Timestamp,
    /// The last password + second step seen by this session (not a trusted-device skip).
    pub verified_at: Option<Timestamp>,
    pub last_seen: Timestamp,
    /// Set on the one session that used "sign out everywhere else" at that time, so it
    /// survives the cut that ends every session of the account started until then.
    #[serde(default)]
    pub kept_at: Option<Timestamp>,
    /// "Stay signed in": no idle limit, only the absolute one; the cookie outlives the
    /// browser until then.
    #[serde(default)]
    pub stay_signed_in: bool,
    /// The site whose principal signed in (the legacy site login); `None` for a person.
    #[serde(default)]
    pub site: Option<SiteId>,
    /// The organization whose identity provider signed this session in (amr `fed`).
    #[serde(default)]
    pub upstream: Option<lanyard_core::model::OrgId>,
}

/// Whose sessions a lookup accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionFor {
    /// People only: every account page and API, organizations, PATs, non-site clients.
    Person,
    /// A site's clients and pages: a person, or the principal of a user of this site.
    Site(SiteId),
    /// The device page, before a code says which client it is for: a person, or a principal
    /// of any site. The page then checks the code's client with [`SessionFor::Site`] before
    /// anything is shown or decided.
    Device,
    /// Sign-out only: whether to ask before ending this browser's session, whoever's it is.
    SignOut,
}

impl Session {
    /// The latest moment this session can last (its absolute end).
    pub fn ends_at(&self, settings: &SessionSettings) -> Timestamp {
        self.started_at.plus_secs(settings.max_secs)
    }
}

/// A session just started: the id goes into the cookie, once.
pub struct NewSession {
    pub id: String,
    pub session: Session,
}

impl std::fmt::Debug for NewSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSession")
            .field("session", &self.session)
            .finish_non_exhaustive()
    }
}

pub struct SessionStore {
    ephemeral: Arc<dyn EphemeralStore>,
    hasher: Arc<TokenHasher>,
    clock: Arc<dyn Clock>,
    rng: Arc<dyn Rng>,
    policy: EnrollmentPolicy,
    accounts: Arc<dyn AccountRepo>,
    backchannel: Arc<Backchannel>,
    sso: Arc<dyn lanyard_core::ports::SsoRequirement>,
    listings: Arc<dyn SessionListRepo>,
    settings: SessionSettings,
}

/// What a session store needs besides the ephemeral store.
pub struct SessionDeps {
    pub ephemeral: Arc<dyn EphemeralStore>,
    pub hasher: Arc<TokenHasher>,
    pub clock: Arc<dyn Clock>,
    pub rng: Arc<dyn Rng>,
    pub policy: EnrollmentPolicy,
    pub accounts: Arc<dyn AccountRepo>,
    pub backchannel: Arc<Backchannel>,
    /// G4: a session from a password sign-in counts for nothing once the account's
    /// organization requires its own sign-in.
    pub sso: Arc<dyn lanyard_core::ports::SsoRequirement>,
    /// The account pages' list of signed-in browsers (F3).
    pub listings: Arc<dyn SessionListRepo>,
}

impl SessionStore {
    pub fn new(deps: SessionDeps, settings: SessionSettings) -> Self {
        Self {
            ephemeral: deps.ephemeral,
            hasher: deps.hasher,
            clock: deps.clock,
            rng: deps.rng,
            policy: deps.policy,
            accounts: deps.accounts,
            backchannel: deps.backchannel,
            sso: deps.sso,
            listings: deps.listings,
            settings,
        }
    }

    pub fn settings(&self) -> &SessionSettings {
        &self.settings
    }

    /// The session's `sid` (OIDC Back-Channel Logout 1.0 §2.1) for a well-formed id.
    pub fn sid(&self, id: Option<&str>) -> Option<String> {
        id.filter(|id| id.len() == ID_LEN)
            .map(|id| self.hasher.hash(&format!("sid:{id}")))
    }

    fn key(&self, id: &str) -> String {
        EphemeralKey::Session(&self.hasher.hash(id)).to_string()
    }

    fn cut_key(account: AccountId) -> String {
        EphemeralKey::SessionsEnded(account).to_string()
    }

    /// How long the store keeps the record from now: the idle limit, or for a session kept
    /// signed in, what is left until its absolute end.
    fn ttl(&self, session: &Session) -> Duration {
        let secs = if session.stay_signed_in {
            session.ends_at(&self.settings).seconds() - self.clock.now().seconds()
        } else {
            self.settings.idle_secs
        };
        Duration::from_secs(secs.max(1) as u64)
    }

    /// The live session of a person this id names, sliding its idle expiry. A site user's
    /// principal is nobody here (see the module's note).
    pub async fn current(&self, id: Option<&str>) -> Result<Option<Session>, SignInError> {
        self.current_for(id, SessionFor::Person).await
    }

    /// The live session this id names if it counts for `audience`, sliding its idle expiry.
    pub async fn current_for(
        &self,
        id: Option<&str>,
        audience: SessionFor,
    ) -> Result<Option<Session>, SignInError> {
        let Some(id) = id.filter(|id| id.len() == ID_LEN) else {
            return Ok(None);
        };
        let key = self.key(id);
        let Some(bytes) = self.ephemeral.get(&key).await? else {
            return Ok(None);
        };
        let Ok(mut session) = serde_json::from_slice::<Session>(&bytes) else {
            return Ok(None);
        };
        if self.ended_by_cut(&session).await? {
            self.ephemeral.delete(&key).await?;
            return Ok(None);
        }
        // A disabled account has no session, even where the cut that disabling wrote did
        // not reach this store (the CLI beside an embedded server has its own memory).
        let Some(account) = self.active_account(session.auth.account_id).await? else {
            self.ephemeral.delete(&key).await?;
            return Ok(None);
        };
        // Outside its own site a principal's session is nobody's; it stays stored for the
        // site's next request.
        if !counts_for(&account, &session, audience) {
            return Ok(None);
        }
        // S54: an organization now requires an authenticator app this account lacks. The
        // session stays stored but counts for nothing until a new sign-in, which is forced
        // through setting one up, so a pre-policy session gets no codes or tokens.
        // SSO sessions are confirmed by the organization's own provider (docs/orgs.md):
        // the authenticator-app policy is not theirs to meet.
        let federated = session.upstream.is_some();
        if !federated && self.policy.enrollment_due(session.auth.account_id).await? {
            return Ok(None);
        }
        // G4: the organization now requires its own sign-in; this one was not it. Kept
        // stored, like the case above, but it signs nobody in.
        if !federated && self.sso.sso_required(&account.email).await? {
            return Ok(None);
        }
        let now = self.clock.now();
        let idle = now.seconds() - session.last_seen.seconds();
        let age = now.seconds() - session.started_at.seconds();
        let idle_over = !session.stay_signed_in && idle >= self.settings.idle_secs;
        if idle_over || age >= self.settings.max_secs {
            self.ephemeral.delete(&key).await?;
            return Ok(None);
        }
        if idle >= TOUCH_EVERY_SECS {
            session.last_seen = now;
            self.store(&key, &session).await?;
        }
        Ok(Some(session))
    }

    async fn store(&self, key: &str, session: &Session) -> Result<(), SignInError> {
        let value = serde_json::to_vec(session)?;
        self.ephemeral.put(key, &value, self.ttl(session)).await?;
        Ok(())
    }

    /// Starts a new session (a new id on every sign-in, ASVS 7.2.4) and ends the one this
    /// browser had. `stay_signed_in` lifts the idle limit (see the module's note); `site`
    /// is the site of a principal's legacy sign-in.
    pub async fn start(
        &self,
        previous: Option<&str>,
        auth: &Authenticated,
        verified_at: Option<Timestamp>,
        stay_signed_in: bool,
        site: Option<SiteId>,
        origin: &Origin,
    ) -> Result<NewSession, SignInError> {
        self.start_as(
            previous,
            auth,
            verified_at,
            (stay_signed_in, site),
            None,
            origin,
        )
        .await
    }

    async fn start_as(
        &self,
        previous: Option<&str>,
        auth: &Authenticated,
        verified_at: Option<Timestamp>,
        (stay_signed_in, site): (bool, Option<SiteId>),
        upstream: Option<lanyard_core::model::OrgId>,
        origin: &Origin,
    ) -> Result<NewSession, SignInError> {
        self.end(previous).await?;
        let id = random_token(&*self.rng, 32);
        let now = self.clock.now();
        let session = Session {
            auth: auth.clone(),
            started_at: now,
            verified_at,
            last_seen: now,
            kept_at: None,
            stay_signed_in,
            site,
            upstream,
        };
        self.store(&self.key(&id), &session).await?;
        self.list_started(&id, &session, origin).await?;
        Ok(NewSession { id, session })
    }

    /// Ends the session `id` names (sign-out, or a new sign-in in this browser) and queues
    /// the back-channel logout notices of its clients.
    pub async fn end(&self, id: Option<&str>) -> Result<(), SignInError> {
        let Some(id) = id else {
            return Ok(());
        };
        self.ephemeral.delete(&self.key(id)).await?;
        self.listings
            .remove_session_listing(&self.hasher.hash(id))
            .await?;
        if let Some(sid) = self.sid(Some(id)) {
            self.backchannel
                .sessions_ended(SessionsEnded::One { sid: &sid }, &Origin::default())
                .await?;
        }
        Ok(())
    }

    /// Ends every session of the account at once (it was disabled): a cut that no session
    /// is kept from, then the back-channel logout notices of all of them.
    pub async fn end_all(&self, account: AccountId, origin: &Origin) -> Result<(), SignInError> {
        let now = self.clock.now();
        self.write_cut(account, now).await?;
        self.listings
            .remove_session_listings_of(account, now)
            .await?;
        self.backchannel
            .sessions_ended(
                SessionsEnded::AllOf {
                    account,
                    keep: None,
                },
                origin,
            )
            .await?;
        Ok(())
    }

    /// [`Self::end_all`] for each account: a site's principals when it enters `identity`
    /// (they are disabled already, so this only queues their clients' logouts).
    pub async fn end_all_of(
        &self,
        accounts: &[AccountId],
        origin: &Origin,
    ) -> Result<(), SignInError> {
        for account in accounts {
            self.end_all(*account, origin).await?;
        }
        Ok(())
    }

    async fn write_cut(&self, account: AccountId, at: Timestamp) -> Result<(), SignInError> {
        // Kept as long as any session it ends could live.
        let ttl = Duration::from_secs(self.settings.max_secs.max(1) as u64);
        self.ephemeral
            .put(
                &Self::cut_key(account),
                at.seconds().to_string().as_bytes(),
                ttl,
            )
            .await?;
        Ok(())
    }

    async fn active_account(&self, account: AccountId) -> Result<Option<Account>, SignInError> {
        match self.accounts.get_account(account).await {
            Ok(a) if a.status == AccountStatus::Active => Ok(Some(a)),
            Ok(_) | Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Whether "sign out everywhere else" ended this session: it started at or before the
    /// account's last cut and is not the session that made it.
    async fn ended_by_cut(&self, session: &Session) -> Result<bool, SignInError> {
        let Some(bytes) = self
            .ephemeral
            .get(&Self::cut_key(session.auth.account_id))
            .await?
        else {
            return Ok(false);
        };
        let cut = std::str::from_utf8(&bytes)
            .ok()
            .and_then(|s| s.parse().ok())
            .map(Timestamp);
        Ok(match cut {
            Some(cut) => session.started_at <= cut && session.kept_at != Some(cut),
            // Unreadable: fail closed.
            None => true,
        })
    }

    /// Ends every other session of the account signed in with `id` (S31: after a factor or
    /// password change); this one is marked as the one kept. False without a live session.
    pub async fn end_others(&self, id: Option<&str>) -> Result<bool, SignInError> {
        let Some(mut session) = self.current(id).await? else {
            return Ok(false);
        };
        let Some(id) = id else {
            return Ok(false);
        };
        let now = self.clock.now();
        self.write_cut(session.auth.account_id, now).await?;
        session.kept_at = Some(now);
        self.store(&self.key(id), &session).await?;
        if let Some(sid) = self.sid(Some(id)) {
            self.backchannel
                .sessions_ended(
                    SessionsEnded::AllOf {
                        account: session.auth.account_id,
                        keep: Some(&sid),
                    },
                    &Origin::default(),
                )
                .await?;
        }
        Ok(true)
    }

    /// The site a stored session record names, before any check: only to pick the audience
    /// of a lookup that then checks everything.
    async fn peek_site(&self, id: Option<&str>) -> Result<Option<SiteId>, SignInError> {
        let Some(id) = id.filter(|id| id.len() == ID_LEN) else {
            return Ok(None);
        };
        let Some(bytes) = self.ephemeral.get(&self.key(id)).await? else {
            return Ok(None);
        };
        Ok(serde_json::from_slice::<Session>(&bytes)
            .ok()
            .and_then(|s| s.site))
    }

    /// What binds a flow to a session: a keyed hash of the session id, distinct from the hash
    /// that keys the session record.
    pub fn binding(&self, id: Option<&str>) -> Option<String> {
        session_binding(&self.hasher, id)
    }

    /// Records a step-up in the session `id` only: the proof is bound to this session, so
    /// copying a flag or cookie into another session carries nothing (S37).
    pub async fn mark_verified(
        &self,
        id: Option<&str>,
        auth: Authenticated,
    ) -> Result<bool, SignInError> {
        // The session's own kind: a principal reconfirms for its site's pages.
        let audience = match self.peek_site(id).await? {
            Some(site) => SessionFor::Site(site),
            None => SessionFor::Person,
        };
        let Some(mut session) = self.current_for(id, audience).await? else {
            return Ok(false);
        };
        let Some(id) = id else {
            return Ok(false);
        };
        if session.auth.account_id != auth.account_id {
            return Ok(false);
        }
        let now = self.clock.now();
        session.verified_at = Some(now);
        session.last_seen = now;
        session.auth = auth;
        self.store(&self.key(id), &session).await?;
        Ok(true)
    }
}

/// Whether a live session of `account` counts for `audience` (the principal boundary).
fn counts_for(account: &Account, session: &Session, audience: SessionFor) -> bool {
    match account.kind {
        AccountKind::Person => true,
        AccountKind::SiteUser => match audience {
            SessionFor::Person => false,
            SessionFor::Site(site) => session.site == Some(site),
            SessionFor::Device | SessionFor::SignOut => session.site.is_some(),
        },
    }
}

/// A keyed hash of the session id under its own label: what flows, notices and one-time
/// secrets are bound to (never the key the session record is stored under).
pub(crate) fn session_binding(hasher: &TokenHasher, id: Option<&str>) -> Option<String> {
    id.map(|id| hasher.hash(&format!("bind:{id}")))
}

#[cfg(test)]
mod tests {
    use lanyard_core::model::{Account, AccountKind, AccountStatus, Authenticated, SiteId};
    use lanyard_core::{AccountId, OsRng, Timestamp, ids::random_uuid};

    use super::{Session, SessionFor, counts_for};

    fn account(kind: AccountKind) -> Account {
        Account {
            id: AccountId(random_uuid(&OsRng)),
            email: "ada@example.com".to_owned(),
            email_normalized: "ada@example.com".to_owned(),
            email_verified: true,
            name: "Ada".to_owned(),
            password_hash: None,
            status: AccountStatus::Active,
            kind,
            time_zone: None,
            created_at: Timestamp(0),
            updated_at: Timestamp(0),
        }
    }

    fn session(account: &Account, site: Option<SiteId>) -> Session {
        Session {
            auth: Authenticated {
                account_id: account.id,
                auth_time: Timestamp(0),
                acr: String::new(),
                amr: vec![],
            },
            started_at: Timestamp(0),
            verified_at: None,
            last_seen: Timestamp(0),
            kept_at: None,
            stay_signed_in: false,
            site,
            upstream: None,
        }
    }

    #[test]
    fn a_principal_counts_only_for_its_own_site_the_device_page_and_sign_out() {
        let acme = SiteId(random_uuid(&OsRng));
        let other = SiteId(random_uuid(&OsRng));
        let principal = account(AccountKind::SiteUser);
        let own = session(&principal, Some(acme));
        assert!(counts_for(&principal, &own, SessionFor::Site(acme)));
        assert!(counts_for(&principal, &own, SessionFor::Device));
        assert!(counts_for(&principal, &own, SessionFor::SignOut));
        assert!(!counts_for(&principal, &own, SessionFor::Person));
        assert!(!counts_for(&principal, &own, SessionFor::Site(other)));
        // A principal's record that names no site (it can not be made) counts nowhere.
        let stray = session(&principal, None);
        for audience in [
            SessionFor::Person,
            SessionFor::Site(acme),
            SessionFor::Device,
            SessionFor::SignOut,
        ] {
            assert!(!counts_for(&principal, &stray, audience), "{audience:?}");
        }
        // A person counts everywhere, whatever the record says.
        let person = account(AccountKind::Person);
        for record in [session(&person, None), session(&person, Some(acme))] {
            for audience in [
                SessionFor::Person,
                SessionFor::Site(acme),
                SessionFor::Device,
                SessionFor::SignOut,
            ] {
                assert!(counts_for(&person, &record, audience), "{audience:?}");
            }
        }
    }
}
