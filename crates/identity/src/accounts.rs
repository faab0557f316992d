//! Accounts: creation, password sign-in (argon2id on the bounded pool, rehash on login when
//! the parameters change), status changes, listing. Every security event is audited.

use std::sync::Arc;

use lanyard_core::model::{Account, AccountKind, AccountStatus, AuditEvent, NewAccount};
use lanyard_core::ports::{AccountRepo, RefreshRepo};
use lanyard_core::{AccountId, Auditor, Clock, Origin, Secret, StoreError};
use lanyard_crypto::password::PasswordHasher;

use crate::password_policy::{PasswordRefusal, PasswordRules};
use crate::{IdentityError, PatService, normalize_email};

mod preferences;
mod principal;
mod signup;

pub use signup::PreparedAccount;

const MAX_NAME_LEN: usize = 200;

pub struct AccountService {
    rules: PasswordRules,
    accounts: Arc<dyn AccountRepo>,
    refresh: Arc<dyn RefreshRepo>,
    pats: Arc<PatService>,
    audit: Auditor,
    passwords: Arc<PasswordHasher>,
    clock: Arc<dyn Clock>,
}

impl AccountService {
    pub fn new(
        accounts: Arc<dyn AccountRepo>,
        refresh: Arc<dyn RefreshRepo>,
        pats: Arc<PatService>,
        audit: Auditor,
        passwords: Arc<PasswordHasher>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        // The hasher's minimum is the configured one (`[passwords] min_length`).
        let rules = PasswordRules::with_min_chars(passwords.policy().min_len);
        Self {
            rules,
            accounts,
            refresh,
            pats,
            audit,
            passwords,
            clock,
        }
    }

    /// Creates an active account with a verified email (operator-created accounts: the
    /// operator vouches for the address; self sign-up with verification comes later).
    pub async fn create_account(
        &self,
        email: &str,
        name: &str,
        password: Secret,
        origin: &Origin,
    ) -> Result<Account, IdentityError> {
        let email_normalized = normalize_email(email)?;
        let name = validate_name(name)?;
        self.rules.check(&password, email, &name)?;
        let password_hash = self.hash_new(password).await?;
        let new = NewAccount {
            email: email.trim().to_owned(),
            email_normalized,
            email_verified: true,
            name,
            password_hash: Some(password_hash),
            status: AccountStatus::Active,
            kind: AccountKind::Person,
        };
        self.insert_audited(new, "account.created", origin).await
    }

    /// Stores a new account and audits `kind` for it; a taken address is
    /// [`IdentityError::EmailTaken`].
    async fn insert_audited(
        &self,
        new: NewAccount,
        kind: &str,
        origin: &Origin,
    ) -> Result<Account, IdentityError> {
        let now = self.clock.now();
        let account = match self.accounts.insert_account(new, now).await {
            Ok(account) => account,
            Err(StoreError::Conflict(_)) => return Err(IdentityError::EmailTaken),
            Err(e) => return Err(e.into()),
        };
        self.record(
            AuditEvent::new(now, kind, "success").subject(account.id.to_string()),
            origin,
        )
        .await;
        Ok(account)
    }

    /// Checks email + password. Unknown, disabled and invited accounts fail exactly like a
    /// wrong password, and an unknown email still costs one argon2 verification, so neither
    /// the answer nor its timing tells whether the account exists (ASVS 6.3.8).
    pub async fn authenticate_password(
        &self,
        email: &str,
        password: Secret,
        origin: &Origin,
    ) -> Result<Account, IdentityError> {
        let account = match normalize_email(email) {
            Ok(normalized) => self.accounts.find_account_by_email(&normalized).await?,
            Err(_) => None,
        };
        self.check_stored_password(account.as_ref(), password, origin)
            .await
    }

    /// Checks `password` against the account's stored argon2id hash (the dummy hash when
    /// there is none, so every failure costs the same), audits, and rehashes a right
    /// password whose parameters are out of date. Every failure is one answer.
    pub(crate) async fn check_stored_password(
        &self,
        account: Option<&Account>,
        password: Secret,
        origin: &Origin,
    ) -> Result<Account, IdentityError> {
        let now = self.clock.now();
        let stored = account.and_then(|a| a.password_hash.as_deref());
        let check = match self.passwords.verify(password.clone(), stored).await {
            Ok(check) => check,
            Err(lanyard_crypto::CryptoError::PasswordTooLong) => {
                self.record_failure(now, account, "password_too_long", origin)
                    .await;
                return Err(IdentityError::InvalidCredentials);
            }
            Err(e) => return Err(e.into()),
        };
        let Some(account) = account.filter(|_| check.ok) else {
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
            // Best effort: a failed rehash must not fail a right password. The password was
            // just proven, so today's minimum length for new passwords does not apply.
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

    /// The PATs of accounts (G4 revokes them when an organization starts to require its
    /// own sign-in).
    pub fn pats(&self) -> &PatService {
        &self.pats
    }

    pub async fn get(&self, id: AccountId) -> Result<Account, IdentityError> {
        match self.accounts.get_account(id).await {
            Ok(account) => Ok(account),
            Err(StoreError::NotFound) => Err(IdentityError::NotFound),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn find_by_email(&self, email: &str) -> Result<Option<Account>, IdentityError> {
        let normalized = normalize_email(email)?;
        Ok(self.accounts.find_account_by_email(&normalized).await?)
    }

    pub async fn list(
        &self,
        after: Option<AccountId>,
        limit: u64,
    ) -> Result<Vec<Account>, IdentityError> {
        Ok(self.accounts.list_accounts(after, limit.min(1000)).await?)
    }

    pub async fn count(&self) -> Result<u64, IdentityError> {
        Ok(self.accounts.count_accounts().await?)
    }

    /// What [`Self::create_account`] would refuse in these fields, without creating anything
    /// (a caller that must spend something first — an invitation — asks before).
    pub fn check_new_account(
        &self,
        email: &str,
        name: &str,
        password: &Secret,
    ) -> Result<(), IdentityError> {
        normalize_email(email)?;
        let name = validate_name(name)?;
        self.rules.check(password, email, &name)?;
        Ok(())
    }

    /// The rules every new password meets (for the pages' hints).
    pub fn password_rules(&self) -> PasswordRules {
        self.rules
    }

    /// Sets a new password and revokes every grant the account holds, so a stolen refresh
    /// token dies with the old password (ASVS 6.2.3, 7.4.3). The new password must meet the
    /// policy and differ from the current one. Callers put this behind step-up, distrust the
    /// account's devices and send the notice mail.
    pub async fn change_password(
        &self,
        id: AccountId,
        new_password: Secret,
        origin: &Origin,
    ) -> Result<u64, IdentityError> {
        // A disabled account keeps no password change (issue 11 item 8), whoever asks.
        let account = match self.accounts.get_account(id).await {
            Ok(account) if account.status == AccountStatus::Active => account,
            Ok(_) => return Err(IdentityError::AccountDisabled),
            Err(StoreError::NotFound) => return Err(IdentityError::NotFound),
            Err(e) => return Err(e.into()),
        };
        self.rules
            .check(&new_password, &account.email, &account.name)?;
        if let Some(current) = account.password_hash.as_deref() {
            let same = self
                .passwords
                .verify(new_password.clone(), Some(current))
                .await?;
            if same.ok {
                return Err(PasswordRefusal::SameAsCurrent.into());
            }
        }
        let hash = self.hash_new(new_password).await?;
        let now = self.clock.now();
        self.accounts.update_password_hash(id, &hash, now).await?;
        let revoked = self.refresh.revoke_families_of_account(id, now).await?;
        self.record(
            AuditEvent::new(now, "account.password_changed", "success")
                .subject(id.to_string())
                .reason(format!("{revoked} grants revoked")),
            origin,
        )
        .await;
        Ok(revoked)
    }

    /// Disables the account and revokes every grant and personal access token it holds
    /// (ASVS 7.4.2).
    pub async fn disable(&self, email: &str, origin: &Origin) -> Result<Account, IdentityError> {
        let account = self
            .find_by_email(email)
            .await?
            .ok_or(IdentityError::NotFound)?;
        let now = self.clock.now();
        self.accounts
            .update_account_status(account.id, AccountStatus::Disabled, now)
            .await?;
        let revoked = self
            .refresh
            .revoke_families_of_account(account.id, now)
            .await?;
        self.pats.revoke_all(account.id, origin).await?;
        self.record(
            AuditEvent::new(now, "account.disabled", "success")
                .subject(account.id.to_string())
                .reason(format!("{revoked} grants revoked")),
            origin,
        )
        .await;
        Ok(Account {
            status: AccountStatus::Disabled,
            ..account
        })
    }

    /// Hashes a password the rules accepted; the hasher's own bounds (bytes) still apply.
    async fn hash_new(&self, password: Secret) -> Result<String, IdentityError> {
        match self.passwords.hash(password).await {
            Ok(hash) => Ok(hash),
            Err(lanyard_crypto::CryptoError::PasswordTooShort { min }) => {
                Err(PasswordRefusal::TooShort { min }.into())
            }
            Err(lanyard_crypto::CryptoError::PasswordTooLong) => Err(PasswordRefusal::TooLong {
                max: self.rules.max_chars,
            }
            .into()),
            Err(e) => Err(e.into()),
        }
    }

    async fn record_failure(
        &self,
        now: lanyard_core::Timestamp,
        account: Option<&Account>,
        reason: &str,
        origin: &Origin,
    ) {
        let mut event = AuditEvent::new(now, "login.failed", "failure").reason(reason);
        if let Some(account) = account {
            event = event.subject(account.id.to_string());
        }
        self.record(event, origin).await;
    }

    async fn record(&self, event: AuditEvent, origin: &Origin) {
        self.audit.record(event, origin).await;
    }
}

fn validate_name(name: &str) -> Result<String, IdentityError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(IdentityError::InvalidName("empty"));
    }
    if name.chars().count() > MAX_NAME_LEN {
        return Err(IdentityError::InvalidName("too long"));
    }
    if name.chars().any(char::is_control) {
        return Err(IdentityError::InvalidName("contains control characters"));
    }
    Ok(name.to_owned())
}
