//! The client credentials grant (RFC 6749 §4.4): the token hot path. One cached client
//! lookup (done by authentication), one signature, no database write. A `resource`
//! (RFC 8707) or `audience` names the registered API the token is for; without either the
//! token is for the issuer itself.

use lanyard_core::model::{Client, GrantType, ResourceServer};

use super::target::requested_target;
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
        audience: Option<&str>,
        resource: Option<&str>,
    ) -> Result<TokenResponse, OAuthError> {
        if !client.allows_grant(GrantType::ClientCredentials) {
            return Err(unauthorized_client());
        }
        let target = requested_target(&self.settings.resources, audience, resource)?;
        let granted = granted_scope(client, target, scope)?;
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
            audience: target.map(|t| t.identifier.as_str()),
            pat: None,
            act: None,
            site: Default::default(),
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

/// The client's allowed scopes (only those the target API understands, when there is
/// one), narrowed to `requested` when given.
fn granted_scope(
    client: &Client,
    target: Option<&ResourceServer>,
    requested: Option<&str>,
) -> Result<Scopes, OAuthError> {
    let understood = |s: &str| target.is_none_or(|t| t.scopes.iter().any(|t| t == s));
    match requested {
        Some(requested) => {
            let requested = Scopes::parse(requested).ok_or_else(invalid_scope)?;
            // No user is involved, so OpenID scopes make no sense here.
            if requested.contains(OPENID)
                || !requested.is_subset_of_list(&client.allowed_scopes)
                || !requested.iter().all(understood)
            {
                return Err(invalid_scope());
            }
            Ok(requested)
        }
        None => Ok(Scopes::from_list(
            client
                .allowed_scopes
                .iter()
                .filter(|s| understood(s.as_str()))
                .cloned(),
        )),
    }
}

fn invalid_scope() -> OAuthError {
    OAuthError::new(
        ErrorCode::InvalidScope,
        "a requested scope is not available to this client",
    )
}
