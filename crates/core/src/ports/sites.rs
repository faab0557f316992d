//! The ports of sites (C1–C6): their store, and whom a site client's tokens name.

use async_trait::async_trait;

use crate::model::{
    ClientSubject, Invitation, InvitationId, MigrationProgress, MigrationState, Site, SiteId,
    SiteSubject, SiteUser, SiteUserId,
};
use crate::{AccountId, ClientId, StoreError, Timestamp};

/// One row of an import, ready to store: the service has checked it and made its ids.
#[derive(Debug, Clone)]
pub struct ImportedSiteUser {
    /// `principal` names the account row the store creates with it (kind `site_user`,
    /// status active, no password: the legacy hash stays on the site user).
    pub user: SiteUser,
    /// A TOTP secret the legacy site already had, sealed with the KEK: it becomes the
    /// principal's active authenticator app.
    pub sealed_totp_secret: Option<Vec<u8>>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportSummary {
    pub added: u64,
    /// Rows whose login already exists with the same email and role.
    pub unchanged: u64,
}

/// Sites, their users and invitations (C1–C6).
#[async_trait]
pub trait SiteRepo: Send + Sync {
    /// Fails with [`StoreError::Conflict`] when the slug, or one of its clients, is taken.
    async fn insert_site(&self, site: &Site) -> Result<(), StoreError>;
    async fn get_site(&self, id: SiteId) -> Result<Option<Site>, StoreError>;
    async fn site_by_slug(&self, slug: &str) -> Result<Option<Site>, StoreError>;
    /// The site a client belongs to, if any (the token issuer's and `/authorize`'s question).
    async fn site_for_client(&self, client: &ClientId) -> Result<Option<Site>, StoreError>;
    async fn list_sites(&self) -> Result<Vec<Site>, StoreError>;
    /// Moves `from` → `to` only if the site is still in `from`; false otherwise. Entering
    /// `identity` also erases, in the same transaction, every site user's legacy hash, the
    /// principals' authenticator apps and backup-code sets, and disables the principals.
    async fn set_migration_state(
        &self,
        site: SiteId,
        from: MigrationState,
        to: MigrationState,
        now: Timestamp,
    ) -> Result<bool, StoreError>;
    /// `Some(since)` turns the 2FA preference on (keeping an earlier `since`), `None` off.
    async fn set_two_factor_required(
        &self,
        site: SiteId,
        since: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<(), StoreError>;

    /// All rows in one transaction: every row is added or found unchanged, or nothing is
    /// written ([`StoreError::Conflict`] when a login or email clashes with another row or
    /// an existing site user; the service has already named each clash with its row number,
    /// so this is the race's answer and carries no value).
    async fn import_site_users(
        &self,
        site: SiteId,
        rows: &[ImportedSiteUser],
        now: Timestamp,
    ) -> Result<ImportSummary, StoreError>;
    async fn get_site_user(&self, id: SiteUserId) -> Result<Option<SiteUser>, StoreError>;
    async fn site_user_by_login(
        &self,
        site: SiteId,
        login_normalized: &str,
    ) -> Result<Option<SiteUser>, StoreError>;
    /// The site user whose principal account this is.
    async fn site_user_by_principal(
        &self,
        principal: AccountId,
    ) -> Result<Option<SiteUser>, StoreError>;
    /// The site user of `site` linked to the identity account.
    async fn site_user_for_account(
        &self,
        site: SiteId,
        account: AccountId,
    ) -> Result<Option<SiteUser>, StoreError>;
    /// Site users (of any site) with this normalized email, unlinked and not awaiting an
    /// email confirmation: candidates for automatic linking.
    async fn linkable_site_users(
        &self,
        email_normalized: &str,
    ) -> Result<Vec<SiteUser>, StoreError>;
    /// A page of a site's users in login order, after `after_login` (keyset).
    async fn list_site_users(
        &self,
        site: SiteId,
        after_login: Option<&str>,
        limit: u32,
    ) -> Result<Vec<SiteUser>, StoreError>;
    /// A page of a site's users in login order after `after_login`, each with its latest
    /// invitation (the progress lists: linked, invited, not yet invited, expired or bounced).
    async fn list_site_users_with_invitations(
        &self,
        site: SiteId,
        after_login: Option<&str>,
        limit: u32,
    ) -> Result<Vec<(SiteUser, Option<Invitation>)>, StoreError>;
    /// Every site user (of any site) linked to the identity account.
    async fn site_users_of_account(&self, account: AccountId) -> Result<Vec<SiteUser>, StoreError>;
    /// Ends the link to an identity account, if there is one; false otherwise.
    async fn unlink_site_user(&self, user: SiteUserId, now: Timestamp) -> Result<bool, StoreError>;
    /// Links the site user to the account if it is not linked yet; false otherwise.
    async fn link_site_user(
        &self,
        user: SiteUserId,
        account: AccountId,
        now: Timestamp,
    ) -> Result<bool, StoreError>;
    /// The first successful legacy login: clears the legacy hash and gives the principal
    /// `argon2_hash`, in one transaction, only if the legacy hash is still `legacy_hash`.
    async fn promote_legacy_password(
        &self,
        user: SiteUserId,
        legacy_hash: &str,
        argon2_hash: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError>;
    /// Changes the email (C6): marks it unconfirmed since `now` and supersedes live
    /// invitations. Conflict when another user of the site has it.
    async fn change_site_user_email(
        &self,
        user: SiteUserId,
        email: &str,
        email_normalized: &str,
        now: Timestamp,
    ) -> Result<(), StoreError>;
    async fn confirm_site_user_email(
        &self,
        user: SiteUserId,
        now: Timestamp,
    ) -> Result<(), StoreError>;

    /// Stores a new invitation and supersedes the site user's earlier live ones (re-sending
    /// kills the old link), in one transaction.
    async fn insert_invitation(&self, invitation: &Invitation) -> Result<(), StoreError>;
    async fn invitation_by_token_hash(
        &self,
        token_hash: &str,
    ) -> Result<Option<Invitation>, StoreError>;
    /// Marks it accepted only if it is neither accepted, superseded nor expired at `now`;
    /// false otherwise (of 20 parallel claims, one wins).
    async fn accept_invitation(&self, id: InvitationId, now: Timestamp)
    -> Result<bool, StoreError>;
    async fn mark_invitation_bounced(
        &self,
        id: InvitationId,
        now: Timestamp,
    ) -> Result<(), StoreError>;
    /// The site user's latest invitation.
    async fn latest_invitation(&self, user: SiteUserId) -> Result<Option<Invitation>, StoreError>;
    async fn migration_progress(
        &self,
        site: SiteId,
        now: Timestamp,
    ) -> Result<MigrationProgress, StoreError>;
    /// The earliest `two_factor_required_since` of the sites where `account` is the
    /// principal of a site user whose role needs two factors, or the identity account linked
    /// to such a site user; `None` when no such site requires it. One query: it runs on
    /// every session lookup through the enrollment policy.
    async fn two_factor_required_since(
        &self,
        account: AccountId,
    ) -> Result<Option<Timestamp>, StoreError>;
}

/// Whom the tokens of a client name (design: a site's clients see the site user, so a relying
/// party keeps one `sub` before and after the migration). `lanyard-sites` implements it over
/// [`SiteRepo`]; the issuer asks it wherever it mints a token or answers for a user.
#[async_trait]
pub trait SiteSubjects: Send + Sync {
    /// For a grant of `account` at `client`.
    async fn subject_for(
        &self,
        client: &ClientId,
        account: AccountId,
    ) -> Result<ClientSubject, StoreError>;
    /// Whom `client`'s tokens for `account` named, whether or not the account may still have
    /// them (a logout token after the site moved on, an `id_token_hint`): the site user it is
    /// the principal of, or is linked to, at the client's site. `None` for a client of no site
    /// or an account with no user there.
    async fn named_subject(
        &self,
        client: &ClientId,
        account: AccountId,
    ) -> Result<Option<SiteSubject>, StoreError>;
    /// For a personal access token tied to `site_user` (E2): the subject while the site user
    /// is still linked to `account`, the site admits identity accounts (`dual`, `identity`),
    /// and — when the site requires two factors of the site user's role — the account has an
    /// authenticator app. `None` otherwise: the exchange is refused.
    async fn pat_subject(
        &self,
        site_user: SiteUserId,
        account: AccountId,
    ) -> Result<Option<SiteSubject>, StoreError>;
}
