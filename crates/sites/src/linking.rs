//! Automatic linking (C5): an identity account signing in to a site's client whose
//! *verified* email matches an unlinked site user of that site becomes that site user. Never
//! into an account whose email is unverified, nor to a site user whose changed email waits
//! for confirmation (S42 pre-hijack, C6): an attacker who registered the victim's address
//! first gets nothing.

use std::sync::Arc;

use lanyard_core::model::{Account, AccountKind, AccountStatus, AuditEvent, Site, SiteUser};
use lanyard_core::ports::SiteRepo;
use lanyard_core::{Auditor, Clock, Origin, StoreError};

use crate::SitesError;

pub struct Linking {
    sites: Arc<dyn SiteRepo>,
    clock: Arc<dyn Clock>,
    audit: Auditor,
}

impl Linking {
    pub fn new(sites: Arc<dyn SiteRepo>, clock: Arc<dyn Clock>, audit: Auditor) -> Self {
        Self {
            sites,
            clock,
            audit,
        }
    }

    /// Ends the link of the site's user `login` (an operator's correction, or a user who
    /// left): its grants at the site's clients end at their next refresh, its PATs' exchanges
    /// are refused, and the account no longer gets in. False when it was not linked.
    pub async fn unlink(
        &self,
        site: &Site,
        login: &str,
        origin: &Origin,
    ) -> Result<bool, SitesError> {
        let user = self
            .sites
            .site_user_by_login(site.id, &login.trim().to_lowercase())
            .await?
            .ok_or(SitesError::NoSuchUser)?;
        let now = self.clock.now();
        let unlinked = self.sites.unlink_site_user(user.id, now).await?;
        if unlinked {
            let event = AuditEvent::new(now, "migration.unlinked", "success")
                .subject(format!("site_user:{}", user.id))
                .reason(format!(
                    "site {}, account {}",
                    site.slug,
                    user.account_id.map(|a| a.to_string()).unwrap_or_default()
                ));
            self.audit.record(event, origin).await;
        }
        Ok(unlinked)
    }

    /// The site user of `site` that `account` (an identity account, signing in to one of
    /// the site's clients) is — linking it now when its verified email matches an unlinked
    /// user of the site. `None`: the account has no access to the site.
    pub async fn site_user_at_sign_in(
        &self,
        site: &Site,
        account: &Account,
        origin: &Origin,
    ) -> Result<Option<SiteUser>, SitesError> {
        if account.kind != AccountKind::Person || account.status != AccountStatus::Active {
            return Ok(None);
        }
        if let Some(user) = self
            .sites
            .site_user_for_account(site.id, account.id)
            .await?
        {
            return Ok(Some(user));
        }
        if !site.state.allows_identity_login() || !account.email_verified {
            return Ok(None);
        }
        let candidate = self
            .sites
            .linkable_site_users(&account.email_normalized)
            .await?
            .into_iter()
            .find(|u| u.site_id == site.id && u.email_unverified_since.is_none());
        let Some(mut user) = candidate else {
            return Ok(None);
        };
        let now = self.clock.now();
        match self.sites.link_site_user(user.id, account.id, now).await {
            Ok(true) => {}
            // Linked meanwhile (by this sign-in's twin, or a claim), or the account already
            // has a user at this site: whatever is linked now is the answer.
            Ok(false) | Err(StoreError::Conflict(_)) => {
                return Ok(self
                    .sites
                    .site_user_for_account(site.id, account.id)
                    .await?);
            }
            Err(e) => return Err(e.into()),
        }
        let event = AuditEvent::new(now, "migration.linked", "success")
            .subject(format!("site_user:{}", user.id))
            .actor(account.id.to_string())
            .reason(format!(
                "site {} automatically, by verified email",
                site.slug
            ));
        self.audit.record(event, origin).await;
        user.account_id = Some(account.id);
        user.linked_at = Some(now);
        Ok(Some(user))
    }
}
