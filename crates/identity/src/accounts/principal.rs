//! Passwords of site users' principal accounts (`AccountKind::SiteUser`, see
//! `core::model::site`). The legacy site login finds the principal by the site user's login,
//! never by email, so it hands the account over; the checks are those of a person's password
//! (argon2id on the bounded pool, the dummy hash when there is no account, one answer for
//! every failure) and the legacy hashes run on the same pool.

use lanyard_core::model::{Account, AccountKind, AccountStatus, AuditEvent};
use lanyard_core::{Origin, Secret};

use super::AccountService;
use crate::IdentityError;

impl AccountService {
    /// Checks `password` against a principal's argon2id hash. `None` (no such login), an
    /// account that is not a principal, one with no hash yet, or one that is not active:
    /// all the same wrong-credentials answer, after the same argon2 work.
    pub async fn authenticate_principal(
        &self,
        principal: Option<&Account>,
        password: Secret,
        origin: &Origin,
    ) -> Result<Account, IdentityError> {
        let now = self.clock.now();
        let principal = principal.filter(|a| a.kind == AccountKind::SiteUser);
        let stored = principal.and_then(|a| a.password_hash.as_deref());
        let check = match self.passwords.verify(password.clone(), stored).await {
            Ok(check) => check,
            Err(lanyard_crypto::CryptoError::PasswordTooLong) => {
                self.record_failure(now, principal, "password_too_long", origin)
                    .await;
                return Err(IdentityError::InvalidCredentials);
            }
            Err(e) => return Err(e.into()),
        };
        let Some(account) = principal.filter(|_| check.ok) else {
            self.record_failure(now, None, "bad_credentials", origin)
                .await;
            return Err(IdentityError::InvalidCredentials);
        };
        if account.status != AccountStatus::Active {
            self.record_failure(now, Some(account), "account_not_active", origin)
                .await;
            return Err(IdentityError::InvalidCredentials);
        }
        if check.needs_rehash {
            // Best effort, as for a person: a failed rehash must not fail a right password.
            match self.passwords.hash_proven(password).await {
                Ok(new_hash) => {
                    if let Err(e) = self
                        .accounts
                        .update_password_hash(account.id, &new_hash, now)
                        .await
                    {
                        tracing::warn!(error = %e, "password rehash could not be stored");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "password rehash failed"),
            }
        }
        self.record(
            AuditEvent::new(now, "login.password", "success").subject(account.id.to_string()),
            origin,
        )
        .await;
        Ok(account.clone())
    }

    /// An argon2id hash of a password just proven against a legacy hash (C2: rehashed on the
    /// first success). The minimum length is for new passwords, so it does not apply.
    pub async fn hash_proven_password(&self, password: Secret) -> Result<String, IdentityError> {
        Ok(self.passwords.hash_proven(password).await?)
    }

    /// Runs a legacy hash check (bcrypt, PBKDF2, argon2 with foreign parameters) on the
    /// bounded password pool, so a burst of legacy logins queues like any other.
    pub async fn on_password_pool<T, F>(&self, work: F) -> Result<T, IdentityError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        Ok(self.passwords.run_bounded(work).await?)
    }

    /// Audits a legacy password check of a principal, as `authenticate_principal` does for
    /// its own.
    pub async fn record_legacy_check(&self, principal: &Account, right: bool, origin: &Origin) {
        let now = self.clock.now();
        if right {
            let event = AuditEvent::new(now, "login.password", "success")
                .subject(principal.id.to_string())
                .reason("legacy site password");
            self.record(event, origin).await;
        } else {
            self.record_failure(now, Some(principal), "bad_credentials", origin)
                .await;
        }
    }
}
