//! The client credentials grant (RFC 6749 §4.4): the token hot path. One cached client
//! lookup (done by authentication), one signature, no database write.

use lanyard_core::model::{Client, GrantType};

use super::{TokenResponse, unauthorized_client};
use crate::error::{ErrorCode, OAuthError};
use crate::issuer::Issuer;
use crate::scope::{OPENID, Scopes};
use crate::tokens::AccessTokenRequest;

impl Issuer {
    pub(super) fn client_credentials(
        &self,
        client: &Client,
        scope: Option<&str>,
    ) -> Result<TokenResponse, OAuthError> {
        if !client.allows_grant(GrantType::ClientCredentials) {
            return Err(unauthorized_client());
        }
        let granted = match scope {
            Some(requested) => {
                let requested = Scopes::parse(requested).ok_or_else(invalid_scope)?;
                // No user is involved, so OpenID scopes make no sense here.
                if requested.contains(OPENID)
                    || !requested.is_subset_of_list(&client.allowed_scopes)
                {
                    return Err(invalid_scope());
                }
                requested
            }
            None => Scopes::from_list(client.allowed_scopes.iter().cloned()),
        };
        let scope = (!granted.is_empty()).then(|| granted.to_string());
        let access = self.mint_access_token(AccessTokenRequest {
            subject: client.id.as_str(),
            client_id: client.id.as_str(),
            scope: scope.clone(),
            auth_time: None,
            acr: None,
            amr: None,
            grant: None,
            ttl_secs: self.access_ttl(client),
            audience: None,
            pat: None,
        })?;
        Ok(TokenResponse {
            access_token: access.token,
            token_type: "Bearer",
            expires_in: access.expires_in,
            refresh_token: None,
            id_token: None,
            scope,
            issued_token_type: None,
        })
    }
}

fn invalid_scope() -> OAuthError {
    OAuthError::new(
        ErrorCode::InvalidScope,
        "a requested scope is not available to this client",
    )
}
