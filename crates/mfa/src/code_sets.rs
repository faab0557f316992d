//! Sets of ten single-use backup codes (C4) for site principals, where a person's account has
//! one backup code (`backup`). A code has 10 Crockford base32 characters (50 bits); each is
//! stored as a keyed hash bound to its account under its own label, so a database dump
//! without the server's hash key tests no guess, and a use is one indexed lookup instead of
//! ten slow hashes (S35 asks for a slow hash below 112 bits when the hash is unkeyed). The
//! whole set is also kept once, sealed with the KEK and bound to the account, so the user can
//! see it again after entering the password (seed 002: "Show Backup Codes").
//!
//! A use is a conditional update in the store (S34); a new set replaces the old one in one
//! transaction (S35).

use lanyard_core::model::BackupCodeSet;
use lanyard_core::{AccountId, Origin, Timestamp};
use zeroize::Zeroizing;

use crate::{MfaError, MfaService, code};

/// Codes in a set.
pub const SET_SIZE: usize = 10;

/// One code of a set as a page shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct SetCode {
    /// Grouped for reading (`ABCDE-FGHJK`).
    pub code: String,
    pub used: bool,
}

impl std::fmt::Debug for SetCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SetCode")
            .field("used", &self.used)
            .finish_non_exhaustive()
    }
}

/// The current set, opened for showing: every code in order, used ones marked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShownSet {
    pub created_at: Timestamp,
    pub codes: Vec<SetCode>,
}

impl ShownSet {
    pub fn remaining(&self) -> usize {
        self.codes.iter().filter(|c| !c.used).count()
    }
}

impl MfaService {
    fn set_code_hash(&self, account: AccountId, normalized: &str) -> String {
        self.hasher
            .hash(&format!("backup-code-set:{account}:{normalized}"))
    }

    /// The AEAD associated data of a sealed set: a set copied to another account's row does
    /// not open.
    fn set_aad(account: AccountId) -> Vec<u8> {
        let mut aad = b"lanyard:backup-code-set:".to_vec();
        aad.extend_from_slice(account.0.as_bytes());
        aad
    }

    /// Ten new codes replacing the account's set (or its first), returned grouped for showing
    /// once. Callers put "Generate new codes" behind step-up.
    pub async fn new_backup_code_set(
        &self,
        account: AccountId,
        origin: &Origin,
    ) -> Result<Vec<String>, MfaError> {
        let set = self.seal_new_set(account)?;
        self.repo
            .replace_backup_code_set(account, &set.sealed, &set.hashes, self.clock.now())
            .await?;
        self.generated(account, origin).await;
        Ok(set.shown)
    }

    /// The account's first set, made at the end of the site's authenticator set-up: ten
    /// codes as [`Self::new_backup_code_set`] makes them, or `None` (nothing made) when the
    /// account has a set already — a reload, a replayed link or a second tab.
    pub async fn first_backup_code_set(
        &self,
        account: AccountId,
        origin: &Origin,
    ) -> Result<Option<Vec<String>>, MfaError> {
        let set = self.seal_new_set(account)?;
        let made = self
            .repo
            .create_first_backup_code_set(account, &set.sealed, &set.hashes, self.clock.now())
            .await?;
        if !made {
            return Ok(None);
        }
        self.generated(account, origin).await;
        Ok(Some(set.shown))
    }

    fn seal_new_set(&self, account: AccountId) -> Result<NewSet, MfaError> {
        let codes: Vec<String> = (0..SET_SIZE)
            .map(|_| {
                let mut bytes = [0u8; 7];
                self.rng.fill(&mut bytes);
                code::set_code_from(&bytes)
            })
            .collect();
        let hashes = codes
            .iter()
            .map(|c| self.set_code_hash(account, c))
            .collect();
        let plain = Zeroizing::new(codes.join("\n"));
        let sealed = self
            .kek
            .encrypt(plain.as_bytes(), &Self::set_aad(account))?;
        let shown = codes.iter().map(|c| code::display_set_code(c)).collect();
        Ok(NewSet {
            sealed,
            hashes,
            shown,
        })
    }

    async fn generated(&self, account: AccountId, origin: &Origin) {
        self.audit(
            account,
            "mfa.backup_code_set.generated",
            "success",
            None,
            origin,
        )
        .await;
    }

    /// The current set opened for showing again; `None` without one. Callers ask for the
    /// password first.
    pub async fn backup_code_set(&self, account: AccountId) -> Result<Option<ShownSet>, MfaError> {
        let Some(set) = self.repo.backup_code_set(account).await? else {
            return Ok(None);
        };
        Ok(Some(self.open_set(&set)?))
    }

    fn open_set(&self, set: &BackupCodeSet) -> Result<ShownSet, MfaError> {
        let plain = self
            .kek
            .decrypt(&set.sealed, &Self::set_aad(set.account_id))?;
        let text = std::str::from_utf8(&plain)
            .map_err(|_| MfaError::Internal("sealed backup code set".to_owned()))?;
        let codes: Vec<&str> = text.split('\n').collect();
        if codes.len() != set.used_at.len() {
            return Err(MfaError::Internal("sealed backup code set".to_owned()));
        }
        Ok(ShownSet {
            created_at: set.created_at,
            codes: codes
                .iter()
                .zip(&set.used_at)
                .map(|(c, used)| SetCode {
                    code: code::display_set_code(c),
                    used: used.is_some(),
                })
                .collect(),
        })
    }

    /// When the account's set was made and how many of its codes are unused, without
    /// opening it (for the page that asks the password first); `None` without a set.
    pub async fn backup_code_set_info(
        &self,
        account: AccountId,
    ) -> Result<Option<(Timestamp, usize)>, MfaError> {
        Ok(self
            .repo
            .backup_code_set(account)
            .await?
            .map(|set| (set.created_at, set.remaining())))
    }

    /// Unused codes of the account's set (0 without one).
    pub async fn unused_backup_set_codes(&self, account: AccountId) -> Result<u32, MfaError> {
        Ok(self.repo.unused_set_codes(account).await?)
    }

    /// Whether the account has a set at all (used up or not): such an account is checked
    /// against its set, never a single backup code.
    pub async fn has_backup_code_set(&self, account: AccountId) -> Result<bool, MfaError> {
        Ok(self.repo.backup_code_set(account).await?.is_some())
    }

    /// Uses a code of the account's set: true for exactly one caller per code.
    pub(crate) async fn consume_set_code(
        &self,
        account: AccountId,
        normalized: &str,
        origin: &Origin,
    ) -> Result<bool, MfaError> {
        let used = self
            .repo
            .consume_set_code(
                account,
                &self.set_code_hash(account, normalized),
                self.clock.now(),
            )
            .await?;
        if used {
            self.audit(account, "mfa.backup_code.used", "success", None, origin)
                .await;
        }
        Ok(used)
    }
}

/// A set ready to store: its sealed copy, each code's keyed hash, the codes for showing once.
struct NewSet {
    sealed: Vec<u8>,
    hashes: Vec<String>,
    shown: Vec<String>,
}
