//! The ports the services depend on. `lanyard-store` implements them on SQLite/PostgreSQL
//! (durable) and on memory/Redis (ephemeral); tests may implement them with fakes.
//!
//! Anything that must be atomic is one method here, so the implementation can make it one
//! transaction (or one Redis command).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::model::GraceSeal;
use crate::model::{
    Account, AccountStatus, AuditEvent, BackupCodeInfo, BackupCodeSet, Client, Consent, DeviceId,
    LogoutNotice, Membership, MfaMethod, MfaState, NewAccount, NewRefreshFamily, OrgId, OrgRole,
    Organization, Pat, PatId, QueuedNotices, RefreshFamily, RotateOutcome, SessionsEnded,
    SigningKeyRecord, TotpCredential, TrustedDevice, VerifiedPat,
};
use crate::{AccountId, ClientId, FamilyId, StoreError, Timestamp};

mod account_links;
mod admin;
mod federation;
mod privacy;
mod sessions;
mod sites;
pub use account_links::AccountLinkRepo;
pub use admin::{AccountFilter, AdminRoleRepo, AuditLog};
pub use federation::{FederationRepo, NoSsoRequirement, SsoRequirement};
pub use privacy::{PrivacyClaims, PrivacyRepo};
pub use sessions::SessionListRepo;
pub use sites::{ImportSummary, ImportedSiteUser, SiteRepo, SiteSubjects};

#[async_trait]
pub trait AccountRepo: Send + Sync {
    /// Fails with [`StoreError::Conflict`] when the normalized email is taken.
    async fn insert_account(&self, new: NewAccount, now: Timestamp) -> Result<Account, StoreError>;
    async fn get_account(&self, id: AccountId) -> Result<Account, StoreError>;
    /// People only (`AccountKind::Person`): a site user's principal is never found by email.
    async fn find_account_by_email(
        &self,
        email_normalized: &str,
    ) -> Result<Option<Account>, StoreError>;
    /// People only, ordered by id (creation order, UUIDv7); keyset pagination with `after`.
    async fn list_accounts(
        &self,
        after: Option<AccountId>,
        limit: u64,
    ) -> Result<Vec<Account>, StoreError>;
    /// People only.
    async fn count_accounts(&self) -> Result<u64, StoreError>;
    async fn update_account_status(
        &self,
        id: AccountId,
        status: AccountStatus,
        now: Timestamp,
    ) -> Result<(), StoreError>;
    async fn update_password_hash(
        &self,
        id: AccountId,
        password_hash: &str,
        now: Timestamp,
    ) -> Result<(), StoreError>;
    /// Sets (or with `None` clears) the account's time zone; the caller has checked the name.
    async fn update_time_zone(
        &self,
        id: AccountId,
        time_zone: Option<&str>,
        now: Timestamp,
    ) -> Result<(), StoreError>;
}

#[async_trait]
pub trait ClientRepo: Send + Sync {
    /// Fails with [`StoreError::Conflict`] when the id is taken.
    async fn insert_client(&self, client: &Client) -> Result<(), StoreError>;
    async fn find_client(&self, id: &ClientId) -> Result<Option<Client>, StoreError>;
    async fn list_clients(&self) -> Result<Vec<Client>, StoreError>;
    async fn count_clients(&self) -> Result<u64, StoreError>;
    /// True when a client was deleted.
    async fn delete_client(&self, id: &ClientId) -> Result<bool, StoreError>;
}

#[async_trait]
pub trait ConsentRepo: Send + Sync {
    async fn find_consent(
        &self,
        account: AccountId,
        client: &ClientId,
    ) -> Result<Option<Consent>, StoreError>;
    /// Inserts or replaces the consent of this account for this client.
    async fn upsert_consent(&self, consent: &Consent) -> Result<(), StoreError>;
    /// Every consent of the account (the connected applications page), newest first.
    async fn consents_of(&self, account: AccountId) -> Result<Vec<Consent>, StoreError>;
    /// True when a consent was removed.
    async fn delete_consent(
        &self,
        account: AccountId,
        client: &ClientId,
    ) -> Result<bool, StoreError>;
}

#[async_trait]
pub trait SigningKeyRepo: Send + Sync {
    async fn insert_signing_key(&self, key: &SigningKeyRecord) -> Result<(), StoreError>;
    async fn list_signing_keys(&self) -> Result<Vec<SigningKeyRecord>, StoreError>;
    async fn update_signing_key_retirement(
        &self,
        kid: &str,
        retired_at: Timestamp,
        remove_after: Timestamp,
    ) -> Result<(), StoreError>;
    async fn delete_signing_key(&self, kid: &str) -> Result<bool, StoreError>;
}

#[async_trait]
pub trait RefreshRepo: Send + Sync {
    async fn insert_family(&self, new: NewRefreshFamily) -> Result<(), StoreError>;
    async fn find_family(&self, id: FamilyId) -> Result<Option<RefreshFamily>, StoreError>;
    async fn find_family_by_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<RefreshFamily>, StoreError>;
    /// Like [`RefreshRepo::find_family_by_token`], but only while the token is the family's
    /// current one (not yet rotated): what introspection may call active.
    async fn find_family_by_current_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<RefreshFamily>, StoreError>;
    /// Atomically: retire `presented_hash` and store `successor_hash` if it is the family's
    /// current token and the family is live (moving the idle expiry to
    /// `min(now + idle_ttl_secs, absolute_expires_at)`); revoke the family if the token was
    /// already retired (reuse, RFC 9700 §4.14.2). Two concurrent calls with the same token:
    /// at most one sees `Rotated`.
    ///
    /// With `grace`, a rotation also keeps the sealed successor (replacing what the previous
    /// rotation kept; without `grace` it keeps nothing), and a retired token is not reuse
    /// but `Replayed` when it is the family's immediately previous token and
    /// `now < rotated_at + grace.window_secs`. A call that loses a race to rotate decides
    /// on what the winner committed, so concurrent retries within the window all get the
    /// winner's successor and never a second live token.
    async fn rotate_refresh_token(
        &self,
        presented_hash: &str,
        successor_hash: &str,
        grace: Option<GraceSeal>,
        now: Timestamp,
        idle_ttl_secs: i64,
    ) -> Result<RotateOutcome, StoreError>;
    /// How many of the family's tokens have not been rotated out: at most one by
    /// construction. An invariant probe for tests and operators.
    async fn count_current_tokens(&self, family: FamilyId) -> Result<u64, StoreError>;
    /// True when the family was live and is now revoked.
    async fn revoke_family(&self, id: FamilyId, now: Timestamp) -> Result<bool, StoreError>;
    /// Revokes every live family of the account (disable, password change); returns how many.
    async fn revoke_families_of_account(
        &self,
        account: AccountId,
        now: Timestamp,
    ) -> Result<u64, StoreError>;
    /// The account's families live at `now` (the connected applications page).
    async fn live_families_of_account(
        &self,
        account: AccountId,
        now: Timestamp,
    ) -> Result<Vec<RefreshFamily>, StoreError>;
    /// Revokes the account's live families of one client; returns how many.
    async fn revoke_families_of_client(
        &self,
        account: AccountId,
        client: &ClientId,
        now: Timestamp,
    ) -> Result<u64, StoreError>;
}

/// The second step's durable state (requirements B2–B7). Every "exactly once" rule is one
/// conditional update here, so concurrent requests on any node can not both succeed.
/// Sets of ten single-use backup codes (C4), which site principals have where people have
/// one backup code. Its own trait because it is its own table and rule; a supertrait of
/// [`MfaRepo`] because the second step checks a set wherever it checks a backup code, so
/// every MFA store has sets.
#[async_trait]
pub trait BackupCodeSetRepo: Send + Sync {
    /// The account's current set, used codes included; `None` before the first one.
    async fn backup_code_set(
        &self,
        account: AccountId,
    ) -> Result<Option<BackupCodeSet>, StoreError>;
    /// How many codes of the current set are unused (0 without a set).
    async fn unused_set_codes(&self, account: AccountId) -> Result<u32, StoreError>;
    /// In one transaction: the account's set (if any) and all its codes, used or not, are
    /// replaced by `sealed` and the codes hashing to `code_hashes` (in the sealed copy's
    /// order). A concurrent use of an old code either commits before it or finds nothing,
    /// and there is never a moment without a set.
    async fn replace_backup_code_set(
        &self,
        account: AccountId,
        sealed: &[u8],
        code_hashes: &[String],
        now: Timestamp,
    ) -> Result<(), StoreError>;
    /// The account's first set, as [`Self::replace_backup_code_set`] writes it, but only when
    /// it has none: false (nothing written) when a set exists, also one a concurrent call
    /// wrote a moment ago — so two tabs finishing the same set-up make one set, not two.
    async fn create_first_backup_code_set(
        &self,
        account: AccountId,
        sealed: &[u8],
        code_hashes: &[String],
        now: Timestamp,
    ) -> Result<bool, StoreError>;
    /// Marks the unused code of the account's current set whose hash is `code_hash` as used
    /// (`UPDATE … WHERE used_at IS NULL`, row count checked). True only for the call that
    /// used it: of 50 concurrent uses of one code, one.
    async fn consume_set_code(
        &self,
        account: AccountId,
        code_hash: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError>;
    /// Removes the account's set; true when it had one.
    async fn delete_backup_code_set(&self, account: AccountId) -> Result<bool, StoreError>;
}

#[async_trait]
pub trait MfaRepo: BackupCodeSetRepo + Send + Sync {
    /// The account's state; the default ([`MfaState::new`]) when none is stored yet.
    async fn mfa_state(&self, account: AccountId) -> Result<MfaState, StoreError>;
    /// Atomically adds one failure (stamped `now`) and returns the new state: of N
    /// concurrent failures, all N are counted.
    async fn record_mfa_failure(
        &self,
        account: AccountId,
        now: Timestamp,
    ) -> Result<MfaState, StoreError>;
    /// In one transaction with the account's row locked: when `open` says the account may
    /// try now, adds one failure stamped `now` — an attempt is counted *before* it is checked,
    /// so parallel attempts can not all pass the lock check first (CVE-2024-4629) — and
    /// returns the state before and after; otherwise changes nothing and returns `None`.
    async fn reserve_mfa_attempt(
        &self,
        account: AccountId,
        now: Timestamp,
        open: &(dyn for<'s> Fn(&'s MfaState) -> bool + Send + Sync),
    ) -> Result<Option<(MfaState, MfaState)>, StoreError>;
    /// Takes back one failure reserved at `reserved_at` for an attempt that turned out right
    /// (or no guess): the count goes down by one and, unless another failure was stamped
    /// since, the last failure time goes back to `restore` (the reservation's `before`).
    async fn release_mfa_attempt(
        &self,
        account: AccountId,
        reserved_at: Timestamp,
        restore: Option<Timestamp>,
    ) -> Result<(), StoreError>;
    /// A successful second step: the failure count goes back to zero.
    async fn clear_mfa_failures(&self, account: AccountId) -> Result<(), StoreError>;
    /// Bumps the credential epoch (distrusting every device) and returns the new epoch.
    async fn bump_credential_epoch(&self, account: AccountId) -> Result<i64, StoreError>;

    /// The active (`confirmed_at` set) or the pending credential.
    async fn totp_credential(
        &self,
        account: AccountId,
        pending: bool,
    ) -> Result<Option<TotpCredential>, StoreError>;
    /// Stores a new pending credential, replacing an earlier pending one; the active one
    /// (if any) keeps working until the pending one is confirmed.
    async fn put_pending_totp(
        &self,
        account: AccountId,
        secret_sealed: &[u8],
        now: Timestamp,
    ) -> Result<(), StoreError>;
    /// In one transaction: the pending credential becomes the active one (replacing the old
    /// active one) with `last_used_step = step`, the method becomes `totp`, and the epoch is
    /// bumped — but only while the pending secret is still `checked_secret`, the one the code
    /// was checked against. False when there was no such pending credential (a concurrent
    /// confirm won, or another set-up replaced it meanwhile).
    async fn activate_pending_totp(
        &self,
        account: AccountId,
        checked_secret: &[u8],
        step: i64,
        now: Timestamp,
    ) -> Result<bool, StoreError>;
    /// Accepts `step` for the active credential only if it is later than the last accepted
    /// one (`UPDATE … WHERE last_used_step IS NULL OR last_used_step < step`). True when
    /// this call advanced it: of two concurrent calls with the same step, one wins.
    async fn advance_totp_step(&self, account: AccountId, step: i64) -> Result<bool, StoreError>;
    /// Removes both credentials; when an active one was among them (the only case it returns
    /// true), also sets the method back to `email` and bumps the epoch.
    async fn delete_totp(&self, account: AccountId) -> Result<bool, StoreError>;
    /// Only switches the method (both methods must be usable: `totp` needs an active
    /// credential, which the caller checked).
    async fn set_mfa_method(&self, account: AccountId, method: MfaMethod)
    -> Result<(), StoreError>;

    /// The unused backup code, if the account has one.
    async fn backup_code(&self, account: AccountId) -> Result<Option<BackupCodeInfo>, StoreError>;
    /// In one transaction: marks the unused code whose hash is `code_hash` as used
    /// (`UPDATE … WHERE used_at IS NULL`, row count checked) and stores `replacement_hash` as
    /// the new unused code. False, and nothing changed, when no unused code has that hash.
    async fn consume_backup_code(
        &self,
        account: AccountId,
        code_hash: &str,
        replacement_hash: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError>;
    /// In one transaction: retires any unused code and stores `code_hash` as the new one.
    /// There is never a moment with no code, nor one with two.
    async fn replace_backup_code(
        &self,
        account: AccountId,
        code_hash: &str,
        now: Timestamp,
    ) -> Result<(), StoreError>;

    async fn insert_trusted_device(&self, device: &TrustedDevice) -> Result<(), StoreError>;
    /// The device whose cookie token hashes to `token_hash`, revoked or not.
    async fn find_trusted_device(
        &self,
        token_hash: &str,
    ) -> Result<Option<TrustedDevice>, StoreError>;
    async fn touch_trusted_device(&self, id: DeviceId, now: Timestamp) -> Result<(), StoreError>;
    /// Devices not revoked and not expired at `now`, newest first.
    async fn list_trusted_devices(
        &self,
        account: AccountId,
        now: Timestamp,
    ) -> Result<Vec<TrustedDevice>, StoreError>;
    /// True when a live device of this account was revoked (a foreign id changes nothing).
    async fn revoke_trusted_device(
        &self,
        account: AccountId,
        id: DeviceId,
        now: Timestamp,
    ) -> Result<bool, StoreError>;
    /// Revokes every device of the account; returns how many were live.
    async fn revoke_trusted_devices(
        &self,
        account: AccountId,
        now: Timestamp,
    ) -> Result<u64, StoreError>;
}

/// Personal access tokens (E1–E3). The exchange looks tokens up by hash; everything else
/// goes by id.
#[async_trait]
pub trait PatRepo: Send + Sync {
    /// Fails with [`StoreError::Conflict`] when the hash is taken (a repeated random draw).
    async fn insert_pat(&self, pat: &Pat) -> Result<(), StoreError>;
    /// The PAT whose token hashes to `token_hash`, revoked or not (one indexed lookup).
    async fn find_pat_by_hash(&self, token_hash: &str) -> Result<Option<Pat>, StoreError>;
    async fn get_pat(&self, id: PatId) -> Result<Option<Pat>, StoreError>;
    /// Not revoked (expired ones included), newest first; every account's when `None`.
    async fn list_pats(
        &self,
        account: Option<AccountId>,
        limit: u64,
    ) -> Result<Vec<Pat>, StoreError>;
    /// Not revoked and not expired at `now`.
    async fn count_live_pats(&self, account: AccountId, now: Timestamp) -> Result<u64, StoreError>;
    /// True when a PAT that was not revoked is now revoked. With `owner`, only that
    /// account's PAT is touched (a foreign id changes nothing).
    async fn revoke_pat(
        &self,
        id: PatId,
        owner: Option<AccountId>,
        now: Timestamp,
    ) -> Result<bool, StoreError>;
    /// Revokes every PAT of the account; returns how many were not revoked yet.
    async fn revoke_pats_of_account(
        &self,
        account: AccountId,
        now: Timestamp,
    ) -> Result<u64, StoreError>;
    /// Moves `last_used_at` forward to `used_at` (never back: nodes flush in any order).
    async fn touch_pat(&self, id: PatId, used_at: Timestamp) -> Result<(), StoreError>;
}

/// How the token issuer checks a personal access token without knowing how PATs are stored
/// or cached (the identity service implements it; the server wires it in).
#[async_trait]
pub trait PatVerifier: Send + Sync {
    /// The PAT behind a well-formed `token` when it is live and its account active; `None`
    /// for every other case, all alike (unknown, revoked, expired, account disabled).
    /// `origin` goes into the (coalesced) `pat.used` audit event.
    async fn verify(
        &self,
        token: &crate::Secret,
        origin: &crate::Origin,
    ) -> Result<Option<VerifiedPat>, StoreError>;
    /// Whether tokens minted from this PAT are still good (introspection).
    async fn is_live(&self, id: PatId) -> Result<bool, StoreError>;
}

/// Organizations, their members and their sign-in policy (S54).
#[async_trait]
pub trait OrgRepo: Send + Sync {
    /// Fails with [`StoreError::Conflict`] when the slug is taken.
    async fn insert_org(&self, org: &Organization) -> Result<(), StoreError>;
    async fn org_by_slug(&self, slug: &str) -> Result<Option<Organization>, StoreError>;
    async fn org_by_id(&self, id: OrgId) -> Result<Option<Organization>, StoreError>;
    /// Adds the account or changes its role; the join time stays that of the first join.
    async fn put_member(&self, member: &Membership) -> Result<(), StoreError>;
    /// True when the account was a member.
    async fn remove_member(&self, org: OrgId, account: AccountId) -> Result<bool, StoreError>;
    async fn member_role(
        &self,
        org: OrgId,
        account: AccountId,
    ) -> Result<Option<OrgRole>, StoreError>;
    async fn list_members(&self, org: OrgId) -> Result<Vec<Membership>, StoreError>;
    /// Turns the authenticator requirement on (`Some(since)`) or off (`None`); true when it
    /// changed (turning it on again keeps the first `since`).
    async fn set_authenticator_required(
        &self,
        org: OrgId,
        since: Option<Timestamp>,
    ) -> Result<bool, StoreError>;
    /// Since when the account must have an authenticator app: over the organizations that
    /// require one, the latest of (policy turned on, account joined); `None` when none does.
    async fn authenticator_required_since(
        &self,
        account: AccountId,
    ) -> Result<Option<Timestamp>, StoreError>;
}

/// Whether an account's sign-in policy still accepts a grant (the identity service
/// implements it; the issuer asks before refreshing).
#[async_trait]
pub trait SignInPolicy: Send + Sync {
    /// False when the account's policy changed after the grant's sign-in (`auth_time`) in a
    /// way that sign-in did not meet: the grant needs a new authorization.
    async fn grant_still_allowed(
        &self,
        account: AccountId,
        auth_time: Timestamp,
    ) -> Result<bool, StoreError>;
}

/// Tells every node that something it may cache changed (a PAT was revoked, a site was
/// created for a client). In-process for the embedded default; Redis pub/sub for a cluster.
/// Messages are `<kind>:<id>`, ids only; every listener sees every kind and ignores the kinds
/// it does not cache: `pat`, `account` (identity's PAT cache), `client` (the issuer's client
/// cache, [`client_invalidation`]).
#[async_trait]
pub trait Invalidations: Send + Sync {
    /// Delivers `message` to every node's listener, this node's included, and returns once
    /// each node listening has handled it (or a bounded wait has passed, logged).
    async fn publish(&self, message: &str) -> Result<(), StoreError>;
    /// Registers this node's listener.
    fn listen(&self, listener: Arc<dyn Fn(&str) + Send + Sync>);
    /// `None` while this node may be missing messages (its subscription is down): nothing
    /// cached may be trusted then. A new value after each reconnect: what was cached under
    /// an older one may have missed a message.
    fn sync_epoch(&self) -> Option<u64>;
}

/// The message that makes every node drop its cached copy of `client`: published after a
/// change a cached copy must not hide (the client deleted, a site created for it).
pub fn client_invalidation(client: &ClientId) -> String {
    format!("{CLIENT_KIND}:{client}")
}

/// The client id a [`client_invalidation`] message names, as sent; `None` for other kinds.
pub fn invalidated_client(message: &str) -> Option<&str> {
    message
        .split_once(':')
        .and_then(|(kind, id)| (kind == CLIENT_KIND).then_some(id))
}

const CLIENT_KIND: &str = "client";

#[async_trait]
pub trait AuditRepo: Send + Sync {
    async fn insert_audit(&self, event: &AuditEvent) -> Result<(), StoreError>;
    /// Newest first; `kind` filters on the exact kind.
    async fn list_audit(
        &self,
        kind: Option<&str>,
        limit: u64,
    ) -> Result<Vec<AuditEvent>, StoreError>;
}

/// Short-lived state where absence means invalid: authorization codes, sessions, interaction
/// state, replay guards, rate counters. In-process for the embedded default, Redis in
/// production. Keys are never secrets: callers key by a hash of any secret value. Every key
/// is an [`EphemeralKey`](crate::EphemeralKey) rendered to its string.
#[async_trait]
pub trait EphemeralStore: Send + Sync {
    async fn put(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), StoreError>;
    /// Stores only if the key is absent; true when stored (a replay guard).
    async fn put_if_absent(
        &self,
        key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> Result<bool, StoreError>;
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Returns and removes the value in one atomic step: of two concurrent takes of the same
    /// key, exactly one gets the value.
    async fn take(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// True when a value was removed.
    async fn delete(&self, key: &str) -> Result<bool, StoreError>;
    /// Adds one and returns the new count; the TTL starts with the first increment of a
    /// window and is not extended by later ones.
    async fn increment(&self, key: &str, ttl: Duration) -> Result<u64, StoreError>;
}

/// Back-channel logout (OIDC Back-Channel Logout 1.0): the session ↔ client links and the
/// durable outbox of logout notices. Durable so that a restart loses no notice.
#[async_trait]
pub trait LogoutRepo: Send + Sync {
    /// Remembers that `client` got a code in session `sid` of `account` (idempotent).
    async fn insert_session_client(
        &self,
        sid: &str,
        account: AccountId,
        client: &ClientId,
        now: Timestamp,
    ) -> Result<(), StoreError>;
    /// In one transaction: removes the links of the ended sessions and writes one notice per
    /// link whose client registered a back-channel URI, while the outbox holds fewer than
    /// `capacity` notices; the rest are reported as dropped.
    async fn queue_logout_notices(
        &self,
        ended: SessionsEnded<'_>,
        now: Timestamp,
        capacity: u64,
    ) -> Result<QueuedNotices, StoreError>;
    /// Claims up to `limit` notices due at `now`: each claimed notice's attempt count goes
    /// up by one and it is not due again before `lease_until` (so two nodes never send the
    /// same attempt, and a node that dies mid-send leaves it to be retried).
    async fn claim_logout_notices(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u64,
    ) -> Result<Vec<LogoutNotice>, StoreError>;
    async fn reschedule_logout_notice(
        &self,
        id: uuid::Uuid,
        next_attempt_at: Timestamp,
    ) -> Result<(), StoreError>;
    async fn delete_logout_notice(&self, id: uuid::Uuid) -> Result<(), StoreError>;
    async fn count_logout_notices(&self) -> Result<u64, StoreError>;
    /// Removes links made before `before` (their sessions can no longer be alive).
    async fn purge_session_clients(&self, before: Timestamp) -> Result<u64, StoreError>;
}

/// Every durable repository, for wiring convenience.
pub trait DurableStore:
    AccountRepo
    + ClientRepo
    + ConsentRepo
    + SigningKeyRepo
    + RefreshRepo
    + MfaRepo
    + PatRepo
    + OrgRepo
    + SiteRepo
    + FederationRepo
    + AuditRepo
    + LogoutRepo
    + PrivacyRepo
    + SessionListRepo
{
}

impl<T> DurableStore for T where
    T: AccountRepo
        + ClientRepo
        + ConsentRepo
        + SigningKeyRepo
        + RefreshRepo
        + MfaRepo
        + PatRepo
        + OrgRepo
        + SiteRepo
        + FederationRepo
        + AuditRepo
        + LogoutRepo
        + PrivacyRepo
        + SessionListRepo
{
}
