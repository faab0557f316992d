//! C6: the email is the join key between a site user and an identity account until the
//! migration ends, so changing it re-verifies it. An unlinked user's new address gets a
//! confirmation invitation (claiming it confirms the address and links), and until then the
//! user is not linked automatically by email. A linked user is joined by the link, not the
//! email: the change is confirmed at once.

use lanyard_core::model::{AuditEvent, Site};
use lanyard_core::{Origin, StoreError};
use lanyard_identity::normalize_email;

use super::{InvitationService, Sent};
use crate::SitesError;

#[derive(Debug, Clone)]
pub enum EmailChange {
    /// The user is linked: changed and confirmed.
    Confirmed,
    /// A confirmation invitation went to the new address.
    InvitationSent(Sent),
    /// The change is stored but the mail did not go out (why); send an invitation again.
    NotSent(&'static str),
}

impl InvitationService {
    pub async fn change_email(
        &self,
        site: &Site,
        login: &str,
        email: &str,
        origin: &Origin,
    ) -> Result<EmailChange, SitesError> {
        let normalized = normalize_email(email)
            .map_err(|_| SitesError::Invalid("the email address is not valid".to_owned()))?;
        let user = self
            .deps
            .sites
            .site_user_by_login(site.id, &login.trim().to_lowercase())
            .await?
            .ok_or(SitesError::NoSuchUser)?;
        if user.email_normalized == normalized {
            return Err(SitesError::Invalid(
                "the site user already has this email".to_owned(),
            ));
        }
        let now = self.deps.clock.now();
        match self
            .deps
            .sites
            .change_site_user_email(user.id, email.trim(), &normalized, now)
            .await
        {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => {
                return Err(SitesError::Invalid(
                    "another user of the site has this email".to_owned(),
                ));
            }
            Err(e) => return Err(e.into()),
        }
        let event = AuditEvent::new(now, "site.user_email_changed", "success")
            .subject(format!("site_user:{}", user.id))
            .reason(format!("site {}", site.slug));
        self.deps.audit.record(event, origin).await;
        if user.account_id.is_some() {
            self.deps
                .sites
                .confirm_site_user_email(user.id, now)
                .await?;
            return Ok(EmailChange::Confirmed);
        }
        let changed = self
            .deps
            .sites
            .get_site_user(user.id)
            .await?
            .ok_or(SitesError::NoSuchUser)?;
        Ok(match self.send(site, &changed, origin).await? {
            Ok(sent) => EmailChange::InvitationSent(sent),
            Err(why) => EmailChange::NotSent(why),
        })
    }
}
