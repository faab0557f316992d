//! Whom a site's client's tokens name (core's `SiteSubjects` port, asked by the issuer
//! wherever it mints a token or answers for a user): the site user, whichever way they
//! signed in, so a relying party keeps one `sub` before and after the migration.
//!
//! - the principal of one of the site's users, while the site offers the legacy login
//!   (`legacy`, `dual`; in `identity` principals are disabled anyway);
//! - an identity account linked to one of the site's users, while the site admits identity
//!   accounts (`dual`, `identity`);
//! - anyone else at a site's client gets no tokens.

use std::sync::Arc;

use async_trait::async_trait;
use lanyard_core::model::{ClientSubject, Site, SiteSubject, SiteUser, SiteUserId};
use lanyard_core::ports::{MfaRepo, SiteRepo, SiteSubjects};
use lanyard_core::{AccountId, ClientId, StoreError};

pub struct SiteSubjectsOverRepo {
    sites: Arc<dyn SiteRepo>,
    mfa: Arc<dyn MfaRepo>,
}

impl SiteSubjectsOverRepo {
    pub fn new(sites: Arc<dyn SiteRepo>, mfa: Arc<dyn MfaRepo>) -> Self {
        Self { sites, mfa }
    }
}

pub fn subject(site: &Site, user: &SiteUser) -> SiteSubject {
    SiteSubject {
        site_user: user.id,
        slug: site.slug.clone(),
        login: user.login.clone(),
        role: user.role,
    }
}

#[async_trait]
impl SiteSubjects for SiteSubjectsOverRepo {
    async fn subject_for(
        &self,
        client: &ClientId,
        account: AccountId,
    ) -> Result<ClientSubject, StoreError> {
        let Some(site) = self.sites.site_for_client(client).await? else {
            return Ok(ClientSubject::Account);
        };
        if let Some(user) = self.sites.site_user_by_principal(account).await? {
            let admitted = user.site_id == site.id && site.state.allows_legacy_login();
            return Ok(if admitted {
                ClientSubject::SiteUser(subject(&site, &user))
            } else {
                ClientSubject::NoAccess
            });
        }
        if !site.state.allows_identity_login() {
            return Ok(ClientSubject::NoAccess);
        }
        Ok(
            match self.sites.site_user_for_account(site.id, account).await? {
                Some(user) => ClientSubject::SiteUser(subject(&site, &user)),
                None => ClientSubject::NoAccess,
            },
        )
    }

    async fn named_subject(
        &self,
        client: &ClientId,
        account: AccountId,
    ) -> Result<Option<SiteSubject>, StoreError> {
        let Some(site) = self.sites.site_for_client(client).await? else {
            return Ok(None);
        };
        let user = match self.sites.site_user_by_principal(account).await? {
            Some(user) => Some(user).filter(|u| u.site_id == site.id),
            None => self.sites.site_user_for_account(site.id, account).await?,
        };
        Ok(user.map(|u| subject(&site, &u)))
    }

    async fn pat_subject(
        &self,
        site_user: SiteUserId,
        account: AccountId,
    ) -> Result<Option<SiteSubject>, StoreError> {
        let Some(user) = self.sites.get_site_user(site_user).await? else {
            return Ok(None);
        };
        if user.account_id != Some(account) {
            return Ok(None);
        }
        let Some(site) = self.sites.get_site(user.site_id).await? else {
            return Ok(None);
        };
        if !site.state.allows_identity_login() {
            return Ok(None);
        }
        // C3 for non-browser clients: a PAT can not skip the site's authenticator rule.
        if site.two_factor_required_since.is_some()
            && user.role.needs_two_factor()
            && self.mfa.totp_credential(account, false).await?.is_none()
        {
            return Ok(None);
        }
        Ok(Some(subject(&site, &user)))
    }
}
