//! Trusted devices (B6, B7, S36): after a second step the user may trust this browser; for
//! 30 days an email-method account skips the emailed code there. The cookie holds 256 random
//! bits; the row holds their keyed hash, the account, and the credential epoch, so a password
//! or authenticator change, an MFA reset or "revoke all" distrusts every device at once.
//! Authenticator-app accounts always answer the app (the device only stands in for email).

use lanyard_core::model::{DeviceId, MfaMethod, TrustedDevice};
use lanyard_core::rng::random_token;
use lanyard_core::{AccountId, Origin, Timestamp};

use crate::{Factor, MfaError, MfaService};

/// A new device cookie's value and when it stops counting.
pub struct TrustedDeviceCookie {
    pub token: String,
    pub expires_at: Timestamp,
}

impl std::fmt::Debug for TrustedDeviceCookie {
    // The token is a bearer credential for skipping the code: never in logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrustedDeviceCookie")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

const TOKEN_LEN: usize = 43;
const MAX_LABEL: usize = 120;

impl MfaService {
    /// Trusts the browser that just passed a second step with `factor`.
    pub async fn trust_device(
        &self,
        account: AccountId,
        factor: Factor,
        label: &str,
        origin: &Origin,
    ) -> Result<TrustedDeviceCookie, MfaError> {
        let state = self.repo.mfa_state(account).await?;
        let token = random_token(&*self.rng, 32);
        let now = self.clock.now();
        let expires_at = now.plus_secs(self.settings.device_trust_secs());
        let label: String = label
            .chars()
            .filter(|c| !c.is_control())
            .take(MAX_LABEL)
            .collect();
        let device = TrustedDevice {
            id: DeviceId::new(&*self.clock, &*self.rng),
            account_id: account,
            token_hash: self.hasher.hash(&token),
            label,
            credential_epoch: state.credential_epoch,
            acr: factor.acr().to_owned(),
            created_at: now,
            expires_at,
            last_used_at: now,
            revoked_at: None,
        };
        self.repo.insert_trusted_device(&device).await?;
        self.audit(account, "mfa.device.trusted", "success", None, origin)
            .await;
        Ok(TrustedDeviceCookie { token, expires_at })
    }

    /// Whether this browser's device cookie lets `account` skip the emailed code now. Any
    /// doubt (no such device, another account's, revoked, expired, an older credential epoch,
    /// an authenticator-app account) means no.
    pub async fn device_skips_code(
        &self,
        account: AccountId,
        cookie: Option<&str>,
    ) -> Result<bool, MfaError> {
        let state = self.repo.mfa_state(account).await?;
        if state.method != MfaMethod::Email {
            return Ok(false);
        }
        let Some(device) = self
            .live_device(account, cookie, state.credential_epoch)
            .await?
        else {
            return Ok(false);
        };
        self.repo
            .touch_trusted_device(device.id, self.clock.now())
            .await?;
        Ok(true)
    }

    /// Whether the cookie names a live trusted device of this account (any method).
    pub async fn is_trusted_device(
        &self,
        account: AccountId,
        cookie: Option<&str>,
    ) -> Result<bool, MfaError> {
        let epoch = self.repo.mfa_state(account).await?.credential_epoch;
        Ok(self.live_device(account, cookie, epoch).await?.is_some())
    }

    /// The id of the live trusted device this browser's cookie names, so the device list
    /// can mark "This device".
    pub async fn this_device(
        &self,
        account: AccountId,
        cookie: Option<&str>,
    ) -> Result<Option<DeviceId>, MfaError> {
        let epoch = self.repo.mfa_state(account).await?.credential_epoch;
        Ok(self
            .live_device(account, cookie, epoch)
            .await?
            .map(|d| d.id))
    }

    async fn live_device(
        &self,
        account: AccountId,
        cookie: Option<&str>,
        epoch: i64,
    ) -> Result<Option<TrustedDevice>, MfaError> {
        let Some(token) = cookie.filter(|t| t.len() == TOKEN_LEN) else {
            return Ok(None);
        };
        let Some(device) = self
            .repo
            .find_trusted_device(&self.hasher.hash(token))
            .await?
        else {
            return Ok(None);
        };
        let live = device.account_id == account
            && device.revoked_at.is_none()
            && self.clock.now() < device.expires_at
            && device.credential_epoch == epoch;
        Ok(live.then_some(device))
    }

    pub async fn trusted_devices(
        &self,
        account: AccountId,
    ) -> Result<Vec<TrustedDevice>, MfaError> {
        Ok(self
            .repo
            .list_trusted_devices(account, self.clock.now())
            .await?)
    }

    /// True when one of the account's live devices was revoked; a foreign id changes nothing.
    pub async fn revoke_device(
        &self,
        account: AccountId,
        id: DeviceId,
        origin: &Origin,
    ) -> Result<bool, MfaError> {
        let revoked = self
            .repo
            .revoke_trusted_device(account, id, self.clock.now())
            .await?;
        let outcome = if revoked { "success" } else { "failure" };
        self.audit(account, "mfa.device.revoked", outcome, None, origin)
            .await;
        Ok(revoked)
    }

    /// "Revoke all devices", and what every credential change does.
    pub async fn revoke_all_devices(
        &self,
        account: AccountId,
        origin: &Origin,
    ) -> Result<u64, MfaError> {
        let count = self
            .repo
            .revoke_trusted_devices(account, self.clock.now())
            .await?;
        self.repo.bump_credential_epoch(account).await?;
        self.audit(account, "mfa.device.revoked_all", "success", None, origin)
            .await;
        Ok(count)
    }
}
