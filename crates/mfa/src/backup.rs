//! The backup code (B4): one at a time, 120 bits, stored as a keyed hash bound to the
//! account. With that much entropy a keyed hash is enough (S35 asks for a slow hash only
//! below 112 bits), and it keeps a sign-in with a backup code off the argon2 pool.

use lanyard_core::model::BackupCodeInfo;
use lanyard_core::{AccountId, Origin};

use crate::{MfaError, MfaService, code};

impl MfaService {
    pub(crate) fn new_backup_code(&self) -> String {
        let mut bytes = [0u8; 15];
        self.rng.fill(&mut bytes);
        code::backup_code_from(&bytes)
    }

    pub(crate) fn backup_hash(&self, account: AccountId, normalized: &str) -> String {
        self.hasher.hash(&format!("backup:{account}:{normalized}"))
    }

    /// When the current code was generated; `None` before the first one.
    pub async fn backup_code_info(
        &self,
        account: AccountId,
    ) -> Result<Option<BackupCodeInfo>, MfaError> {
        Ok(self.repo.backup_code(account).await?)
    }

    /// Generates a new code, replacing the old one in one step, and returns it for showing
    /// once (grouped for reading). Callers put "Generate" behind step-up; the first code is
    /// issued at the first sign-in.
    pub async fn issue_backup_code(
        &self,
        account: AccountId,
        origin: &Origin,
    ) -> Result<String, MfaError> {
        let code = self.new_backup_code();
        self.repo
            .replace_backup_code(account, &self.backup_hash(account, &code), self.clock.now())
            .await?;
        self.audit(
            account,
            "mfa.backup_code.generated",
            "success",
            None,
            origin,
        )
        .await;
        Ok(code::display_backup_code(&code))
    }
}
