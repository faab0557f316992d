//! Password reset (A2): `/password/forgot` always answers "if an account exists for that
//! address, we sent a link"; the link goes only to an account that may reset:
//! - an active person's account whose organization does not require its own sign-in (G4:
//!   its password is not how it signs in, and a reset must not become a way around that);
//! - never a disabled account (a reset must not reopen it: only the operator does), nor an
//!   `invited` one (it has no password worth resetting: registering again sends a fresh
//!   verification link), nor a site user's principal (no email lookup finds one).
//!
//! Following the link sets a new password (the policy applies, checked before the link is
//! spent so a refused password can be fixed) and then, as after a stolen password: every
//! session of the account ends (back-channel logouts queued), every trusted device is
//! distrusted, every refresh token (grant) is revoked, the password lockout is cleared, the
//! reset is audited `password.reset` and the owner gets a notice. Personal access tokens
//! stay: they are separate credentials made behind step-up, listed on the security page,
//! and a password change leaves them too.

use std::sync::Arc;

use lanyard_core::model::{Account, AccountKind, AccountStatus, AuditEvent, LinkPurpose};
use lanyard_core::{Origin, Secret};
use lanyard_identity::normalize_email;

use super::{AccountLinks, Inner, LinkError, LinkRefusal, mail};

impl AccountLinks {
    /// Takes a reset request. `Ok` says only "if the address can reset, a link is on its
    /// way"; an address that is not one at all is a field error.
    pub async fn request_reset(&self, email: &str, origin: &Origin) -> Result<(), LinkError> {
        let normalized = normalize_email(email)?;
        if !self.inner.may_send(&normalized, origin).await? {
            return Ok(());
        }
        let inner = Arc::clone(&self.inner);
        let origin = origin.clone();
        self.background.spawn(async move {
            if let Err(e) = inner.complete_reset_request(&normalized, &origin).await {
                tracing::warn!(error = %e, "a password reset request could not be completed");
            }
        });
        Ok(())
    }

    /// Follows a reset link: sets `password` and ends what the old one opened.
    pub async fn reset_password(
        &self,
        token: &str,
        password: Secret,
        origin: &Origin,
    ) -> Result<Account, LinkError> {
        let inner = &self.inner;
        let link = inner.open(token, LinkPurpose::Reset).await?;
        let account = inner.deps.accounts.get(link.account_id).await?;
        if !may_reset(&account) {
            return Err(LinkError::Refused(LinkRefusal::AccountChanged));
        }
        // Before the link is spent: a refused password can be fixed with the same link.
        let hash = inner
            .deps
            .accounts
            .hash_new_password(&account, password)
            .await?;
        let now = inner.deps.clock.now();
        if !inner.deps.links.use_account_link(link.id, now).await? {
            return Err(LinkError::Refused(inner.settled_refusal(&link).await?));
        }
        let id = account.id;
        inner
            .deps
            .accounts
            .store_reset_password(id, &hash, origin)
            .await?;
        inner.deps.signin.sessions().end_all(id, origin).await?;
        inner.deps.mfa.revoke_all_devices(id, origin).await?;
        inner.deps.mfa.unlock(id, origin).await?;
        let notice = mail::reset_done(&inner.deps.product_name, &account.email, now);
        let job = Arc::clone(inner);
        self.background.spawn(async move { job.send(notice).await });
        Ok(account)
    }
}

impl Inner {
    async fn complete_reset_request(
        &self,
        email_normalized: &str,
        origin: &Origin,
    ) -> Result<(), LinkError> {
        let Some(account) = self.deps.accounts.find_by_email(email_normalized).await? else {
            return Ok(());
        };
        if !may_reset(&account) || self.deps.sso.sso_required(email_normalized).await? {
            let event =
                AuditEvent::new(self.deps.clock.now(), "password.reset_requested", "failure")
                    .subject(account.id.to_string())
                    .reason(format!("account {}", account.status.as_str()));
            self.audit(event, origin).await;
            return Ok(());
        }
        let (url, link) = self.new_link(&account, LinkPurpose::Reset, |_| {}).await?;
        self.send(mail::reset(
            &self.deps.product_name,
            &account.email,
            &url,
            link.expires_at,
        ))
        .await;
        let event = AuditEvent::new(link.created_at, "password.reset_requested", "success")
            .subject(account.id.to_string());
        self.audit(event, origin).await;
        Ok(())
    }
}

fn may_reset(account: &Account) -> bool {
    account.kind == AccountKind::Person && account.status == AccountStatus::Active
}
