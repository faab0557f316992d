//! Client authentication at the token, introspection and revocation endpoints
//! (RFC 6749 §2.3, RFC 7523 §2.2 for `private_key_jwt`). A client must use the one method it
//! registered; every failure is the same `invalid_client`. The assertion rules (lifetime,
//! leeway, audience, replay) are in docs/clients.md.

use std::sync::Arc;
use std::time::Duration;

use lanyard_core::model::{AuditEvent, Client, ClientAuthMethod};
use lanyard_core::{EphemeralKey, Origin, Secret};
use serde::Deserialize;

use crate::endpoints;
use crate::error::OAuthError;
use crate::issuer::Issuer;

pub const JWT_BEARER_ASSERTION: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// What the request presented, as the web layer found it. The web layer has already refused
/// requests that use two methods at once or name two different client ids.
#[derive(Debug)]
pub enum ClientCredentials {
    Basic {
        client_id: String,
        secret: Secret,
    },
    Post {
        client_id: String,
        secret: Secret,
    },
    Assertion {
        client_id: Option<String>,
        assertion: String,
    },
    /// A public client that only names itself.
    IdOnly {
        client_id: String,
    },
    None,
}

impl ClientCredentials {
    pub fn claimed_id(&self) -> Option<&str> {
        match self {
            Self::Basic { client_id, .. }
            | Self::Post { client_id, .. }
            | Self::IdOnly { client_id } => Some(client_id),
            Self::Assertion { client_id, .. } => client_id.as_deref(),
            Self::None => None,
        }
    }
}

/// Why authentication did not succeed: the client's fault (always `invalid_client`, the
/// reason only audited) or ours (the store is down).
enum Failure {
    Refused(&'static str),
    Unavailable(OAuthError),
}

#[derive(Debug, Deserialize)]
struct AssertionPeek {
    iss: Option<String>,
}

impl Issuer {
    /// `endpoint` is the path of the endpoint being called (one of [`endpoints`]): an
    /// assertion may name its URL as audience (RFC 7523 §3).
    pub async fn authenticate_client(
        &self,
        credentials: ClientCredentials,
        endpoint: &str,
        origin: &Origin,
    ) -> Result<Arc<Client>, OAuthError> {
        let claimed = match &credentials {
            ClientCredentials::Assertion {
                client_id: None,
                assertion,
            } => peek_issuer(assertion),
            other => other.claimed_id().map(str::to_owned),
        };
        let Some(claimed) = claimed else {
            return Err(OAuthError::invalid_client());
        };
        let client = self.clients.find(&claimed).await?;
        let result = match client {
            Some(client) => self
                .check_credentials(&client, credentials, endpoint)
                .await
                .map(|()| client),
            None => Err(Failure::Refused("unknown client")),
        };
        match result {
            Ok(client) => Ok(client),
            Err(Failure::Unavailable(e)) => Err(e),
            Err(Failure::Refused(reason)) => {
                self.record(
                    AuditEvent::new(self.clock.now(), "client.auth_failed", "failure")
                        .client(claimed)
                        .reason(reason),
                    origin,
                )
                .await;
                Err(OAuthError::invalid_client())
            }
        }
    }

    async fn check_credentials(
        &self,
        client: &Client,
        credentials: ClientCredentials,
        endpoint: &str,
    ) -> Result<(), Failure> {
        match (client.auth_method, credentials) {
            (ClientAuthMethod::ClientSecretBasic, ClientCredentials::Basic { secret, .. })
            | (ClientAuthMethod::ClientSecretPost, ClientCredentials::Post { secret, .. }) => {
                if self.clients.secret_matches(client, &secret) {
                    Ok(())
                } else {
                    Err(Failure::Refused("wrong secret"))
                }
            }
            (ClientAuthMethod::PrivateKeyJwt, ClientCredentials::Assertion { assertion, .. }) => {
                self.check_assertion(client, &assertion, endpoint).await
            }
            (ClientAuthMethod::None, ClientCredentials::IdOnly { .. }) => Ok(()),
            _ => Err(Failure::Refused(
                "authentication method not registered for this client",
            )),
        }
    }

    /// RFC 7523 §3: iss = sub = client_id, aud names us, not expired, not too long-lived,
    /// and its `jti` never seen before (the replay guard lives until the assertion expires,
    /// plus the leeway during which it would still be accepted).
    async fn check_assertion(
        &self,
        client: &Client,
        assertion: &str,
        endpoint: &str,
    ) -> Result<(), Failure> {
        let Some(jwks) = &client.jwks else {
            return Err(Failure::Refused("client has no keys"));
        };
        let now = self.clock.now().seconds();
        let leeway = self.settings.leeway_secs;
        let claims = lanyard_crypto::jws::verify_client_assertion(
            assertion,
            jwks,
            &lanyard_crypto::jws::AssertionValidation {
                now: self.clock.now(),
                leeway_secs: u32::try_from(leeway).unwrap_or(0),
            },
        )
        .map_err(|_| Failure::Refused("assertion signature or format invalid"))?;
        let id = client.id.as_str();
        if claims.iss != id || claims.sub != id {
            return Err(Failure::Refused("assertion iss/sub is not the client"));
        }
        if !claims
            .aud
            .iter()
            .any(|a| self.is_assertion_audience(a, endpoint))
        {
            return Err(Failure::Refused("assertion audience is not this server"));
        }
        if !lifetime_ok(
            claims.iat,
            claims.exp,
            now,
            self.settings.max_assertion_lifetime_secs,
            leeway,
        ) {
            return Err(Failure::Refused("assertion lives too long"));
        }
        if claims.jti.is_empty() || claims.jti.len() > 256 {
            return Err(Failure::Refused("assertion jti missing or too long"));
        }
        let key = EphemeralKey::AssertionJti {
            client: &client.id,
            jti: &self.hasher.hash(&claims.jti),
        }
        .to_string();
        let ttl = Duration::from_secs(u64::try_from(claims.exp - now + leeway).unwrap_or(0).max(1));
        match self.ephemeral.put_if_absent(&key, b"1", ttl).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(Failure::Refused("assertion replayed")),
            // Fail closed with 503: without the replay guard an assertion could be replayed,
            // and a store outage is not the client's fault.
            Err(e) => Err(Failure::Unavailable(e.into())),
        }
    }

    /// RFC 7523 §3: the issuer, the token endpoint, or the URL of the endpoint being called
    /// (so an assertion made for /introspect works there and only there besides the two).
    fn is_assertion_audience(&self, aud: &str, endpoint: &str) -> bool {
        let issuer = self.settings.issuer.as_str();
        aud == issuer
            || aud
                .strip_prefix(issuer)
                .is_some_and(|path| path == endpoints::TOKEN || path == endpoint)
    }
}

/// The assertion may live at most `max` seconds: `exp - iat` when it says when it was
/// issued, and in any case `exp - now` (so a missing or back-dated `iat` gains nothing);
/// both with `leeway` for a client whose clock runs ahead of ours.
fn lifetime_ok(iat: Option<i64>, exp: i64, now: i64, max: i64, leeway: i64) -> bool {
    let declared_ok = iat.is_none_or(|iat| exp.saturating_sub(iat) <= max);
    declared_ok && exp.saturating_sub(now) <= max.saturating_add(leeway)
}

/// Reads `iss` from an unverified assertion only to find which client's keys verify it.
fn peek_issuer(assertion: &str) -> Option<String> {
    crate::unverified::unverified_claims::<AssertionPeek>(assertion)?.iss
}

#[cfg(test)]
mod tests {
    use super::lifetime_ok;

    const NOW: i64 = 1_000_000;

    /// Issue 11 item 16: common libraries sign `exp = iat + 3600`; that is the default limit.
    #[test]
    fn rfc7523_3_an_hour_long_assertion_is_accepted_and_longer_ones_are_not() {
        assert!(lifetime_ok(Some(NOW), NOW + 3600, NOW, 3600, 60));
        assert!(!lifetime_ok(Some(NOW), NOW + 3601, NOW, 3600, 60));
        // Without iat, exp may lie at most max + leeway ahead.
        assert!(lifetime_ok(None, NOW + 3660, NOW, 3600, 60));
        assert!(!lifetime_ok(None, NOW + 3661, NOW, 3600, 60));
        // A back-dated iat does not stretch the lifetime past now + max + leeway.
        assert!(!lifetime_ok(Some(NOW + 7200), NOW + 7200, NOW, 3600, 60));
    }

    /// A client whose clock is 30 s ahead signs exactly 600 s: accepted under a 600 s limit.
    #[test]
    fn rfc7523_3_exactly_the_limit_with_clock_skew_is_accepted() {
        assert!(lifetime_ok(Some(NOW + 30), NOW + 630, NOW, 600, 60));
        assert!(!lifetime_ok(Some(NOW + 30), NOW + 631, NOW, 600, 60));
        assert!(!lifetime_ok(Some(NOW + 70), NOW + 670, NOW, 600, 60));
    }
}
