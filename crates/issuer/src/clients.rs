//! Client registration and lookup. Secrets are generated here (256 random bits, never chosen
//! by a person) and stored as a keyed hash: verifying one costs a microsecond, not the
//! hundreds of milliseconds a password hash would cost on every token request.

mod cache;

use std::sync::Arc;

use lanyard_core::model::{AuditEvent, Client, ClientAuthMethod, GrantType};
use lanyard_core::ports::{ClientRepo, Invalidations, client_invalidation};
use lanyard_core::rng::random_token;
use lanyard_core::{Auditor, ClientId, Clock, Origin, Rng, Secret, StoreError};
use lanyard_crypto::token_hash::TokenHasher;

use crate::redirect_uri::{RedirectUriError, validate_backchannel_uri, validate_for_registration};
use crate::scope::Scopes;
use cache::ClientCache;

/// Prefix of generated client secrets, so secret scanners can recognise a leaked one.
pub const CLIENT_SECRET_PREFIX: &str = "lyd_cs_";

#[derive(Debug, Clone)]
pub struct NewClient {
    pub id: String,
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<GrantType>,
    pub auth_method: ClientAuthMethod,
    pub jwks: Option<serde_json::Value>,
    pub first_party: bool,
    pub allowed_scopes: Vec<String>,
    /// Audiences whose access tokens the client may exchange (RFC 8693), besides tokens
    /// for the client itself.
    pub exchange_audiences: Vec<String>,
    /// OIDC Back-Channel Logout 1.0 §2.2.
    pub backchannel_logout_uri: Option<String>,
    pub backchannel_logout_session_required: bool,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    #[error("invalid client id (1-128 characters: letters, digits, - _ . ~)")]
    InvalidId,
    #[error("a client with this id already exists")]
    Duplicate,
    #[error("invalid redirect URI {uri:?}: {reason}")]
    InvalidRedirectUri {
        uri: String,
        reason: RedirectUriError,
    },
    #[error("invalid back-channel logout URI {uri:?}: {reason}")]
    InvalidBackchannelUri {
        uri: String,
        reason: RedirectUriError,
    },
    #[error("invalid client configuration: {0}")]
    Invalid(&'static str),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The registered client and, for secret-based methods, the secret shown exactly once.
#[derive(Debug)]
pub struct Registered {
    pub client: Client,
    pub secret: Option<Secret>,
}

pub struct ClientService {
    repo: Arc<dyn ClientRepo>,
    hasher: Arc<TokenHasher>,
    clock: Arc<dyn Clock>,
    rng: Arc<dyn Rng>,
    audit: Auditor,
    invalidations: Arc<dyn Invalidations>,
    cache: Arc<ClientCache>,
}

/// What [`ClientService::new`] needs besides its settings.
pub struct ClientDeps {
    pub repo: Arc<dyn ClientRepo>,
    pub hasher: Arc<TokenHasher>,
    pub clock: Arc<dyn Clock>,
    pub rng: Arc<dyn Rng>,
    pub audit: Auditor,
    /// Drops cached clients on every node (and on the server, when the CLI changes one).
    pub invalidations: Arc<dyn Invalidations>,
}

impl ClientService {
    pub fn new(deps: ClientDeps, cache_ttl_secs: i64) -> Self {
        let cache = Arc::new(ClientCache::new(cache_ttl_secs));
        let weak = Arc::downgrade(&cache);
        deps.invalidations.listen(Arc::new(move |message| {
            if let Some(cache) = weak.upgrade() {
                cache.invalidated(message);
            }
        }));
        Self {
            repo: deps.repo,
            hasher: deps.hasher,
            clock: deps.clock,
            rng: deps.rng,
            audit: deps.audit,
            invalidations: deps.invalidations,
            cache,
        }
    }

    pub async fn register(
        &self,
        new: NewClient,
        origin: &Origin,
    ) -> Result<Registered, ClientError> {
        let id = ClientId::parse(&new.id).ok_or(ClientError::InvalidId)?;
        validate(&new)?;
        let secret = new.auth_method.uses_secret().then(|| {
            Secret::new(format!(
                "{CLIENT_SECRET_PREFIX}{}",
                random_token(&*self.rng, 32)
            ))
        });
        let now = self.clock.now();
        let client = Client {
            id,
            name: new.name,
            redirect_uris: new.redirect_uris,
            post_logout_redirect_uris: new.post_logout_redirect_uris,
            grant_types: new.grant_types,
            auth_method: new.auth_method,
            secret_hash: secret.as_ref().map(|s| self.hasher.hash(s.expose())),
            jwks: new.jwks,
            first_party: new.first_party,
            allowed_scopes: new.allowed_scopes,
            access_token_ttl: None,
            refresh_idle_ttl: None,
            refresh_absolute_ttl: None,
            exchange_audiences: new.exchange_audiences,
            backchannel_logout_uri: new.backchannel_logout_uri,
            backchannel_logout_session_required: new.backchannel_logout_session_required,
            // A site names its clients when it is created, after the registration.
            site: None,
            created_at: now,
        };
        match self.repo.insert_client(&client).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => return Err(ClientError::Duplicate),
            Err(e) => return Err(e.into()),
        }
        self.audit
            .record(
                AuditEvent::new(now, "client.created", "success").client(client.id.as_str()),
                origin,
            )
            .await;
        Ok(Registered { client, secret })
    }

    /// Looks a client up, through a short-lived per-node cache (the token endpoint's hot path
    /// must not hit the database for every request), emptied by core's `client_invalidation`.
    pub async fn find(&self, id: &str) -> Result<Option<Arc<Client>>, StoreError> {
        let Some(id) = ClientId::parse(id) else {
            return Ok(None);
        };
        let now = self.clock.now();
        // `None` while this node may be missing invalidations: read through, keep nothing.
        let Some(epoch) = self.invalidations.sync_epoch() else {
            return Ok(self.repo.find_client(&id).await?.map(Arc::new));
        };
        if let Some(client) = self.cache.get(&id, epoch, now) {
            return Ok(Some(client));
        }
        let ticket = self.cache.ticket(epoch);
        let found = self.repo.find_client(&id).await?.map(Arc::new);
        if let Some(client) = &found {
            self.cache.put(client.clone(), ticket, now);
        }
        Ok(found)
    }

    pub async fn list(&self) -> Result<Vec<Client>, StoreError> {
        self.repo.list_clients().await
    }

    pub async fn count(&self) -> Result<u64, StoreError> {
        self.repo.count_clients().await
    }

    pub async fn delete(&self, id: &str, origin: &Origin) -> Result<bool, ClientError> {
        let id = ClientId::parse(id).ok_or(ClientError::InvalidId)?;
        let deleted = self.repo.delete_client(&id).await?;
        // Published even when nothing was deleted: a retry after a failed publish must still
        // reach the other nodes.
        self.invalidations
            .publish(&client_invalidation(&id))
            .await?;
        if deleted {
            self.audit
                .record(
                    AuditEvent::new(self.clock.now(), "client.deleted", "success")
                        .client(id.as_str()),
                    origin,
                )
                .await;
        }
        Ok(deleted)
    }

    /// Constant-time check of a presented secret against the stored keyed hash.
    pub fn secret_matches(&self, client: &Client, presented: &Secret) -> bool {
        client
            .secret_hash
            .as_deref()
            .is_some_and(|h| self.hasher.verify(presented.expose(), h))
    }
}

fn validate(new: &NewClient) -> Result<(), ClientError> {
    if new.name.trim().is_empty() || new.name.len() > 200 {
        return Err(ClientError::Invalid("name must be 1-200 characters"));
    }
    if new.grant_types.is_empty() {
        return Err(ClientError::Invalid("at least one grant type is required"));
    }
    let uses_code = new.grant_types.contains(&GrantType::AuthorizationCode);
    if uses_code && new.redirect_uris.is_empty() {
        return Err(ClientError::Invalid(
            "the authorization_code grant needs at least one redirect URI",
        ));
    }
    // A refresh token continues a grant a person approved: by code or on a device.
    let user_grant = uses_code || new.grant_types.contains(&GrantType::DeviceCode);
    if new.grant_types.contains(&GrantType::RefreshToken) && !user_grant {
        return Err(ClientError::Invalid(
            "the refresh_token grant needs the authorization_code or device_code grant",
        ));
    }
    if new.auth_method == ClientAuthMethod::None
        && new.grant_types.contains(&GrantType::ClientCredentials)
    {
        return Err(ClientError::Invalid(
            "a public client (auth none) can not use client_credentials",
        ));
    }
    match (&new.auth_method, &new.jwks) {
        (ClientAuthMethod::PrivateKeyJwt, None) => {
            return Err(ClientError::Invalid(
                "private_key_jwt needs the client's JWK Set",
            ));
        }
        (ClientAuthMethod::PrivateKeyJwt, Some(jwks)) => {
            let has_keys = jwks
                .get("keys")
                .and_then(|k| k.as_array())
                .is_some_and(|k| !k.is_empty());
            if !has_keys {
                return Err(ClientError::Invalid("the JWK Set has no keys"));
            }
        }
        _ => {}
    }
    for uri in new
        .redirect_uris
        .iter()
        .chain(&new.post_logout_redirect_uris)
    {
        validate_for_registration(uri).map_err(|reason| ClientError::InvalidRedirectUri {
            uri: uri.clone(),
            reason,
        })?;
    }
    if new.exchange_audiences.len() > MAX_EXCHANGE_AUDIENCES
        || !new.exchange_audiences.iter().all(|a| is_audience(a))
    {
        return Err(ClientError::Invalid(
            "exchange audiences: at most 20, each 1-255 printable characters without spaces",
        ));
    }
    if !new.exchange_audiences.is_empty() && !new.grant_types.contains(&GrantType::TokenExchange) {
        return Err(ClientError::Invalid(
            "exchange audiences need the token-exchange grant",
        ));
    }
    if let Some(uri) = &new.backchannel_logout_uri {
        validate_backchannel_uri(uri).map_err(|reason| ClientError::InvalidBackchannelUri {
            uri: uri.clone(),
            reason,
        })?;
        // Only a code grant starts in a browser session, which is what a logout ends.
        if !uses_code {
            return Err(ClientError::Invalid(
                "a back-channel logout URI needs the authorization_code grant",
            ));
        }
    } else if new.backchannel_logout_session_required {
        return Err(ClientError::Invalid(
            "backchannel_logout_session_required needs a back-channel logout URI",
        ));
    }
    if !new.allowed_scopes.is_empty() {
        let joined = new.allowed_scopes.join(" ");
        if Scopes::parse(&joined).is_none() {
            return Err(ClientError::Invalid("invalid scope name"));
        }
    }
    Ok(())
}

/// Bound on a client's `exchange_audiences`.
const MAX_EXCHANGE_AUDIENCES: usize = 20;

/// An audience value as `[[resources]]` identifiers are written (or a client id).
fn is_audience(value: &str) -> bool {
    !value.is_empty() && value.len() <= 255 && value.bytes().all(|b| b.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn public(grant_types: Vec<GrantType>) -> NewClient {
        NewClient {
            id: "tool".to_owned(),
            name: "Tool".to_owned(),
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            grant_types,
            auth_method: ClientAuthMethod::None,
            jwks: None,
            first_party: false,
            allowed_scopes: vec![],
            exchange_audiences: vec![],
            backchannel_logout_uri: None,
            backchannel_logout_session_required: false,
        }
    }

    #[test]
    fn refresh_needs_a_grant_a_person_approved() {
        validate(&public(vec![GrantType::DeviceCode])).unwrap();
        validate(&public(vec![
            GrantType::DeviceCode,
            GrantType::RefreshToken,
        ]))
        .unwrap();
        let err = validate(&public(vec![GrantType::RefreshToken])).unwrap_err();
        assert!(err.to_string().contains("device_code"), "{err}");
        let mut service = public(vec![GrantType::ClientCredentials, GrantType::RefreshToken]);
        service.auth_method = ClientAuthMethod::ClientSecretBasic;
        assert!(validate(&service).is_err());
    }

    #[test]
    fn rfc8693_exchange_audiences_are_bounded_and_need_the_grant() {
        let mut tool = public(vec![GrantType::TokenExchange]);
        tool.exchange_audiences = vec!["https://api.example.com/".to_owned()];
        validate(&tool).unwrap();
        for bad in ["", "has space", &"a".repeat(256)] {
            tool.exchange_audiences = vec![bad.to_owned()];
            assert!(validate(&tool).is_err(), "{bad:?}");
        }
        tool.exchange_audiences = (0..21).map(|i| format!("api-{i}")).collect();
        assert!(validate(&tool).is_err());
        let mut other = public(vec![GrantType::DeviceCode]);
        other.exchange_audiences = vec!["api".to_owned()];
        assert!(validate(&other).is_err());
    }
}
