//! Access tokens presented to one of our own APIs (the admin API): the same checks as
//! userinfo and introspection (`Issuer::live_access_token`: signature by our keys, `typ`,
//! issuer, lifetime, revoked `jti`, live grant, live PAT), plus the audience and scope the
//! API requires.

use crate::error::OAuthError;
use crate::issuer::Issuer;
use crate::scope::Scopes;

/// Who a verified token speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenHolder {
    /// Client credentials: the client itself.
    Client(String),
    /// A token minted for an account (a PAT's exchange, or a user's grant): its account id.
    Account(String),
}

#[derive(Debug, Clone)]
pub struct ResourceToken {
    pub holder: TokenHolder,
    pub client_id: String,
    pub scopes: Scopes,
}

/// Why a token was refused; callers answer RFC 6750 §3.1 `invalid_token` or
/// `insufficient_scope`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceTokenRefusal {
    /// Malformed, unsigned by us, expired, revoked, or for another audience.
    Invalid,
    /// Good, but without the required scope.
    InsufficientScope,
}

impl Issuer {
    /// Verifies `token` for the API `audience` requiring `scope`.
    pub async fn verify_resource_token(
        &self,
        token: &str,
        audience: &str,
        scope: &str,
    ) -> Result<Result<ResourceToken, ResourceTokenRefusal>, OAuthError> {
        let Some(claims) = self.live_access_token(token).await? else {
            return Ok(Err(ResourceTokenRefusal::Invalid));
        };
        if !claims.aud.contains(audience) {
            return Ok(Err(ResourceTokenRefusal::Invalid));
        }
        let scopes = claims
            .scope
            .as_deref()
            .and_then(Scopes::parse)
            .unwrap_or_default();
        if !scopes.contains(scope) {
            return Ok(Err(ResourceTokenRefusal::InsufficientScope));
        }
        // Client credentials name the client as subject and carry neither a grant nor a PAT.
        let holder =
            if claims.sub == claims.client_id && claims.gid.is_none() && claims.pat_id.is_none() {
                TokenHolder::Client(claims.client_id.clone())
            } else {
                TokenHolder::Account(claims.sub.clone())
            };
        Ok(Ok(ResourceToken {
            holder,
            client_id: claims.client_id,
            scopes,
        }))
    }
}
