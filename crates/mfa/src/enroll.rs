//! Setting up, replacing and turning off the authenticator app (B3, S31). The secret is 160
//! bits from the injected CSPRNG, sealed with the KEK; the credential stays pending (and the
//! old one, if any, keeps working) until a correct code from the new app confirms it. The
//! confirming code's step is recorded, so it can not sign in again (S28).

use lanyard_core::model::Account;
use lanyard_core::{AccountId, Origin};

use crate::totp::{self, Enrollment};
use crate::{MfaError, MfaService, code};

/// What the set-up page shows.
pub struct TotpSetup {
    pub enrollment: Enrollment,
}

impl std::fmt::Debug for TotpSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TotpSetup").finish_non_exhaustive()
    }
}

impl MfaService {
    /// A fresh pending secret (replacing an unconfirmed one). Callers put this behind step-up.
    pub async fn start_totp_setup(
        &self,
        account: &Account,
        origin: &Origin,
    ) -> Result<TotpSetup, MfaError> {
        let mut secret = [0u8; totp::SECRET_LEN];
        self.rng.fill(&mut secret);
        let sealed = self.kek.encrypt(&secret, &Self::totp_aad(account.id))?;
        self.repo
            .put_pending_totp(account.id, &sealed, self.clock.now())
            .await?;
        self.audit(
            account.id,
            "mfa.totp.setup_started",
            "success",
            None,
            origin,
        )
        .await;
        self.pending_setup(account)
            .await?
            .ok_or(MfaError::NotAvailable)
    }

    /// The pending set-up, to show the page again (after a wrong code).
    pub async fn pending_setup(&self, account: &Account) -> Result<Option<TotpSetup>, MfaError> {
        let Some(pending) = self.repo.totp_credential(account.id, true).await? else {
            return Ok(None);
        };
        let secret = self
            .kek
            .decrypt(&pending.secret_sealed, &Self::totp_aad(account.id))?;
        let enrollment = totp::enrollment(&secret, &self.product_name, &account.email)?;
        Ok(Some(TotpSetup { enrollment }))
    }

    /// Turns the pending credential on with a code from the new app. Replacing an app and
    /// turning one on both distrust every device (the epoch moves) and send a notice.
    pub async fn confirm_totp_setup(
        &self,
        account: &Account,
        typed: &str,
        origin: &Origin,
    ) -> Result<(), MfaError> {
        let code = code::normalize_otp(typed).ok_or(MfaError::Malformed)?;
        let Some(pending) = self.repo.totp_credential(account.id, true).await? else {
            return Err(MfaError::NotAvailable);
        };
        let secret = self
            .kek
            .decrypt(&pending.secret_sealed, &Self::totp_aad(account.id))?;
        let now = self.clock.now();
        let step = totp::matching_step(&secret, &code, totp::step_at(now.seconds()))?;
        let activated = match step {
            Some(step) => {
                self.repo
                    .activate_pending_totp(account.id, &pending.secret_sealed, step, now)
                    .await?
            }
            None => false,
        };
        if !activated {
            self.audit(account.id, "mfa.totp.setup_failed", "failure", None, origin)
                .await;
            return Err(MfaError::WrongCode { tries_left: 0 });
        }
        self.repo.revoke_trusted_devices(account.id, now).await?;
        self.audit(account.id, "mfa.totp.enabled", "success", None, origin)
            .await;
        self.notify(
            &account.email,
            "Authenticator app turned on",
            "An authenticator app is now used to confirm sign-ins to your account. \
             Your trusted devices were removed: each one will ask for the app's code at its \
             next sign-in.",
        )
        .await;
        Ok(())
    }

    /// Back to emailed codes (B3 "Turn off"). Callers put this behind step-up.
    pub async fn turn_off_totp(
        &self,
        account: &Account,
        origin: &Origin,
    ) -> Result<bool, MfaError> {
        let removed = self.repo.delete_totp(account.id).await?;
        if removed {
            self.repo
                .revoke_trusted_devices(account.id, self.clock.now())
                .await?;
            self.audit(account.id, "mfa.totp.disabled", "success", None, origin)
                .await;
            self.notify(
                &account.email,
                "Authenticator app turned off",
                "Sign-ins to your account are now confirmed with a code sent to this email address.",
            )
            .await;
        }
        Ok(removed)
    }

    /// Whether the account has an active authenticator app (for the security page).
    pub async fn has_totp(&self, account: AccountId) -> Result<bool, MfaError> {
        Ok(self.repo.totp_credential(account, false).await?.is_some())
    }
}
