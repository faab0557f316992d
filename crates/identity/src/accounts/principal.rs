//! Passwords of site users' principal accounts (`AccountKind::SiteUser`, see
//! `core::model::site`). The legacy site login finds the principal by the site user's login,
//! never by email, so it hands the account over; the checks are those of a person's password
//! (argon2id on the bounded pool, the dummy hash when there is no account, one answer for
//! every failure) and the legacy hashes run on the same pool.

use lanyard_core::model::{Account, AccountKind, AuditEvent};
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
        let principal = principal.filter(|a| a.kind == AccountKind::SiteUser);
        self.check_stored_password(principal, password, origin)
            .await
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
        F: Fn(&mut lanyard_crypto::password::HashMemory) -> T + Send + Sync + 'static,
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
