//! Which session counts for a site's client (`/authorize`, the device page) and as whom.
//!
//! - The principal of a user of *this* site, while the site still offers its legacy login
//!   (`legacy`, `dual`): the site user it belongs to.
//! - A person, while the site offers identity sign-in (`dual`, `identity`): the site user
//!   their identity account is linked to (automatic linking by verified email is tried
//!   first, C5); a person with no site user here has no access to the site.
//! - Anyone else — nobody signed in, another site's principal, a person on a `legacy` site —
//!   must sign in (the site's login page, or the identity login in `identity`).

use lanyard_core::model::{Site, SiteUser};
use lanyard_core::{AccountId, ClientId, Origin};

use crate::session::{Session, SessionFor};
use crate::{SignInError, SignInService};

/// What a site's client may do with this browser's session.
#[derive(Debug)]
pub enum SiteAccess {
    /// Nobody who counts for this site is signed in.
    SignIn,
    /// Signed in as this site user (its principal, or a linked identity account).
    Granted {
        session: Box<Session>,
        user: Box<SiteUser>,
    },
    /// A person is signed in whose identity account has no user on this site.
    NoAccess { session: Box<Session> },
}

impl SignInService {
    /// The site a client belongs to, if any.
    pub async fn site_for_client(&self, client: &str) -> Result<Option<Site>, SignInError> {
        let Some(client) = ClientId::parse(client) else {
            return Ok(None);
        };
        Ok(self.sites.site_for_client(&client).await?)
    }

    pub async fn site_by_slug(&self, slug: &str) -> Result<Option<Site>, SignInError> {
        // Slugs are short lower-case words: anything else names no site, without a lookup.
        let plausible = !slug.is_empty()
            && slug.len() <= 64
            && slug
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !plausible {
            return Ok(None);
        }
        Ok(self.sites.site_by_slug(slug).await?)
    }

    /// Which of this browser's sessions counts for `site`, and as which site user.
    pub async fn site_access(
        &self,
        session_id: Option<&str>,
        site: &Site,
        origin: &Origin,
    ) -> Result<SiteAccess, SignInError> {
        let Some(session) = self
            .sessions
            .current_for(session_id, SessionFor::Site(site.id))
            .await?
        else {
            return Ok(SiteAccess::SignIn);
        };
        let account = session.auth.account_id;
        if session.site.is_some() {
            // A principal (the session lookup checked it is one of this site's).
            if !site.state.allows_legacy_login() {
                return Ok(SiteAccess::SignIn);
            }
            return Ok(match self.sites.site_user_by_principal(account).await? {
                Some(user) if user.site_id == site.id => SiteAccess::Granted {
                    session: Box::new(session),
                    user: Box::new(user),
                },
                _ => SiteAccess::SignIn,
            });
        }
        if !site.state.allows_identity_login() {
            return Ok(SiteAccess::SignIn);
        }
        Ok(match self.linked_site_user(site, account, origin).await? {
            Some(user) => SiteAccess::Granted {
                session: Box::new(session),
                user: Box::new(user),
            },
            None => SiteAccess::NoAccess {
                session: Box::new(session),
            },
        })
    }

    /// The user of `site` this identity account is linked to, if any — linking it now when
    /// its verified email matches an unlinked user of the site (C5; never an unverified email
    /// nor a user whose changed email waits for confirmation: S42, C6).
    pub async fn linked_site_user(
        &self,
        site: &Site,
        account: AccountId,
        origin: &Origin,
    ) -> Result<Option<SiteUser>, SignInError> {
        if let Some(user) = self.sites.site_user_for_account(site.id, account).await? {
            return Ok(Some(user));
        }
        let account = self.accounts.get(account).await?;
        self.linking
            .site_user_at_sign_in(site, &account, origin)
            .await
            .map_err(|e| match e {
                lanyard_sites::SitesError::Store(e) => SignInError::from(e),
                other => SignInError::Internal(other.to_string()),
            })
    }
}
