//! Client authentication at the token, introspection and revocation endpoints
//! (RFC 6749 §2.3, RFC 7523 §2.2 for `private_key_jwt`). A client must use the one method it
//! registered; every failure is the same `invalid_client`.

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
    pub async fn authenticate_client(
        &self,
        credentials: ClientCredentials,
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
                .check_credentials(&client, credentials)
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
                self.check_assertion(client, &assertion).await
            }
            (ClientAuthMethod::None, ClientCredentials::IdOnly { .. }) => Ok(()),
            _ => Err(Failure::Refused(
                "authentication method not registered for this client",
            )),
        }
    }

    /// RFC 7523 §3: iss = sub = client_id, aud names us, not expired, not too long-lived,
    /// and its `jti` never seen before (the replay guard lives until the assertion expires).
    async fn check_assertion(&self, client: &Client, assertion: &str) -> Result<(), Failure> {
        let Some(jwks) = &client.jwks else {
            return Err(Failure::Refused("client has no keys"));
        };
        let now = self.clock.now().seconds();
        let claims = lanyard_crypto::jws::verify_client_assertion(
            assertion,
            jwks,
            &lanyard_crypto::jws::AssertionValidation {
                now: self.clock.now(),
                leeway_secs: self.settings.leeway_secs as u32,
            },
        )
        .map_err(|_| Failure::Refused("assertion signature or format invalid"))?;
        let id = client.id.as_str();
        if claims.iss != id || claims.sub != id {
            return Err(Failure::Refused("assertion iss/sub is not the client"));
        }
        let token_endpoint = self.settings.endpoint(endpoints::TOKEN);
        if !claims
            .aud
            .iter()
            .any(|a| *a == token_endpoint || *a == self.settings.issuer)
        {
            return Err(Failure::Refused("assertion audience is not this server"));
        }
        if claims.exp - now > self.settings.max_assertion_lifetime_secs {
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
        let ttl = Duration::from_secs((claims.exp - now + self.settings.leeway_secs).max(1) as u64);
        match self.ephemeral.put_if_absent(&key, b"1", ttl).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(Failure::Refused("assertion replayed")),
            // Fail closed with 503: without the replay guard an assertion could be replayed,
            // and a store outage is not the client's fault.
            Err(e) => Err(Failure::Unavailable(e.into())),
        }
    }
}

/// Reads `iss` from an unverified assertion only to find which client's keys verify it.
fn peek_issuer(assertion: &str) -> Option<String> {
    crate::unverified::unverified_claims::<AssertionPeek>(assertion)?.iss
}
