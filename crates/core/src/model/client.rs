//! A registered OAuth client (relying party, tool or service).

use serde::{Deserialize, Serialize};

use super::site::SiteId;
use crate::{ClientId, Timestamp};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
    /// RFC 8693 token exchange (a personal access token for a JWT).
    TokenExchange,
    /// RFC 8628 device authorization.
    DeviceCode,
}

impl GrantType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AuthorizationCode => "authorization_code",
            Self::RefreshToken => "refresh_token",
            Self::ClientCredentials => "client_credentials",
            Self::TokenExchange => "urn:ietf:params:oauth:grant-type:token-exchange",
            Self::DeviceCode => "urn:ietf:params:oauth:grant-type:device_code",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "authorization_code" => Some(Self::AuthorizationCode),
            "refresh_token" => Some(Self::RefreshToken),
            "client_credentials" => Some(Self::ClientCredentials),
            "urn:ietf:params:oauth:grant-type:token-exchange" => Some(Self::TokenExchange),
            "urn:ietf:params:oauth:grant-type:device_code" => Some(Self::DeviceCode),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
    PrivateKeyJwt,
    /// A public client (native or browser app): no secret, PKCE required.
    None,
}

impl ClientAuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::PrivateKeyJwt => "private_key_jwt",
            Self::None => "none",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "client_secret_basic" => Some(Self::ClientSecretBasic),
            "client_secret_post" => Some(Self::ClientSecretPost),
            "private_key_jwt" => Some(Self::PrivateKeyJwt),
            "none" => Some(Self::None),
            _ => None,
        }
    }

    pub fn uses_secret(self) -> bool {
        matches!(self, Self::ClientSecretBasic | Self::ClientSecretPost)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Client {
    pub id: ClientId,
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<GrantType>,
    pub auth_method: ClientAuthMethod,
    /// Keyed hash (hex) of the server-generated secret; `None` unless the method uses one.
    pub secret_hash: Option<String>,
    /// The client's public keys (a JWK Set) for `private_key_jwt`.
    pub jwks: Option<serde_json::Value>,
    /// First-party clients skip the consent page.
    pub first_party: bool,
    pub allowed_scopes: Vec<String>,
    /// Per-client overrides of the server defaults, in seconds.
    pub access_token_ttl: Option<i64>,
    pub refresh_idle_ttl: Option<i64>,
    pub refresh_absolute_ttl: Option<i64>,
    /// Token exchange (RFC 8693) of access tokens: besides tokens whose `aud` names this
    /// client, it may exchange tokens whose `aud` names one of these (docs/clients.md).
    pub exchange_audiences: Vec<String>,
    /// OIDC Back-Channel Logout 1.0 §2.2: where logout tokens are POSTed (https, or http on
    /// loopback; no fragment).
    pub backchannel_logout_uri: Option<String>,
    /// Whether the client needs `sid` in logout tokens (§2.2); `sub` is always sent.
    pub backchannel_logout_session_required: bool,
    /// The site the client belongs to (`site_clients`), as read with the client. Only a
    /// site's creation names its clients, so `insert_client` ignores it. The issuer asks
    /// core's `SiteSubjects` only for a client of a site: a cache holding a client must drop
    /// it when a site is created for it (`ClientService` does, through `Invalidations`).
    pub site: Option<SiteId>,
    pub created_at: Timestamp,
}

impl Client {
    pub fn is_public(&self) -> bool {
        self.auth_method == ClientAuthMethod::None
    }

    pub fn allows_grant(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }
}
