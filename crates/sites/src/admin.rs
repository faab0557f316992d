//! Who may act on a site (design13.md point 5), decided here and nowhere else: a server admin
//! (the CLI) on every site; a site admin — an identity account linked to a site user with
//! the role `admin` of **that** site, or the principal of such a site user — on its own site
//! only. Client users and licensed users are refused, and so is the admin of another site.
//! The refusal is `SitesError::Forbidden` (403), decided before anything is written.

use lanyard_core::model::{Account, AccountKind, AccountStatus, Site, SiteRole, SiteUser};
use lanyard_core::ports::SiteRepo;

use crate::SitesError;

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
