//! Password hashing with argon2id on the node's hashing threads.
//!
//! argon2 is slow and memory-hard on purpose. Every hash (and every legacy site hash, via
//! [`PasswordHasher::run_bounded`]) runs on a fixed set of hashing threads (`pool`) that
//! own their argon2 memory (`memory`), at a lower scheduling priority than the runtime
//! (`priority`): so a node's sign-in memory is bounded by its hashing threads × `m_cost`
//! and given back when idle, token traffic keeps its latency while sign-ins saturate, and
//! sign-ins keep a configured share of the CPU while tokens saturate. A burst beyond that
//! queues for a bounded time and is then refused as `Busy`.

mod memory;
mod pool;
mod priority;

use std::sync::Arc;
use std::time::{Duration, Instant};

use argon2::password_hash::SaltString;
use argon2::{Algorithm, Params, PasswordHash, Version};
use lanyard_core::{InvalidSetting, Rng, Secret};
use serde::{Deserialize, Serialize};

pub use memory::HashMemory;
use pool::{HashPool, PoolSettings};

use crate::CryptoError;

/// A hashing thread idle this long gives its argon2 memory back to the system.
const IDLE_RELEASE: Duration = Duration::from_secs(2);
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
    /// Hashing threads, at least 2: half of them (rounded down) are keepers, the rest
    /// background threads (`password::priority`). Each holds at most one argon2 block, so a
    /// node's sign-in memory is at most `this × m_cost`, and none when idle.
    pub max_concurrent_hashes: usize,
    /// The share of a core, in percent (1–50), that sign-ins keep while token traffic
    /// saturates the node: more lets more sign-ins through under token load, and costs
    /// token throughput and latency while sign-ins are queued. Below saturation, hashing
    /// gets all the CPU the runtime leaves.
    pub cpu_share_percent: u8,
    /// Hashes that may wait for a thread; one more is refused at once as busy.
    pub max_queued_hashes: usize,
    /// How long a hash may wait for a thread before it is refused as busy, in ms.
    pub max_hash_wait_ms: u64,
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
            cpu_share_percent: 30,
            max_queued_hashes: 256,
            max_hash_wait_ms: 5_000,
            max_len_bytes: 1024,
            min_len: 8,
        }
    }
}

impl PasswordPolicy {
    /// The config-time check; [`PasswordHasher::new`] refuses the same (and parameters
    /// argon2 rejects) at startup.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        self.validate_hashing()?;
        if !(8..=64).contains(&self.min_len) {
            return Err(InvalidSetting::new(
                "passwords.min_length",
                "must be between 8 and 64 (NIST SP 800-63B: at least 8; 64 is the least \
                 maximum it allows)",
            ));
        }
        Ok(())
    }

    /// The hashing threads' settings: checked at config time and by
    /// [`PasswordHasher::new`].
    fn validate_hashing(&self) -> Result<(), InvalidSetting> {
        if self.max_concurrent_hashes < 2 {
            return Err(InvalidSetting::new(
                "passwords.max_concurrent_hashes",
                "must be at least 2 (a background hashing thread and a keeper)",
            ));
        }
        if !(1..=50).contains(&self.cpu_share_percent) {
            return Err(InvalidSetting::new(
                "passwords.cpu_share_percent",
                "must be between 1 and 50 (50: hashing weighs as much as the runtime)",
            ));
        }
        if self.max_queued_hashes == 0 {
            return Err(InvalidSetting::new(
                "passwords.max_queued_hashes",
                "must be at least 1",
            ));
        }
        if self.max_hash_wait_ms == 0 {
            return Err(InvalidSetting::new(
                "passwords.max_hash_wait_ms",
                "must be at least 1",
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
    pool: HashPool,
    rng: Arc<dyn Rng>,
    /// Verified when the account does not exist, so an unknown email costs the same argon2
    /// work as a wrong password (S43, ASVS 6.3.8).
    dummy_phc: Arc<str>,
}

impl PasswordHasher {
    /// Computes the dummy hash once, synchronously (one argon2 run, which also measures
    /// what a hash costs here), and starts the hashing threads: call at startup.
    pub fn new(policy: PasswordPolicy, rng: Arc<dyn Rng>) -> Result<PasswordHasher, CryptoError> {
        policy
            .validate_hashing()
            .map_err(|e| CryptoError::InvalidPolicy(e.reason))?;
        if policy.max_len_bytes == 0 || policy.min_len > policy.max_len_bytes {
            return Err(CryptoError::InvalidPolicy(
                "password length bounds are inconsistent",
            ));
        }
        let params = policy.params()?;
        let started = Instant::now();
        let dummy_phc: Arc<str> = {
            let mut random_password = [0u8; 32];
            rng.fill(&mut random_password);
            let salt = salt(rng.as_ref())?;
            HashMemory::default()
                .hash_phc(&params, &random_password, salt.as_salt())?
                .into()
        };
        let keepers = policy.max_concurrent_hashes / 2;
        let pool = HashPool::start(PoolSettings {
            background: policy.max_concurrent_hashes - keepers,
            keepers,
            cpu_share_percent: policy.cpu_share_percent,
            max_queued: policy.max_queued_hashes,
            max_wait: Duration::from_millis(policy.max_hash_wait_ms),
            policy_blocks: params.block_count(),
            expected_cost: started.elapsed(),
            idle_release: IDLE_RELEASE,
        })?;
        Ok(PasswordHasher {
            policy,
            params,
            pool,
            rng,
            dummy_phc,
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
        self.hash_unchecked(password).await
    }

    /// Hashes a password the person has just proven (a legacy site password moving to
    /// argon2id): the minimum length is for new passwords only, so it does not apply.
    pub async fn hash_proven(&self, password: Secret) -> Result<String, CryptoError> {
        self.check_length(&password)?;
        self.hash_unchecked(password).await
    }

    async fn hash_unchecked(&self, password: Secret) -> Result<String, CryptoError> {
        let salt = salt(self.rng.as_ref())?;
        let params = self.params.clone();
        self.run_bounded(move |memory| {
            memory.hash_phc(&params, password.expose().as_bytes(), salt.as_salt())
        })
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
            .run_bounded(move |memory| {
                verify_in(
                    memory,
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

    /// Hash computations running now (a metric).
    pub fn in_flight(&self) -> usize {
        self.pool.in_flight()
    }

    /// Highest [`PasswordHasher::in_flight`] seen since start.
    pub fn peak_in_flight(&self) -> usize {
        self.pool.peak_in_flight()
    }

    /// Bytes of argon2 memory the hashing threads hold (a metric; none when idle).
    pub fn held_bytes(&self) -> usize {
        self.pool.held_bytes()
    }

    /// Hashes waiting for a hashing thread (a metric).
    pub fn queued(&self) -> usize {
        self.pool.queued()
    }

    fn check_length(&self, password: &Secret) -> Result<(), CryptoError> {
        if password.expose().len() > self.policy.max_len_bytes {
            return Err(CryptoError::PasswordTooLong);
        }
        Ok(())
    }

    /// Runs other password-hash work (a legacy site hash: bcrypt, PBKDF2, argon2 with
    /// foreign parameters, checked in the thread's [`HashMemory`]) on the same hashing
    /// threads, so it shares their memory and CPU bounds and their queue.
    pub async fn run_bounded<T, F>(&self, work: F) -> Result<T, CryptoError>
    where
        F: Fn(&mut HashMemory) -> T + Send + Sync + 'static,
        T: Send + 'static,
    {
        self.pool.run(work).await
    }
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("policy", &self.policy)
            .field("in_flight", &self.in_flight())
            .finish_non_exhaustive()
    }
}

fn salt(rng: &dyn Rng) -> Result<SaltString, CryptoError> {
    let mut bytes = [0u8; SALT_LEN];
    rng.fill(&mut bytes);
    SaltString::encode_b64(&bytes).map_err(|_| CryptoError::PasswordHash)
}

fn verify_in(
    memory: &mut HashMemory,
    password: &[u8],
    phc: &str,
    policy: &Params,
    max_m_cost: u32,
) -> Result<PasswordCheck, CryptoError> {
    let parsed = PasswordHash::new(phc).map_err(|_| CryptoError::InvalidPasswordHash)?;
    let (algorithm, version, stored) = memory::phc_parts(&parsed)?;
    if stored.m_cost() > max_m_cost {
        return Err(CryptoError::InvalidPasswordHash);
    }
    let output_len = parsed.hash.map(|h| h.len());
    let ok = memory.argon2_matches(password, &parsed)?;
    let needs_rehash = algorithm != Algorithm::Argon2id
        || version != Version::V0x13
        || stored.m_cost() != policy.m_cost()
        || stored.t_cost() != policy.t_cost()
        || stored.p_cost() != policy.p_cost()
        || output_len != Some(Params::DEFAULT_OUTPUT_LEN);
    Ok(PasswordCheck { ok, needs_rehash })
}

#[cfg(test)]
mod tests;
