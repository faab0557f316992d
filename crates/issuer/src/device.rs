//! The device authorization grant's front half (RFC 8628 §3.1–§3.3): a device asks for a
//! device code and a user code; a signed-in person enters the user code, sees which app
//! asks for what, and approves or denies. Polling is the token endpoint's half
//! (`grant::device_code`). Decisions and numbers: `docs/device.md`.
//!
//! All state is in the ephemeral store under keyed hashes, never a code itself:
//! - `device:<hash of device code>` — the request and its status, kept [`TOMBSTONE_SECS`]
//!   past expiry so a late poll hears `expired_token` rather than `invalid_grant`;
//! - `device_user:<hash of user code>` — which device code a user code stands for, until
//!   expiry or the decision (taken atomically, so one code gets one decision);
//! - `device_poll:<hash of device code>` — the last poll and the current interval;
//! - `device_confirm:<hash of token>` — a confirmation page's one-time link to the request,
//!   bound to the browser session that entered the code;
//! - `device_tries_session:<binding>`, `device_tries_ip:<address>` — codes entered;
//! - `device_requests_client:<window>:<client>`, `device_requests_ip:<window>:<address>` —
//!   device requests started per minute (`limits`).
//!
//! Expiry is decided by the injected clock against `expires_at` in the record: the store's
//! own TTLs only clean up (Redis counts real time).

mod limits;
mod user_code;

use std::time::Duration;

use lanyard_core::model::{AuditEvent, Authenticated, Client, GrantType};
use lanyard_core::rng::random_token;
use lanyard_core::{AccountId, EphemeralKey, Origin, Secret, Timestamp};
use serde::{Deserialize, Serialize};

pub use self::limits::WINDOW_SECS as REQUESTS_WINDOW_SECS;
pub use self::user_code::UserCode;
use crate::endpoints;
use crate::error::{ErrorCode, OAuthError};
use crate::issuer::Issuer;
use crate::scope::Scopes;

/// Prefix of device codes, so secret scanners can recognise a leaked one.
pub const DEVICE_CODE_PREFIX: &str = "lyd_dc_";
/// How long an expired request is remembered, so a device that polls late is told
/// `expired_token` (RFC 8628 §3.5) instead of `invalid_grant`.
pub const TOMBSTONE_SECS: i64 = 3600;
/// Codes one browser session may enter per window, right or wrong.
pub const TRIES_PER_SESSION: u64 = 5;
/// Codes one network address may enter per window, right or wrong (RFC 8628 §5.1).
pub const TRIES_PER_ADDRESS: u64 = 10;
/// The guessing window: 15 minutes from the first code entered.
pub const TRIES_WINDOW_SECS: i64 = 900;
/// A user code is redrawn this many times when it collides with a live one.
const USER_CODE_DRAWS: usize = 5;
/// Length of a confirmation token (32 random bytes, base64url).
const CONFIRM_TOKEN_LEN: usize = 43;

/// RFC 8628 §3.2. `Debug` leaves out both codes.
#[derive(Clone, Serialize)]
pub struct DeviceAuthorization {
    pub device_code: String,
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: String,
    pub expires_in: i64,
    pub interval: i64,
}

impl std::fmt::Debug for DeviceAuthorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceAuthorization")
            .field("verification_uri", &self.verification_uri)
            .field("expires_in", &self.expires_in)
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

/// A device request as stored under `device:<hash>`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct DeviceRecord {
    pub client_id: String,
    pub scope: String,
    pub issued_at: i64,
    /// The clock's second from which the codes no longer work.
    pub expires_at: i64,
    pub interval: i64,
    pub status: DeviceStatus,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub(crate) enum DeviceStatus {
    Pending,
    /// The person who approved, how they signed in, and what they granted.
    Approved {
        account_id: AccountId,
        auth_time: i64,
        acr: String,
        amr: Vec<String>,
        scope: String,
    },
    Denied,
}

/// Polling state under `device_poll:<hash>`; apart from the record so a poll never
/// rewrites the status a concurrent decision just wrote.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct PollState {
    pub last_poll: i64,
    pub interval: i64,
}

/// What a confirmation token stands for.
#[derive(Debug, Serialize, Deserialize)]
struct Confirmation {
    device: String,
    user: String,
    session: String,
}

/// The outcome of a person entering a user code.
#[derive(Debug)]
pub enum UserCodeEntry {
    /// Not shaped like a user code; not counted as a try.
    Malformed,
    /// No live request has this code (wrong, expired or already decided).
    Unknown,
    /// This session or address entered too many codes; wait for the window to pass.
    TooManyTries,
    Found(DevicePrompt),
}

/// What the confirmation page shows, and the one-time token its form carries.
#[derive(Debug)]
pub struct DevicePrompt {
    /// The client the code is for (a site's client is only for that site's users).
    pub client_id: String,
    pub client_name: String,
    pub scopes: Vec<String>,
    /// The code as shown on the device, so the person can compare (RFC 8628 §5.4).
    pub user_code: String,
    pub expires_at: Timestamp,
    pub confirm: Secret,
}

/// The outcome of Approve or Deny.
#[derive(Debug, PartialEq, Eq)]
pub enum DeviceDecisionOutcome {
    Approved {
        client_name: String,
    },
    Denied {
        client_name: String,
    },
    /// The request expired or was decided meanwhile, or the token is not this session's.
    Gone,
}

pub(crate) fn device_key(hash: &str) -> String {
    EphemeralKey::Device(hash).to_string()
}

pub(crate) fn poll_key(hash: &str) -> String {
    EphemeralKey::DevicePoll(hash).to_string()
}

fn user_key(hash: &str) -> String {
    EphemeralKey::DeviceUser(hash).to_string()
}

fn confirm_key(hash: &str) -> String {
    EphemeralKey::DeviceConfirm(hash).to_string()
}

/// A TTL for the store that ends at `until` (at least one second).
pub(crate) fn ttl_until(now: Timestamp, until: i64) -> Duration {
    Duration::from_secs(u64::try_from(until - now.seconds()).unwrap_or(0).max(1))
}

impl Issuer {
    /// RFC 8628 §3.1–§3.2: a new device code and user code for an authenticated client.
    pub async fn authorize_device(
        &self,
        client: &Client,
        scope: Option<&str>,
        origin: &Origin,
    ) -> Result<DeviceAuthorization, OAuthError> {
        if !client.allows_grant(GrantType::DeviceCode) {
            return Err(OAuthError::new(
                ErrorCode::UnauthorizedClient,
                "the client is not allowed to use the device grant",
            ));
        }
        let scope = Scopes::parse(scope.unwrap_or(""))
            .filter(|s| self.scope_allowed(client, s))
            .ok_or_else(|| {
                OAuthError::new(
                    ErrorCode::InvalidScope,
                    "a requested scope is not available to this client",
                )
            })?;
        let now = self.clock.now();
        self.count_device_request(&client.id, origin, now).await?;
        let ttl = self.settings.tokens.device_code_ttl_secs.max(1);
        let device_code = format!("{DEVICE_CODE_PREFIX}{}", random_token(&*self.rng, 32));
        let device_hash = self.hasher.hash(&device_code);
        let user_code = self.claim_user_code(&device_hash, now, ttl).await?;
        let record = DeviceRecord {
            client_id: client.id.as_str().to_owned(),
            scope: scope.to_string(),
            issued_at: now.seconds(),
            expires_at: now.seconds() + ttl,
            interval: self.settings.tokens.device_poll_interval_secs,
            status: DeviceStatus::Pending,
        };
        self.put_record(&device_hash, &record, now).await?;
        self.record(
            AuditEvent::new(now, "device.requested", "success").client(client.id.as_str()),
            origin,
        )
        .await;
        let verification_uri = self.settings.endpoint(endpoints::DEVICE);
        let display = user_code.display();
        Ok(DeviceAuthorization {
            device_code,
            verification_uri_complete: format!("{verification_uri}?user_code={display}"),
            user_code: display,
            verification_uri,
            expires_in: ttl,
            interval: record.interval,
        })
    }

    /// A fresh user code, reserved for this device code (a live code is never reused).
    async fn claim_user_code(
        &self,
        device_hash: &str,
        now: Timestamp,
        ttl: i64,
    ) -> Result<UserCode, OAuthError> {
        for _ in 0..USER_CODE_DRAWS {
            let code = UserCode::generate(&*self.rng);
            let stored = self
                .ephemeral
                .put_if_absent(
                    &user_key(&self.user_code_hash(&code)),
                    device_hash.as_bytes(),
                    ttl_until(now, now.seconds() + ttl),
                )
                .await?;
            if stored {
                return Ok(code);
            }
        }
        Err(OAuthError::unavailable(
            "no free user code after several draws",
        ))
    }

    fn user_code_hash(&self, code: &UserCode) -> String {
        self.hasher.hash(&format!("user_code:{}", code.canonical()))
    }

    pub(crate) async fn put_record(
        &self,
        device_hash: &str,
        record: &DeviceRecord,
        now: Timestamp,
    ) -> Result<(), OAuthError> {
        let value = serde_json::to_vec(record).map_err(OAuthError::server)?;
        self.ephemeral
            .put(
                &device_key(device_hash),
                &value,
                ttl_until(now, record.expires_at + TOMBSTONE_SECS),
            )
            .await?;
        Ok(())
    }

    pub(crate) async fn load_record(
        &self,
        device_hash: &str,
    ) -> Result<Option<DeviceRecord>, OAuthError> {
        match self.ephemeral.get(&device_key(device_hash)).await? {
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(OAuthError::server),
            None => Ok(None),
        }
    }

    /// RFC 8628 §3.3: a signed-in person typed `input`. `session` is the keyed hash that
    /// binds the confirmation to this browser session. Every well-formed code counts
    /// against the session and the address *before* it is looked up, so parallel guesses
    /// can not slip past the limit (RFC 8628 §5.1).
    pub async fn enter_user_code(
        &self,
        input: &str,
        session: &str,
        origin: &Origin,
    ) -> Result<UserCodeEntry, OAuthError> {
        let Some(code) = UserCode::parse(input) else {
            return Ok(UserCodeEntry::Malformed);
        };
        if !self.count_try(session, origin).await? {
            return Ok(UserCodeEntry::TooManyTries);
        }
        let now = self.clock.now();
        let user_hash = self.user_code_hash(&code);
        let Some(device_hash) = self.ephemeral.get(&user_key(&user_hash)).await? else {
            return Ok(UserCodeEntry::Unknown);
        };
        let device_hash = String::from_utf8(device_hash).map_err(OAuthError::server)?;
        let Some(record) = self.load_record(&device_hash).await? else {
            return Ok(UserCodeEntry::Unknown);
        };
        if now.seconds() >= record.expires_at || !matches!(record.status, DeviceStatus::Pending) {
            return Ok(UserCodeEntry::Unknown);
        }
        let Some(client) = self.clients.find(&record.client_id).await? else {
            return Ok(UserCodeEntry::Unknown);
        };
        let confirm = random_token(&*self.rng, 32);
        let confirmation = Confirmation {
            device: device_hash,
            user: user_hash,
            session: session.to_owned(),
        };
        let value = serde_json::to_vec(&confirmation).map_err(OAuthError::server)?;
        self.ephemeral
            .put(
                &confirm_key(&self.hasher.hash(&confirm)),
                &value,
                ttl_until(now, record.expires_at),
            )
            .await?;
        Ok(UserCodeEntry::Found(DevicePrompt {
            client_id: record.client_id.clone(),
            client_name: client.name.clone(),
            scopes: Scopes::parse(&record.scope).unwrap_or_default().to_vec(),
            user_code: code.display(),
            expires_at: Timestamp(record.expires_at),
            confirm: Secret::new(confirm),
        }))
    }

    /// Counts one code entered by this session and address; false when either is over its
    /// limit (the entry is then not looked up, right or wrong).
    async fn count_try(&self, session: &str, origin: &Origin) -> Result<bool, OAuthError> {
        let window = Duration::from_secs(TRIES_WINDOW_SECS.unsigned_abs());
        let by_session = self
            .ephemeral
            .increment(
                &EphemeralKey::DeviceTriesSession(session).to_string(),
                window,
            )
            .await?;
        let by_address = match &origin.ip {
            Some(ip) => {
                self.ephemeral
                    .increment(&EphemeralKey::DeviceTriesIp(ip).to_string(), window)
                    .await?
            }
            None => 0,
        };
        Ok(by_session <= TRIES_PER_SESSION && by_address <= TRIES_PER_ADDRESS)
    }

    /// Approve or Deny on the confirmation page. The token works once and only for the
    /// session that entered the code; the user code is taken atomically, so of two
    /// decisions on one request (two tabs, two people) exactly one is recorded.
    pub async fn decide_device(
        &self,
        confirm: &str,
        session: &str,
        who: &Authenticated,
        approve: bool,
        origin: &Origin,
    ) -> Result<DeviceDecisionOutcome, OAuthError> {
        if confirm.len() != CONFIRM_TOKEN_LEN {
            return Ok(DeviceDecisionOutcome::Gone);
        }
        let Some(bytes) = self
            .ephemeral
            .take(&confirm_key(&self.hasher.hash(confirm)))
            .await?
        else {
            return Ok(DeviceDecisionOutcome::Gone);
        };
        let confirmation: Confirmation =
            serde_json::from_slice(&bytes).map_err(OAuthError::server)?;
        if confirmation.session != session {
            return Ok(DeviceDecisionOutcome::Gone);
        }
        let now = self.clock.now();
        let Some(mut record) = self.load_record(&confirmation.device).await? else {
            return Ok(DeviceDecisionOutcome::Gone);
        };
        if now.seconds() >= record.expires_at || !matches!(record.status, DeviceStatus::Pending) {
            return Ok(DeviceDecisionOutcome::Gone);
        }
        let Some(client) = self.clients.find(&record.client_id).await? else {
            return Ok(DeviceDecisionOutcome::Gone);
        };
        let client_name = client.name.clone();
        // The one decision: only the holder of the user code may write the status, and a
        // status once written is never pending again.
        if self
            .ephemeral
            .take(&user_key(&confirmation.user))
            .await?
            .is_none()
        {
            return Ok(DeviceDecisionOutcome::Gone);
        }
        record.status = if approve {
            DeviceStatus::Approved {
                account_id: who.account_id,
                auth_time: who.auth_time.seconds(),
                acr: who.acr.clone(),
                amr: who.amr.clone(),
                scope: record.scope.clone(),
            }
        } else {
            DeviceStatus::Denied
        };
        self.put_record(&confirmation.device, &record, now).await?;
        let kind = if approve {
            "device.approved"
        } else {
            "device.denied"
        };
        self.record(
            AuditEvent::new(now, kind, "success")
                .subject(who.account_id.to_string())
                .client(record.client_id.clone()),
            origin,
        )
        .await;
        Ok(if approve {
            DeviceDecisionOutcome::Approved { client_name }
        } else {
            DeviceDecisionOutcome::Denied { client_name }
        })
    }
}
