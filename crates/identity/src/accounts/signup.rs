//! The account side of self sign-up and password reset (A2): the checks and the argon2id
//! hash made before anything is stored, so that a caller can do this work whether or not the
//! address has an account (S43) and store the outcome later, off the response path.

use lanyard_core::model::{Account, AccountKind, AccountStatus, AuditEvent, NewAccount};
use lanyard_core::{AccountId, Origin, Secret};

use super::{AccountService, validate_name};
use crate::{IdentityError, normalize_email};

/// A sign-up's fields after the checks, with the password already hashed.
#[derive(Clone)]
pub struct PreparedAccount {
    pub email: String,
    pub email_normalized: String,
    pub name: String,
    pub password_hash: String,
}

impl std::fmt::Debug for PreparedAccount {
    // The hash is no password, but it has no business in a log line either.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedAccount")
            .field("email_normalized", &self.email_normalized)
            .finish_non_exhaustive()
    }
}

impl AccountService {
    /// Checks a sign-up's email, name and password (the policy) and hashes the password.
    /// Nothing is looked up: the answer and its cost do not depend on the address having an
    /// account.
    pub async fn prepare_account(
        &self,
        email: &str,
        name: &str,
        password: Secret,
    ) -> Result<PreparedAccount, IdentityError> {
        let email_normalized = normalize_email(email)?;
        let name = validate_name(name)?;
        self.rules.check(&password, email, &name)?;
        let password_hash = self.hash_new(password).await?;
        Ok(PreparedAccount {
            email: email.trim().to_owned(),
            email_normalized,
            name,
            password_hash,
        })
    }

    /// Stores a self-registered account: `invited` with an unverified email until its link
    /// is followed. [`IdentityError::EmailTaken`] when the address has an account.
    pub async fn insert_invited(
        &self,
        prepared: &PreparedAccount,
        origin: &Origin,
    ) -> Result<Account, IdentityError> {
        let new = NewAccount {
            email: prepared.email.clone(),
            email_normalized: prepared.email_normalized.clone(),
            email_verified: false,
            name: prepared.name.clone(),
            password_hash: Some(prepared.password_hash.clone()),
            status: AccountStatus::Invited,
            kind: AccountKind::Person,
        };
        self.insert_audited(new, "account.registered", origin).await
    }

    /// Checks a new password for `account` against the policy and hashes it (a reset: the
    /// link proved the address, so the old password is not asked).
    pub async fn hash_new_password(
        &self,
        account: &Account,
        password: Secret,
    ) -> Result<String, IdentityError> {
        self.rules.check(&password, &account.email, &account.name)?;
        self.hash_new(password).await
    }

    /// Stores a reset password (hashed by [`Self::hash_new_password`]) and revokes every
    /// grant of the account, as a password change does; audited `password.reset`.
    pub async fn store_reset_password(
        &self,
        id: AccountId,
        password_hash: &str,
        origin: &Origin,
    ) -> Result<u64, IdentityError> {
        let now = self.clock.now();
        self.accounts
            .update_password_hash(id, password_hash, now)
            .await?;
        let revoked = self.refresh.revoke_families_of_account(id, now).await?;
        self.record(
            AuditEvent::new(now, "password.reset", "success")
                .subject(id.to_string())
                .reason(format!("{revoked} grants revoked")),
            origin,
        )
        .await;
        Ok(revoked)
    }
}
