//! Limits on the password step (S53): per source address, a fixed window of failures
//! (password spraying across many accounts); per account, the same durable failure count as
//! the second step, so every pathway feeds one counter and one backoff. A locked account
//! answers exactly like a wrong password (S53f) — except to a browser that holds one of the
//! account's trusted-device cookies, so an attack on the account does not lock its owner out
//! of their own device (S53e). The hard limit needs `lanyard user unlock`.

use std::time::Duration;

use lanyard_core::model::{Account, MfaState};
use lanyard_core::{EphemeralKey, Origin, Timestamp};

use crate::lockout::{self, Lock};
use crate::notify::LockCause;
use crate::{MfaError, MfaService};

fn ip_key(ip: &str) -> String {
    EphemeralKey::SigninFailIp(ip).to_string()
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

    /// Called before a password is checked. The attempt is counted against the account
    /// *before* the check, in one locked step with the lock decision, so parallel guesses can
    /// not all slip past the lock (CVE-2024-4629 class); [`MfaService::password_checked`]
    /// takes it back when the password was right.
    pub async fn password_attempt(
        &self,
        named: Option<&Account>,
        device_cookie: Option<&str>,
    ) -> Result<PasswordGate, MfaError> {
        let Some(named) = named else {
            return Ok(PasswordGate::NoAccount);
        };
        let account = named.id;
        let now = self.clock.now();
        let settings = &self.settings;
        let open = |s: &MfaState| lockout::lock(s, now, settings) == Lock::Open;
        match self.repo.reserve_mfa_attempt(account, now, &open).await? {
            Some((before, after)) => Ok(PasswordGate::Counted {
                at: now,
                restore: before.last_failure_at,
                failures: after.failures,
            }),
            None if self.is_trusted_device(account, device_cookie).await? => {
                Ok(PasswordGate::TrustedDevice)
            }
            None => Ok(PasswordGate::Locked),
        }
    }

    /// The password was never checked (the node's hashing queue was full, `Busy`): the
    /// attempt counted in advance is taken back, as for a right one, and nothing is recorded.
    pub async fn password_not_checked(
        &self,
        named: Option<&Account>,
        gate: PasswordGate,
    ) -> Result<(), MfaError> {
        if let (Some(named), PasswordGate::Counted { at, restore, .. }) = (named, gate) {
            self.repo.release_mfa_attempt(named.id, at, restore).await?;
        }
        Ok(())
    }

    /// After the check: a right password takes back the attempt counted in advance (it does
    /// not clear earlier failures: only a full sign-in does); a wrong one also counts for the
    /// source address.
    pub async fn password_checked(
        &self,
        named: Option<&Account>,
        gate: PasswordGate,
        right: bool,
        origin: &Origin,
    ) -> Result<(), MfaError> {
        if let (
            Some(named),
            PasswordGate::Counted {
                at,
                restore,
                failures,
            },
        ) = (named, gate)
        {
            if right {
                self.repo.release_mfa_attempt(named.id, at, restore).await?;
                return Ok(());
            }
            // The owner hears of it when a wait starts and at the hard limit, as for codes.
            if failures == self.settings.backoff_after || failures == self.settings.hard_limit {
                if failures == self.settings.backoff_after {
                    self.audit(
                        named.id,
                        "signin.account_throttled",
                        "failure",
                        None,
                        origin,
                    )
                    .await;
                }
                let lock = self.lock_after(named.id, failures, at);
                self.notify_lock(named.id, &named.email, LockCause::Passwords, failures, lock)
                    .await;
            }
        }
        if right {
            return Ok(());
        }
        if let Some(ip) = &origin.ip {
            let window = Duration::from_secs(self.settings.password_failure_window_secs as u64);
            self.ephemeral.increment(&ip_key(ip), window).await?;
        }
        Ok(())
    }
}

impl MfaService {
    /// The lock that `failures` consecutive failures, the last at `at`, impose.
    pub(crate) fn lock_after(
        &self,
        account: lanyard_core::AccountId,
        failures: u32,
        at: Timestamp,
    ) -> Lock {
        let state = MfaState {
            failures,
            last_failure_at: Some(at),
            ..MfaState::new(account)
        };
        lockout::lock(&state, at, &self.settings)
    }
}

/// What the account's limits say about a password attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordGate {
    /// Counted in advance as a failure (stamped `at`; `restore` is the last failure time
    /// before it; `failures` the count with it); the check may go ahead.
    Counted {
        at: Timestamp,
        restore: Option<Timestamp>,
        failures: u32,
    },
    /// The account is locked, but this browser is one of its trusted devices (S53e).
    TrustedDevice,
    /// Locked: answer exactly like a wrong password, whatever the password (S53f).
    Locked,
    /// The email names no account: only the address is counted.
    NoAccount,
}
