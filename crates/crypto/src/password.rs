//! Password hashing with argon2id on a bounded blocking pool.
//!
//! argon2 is slow and memory-hard on purpose, so each hash runs on tokio's blocking pool
//! behind a semaphore: at most `max_concurrent_hashes` hashes run at once (bounding memory
//! at `max_concurrent_hashes × m_cost`), and a burst of logins queues instead of starving
//! token traffic. The permit moves into the blocking task, so a caller that gives up (client
//! disconnect) does not free a slot while the hash is still running.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, PasswordHash, Version};
use lanyard_core::{InvalidSetting, Rng, Secret};
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;

use crate::CryptoError;

/// Salt length in bytes (the PHC recommendation; argon2 needs ≥ 8).
const SALT_LEN: usize = 16;
/// A stored hash asking for more memory than this (or than the policy, if higher) is refused
/// rather than verified: a tampered row must not make one login allocate gigabytes.
const MAX_STORED_M_COST_KIB: u32 = 256 * 1024;

/// The `[passwords]` section: argon2id parameters (renamed to their config keys), how many
/// hashes run at once, and the shortest new password (`min_length`, 8 to 64). The byte bound
/// is not configurable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PasswordPolicy {
    #[serde(rename = "argon2_m_cost_kib")]
    pub m_cost_kib: u32,
    #[serde(rename = "argon2_t_cost")]
    pub t_cost: u32,
    #[serde(rename = "argon2_p_cost")]
    pub p_cost: u32,
    /// Hashes computed at once: bounds a node's sign-in memory (`× m_cost`) and CPU.
    pub max_concurrent_hashes: usize,
    /// Longest password accepted, in UTF-8 bytes; checked before any hashing (S51).
    #[serde(skip)]
    pub max_len_bytes: usize,
    /// Shortest new password, in Unicode scalar values (ASVS 6.2.1, NIST SP 800-63B: at
    /// least 8); checked by `hash` only, so an old shorter password still verifies. The
    /// identity crate's password rules use the same minimum.
    #[serde(rename = "min_length")]
    pub min_len: usize,
}

impl Default for PasswordPolicy {
    /// OWASP Password Storage Cheat Sheet, argon2id: m = 19 MiB, t = 2, p = 1.
    fn default() -> Self {
        Self {
            m_cost_kib: 19_456,
            t_cost: 2,
            p_cost: 1,
            max_concurrent_hashes: 2,
            max_len_bytes: 1024,
            min_len: 8,
        }
    }
}

impl PasswordPolicy {
    /// The config-time check; [`PasswordHasher::new`] refuses the same (and parameters
    /// argon2 rejects) at startup.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        if self.max_concurrent_hashes == 0 {
            return Err(InvalidSetting::new(
                "passwords.max_concurrent_hashes",
                "must be at least 1",
            ));
        }
        if !(8..=64).contains(&self.min_len) {
            return Err(InvalidSetting::new(
                "passwords.min_length",
                "must be between 8 and 64 (NIST SP 800-63B: at least 8; 64 is the least \
                 maximum it allows)",
            ));
        }
        Ok(())
    }

    fn params(&self) -> Result<Params, CryptoError> {
        Params::new(self.m_cost_kib, self.t_cost, self.p_cost, None)
            .map_err(|_| CryptoError::InvalidPolicy("argon2 parameters out of range"))
    }
}

/// Result of [`PasswordHasher::verify`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordCheck {
    pub ok: bool,
    /// The stored hash uses other parameters (or another argon2 variant) than the policy:
    /// rehash the password the user just proved, if `ok`.
    pub needs_rehash: bool,
}

pub struct PasswordHasher {
    policy: PasswordPolicy,
    params: Params,
    permits: Arc<Semaphore>,
    rng: Arc<dyn Rng>,
    /// Verified when the account does not exist, so an unknown email costs the same argon2
    /// work as a wrong password (S43, ASVS 6.3.8).
    dummy_phc: Arc<str>,
    gauge: Arc<Gauge>,
}

impl PasswordHasher {
    /// Computes the dummy hash once, synchronously (one argon2 run): call at startup.
    pub fn new(policy: PasswordPolicy, rng: Arc<dyn Rng>) -> Result<PasswordHasher, CryptoError> {
        if policy.max_concurrent_hashes == 0 {
            return Err(CryptoError::InvalidPolicy(
                "max_concurrent_hashes must be at least 1",
            ));
        }
        if policy.max_len_bytes == 0 || policy.min_len > policy.max_len_bytes {
            return Err(CryptoError::InvalidPolicy(
                "password length bounds are inconsistent",
            ));
        }
        let params = policy.params()?;
        let dummy_phc: Arc<str> = {
            let mut random_password = [0u8; 32];
            rng.fill(&mut random_password);
            hash_blocking(&params, &random_password, &salt(rng.as_ref())?)?.into()
        };
        Ok(PasswordHasher {
            policy,
            params,
            permits: Arc::new(Semaphore::new(policy.max_concurrent_hashes)),
            rng,
            dummy_phc,
            gauge: Arc::new(Gauge::default()),
        })
    }

    pub fn policy(&self) -> &PasswordPolicy {
        &self.policy
    }

    /// Hashes a new password into an argon2id PHC string.
    pub async fn hash(&self, password: Secret) -> Result<String, CryptoError> {
        self.check_length(&password)?;
        let chars = password.expose().chars().count();
        if chars < self.policy.min_len {
            return Err(CryptoError::PasswordTooShort {
                min: self.policy.min_len,
            });
        }
        let salt = salt(self.rng.as_ref())?;
        let params = self.params.clone();
        self.run_bounded(move || hash_blocking(&params, password.expose().as_bytes(), &salt))
            .await?
    }

    /// Hashes a password the person has just proven (a legacy site password moving to
    /// argon2id): the minimum length is for new passwords only, so it does not apply.
    pub async fn hash_proven(&self, password: Secret) -> Result<String, CryptoError> {
        self.check_length(&password)?;
        let salt = salt(self.rng.as_ref())?;
        let params = self.params.clone();
        self.run_bounded(move || hash_blocking(&params, password.expose().as_bytes(), &salt))
            .await?
    }

    /// Checks `password` against the stored PHC string, or against the dummy hash when
    /// `phc` is `None` (unknown user: always `ok: false`, same cost).
    pub async fn verify(
        &self,
        password: Secret,
        phc: Option<&str>,
    ) -> Result<PasswordCheck, CryptoError> {
        self.check_length(&password)?;
        let known_user = phc.is_some();
        let phc: Arc<str> = match phc {
            Some(phc) => phc.into(),
            None => self.dummy_phc.clone(),
        };
        let policy_params = self.params.clone();
        let max_m_cost = MAX_STORED_M_COST_KIB.max(self.policy.m_cost_kib);
        let check = self
            .run_bounded(move || {
                verify_blocking(
                    password.expose().as_bytes(),
                    &phc,
                    &policy_params,
                    max_m_cost,
                )
            })
            .await??;
        Ok(if known_user {
            check
        } else {
            PasswordCheck {
                ok: false,
                needs_rehash: false,
            }
        })
    }

    /// Hashes currently running (a metric; never above `max_concurrent_hashes`).
    pub fn in_flight(&self) -> usize {
        self.gauge.current.load(Ordering::SeqCst)
    }

    /// Highest [`PasswordHasher::in_flight`] seen since start.
    pub fn peak_in_flight(&self) -> usize {
        self.gauge.peak.load(Ordering::SeqCst)
    }

    fn check_length(&self, password: &Secret) -> Result<(), CryptoError> {
        if password.expose().len() > self.policy.max_len_bytes {
            return Err(CryptoError::PasswordTooLong);
        }
        Ok(())
    }

    /// Runs other password-hash work (a legacy site hash: bcrypt, PBKDF2) on the same
    /// bounded pool, so it shares the memory and CPU bound of argon2.
    pub async fn run_bounded<T, F>(&self, work: F) -> Result<T, CryptoError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| CryptoError::PoolUnavailable)?;
        let gauge = self.gauge.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let _running = gauge.enter();
            work()
        })
        .await
        .map_err(|_| CryptoError::PoolUnavailable)
    }
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("policy", &self.policy)
            .field("available_permits", &self.permits.available_permits())
            .finish_non_exhaustive()
    }
}

fn salt(rng: &dyn Rng) -> Result<SaltString, CryptoError> {
    let mut bytes = [0u8; SALT_LEN];
    rng.fill(&mut bytes);
    SaltString::encode_b64(&bytes).map_err(|_| CryptoError::PasswordHash)
}

fn hash_blocking(
    params: &Params,
    password: &[u8],
    salt: &SaltString,
) -> Result<String, CryptoError> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password(password, salt)
        .map(|hash| hash.to_string())
        .map_err(|_| CryptoError::PasswordHash)
}

fn verify_blocking(
    password: &[u8],
    phc: &str,
    policy: &Params,
    max_m_cost: u32,
) -> Result<PasswordCheck, CryptoError> {
    let parsed = PasswordHash::new(phc).map_err(|_| CryptoError::InvalidPasswordHash)?;
    let algorithm =
        Algorithm::try_from(parsed.algorithm).map_err(|_| CryptoError::InvalidPasswordHash)?;
    let stored = Params::try_from(&parsed).map_err(|_| CryptoError::InvalidPasswordHash)?;
    if stored.m_cost() > max_m_cost {
        return Err(CryptoError::InvalidPasswordHash);
    }
    let version = parsed
        .version
        .map(Version::try_from)
        .transpose()
        .map_err(|_| CryptoError::InvalidPasswordHash)?
        .unwrap_or_default();
    let output_len = parsed.hash.map(|h| h.len());
    // `verify_password` recomputes with the hash's own variant and parameters and compares
    // in constant time.
    let ok = match Argon2::default().verify_password(password, &parsed) {
        Ok(()) => true,
        Err(argon2::password_hash::Error::Password) => false,
        Err(_) => return Err(CryptoError::InvalidPasswordHash),
    };
    let needs_rehash = algorithm != Algorithm::Argon2id
        || version != Version::V0x13
        || stored.m_cost() != policy.m_cost()
        || stored.t_cost() != policy.t_cost()
        || stored.p_cost() != policy.p_cost()
        || output_len != Some(Params::DEFAULT_OUTPUT_LEN);
    Ok(PasswordCheck { ok, needs_rehash })
}

/// Counts running hashes; the peak lets tests (and metrics) see the bound hold.
#[derive(Default)]
struct Gauge {
    current: AtomicUsize,
    peak: AtomicUsize,
}

impl Gauge {
    fn enter(&self) -> GaugeGuard<'_> {
        let now = self.current.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        GaugeGuard(self)
    }
}

struct GaugeGuard<'a>(&'a Gauge);

impl Drop for GaugeGuard<'_> {
    fn drop(&mut self) {
        self.0.current.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests;
