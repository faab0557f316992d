//! The device authorization grant (RFC 8628 §3.4, §3.5): a polling device redeems its code.

use lanyard_core::model::Client;
use lanyard_core::{Origin, Secret};

use super::TokenResponse;
use crate::error::{ErrorCode, OAuthError};
use crate::issuer::Issuer;

impl Issuer {
    pub(super) async fn redeem_device_code(
        &self,
        _client: &Client,
        _device_code: &Secret,
        _origin: &Origin,
    ) -> Result<TokenResponse, OAuthError> {
        Err(OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            "the grant type is not supported",
        ))
    }
}
