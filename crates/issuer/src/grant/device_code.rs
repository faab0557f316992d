//! The device authorization grant (RFC 8628 §3.4, §3.5): a polling device redeems its code.
//!
//! Each poll answers from the request's record (`crate::device`): `authorization_pending`
//! until the person decides, `slow_down` when the device polls sooner than its interval
//! (which then grows by 5 seconds), `access_denied`, `expired_token` once the clock passes
//! the expiry, and on approval the tokens — exactly once, because the record is taken out
//! of the store atomically by the poll that issues them.

use lanyard_core::model::{AccountStatus, AuditEvent, Client, GrantType};
use lanyard_core::{FamilyId, Origin, Secret, Timestamp};

use super::user_grant::NewUserGrant;
use super::{HowAuthenticated, TokenResponse, UserTokens, unauthorized_client};
use crate::device::{
    DEVICE_CODE_PREFIX, DeviceRecord, DeviceStatus, PollState, TOMBSTONE_SECS, device_key,
    poll_key, ttl_until,
};
use crate::error::{ErrorCode, OAuthError};
use crate::issuer::Issuer;
use crate::scope::Scopes;

/// RFC 8628 §3.5: "the interval MUST be increased by 5 seconds for this and all subsequent
/// requests".
pub const SLOW_DOWN_STEP_SECS: i64 = 5;

fn invalid_device_code() -> OAuthError {
    OAuthError::invalid_grant("invalid device code")
}

impl Issuer {
    pub(super) async fn redeem_device_code(
        &self,
        client: &Client,
        device_code: &Secret,
        origin: &Origin,
    ) -> Result<TokenResponse, OAuthError> {
        if !client.allows_grant(GrantType::DeviceCode) {
            return Err(unauthorized_client());
        }
        let code = device_code.expose();
        if !code.starts_with(DEVICE_CODE_PREFIX) || code.len() > 128 {
            return Err(invalid_device_code());
        }
        let hash = self.hasher.hash(code);
        let Some(record) = self.load_record(&hash).await? else {
            return Err(invalid_device_code());
        };
        let now = self.clock.now();
        // RFC 8628 §3.4 / RFC 6749 §5.2: bound to the client that asked for it. Another
        // client learns nothing, not even whether the code expired.
        if record.client_id != client.id.as_str() {
            self.record(
                AuditEvent::new(now, "token.device_code_rejected", "failure")
                    .client(client.id.as_str())
                    .reason("device code issued to another client"),
                origin,
            )
            .await;
            return Err(invalid_device_code());
        }
        if now.seconds() >= record.expires_at {
            return Err(OAuthError::new(
                ErrorCode::ExpiredToken,
                "the device code has expired; start again on the device",
            ));
        }
        match record.status {
            DeviceStatus::Pending => Err(self.pace_poll(&hash, &record, now).await?),
            DeviceStatus::Denied => Err(OAuthError::new(
                ErrorCode::AccessDenied,
                "the user denied the request",
            )),
            DeviceStatus::Approved { .. } => self.issue_for_device(client, &hash, origin).await,
        }
    }

    /// A poll of a pending request: `slow_down` if it came sooner than the interval after
    /// the previous poll (the interval then grows), `authorization_pending` otherwise. The
    /// first poll may come at once.
    async fn pace_poll(
        &self,
        hash: &str,
        record: &DeviceRecord,
        now: Timestamp,
    ) -> Result<OAuthError, OAuthError> {
        let key = poll_key(hash);
        let previous: Option<PollState> = match self.ephemeral.get(&key).await? {
            Some(bytes) => Some(serde_json::from_slice(&bytes).map_err(OAuthError::server)?),
            None => None,
        };
        let too_soon = previous
            .as_ref()
            .is_some_and(|p| now.seconds() - p.last_poll < p.interval);
        let interval = previous.map_or(record.interval, |p| p.interval);
        let interval = if too_soon {
            interval.saturating_add(SLOW_DOWN_STEP_SECS)
        } else {
            interval
        };
        let state = PollState {
            last_poll: now.seconds(),
            interval,
        };
        let value = serde_json::to_vec(&state).map_err(OAuthError::server)?;
        self.ephemeral
            .put(
                &key,
                &value,
                ttl_until(now, record.expires_at + TOMBSTONE_SECS),
            )
            .await?;
        Ok(if too_soon {
            OAuthError::new(
                ErrorCode::SlowDown,
                "polling too often; wait 5 seconds longer between requests",
            )
        } else {
            OAuthError::new(
                ErrorCode::AuthorizationPending,
                "the user has not answered yet",
            )
        })
    }

    /// The approved request is taken out of the store: of two polls that both saw it
    /// approved, one gets the tokens and the other `invalid_grant`.
    async fn issue_for_device(
        &self,
        client: &Client,
        hash: &str,
        origin: &Origin,
    ) -> Result<TokenResponse, OAuthError> {
        let Some(bytes) = self.ephemeral.take(&device_key(hash)).await? else {
            return Err(invalid_device_code());
        };
        let record: DeviceRecord = serde_json::from_slice(&bytes).map_err(OAuthError::server)?;
        let DeviceStatus::Approved {
            account_id,
            auth_time,
            acr,
            amr,
            scope,
        } = record.status
        else {
            return Err(invalid_device_code());
        };
        let now = self.clock.now();
        let account = self.accounts.get_account(account_id).await?;
        if account.status != AccountStatus::Active {
            return Err(invalid_device_code());
        }
        let subject = self
            .grant_subject(client, &account, "device_code", origin)
            .await?;
        let how = HowAuthenticated {
            auth_time: Timestamp(auth_time),
            acr,
            amr,
            sid: None,
        };
        let grant = self.new_grant_id();
        let refresh_token = self
            .start_user_grant(
                client,
                NewUserGrant {
                    id: grant,
                    account_id,
                    scope: &scope,
                    how: &how,
                },
                now,
            )
            .await?;
        let granted = Scopes::parse(&scope).unwrap_or_default();
        let (access, id_token) = self.mint_user_tokens(
            client,
            UserTokens {
                account: &account,
                subject: &subject,
                scope: &granted,
                how: &how,
                grant,
                nonce: None,
            },
        )?;
        self.record(
            AuditEvent::new(now, "token.issued", "success")
                .subject(account.id.to_string())
                .client(client.id.as_str())
                .reason("device_code"),
            origin,
        )
        .await;
        Ok(TokenResponse {
            access_token: access.token,
            token_type: "Bearer",
            expires_in: access.expires_in,
            refresh_token,
            id_token,
            scope: (!scope.is_empty()).then_some(scope),
            issued_token_type: None,
        })
    }

    /// A grant id from the injected randomness (a UUIDv4).
    fn new_grant_id(&self) -> FamilyId {
        let mut bytes = [0u8; 16];
        self.rng.fill(&mut bytes);
        FamilyId(uuid::Builder::from_random_bytes(bytes).into_uuid())
    }
}
