//! What the durable store keeps for the second step (requirements B2–B7): per-account MFA
//! state, authenticator-app credentials, the backup code and trusted devices. Everything here
//! is single-use or lockout state whose loss would reopen a replay, so none of it lives in the
//! ephemeral store (requirements, "Decisions").

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{AccountId, Clock, Rng, Timestamp};

/// The method the challenge screen asks for first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MfaMethod {
    Email,
    Totp,
}

impl MfaMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Totp => "totp",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "email" => Some(Self::Email),
            "totp" => Some(Self::Totp),
            _ => None,
        }
    }
}

/// Per-account second-step state. An account that never touched MFA has the default: email
/// codes, epoch 0, no failures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MfaState {
    pub account_id: AccountId,
    pub method: MfaMethod,
    /// Bumped whenever credentials change (password, authenticator, MFA reset, "revoke all
    /// devices"); a trusted device only counts while its epoch is the account's.
    pub credential_epoch: i64,
    /// Consecutive failed second steps (any method) since the last success.
    pub failures: u32,
    pub last_failure_at: Option<Timestamp>,
}

impl MfaState {
    pub fn new(account_id: AccountId) -> Self {
        Self {
            account_id,
            method: MfaMethod::Email,
            credential_epoch: 0,
            failures: 0,
            last_failure_at: None,
        }
    }
}

/// An authenticator-app credential. The shared secret is sealed with the KEK (it must be
/// recoverable, so it can not be hashed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotpCredential {
    pub account_id: AccountId,
    pub secret_sealed: Vec<u8>,
    /// The last RFC 6238 time step accepted; a code is accepted only for a later step.
    pub last_used_step: Option<i64>,
    pub created_at: Timestamp,
    /// `None` while pending: set up but not yet confirmed with a correct code.
    pub confirmed_at: Option<Timestamp>,
}

/// The account's one backup code, as far as a page may know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackupCodeInfo {
    pub created_at: Timestamp,
}

/// A site principal's set of single-use backup codes (C4), as the store keeps it: one sealed
/// copy of the whole set (opened only to show it again, after the password) and, per code in
/// the set's order, when it was used. The codes' keyed hashes stay in the store.
#[derive(Clone, PartialEq, Eq)]
pub struct BackupCodeSet {
    pub account_id: AccountId,
    /// The codes, sealed with the KEK by the MFA service (which alone knows the format).
    pub sealed: Vec<u8>,
    pub created_at: Timestamp,
    /// One entry per code, in the order of the sealed copy: `Some(when)` once used.
    pub used_at: Vec<Option<Timestamp>>,
}

impl BackupCodeSet {
    /// Codes still usable.
    pub fn remaining(&self) -> usize {
        self.used_at.iter().filter(|used| used.is_none()).count()
    }
}

impl std::fmt::Debug for BackupCodeSet {
    // Sealed, but still nothing a log needs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackupCodeSet")
            .field("account_id", &self.account_id)
            .field("created_at", &self.created_at)
            .field("used_at", &self.used_at)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DeviceId(pub Uuid);

impl DeviceId {
    pub fn new(clock: &dyn Clock, rng: &dyn Rng) -> Self {
        Self(crate::ids::uuid_v7(clock, rng))
    }
}

impl std::fmt::Display for DeviceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A browser the user chose to trust after a second step. The cookie holds an opaque random
/// token; the row keeps only its keyed hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedDevice {
    pub id: DeviceId,
    pub account_id: AccountId,
    pub token_hash: String,
    /// A human description ("Firefox on Linux"), from the User-Agent at trust time.
    pub label: String,
    /// The account's credential epoch when trusted.
    pub credential_epoch: i64,
    /// The assurance level of the second step that trusted it.
    pub acr: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub last_used_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}
