//! Limits on the password step (S53): per source address, a fixed window of failures
//! (password spraying across many accounts); per account, the same durable failure count as
//! the second step, so every pathway feeds one counter and one backoff. A locked account
//! answers exactly like a wrong password (S53f) — except to a browser that holds one of the
//! account's trusted-device cookies, so an attack on the account does not lock its owner out
//! of their own device (S53e). The hard limit needs `lanyard user unlock`.

use std::time::Duration;

use lanyard_core::{AccountId, Origin};

use crate::lockout::{self, Lock};
use crate::{MfaError, MfaService};

fn ip_key(ip: &str) -> String {
    format!("signin_fail_ip:{ip}")
}

impl MfaService {
    /// Seconds to wait when this address has failed too often; `None` when it may try.
    pub async fn address_throttled(&self, origin: &Origin) -> Result<Option<i64>, MfaError> {
        let Some(ip) = &origin.ip else {
            return Ok(None);
        };
        let Some(bytes) = self.ephemeral.get(&ip_key(ip)).await? else {
            return Ok(None);
        };
        let count: u64 = std::str::from_utf8(&bytes)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        Ok((count >= self.settings.password_failures_per_ip)
            .then_some(self.settings.password_failure_window_secs))
    }

    /// Whether the account's failure count currently refuses sign-in. A trusted device of the
    /// account (its cookie, any method) is let through to try its password.
    pub async fn account_locked(
        &self,
        account: AccountId,
        device_cookie: Option<&str>,
    ) -> Result<bool, MfaError> {
        let state = self.repo.mfa_state(account).await?;
        if lockout::lock(&state, self.clock.now(), &self.settings) == Lock::Open {
            return Ok(false);
        }
        Ok(!self.is_trusted_device(account, device_cookie).await?)
    }

    /// A wrong password: counted for the address and, when the email names an account that
    /// is not already locked, for the account (a locked account's count does not grow, so
    /// each wait must pass before the next tries count).
    pub async fn password_failed(
        &self,
        account: Option<AccountId>,
        origin: &Origin,
    ) -> Result<(), MfaError> {
        if let Some(ip) = &origin.ip {
            let window = Duration::from_secs(self.settings.password_failure_window_secs as u64);
            self.ephemeral.increment(&ip_key(ip), window).await?;
        }
        let Some(account) = account else {
            return Ok(());
        };
        let state = self.repo.mfa_state(account).await?;
        if lockout::lock(&state, self.clock.now(), &self.settings) != Lock::Open {
            return Ok(());
        }
        let state = self
            .repo
            .record_mfa_failure(account, self.clock.now())
            .await?;
        if state.failures == self.settings.backoff_after {
            self.audit(account, "signin.account_throttled", "failure", None, origin)
                .await;
        }
        Ok(())
    }
}
