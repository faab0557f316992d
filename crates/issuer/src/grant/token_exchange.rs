//! Token exchange (RFC 8693): a personal access token for a short-lived JWT access token.

use lanyard_core::Origin;
use lanyard_core::model::Client;

use super::{TokenExchangeRequest, TokenResponse};
use crate::error::{ErrorCode, OAuthError};
use crate::issuer::Issuer;

/// The token type URI of a Lanyard personal access token (documented in discovery).
pub const PAT_TOKEN_TYPE: &str = "urn:lanyard:token-type:pat";
/// RFC 8693 §3: what the exchange issues.
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

impl Issuer {
    pub(super) async fn exchange_token(
        &self,
        _client: &Client,
        _request: TokenExchangeRequest,
        _origin: &Origin,
    ) -> Result<TokenResponse, OAuthError> {
        Err(OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            "the grant type is not supported",
        ))
    }
}
