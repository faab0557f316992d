//! The one gate every password check goes through (S53d): the sign-in page, the reconfirm
//! page, and the sign-in paths still to come (a legacy site login, an email change). It
//! applies the per-address limit (S53a) and the per-account limit shared with the second
//! step (S53b), and a locked account answers exactly like a wrong password (S53f).

use lanyard_core::Secret;
use lanyard_core::model::Account;
use lanyard_crypto::CryptoError;
use lanyard_identity::IdentityError;
use lanyard_mfa::PasswordGate;

use crate::{Browser, SignInError, SignInService};

/// Longest password we hash; longer input is refused before argon2 runs (S51).
pub const MAX_PASSWORD_LEN: usize = 1024;

/// What the gate says about a password.
#[derive(Debug)]
pub enum PasswordCheck {
    Right(Account),
    /// Wrong, unknown account, or locked: one answer (S53f).
    Wrong,
    /// Empty or longer than any password we hash; not counted as a guess.
    Missing,
    /// This address failed too often; nothing was checked.
    Throttled {
        retry_after_secs: i64,
    },
}

impl SignInService {
    /// What every password gate answers before it looks anything up: an empty or oversized
    /// password (not a guess), or an address that failed too often.
    pub(crate) async fn refused_unchecked(
        &self,
        password: &str,
        browser: &Browser<'_>,
    ) -> Result<Option<PasswordCheck>, SignInError> {
        if password.is_empty() || password.len() > MAX_PASSWORD_LEN {
            return Ok(Some(PasswordCheck::Missing));
        }
        Ok(self
            .mfa
            .address_throttled(browser.origin)
            .await?
            .map(|wait| PasswordCheck::Throttled {
                retry_after_secs: wait.max(1),
            }))
    }

    /// Checks `email` + `password` under the limits. The attempt is counted against the
    /// account before the check (so parallel guesses can not slip past a lock) and taken
    /// back when the password is right; a wrong one also counts for the source address.
    pub async fn check_password(
        &self,
        email: &str,
        password: &str,
        browser: &Browser<'_>,
    ) -> Result<PasswordCheck, SignInError> {
        if let Some(refused) = self.refused_unchecked(password, browser).await? {
            return Ok(refused);
        }
        // Looked up before the check so the account's lock applies; the password is checked
        // even when locked, so a locked account costs the same time as any other (S53f).
        let named = match self.accounts.find_by_email(email).await {
            Ok(named) => named,
            Err(IdentityError::Store(e)) => return Err(e.into()),
            Err(_) => None,
        };
        let gate = self
            .mfa
            .password_attempt(named.as_ref(), browser.device)
            .await?;
        let outcome = self
            .accounts
            .authenticate_password(email, Secret::new(password), browser.origin)
            .await;
        let right = outcome.is_ok();
        if matches!(
            outcome,
            Err(IdentityError::Crypto(CryptoError::Busy { .. }))
        ) {
            self.mfa.password_not_checked(named.as_ref(), gate).await?;
        }
        if right || matches!(outcome, Err(IdentityError::InvalidCredentials)) {
            self.mfa
                .password_checked(named.as_ref(), gate, right, browser.origin)
                .await?;
        }
        match outcome {
            Ok(_) if gate == PasswordGate::Locked => Ok(PasswordCheck::Wrong),
            Ok(account) => Ok(PasswordCheck::Right(account)),
            Err(IdentityError::InvalidCredentials) => Ok(PasswordCheck::Wrong),
            Err(e) => Err(e.into()),
        }
    }
}
