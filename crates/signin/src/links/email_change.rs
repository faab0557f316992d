//! Changing the account's email (F3, B8): asked on the profile page behind step-up (the web
//! layer's `FreshForm`), confirmed by a link sent to the new address. The email changes only
//! when that link is followed, and only if no other account has the address by then (the
//! unique, case-insensitive `email_normalized` decides, in the same transaction that spends
//! the link). The old address gets a notice; both steps are audited.
//!
//! A request for an address another account has is answered like any other (a signed-in
//! person learns nothing about other accounts): the new address gets a notice instead of a
//! link.

use std::sync::Arc;

use lanyard_core::model::{Account, AccountStatus, AuditEvent, LinkPurpose};
use lanyard_core::{AccountId, Origin, StoreError};
use lanyard_identity::{IdentityError, normalize_email};

use super::{AccountLinks, Inner, LinkError, LinkRefusal, mail};

impl AccountLinks {
    /// Sends a confirmation link to `new_email` for `account`'s change of address.
    pub async fn request_email_change(
        &self,
        account: AccountId,
        new_email: &str,
        origin: &Origin,
    ) -> Result<(), LinkError> {
        let normalized = normalize_email(new_email)?;
        let current = self.inner.deps.accounts.get(account).await?;
        if current.status != AccountStatus::Active {
            return Err(IdentityError::AccountDisabled.into());
        }
        if current.email_normalized == normalized {
            return Err(IdentityError::InvalidEmail("this is already your email address").into());
        }
        let event = AuditEvent::new(
            self.inner.deps.clock.now(),
            "account.email_change_requested",
            "success",
        )
        .subject(account.to_string());
        self.inner.audit(event, origin).await;
        if !self.inner.may_send(&normalized, origin).await? {
            return Ok(());
        }
        let inner = Arc::clone(&self.inner);
        let new_email = new_email.trim().to_owned();
        self.background.spawn(async move {
            if let Err(e) = inner
                .send_email_change(current, new_email, normalized)
                .await
            {
                tracing::warn!(error = %e, "an email change link could not be sent");
            }
        });
        Ok(())
    }

    /// Follows a new address's link. `signed_in` is the account this browser is signed in
    /// as, if any: another account's link is refused (and audited), nothing changes.
    pub async fn confirm_email_change(
        &self,
        token: &str,
        signed_in: Option<AccountId>,
        origin: &Origin,
    ) -> Result<Account, LinkError> {
        let inner = &self.inner;
        let link = inner.open(token, LinkPurpose::EmailChange).await?;
        let now = inner.deps.clock.now();
        if signed_in.is_some_and(|id| id != link.account_id) {
            let event = AuditEvent::new(now, "account.email_change_refused", "failure")
                .subject(link.account_id.to_string())
                .reason("followed while signed in as another account");
            inner.audit(event, origin).await;
            return Err(LinkError::Refused(LinkRefusal::WrongAccount));
        }
        let old = inner.deps.accounts.get(link.account_id).await?;
        let Some(email) = link.email.clone() else {
            return Err(LinkError::Refused(LinkRefusal::Invalid));
        };
        let normalized = normalize_email(&email)?;
        let changed = match inner
            .deps
            .links
            .change_account_email(link.id, old.id, &email, &normalized, now)
            .await
        {
            Ok(changed) => changed,
            Err(StoreError::Conflict(_)) => {
                return Err(LinkError::Refused(LinkRefusal::AddressTaken));
            }
            Err(e) => return Err(e.into()),
        };
        if !changed {
            return Err(LinkError::Refused(inner.settled_refusal(&link).await?));
        }
        let event =
            AuditEvent::new(now, "account.email_changed", "success").subject(old.id.to_string());
        inner.audit(event, origin).await;
        let notice = mail::email_changed(&inner.deps.product_name, &old.email, &email, now);
        let job = Arc::clone(inner);
        self.background.spawn(async move { job.send(notice).await });
        Ok(inner.deps.accounts.get(old.id).await?)
    }
}

impl Inner {
    async fn send_email_change(
        &self,
        account: Account,
        new_email: String,
        normalized: String,
    ) -> Result<(), LinkError> {
        let product = &self.deps.product_name;
        if self
            .deps
            .accounts
            .find_by_email(&normalized)
            .await?
            .is_some()
        {
            self.send(mail::email_taken(product, &new_email)).await;
            return Ok(());
        }
        let (url, link) = self
            .new_link(&account, LinkPurpose::EmailChange, |link| {
                link.email = Some(new_email.clone());
            })
            .await?;
        self.send(mail::email_change(
            product,
            &new_email,
            &url,
            link.expires_at,
        ))
        .await;
        Ok(())
    }
}
