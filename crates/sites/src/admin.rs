//! Who may act on a site (design13.md point 5), decided here and nowhere else: a server admin
//! (the CLI) on every site; a site admin — an identity account linked to a site user with
//! the role `admin` of **that** site, or the principal of such a site user — on its own site
//! only. Client users and licensed users are refused, and so is the admin of another site.
//! The refusal is `SitesError::Forbidden` (403), decided before anything is written.

use std::sync::Arc;

use lanyard_core::model::{
    Account, AccountKind, AccountStatus, MigrationProgress, MigrationState, Site, SiteRole,
    SiteUser,
};
use lanyard_core::ports::SiteRepo;
use lanyard_core::{Clock, Origin};

use crate::invitations::{InvitationService, InviteReport, Selection};
use crate::progress_lists::{ProgressRow, progress_rows};
use crate::{Migration, SiteService, SitesError};

/// The site user through whom `account` administers `site`, or `Forbidden`.
pub async fn authorize_site_admin(
    sites: &dyn SiteRepo,
    site: &Site,
    account: &Account,
) -> Result<SiteUser, SitesError> {
    if account.status != AccountStatus::Active {
        return Err(SitesError::Forbidden);
    }
    let user = match account.kind {
        AccountKind::Person => {
            if !site.state.allows_identity_login() {
                return Err(SitesError::Forbidden);
            }
            sites.site_user_for_account(site.id, account.id).await?
        }
        AccountKind::SiteUser => sites
            .site_user_by_principal(account.id)
            .await?
            .filter(|u| u.site_id == site.id && site.state.allows_legacy_login()),
    };
    match user {
        Some(user) if user.role == SiteRole::Admin => Ok(user),
        _ => Err(SitesError::Forbidden),
    }
}

/// A site admin's actions on their own site (`/sites/{slug}/admin`). Each asks
/// [`authorize_site_admin`] first, so a refused caller changes nothing.
pub struct SiteAdmin {
    sites: Arc<dyn SiteRepo>,
    service: Arc<SiteService>,
    invitations: Arc<InvitationService>,
    clock: Arc<dyn Clock>,
}

/// What the admin page shows.
#[derive(Debug, Clone)]
pub struct AdminView {
    pub admin: SiteUser,
    pub progress: MigrationProgress,
    pub rows: Vec<ProgressRow>,
}

impl SiteAdmin {
    pub fn new(
        sites: Arc<dyn SiteRepo>,
        service: Arc<SiteService>,
        invitations: Arc<InvitationService>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            sites,
            service,
            invitations,
            clock,
        }
    }

    /// The site user through whom `account` administers `site`, or `Forbidden`.
    pub async fn authorize(&self, site: &Site, account: &Account) -> Result<SiteUser, SitesError> {
        authorize_site_admin(&*self.sites, site, account).await
    }

    pub async fn overview(&self, site: &Site, account: &Account) -> Result<AdminView, SitesError> {
        let admin = authorize_site_admin(&*self.sites, site, account).await?;
        let now = self.clock.now();
        Ok(AdminView {
            admin,
            progress: self.sites.migration_progress(site.id, now).await?,
            rows: progress_rows(&*self.sites, site, now).await?,
        })
    }

    /// Turns the site's "require two-factor authentication" preference on or off (C3; the
    /// caller has checked the step-up). False when it already was so.
    pub async fn set_two_factor(
        &self,
        site: &Site,
        account: &Account,
        on: bool,
        origin: &Origin,
    ) -> Result<bool, SitesError> {
        authorize_site_admin(&*self.sites, site, account).await?;
        let (_, changed) = self
            .service
            .set_two_factor(&site.slug, on, Some(account.id), origin)
            .await?;
        Ok(changed)
    }

    /// One step of the migration (the caller ends the disabled principals' sessions).
    pub async fn migrate(
        &self,
        site: &Site,
        account: &Account,
        to: MigrationState,
        origin: &Origin,
    ) -> Result<Migration, SitesError> {
        authorize_site_admin(&*self.sites, site, account).await?;
        self.service.migrate(&site.slug, to, origin).await
    }

    pub async fn invite(
        &self,
        site: &Site,
        account: &Account,
        selection: &Selection,
        origin: &Origin,
    ) -> Result<InviteReport, SitesError> {
        authorize_site_admin(&*self.sites, site, account).await?;
        self.invitations.invite(site, selection, origin).await
    }
}
