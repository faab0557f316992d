//! A challenge: the second question of one sign-in (or one step-up), from a correct password
//! to a correct code. It lives in the ephemeral store under the keyed hash of an opaque id
//! that the page carries; an emailed code belongs to exactly one challenge (S32: a code from
//! sign-in A does not work in sign-in B), and only its latest code counts.

use std::time::Duration;

use lanyard_core::model::{Account, MfaMethod, MfaState};
use lanyard_core::{AccountId, EphemeralKey, Origin, Timestamp};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::lockout::{self, Lock};
use crate::notify::LockCause;
use crate::settings::CHALLENGE_TTL_SECS;
use crate::{Factor, MfaError, MfaService, code, totp};

/// Why the second step is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    SignIn,
    /// Reconfirming identity before a sensitive action (B8).
    StepUp,
    /// A signed-in user whose app asks for a higher level (`acr_values`): only the
    /// authenticator app or the backup code can answer, so no code is emailed up front.
    RaiseAssurance,
}

#[derive(Serialize, Deserialize)]
struct EmailCode {
    /// Keyed hash of `challenge id + code`: the binding to this challenge is in the hash.
    mac: String,
    sent_at: Timestamp,
    expires_at: Timestamp,
}

#[derive(Serialize, Deserialize)]
struct Record {
    account_id: AccountId,
    email: String,
    purpose: Purpose,
    created_at: Timestamp,
    /// Step-up only accepts factors enrolled before this time (the protected session's
    /// start), so a factor added in a hijacked session can not vouch for it (CVE-2023-3597).
    factors_before: Option<Timestamp>,
    email_code: Option<EmailCode>,
    /// The hourly limit on emailed codes refused a code for this challenge; another may be
    /// sent from then on.
    #[serde(default)]
    sends_blocked_until: Option<Timestamp>,
}

/// What the challenge page shows.
#[derive(Debug, Clone)]
pub struct ChallengeView {
    pub account_id: AccountId,
    pub purpose: Purpose,
    /// The account's method: the question asked first.
    pub method: MfaMethod,
    /// Set once a code was emailed: when it expires and when another may be asked for.
    pub email_code_expires_at: Option<Timestamp>,
    pub resend_at: Option<Timestamp>,
    /// The hourly limit on emailed codes was reached for this challenge: no code can be
    /// emailed before then.
    pub sends_blocked_until: Option<Timestamp>,
    pub has_backup_code: bool,
}

/// A typed answer, not yet normalised.
#[derive(Debug, Clone, Copy)]
pub enum Answer<'a> {
    EmailCode(&'a str),
    Totp(&'a str),
    BackupCode(&'a str),
}

impl Answer<'_> {
    fn factor(self) -> Factor {
        match self {
            Answer::EmailCode(_) => Factor::EmailCode,
            Answer::Totp(_) => Factor::Totp,
            Answer::BackupCode(_) => Factor::BackupCode,
        }
    }
}

/// A passed second step.
#[derive(Debug)]
pub struct Verified {
    pub account_id: AccountId,
    pub purpose: Purpose,
    pub factor: Factor,
    /// After a backup code was used, its replacement: shown once, right away (B4).
    pub new_backup_code: Option<String>,
}

/// The challenge id is the page's only handle; anything else is refused before a lookup.
const ID_LEN: usize = 43;

impl MfaService {
    fn challenge_key(&self, id: &str) -> String {
        EphemeralKey::MfaChallenge(&self.hasher.hash(id)).to_string()
    }

    fn tries_key(&self, id: &str) -> String {
        EphemeralKey::MfaTries(&self.hasher.hash(id)).to_string()
    }

    fn challenge_ttl(&self) -> Duration {
        Duration::from_secs(CHALLENGE_TTL_SECS.unsigned_abs())
    }

    async fn load(&self, id: &str) -> Result<Record, MfaError> {
        if id.len() != ID_LEN {
            return Err(MfaError::ChallengeGone);
        }
        let bytes = self
            .ephemeral
            .get(&self.challenge_key(id))
            .await?
            .ok_or(MfaError::ChallengeGone)?;
        let record: Record = serde_json::from_slice(&bytes).map_err(|_| MfaError::ChallengeGone)?;
        if self.clock.now() >= record.created_at.plus_secs(CHALLENGE_TTL_SECS) {
            return Err(MfaError::ChallengeGone);
        }
        Ok(record)
    }

    async fn save(&self, id: &str, record: &Record) -> Result<(), MfaError> {
        let bytes = serde_json::to_vec(record).map_err(|e| MfaError::Internal(e.to_string()))?;
        self.ephemeral
            .put(&self.challenge_key(id), &bytes, self.challenge_ttl())
            .await?;
        Ok(())
    }

    async fn view_of(&self, record: &Record) -> Result<ChallengeView, MfaError> {
        let state = self.repo.mfa_state(record.account_id).await?;
        let has_backup_code = self.repo.backup_code(record.account_id).await?.is_some()
            || self.repo.unused_set_codes(record.account_id).await? > 0;
        Ok(ChallengeView {
            account_id: record.account_id,
            purpose: record.purpose,
            method: state.method,
            email_code_expires_at: record.email_code.as_ref().map(|c| c.expires_at),
            resend_at: record
                .email_code
                .as_ref()
                .map(|c| c.sent_at.plus_secs(self.settings.resend_interval_secs)),
            sends_blocked_until: record
                .sends_blocked_until
                .filter(|at| *at > self.clock.now()),
            has_backup_code,
        })
    }

    /// Starts the second step for an account whose password was just verified, under `id`
    /// (the sign-in flow's id: the page already carries it, so no second handle exists).
    /// Starting again replaces an earlier challenge under the same id and its try count —
    /// which takes a correct password, while the account's count keeps running.
    /// Email-method accounts get their code right away, unless the hourly limit is reached
    /// (the view's `sends_blocked_until`). A locked account gets [`MfaError::Locked`] and no
    /// challenge.
    pub async fn begin(
        &self,
        id: &str,
        account: &Account,
        purpose: Purpose,
        factors_before: Option<Timestamp>,
        origin: &Origin,
    ) -> Result<ChallengeView, MfaError> {
        if id.len() != ID_LEN {
            return Err(MfaError::ChallengeGone);
        }
        self.refuse_if_locked(account.id, origin).await?;
        self.ephemeral.delete(&self.tries_key(id)).await?;
        let mut record = Record {
            account_id: account.id,
            email: account.email.clone(),
            purpose,
            created_at: self.clock.now(),
            factors_before,
            email_code: None,
            sends_blocked_until: None,
        };
        let state = self.repo.mfa_state(account.id).await?;
        if state.method == MfaMethod::Email && purpose != Purpose::RaiseAssurance {
            // The hourly limit does not end the challenge: the page offers the account's
            // other ways and says when a code can be sent again.
            match self.email_code(id, &mut record, origin).await {
                Ok(_) => {}
                Err(MfaError::TooManySends { until }) => record.sends_blocked_until = Some(until),
                Err(e) => return Err(e),
            }
        }
        self.save(id, &record).await?;
        self.view_of(&record).await
    }

    /// Ends a challenge (sign-in abandoned or restarted).
    pub async fn abandon(&self, id: &str) -> Result<(), MfaError> {
        self.ephemeral.delete(&self.challenge_key(id)).await?;
        self.ephemeral.delete(&self.tries_key(id)).await?;
        Ok(())
    }

    pub async fn view(&self, id: &str) -> Result<ChallengeView, MfaError> {
        let record = self.load(id).await?;
        self.view_of(&record).await
    }

    /// "Get code by email" / "Send a new code": replaces the challenge's code (latest only),
    /// at most once per `resend_interval_secs` per challenge and `sends_per_hour` per
    /// account and per source address.
    pub async fn send_email_code(&self, id: &str, origin: &Origin) -> Result<Timestamp, MfaError> {
        let mut record = self.load(id).await?;
        self.refuse_if_locked(record.account_id, origin).await?;
        if let Some(sent) = &record.email_code {
            let at = sent.sent_at.plus_secs(self.settings.resend_interval_secs);
            if self.clock.now() < at {
                return Err(MfaError::ResendTooSoon { at });
            }
        }
        match self.email_code(id, &mut record, origin).await {
            Ok(expires_at) => {
                record.sends_blocked_until = None;
                self.save(id, &record).await?;
                Ok(expires_at)
            }
            Err(MfaError::TooManySends { until }) => {
                record.sends_blocked_until = Some(until);
                self.save(id, &record).await?;
                Err(MfaError::TooManySends { until })
            }
            Err(e) => Err(e),
        }
    }

    async fn email_code(
        &self,
        id: &str,
        record: &mut Record,
        origin: &Origin,
    ) -> Result<Timestamp, MfaError> {
        let hour = Duration::from_secs(3600);
        let now = self.clock.now();
        let since_key = EphemeralKey::MfaSendsSince(record.account_id).to_string();
        let per_account = self
            .ephemeral
            .increment(&EphemeralKey::MfaSends(record.account_id).to_string(), hour)
            .await?;
        if per_account == 1 {
            // The counter's window starts now: remember when, so a refusal can say when it
            // ends.
            self.ephemeral
                .put(&since_key, now.seconds().to_string().as_bytes(), hour)
                .await?;
        }
        let per_ip = match &origin.ip {
            Some(ip) => {
                self.ephemeral
                    .increment(&EphemeralKey::MfaSendsIp(ip).to_string(), hour)
                    .await?
            }
            None => 0,
        };
        if per_account > self.settings.sends_per_hour
            || per_ip > self.settings.sends_per_hour_per_ip
        {
            self.audit(
                record.account_id,
                "mfa.email.send_limited",
                "failure",
                None,
                origin,
            )
            .await;
            let until = self
                .sends_window_end(&since_key, per_account > self.settings.sends_per_hour)
                .await?;
            return Err(MfaError::TooManySends { until });
        }
        let code = code::otp_from(&*self.rng);
        let expires_at = now.plus_secs(self.settings.email_code_ttl_secs);
        self.send_code_mail(&record.email, &code, now, expires_at)
            .await?;
        record.email_code = Some(EmailCode {
            mac: self.hasher.hash(&format!("{id}:{code}")),
            sent_at: now,
            expires_at,
        });
        self.audit(record.account_id, "mfa.email.sent", "success", None, origin)
            .await;
        Ok(expires_at)
    }

    /// When another code may be sent: the end of the account's hour when its limit is the
    /// one reached and its start is known; otherwise (the address's limit, or a lost start)
    /// an hour from now, which is the latest it can be.
    async fn sends_window_end(
        &self,
        since_key: &str,
        account_limit: bool,
    ) -> Result<Timestamp, MfaError> {
        let now = self.clock.now();
        let latest = now.plus_secs(3600);
        if !account_limit {
            return Ok(latest);
        }
        let since = self
            .ephemeral
            .get(since_key)
            .await?
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .and_then(|text| text.parse::<i64>().ok())
            .map(|secs| Timestamp(secs).plus_secs(3600))
            .filter(|end| *end > now && *end <= latest);
        Ok(since.unwrap_or(latest))
    }

    async fn refuse_if_locked(&self, account: AccountId, origin: &Origin) -> Result<(), MfaError> {
        let state = self.repo.mfa_state(account).await?;
        match lockout::lock(&state, self.clock.now(), &self.settings) {
            Lock::Open => Ok(()),
            Lock::Until(until) => {
                self.audit(account, "mfa.locked", "failure", Some("backoff"), origin)
                    .await;
                Err(MfaError::Locked { until: Some(until) })
            }
            Lock::Hard => {
                self.audit(account, "mfa.locked", "failure", Some("hard_limit"), origin)
                    .await;
                Err(MfaError::Locked { until: None })
            }
        }
    }

    /// Checks an answer. Every evaluated wrong answer counts against the challenge (five and
    /// it is gone) and against the account (backoff, then the hard limit); the count is taken
    /// atomically *before* the comparison, so parallel guesses can not outrun it (S30).
    pub async fn verify(
        &self,
        id: &str,
        answer: Answer<'_>,
        origin: &Origin,
    ) -> Result<Verified, MfaError> {
        let record = self.load(id).await?;
        let account = record.account_id;
        self.refuse_if_locked(account, origin).await?;
        let normalized = match answer {
            Answer::EmailCode(typed) | Answer::Totp(typed) => code::normalize_otp(typed),
            // Either length: which one the account has is decided by `check_backup_code`.
            Answer::BackupCode(typed) => {
                code::normalize_backup_code(typed).or_else(|| code::normalize_set_code(typed))
            }
        }
        .ok_or(MfaError::Malformed)?;

        let tries = self
            .ephemeral
            .increment(&self.tries_key(id), self.challenge_ttl())
            .await?;
        let max = u64::from(self.settings.tries_per_challenge);
        if tries > max {
            self.ephemeral.delete(&self.challenge_key(id)).await?;
            return Err(MfaError::TooManyTries);
        }

        // The account's count takes this answer as a failure *before* it is compared, in one
        // locked step with the lock decision: answers racing on other challenges of the same
        // account can not all pass the lock first (S30, CVE-2024-4629). A right answer clears
        // the count below.
        let now = self.clock.now();
        let settings = &self.settings;
        let open = |s: &MfaState| lockout::lock(s, now, settings) == Lock::Open;
        let Some((before, counted)) = self.repo.reserve_mfa_attempt(account, now, &open).await?
        else {
            self.refuse_if_locked(account, origin).await?;
            // Opened in between (an unlock): the caller may simply try again.
            return Err(MfaError::Locked { until: Some(now) });
        };
        let factor = answer.factor();
        let outcome = match answer {
            Answer::EmailCode(_) => self.check_email_code(id, &record, &normalized).await,
            Answer::Totp(_) => self.check_totp(&record, &normalized, origin).await,
            Answer::BackupCode(_) => self.check_backup_code(&record, &normalized, origin).await,
        };
        let outcome = match outcome {
            Ok(outcome) => outcome,
            Err(e) => {
                // Not a guess (no authenticator app, a factor too new, a store error).
                self.repo
                    .release_mfa_attempt(account, now, before.last_failure_at)
                    .await?;
                return Err(e);
            }
        };
        let Some(new_backup_code) = outcome else {
            return Err(self
                .wrong(id, &record, factor, &counted, tries, max, origin)
                .await);
        };
        // One winner per challenge: whoever takes it completes it. The loser of two right
        // answers on one challenge made no guess: its reservation goes back.
        if self
            .ephemeral
            .take(&self.challenge_key(id))
            .await?
            .is_none()
        {
            self.repo
                .release_mfa_attempt(account, now, before.last_failure_at)
                .await?;
            return Err(MfaError::ChallengeGone);
        }
        self.ephemeral.delete(&self.tries_key(id)).await?;
        self.repo.clear_mfa_failures(account).await?;
        let kind = format!("mfa.{}.verified", factor.as_str());
        self.audit(account, &kind, "success", None, origin).await;
        Ok(Verified {
            account_id: account,
            purpose: record.purpose,
            factor,
            new_backup_code: new_backup_code.0,
        })
    }

    /// A wrong answer (already counted against the account; mail when a lock starts), and the
    /// challenge ends at its last try.
    #[allow(clippy::too_many_arguments)]
    async fn wrong(
        &self,
        id: &str,
        record: &Record,
        factor: Factor,
        state: &MfaState,
        tries: u64,
        max: u64,
        origin: &Origin,
    ) -> MfaError {
        let account = record.account_id;
        let kind = format!("mfa.{}.failed", factor.as_str());
        self.audit(account, &kind, "failure", None, origin).await;
        if state.failures == self.settings.backoff_after
            || state.failures == self.settings.hard_limit
        {
            let at = state.last_failure_at.unwrap_or_else(|| self.clock.now());
            let lock = self.lock_after(account, state.failures, at);
            self.notify_lock(
                account,
                &record.email,
                LockCause::Codes,
                state.failures,
                lock,
            )
            .await;
        }
        if tries >= max {
            if let Err(e) = self.ephemeral.delete(&self.challenge_key(id)).await {
                return e.into();
            }
            return MfaError::TooManyTries;
        }
        MfaError::WrongCode {
            tries_left: u32::try_from(max - tries).unwrap_or(0),
        }
    }

    /// `Some(Passed)` when the code is this challenge's latest, unexpired email code.
    async fn check_email_code(
        &self,
        id: &str,
        record: &Record,
        code: &str,
    ) -> Result<Option<Passed>, MfaError> {
        let Some(sent) = &record.email_code else {
            return Ok(None);
        };
        let mac = self.hasher.hash(&format!("{id}:{code}"));
        let matches = bool::from(mac.as_bytes().ct_eq(sent.mac.as_bytes()));
        Ok((matches && self.clock.now() < sent.expires_at).then_some(Passed(None)))
    }

    async fn check_totp(
        &self,
        record: &Record,
        code: &str,
        origin: &Origin,
    ) -> Result<Option<Passed>, MfaError> {
        let account = record.account_id;
        let Some(credential) = self.repo.totp_credential(account, false).await? else {
            return Err(MfaError::NotAvailable);
        };
        if let (Some(before), Some(confirmed)) = (record.factors_before, credential.confirmed_at)
            && confirmed >= before
        {
            return Err(MfaError::FactorTooNew);
        }
        let secret = self
            .kek
            .decrypt(&credential.secret_sealed, &Self::totp_aad(account))?;
        let now_step = totp::step_at(self.clock.now().seconds());
        let Some(step) = totp::matching_step(&secret, code, now_step)? else {
            return Ok(None);
        };
        if self.repo.advance_totp_step(account, step).await? {
            Ok(Some(Passed(None)))
        } else {
            self.audit(account, "mfa.totp.replay", "failure", None, origin)
                .await;
            Ok(None)
        }
    }

    /// An account with a set of backup codes (a site principal) is checked against its set,
    /// whose used code is not replaced; any other account against its one backup code, which
    /// is. Step-up refuses a set made during the session it protects, like an app set up in
    /// it (CVE-2023-3597).
    async fn check_backup_code(
        &self,
        record: &Record,
        code: &str,
        origin: &Origin,
    ) -> Result<Option<Passed>, MfaError> {
        let account = record.account_id;
        if let Some(set) = self.repo.backup_code_set(account).await? {
            if record
                .factors_before
                .is_some_and(|before| set.created_at >= before)
            {
                return Err(MfaError::FactorTooNew);
            }
            let used = self.consume_set_code(account, code, origin).await?;
            return Ok(used.then_some(Passed(None)));
        }
        let replacement = self.new_backup_code();
        let used = self
            .repo
            .consume_backup_code(
                account,
                &self.backup_hash(account, code),
                &self.backup_hash(account, &replacement),
                self.clock.now(),
            )
            .await?;
        Ok(used.then(|| Passed(Some(code::display_backup_code(&replacement)))))
    }
}

/// A passed check, with the backup code's replacement when one was used.
struct Passed(Option<String>);
