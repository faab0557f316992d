//! Self sign-up (A2): `/register` makes an `invited` account and mails a verification link;
//! following it makes the account `active` with a verified email, and the person signs in
//! as usual (with the second step). An `invited` account can not sign in: the password gate
//! answers it exactly like a wrong password (S43).
//!
//! The answer to a sign-up is the same whether or not the address has an account: checks of
//! the fields and the argon2id hash happen first, for every address; what follows depends on
//! the account and runs after the answer ([`super::background`]):
//! - no account: an `invited` account and a link;
//! - an `invited` one (registered, never verified): a fresh link, the older one dies; the
//!   name and password typed this time travel with the link, so a later registration of the
//!   address can not slip its password into an account someone else verifies;
//! - an active one: a notice to its owner ("someone tried to sign up with your address"),
//!   and nothing changes;
//! - a disabled one, or an address whose organization requires its own sign-in (G4):
//!   nothing is sent.

use std::sync::Arc;

use lanyard_core::model::{Account, AccountStatus, AuditEvent, LinkPurpose};
use lanyard_core::{Origin, Secret};
use lanyard_identity::IdentityError;
use lanyard_identity::accounts::PreparedAccount;

use super::{AccountLinks, Inner, LinkError, LinkRefusal, mail};

impl AccountLinks {
    /// Takes a sign-up. `Ok` says only "if the address can get a link, it will".
    pub async fn register(
        &self,
        email: &str,
        name: &str,
        password: Secret,
        origin: &Origin,
    ) -> Result<(), LinkError> {
        if !self.inner.settings.enabled {
            return Err(LinkError::SignupClosed);
        }
        let prepared = self
            .inner
            .deps
            .accounts
            .prepare_account(email, name, password)
            .await?;
        if !self
            .inner
            .may_send(&prepared.email_normalized, origin)
            .await?
        {
            return Ok(());
        }
        let inner = Arc::clone(&self.inner);
        let origin = origin.clone();
        self.background.spawn(async move {
            if let Err(e) = inner.complete_registration(prepared, &origin).await {
                tracing::warn!(error = %e, "a sign-up could not be completed");
            }
        });
        Ok(())
    }

    /// Follows a verification link: the account becomes `active` with a verified email.
    pub async fn verify_email(&self, token: &str, origin: &Origin) -> Result<Account, LinkError> {
        let inner = &self.inner;
        let link = inner.open(token, LinkPurpose::Verify).await?;
        let now = inner.deps.clock.now();
        let verified = inner
            .deps
            .links
            .verify_account_email(link.id, link.account_id, now)
            .await?;
        if !verified {
            return Err(LinkError::Refused(inner.settled_refusal(&link).await?));
        }
        inner
            .audit(
                AuditEvent::new(now, "account.email_verified", "success")
                    .subject(link.account_id.to_string()),
                origin,
            )
            .await;
        Ok(inner.deps.accounts.get(link.account_id).await?)
    }
}

impl Inner {
    async fn complete_registration(
        &self,
        prepared: PreparedAccount,
        origin: &Origin,
    ) -> Result<(), LinkError> {
        if self
            .deps
            .sso
            .sso_required(&prepared.email_normalized)
            .await?
        {
            return Ok(());
        }
        let existing = self.deps.accounts.find_by_email(&prepared.email).await?;
        let account = match existing {
            Some(account) => account,
            None => match self.deps.accounts.insert_invited(&prepared, origin).await {
                Ok(account) => account,
                // Registered in parallel: the other registration's account is the one.
                Err(IdentityError::EmailTaken) => self
                    .deps
                    .accounts
                    .find_by_email(&prepared.email)
                    .await?
                    .ok_or(LinkError::Refused(LinkRefusal::AccountChanged))?,
                Err(e) => return Err(e.into()),
            },
        };
        match account.status {
            AccountStatus::Invited => {
                let (url, link) = self
                    .new_link(&account, LinkPurpose::Verify, |link| {
                        link.name = Some(prepared.name.clone());
                        link.password_hash = Some(prepared.password_hash.clone());
                    })
                    .await?;
                let product = &self.deps.product_name;
                self.send(mail::verify(product, &account.email, &url, link.expires_at))
                    .await;
                let event =
                    AuditEvent::new(link.created_at, "account.verification_sent", "success")
                        .subject(account.id.to_string());
                self.audit(event, origin).await;
            }
            AccountStatus::Active => {
                let product = &self.deps.product_name;
                self.send(mail::signup_exists(product, &account.email, self.base()))
                    .await;
                let event =
                    AuditEvent::new(self.deps.clock.now(), "account.signup_existing", "failure")
                        .subject(account.id.to_string())
                        .reason("sign-up for an address that has an account");
                self.audit(event, origin).await;
            }
            AccountStatus::Disabled => {}
        }
        Ok(())
    }
}
