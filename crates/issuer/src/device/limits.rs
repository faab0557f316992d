//! The device authorization endpoint's request limits (RFC 8628 §5.2 leaves abuse of the
//! endpoint to the server): each client and each source address may start so many device
//! requests per fixed one-minute window of the injected clock. The counters live in the
//! ephemeral store, shared by all nodes, under keys that name their window, so a new window
//! starts from zero whatever the store's own expiry does (Redis counts real time).

use std::time::Duration;

use lanyard_core::{ClientId, EphemeralKey, Origin, Timestamp};

use crate::error::OAuthError;
use crate::issuer::Issuer;

/// The length of one counting window.
pub const WINDOW_SECS: i64 = 60;

impl Issuer {
    /// Counts one device request by `client` from `origin`; refuses it (429 with the seconds
    /// left in the window) when either is over its limit. The address is counted first, so
    /// one address past its own limit stops using up the client's.
    pub(super) async fn count_device_request(
        &self,
        client: &ClientId,
        origin: &Origin,
        now: Timestamp,
    ) -> Result<(), OAuthError> {
        let window = now.seconds().div_euclid(WINDOW_SECS);
        let retry_after = u64::try_from((window + 1) * WINDOW_SECS - now.seconds()).unwrap_or(1);
        // Past its window's end plus a margin for clocks that differ between nodes.
        let ttl = Duration::from_secs(u64::try_from(2 * WINDOW_SECS).unwrap_or(120));
        let refused = || {
            OAuthError::too_many_requests(
                "too many device authorization requests, try again later",
                retry_after,
            )
        };
        let tokens = &self.settings.tokens;
        if let Some(ip) = origin.ip.as_deref() {
            let key = EphemeralKey::DeviceRequestsIp { window, ip }.to_string();
            if self.ephemeral.increment(&key, ttl).await? > tokens.device_requests_per_address {
                return Err(refused());
            }
        }
        let key = EphemeralKey::DeviceRequestsClient { window, client }.to_string();
        if self.ephemeral.increment(&key, ttl).await? > tokens.device_requests_per_client {
            return Err(refused());
        }
        Ok(())
    }
}
