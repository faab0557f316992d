//! The MFA step-up service (requirements B1–B10, C4): the second step after a password —
//! emailed codes, authenticator apps, the backup code or a site user's set of backup codes
//! — with per-challenge and per-account attempt limits, trusted devices, and the freshness
//! rule behind sensitive actions. No HTTP here: `web` renders pages and maps [`MfaError`] to
//! responses.
//!
//! Single-use and lockout state lives in the durable store ([`MfaRepo`]); a challenge (the
//! page between password and code) and its emailed code live in the ephemeral store, where
//! absence means "start again".

pub mod assurance;
mod backup;
mod challenge;
pub mod code;
pub mod code_sets;
mod devices;
mod enroll;
mod error;
pub mod lockout;
pub mod notify;
mod password_notice;
mod settings;
mod signin_limits;
pub mod stepup;
pub mod totp;
pub mod when;

use std::sync::Arc;

use lanyard_core::ports::{EphemeralStore, MfaRepo};
use lanyard_core::{Auditor, Clock, Mailer, Rng};
use lanyard_crypto::{Kek, TokenHasher};

pub use assurance::Factor;
pub use challenge::{Answer, ChallengeView, Purpose, Verified};
pub use code_sets::{SetCode, ShownSet};
pub use devices::TrustedDeviceCookie;
pub use enroll::TotpSetup;
pub use error::MfaError;
pub use lockout::Lock;
pub use notify::{LockCause, WayBackIn};
pub use settings::MfaSettings;
pub use signin_limits::PasswordGate;

/// What the service needs from the outside world, injected so tests control time, randomness
/// and mail.
pub struct MfaDeps {
    pub repo: Arc<dyn MfaRepo>,
    pub ephemeral: Arc<dyn EphemeralStore>,
    pub mailer: Arc<dyn Mailer>,
    pub clock: Arc<dyn Clock>,
    pub rng: Arc<dyn Rng>,
    pub hasher: Arc<TokenHasher>,
    pub kek: Arc<Kek>,
    pub audit: Auditor,
    /// The product name, for mail and the authenticator app's account label.
    pub product_name: String,
}

pub struct MfaService {
    repo: Arc<dyn MfaRepo>,
    ephemeral: Arc<dyn EphemeralStore>,
    mailer: Arc<dyn Mailer>,
    clock: Arc<dyn Clock>,
    rng: Arc<dyn Rng>,
    hasher: Arc<TokenHasher>,
    kek: Arc<Kek>,
    audit: Auditor,
    product_name: String,
    settings: MfaSettings,
}

impl MfaService {
    pub fn new(deps: MfaDeps, settings: MfaSettings) -> Self {
        Self {
            repo: deps.repo,
            ephemeral: deps.ephemeral,
            mailer: deps.mailer,
            clock: deps.clock,
            rng: deps.rng,
            hasher: deps.hasher,
            kek: deps.kek,
            audit: deps.audit,
            product_name: deps.product_name,
            settings,
        }
    }

    pub fn settings(&self) -> &MfaSettings {
        &self.settings
    }

    /// The account's method and lock, for pages that explain what happens next.
    pub async fn state(
        &self,
        account: lanyard_core::AccountId,
    ) -> Result<lanyard_core::model::MfaState, MfaError> {
        Ok(self.repo.mfa_state(account).await?)
    }

    pub async fn lock(&self, account: lanyard_core::AccountId) -> Result<Lock, MfaError> {
        let state = self.repo.mfa_state(account).await?;
        Ok(lockout::lock(&state, self.clock.now(), &self.settings))
    }

    /// Operator unlock: clears the failure count (`lanyard user unlock`).
    pub async fn unlock(
        &self,
        account: lanyard_core::AccountId,
        origin: &lanyard_core::Origin,
    ) -> Result<(), MfaError> {
        self.repo.clear_mfa_failures(account).await?;
        self.audit(account, "mfa.unlocked", "success", None, origin)
            .await;
        Ok(())
    }

    async fn audit(
        &self,
        account: lanyard_core::AccountId,
        kind: &str,
        outcome: &str,
        reason: Option<&str>,
        origin: &lanyard_core::Origin,
    ) {
        let mut event = lanyard_core::model::AuditEvent::new(self.clock.now(), kind, outcome)
            .subject(account.to_string());
        if let Some(reason) = reason {
            event = event.reason(reason);
        }
        self.audit.record(event, origin).await;
    }

    /// The AEAD associated data binding a sealed TOTP secret to its account, so a sealed
    /// secret copied to another account's row does not open.
    fn totp_aad(account: lanyard_core::AccountId) -> Vec<u8> {
        totp::sealing_aad(account)
    }
}
