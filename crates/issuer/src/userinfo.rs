//! The UserInfo endpoint (OIDC Core §5.3): claims about the user an access token names.

use lanyard_core::StoreError;
use lanyard_core::model::AccountStatus;
use serde::Serialize;

use crate::error::{ErrorCode, OAuthError};
use crate::grant::profile_claims;
use crate::issuer::Issuer;
use crate::scope::{OPENID, Scopes};

#[derive(Debug, Clone, Serialize)]
pub struct UserInfo {
    pub sub: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl Issuer {
    pub async fn userinfo(&self, access_token: &str) -> Result<UserInfo, OAuthError> {
        let claims = self
            .live_access_token(access_token)
            .await?
            .ok_or_else(OAuthError::invalid_token)?;
        // Tokens from client_credentials name no user (they carry no grant).
        if claims.gid.is_none() {
            return Err(OAuthError::invalid_token());
        }
        let scope = Scopes::parse(claims.scope.as_deref().unwrap_or("")).unwrap_or_default();
        if !scope.contains(OPENID) {
            return Err(OAuthError::new(
                ErrorCode::InsufficientScope,
                "the access token lacks the openid scope",
            ));
        }
        let id = uuid::Uuid::parse_str(&claims.sub).map_err(|_| OAuthError::invalid_token())?;
        let account = match self.accounts.get_account(lanyard_core::AccountId(id)).await {
            Ok(account) if account.status == AccountStatus::Active => account,
            Ok(_) | Err(StoreError::NotFound) => return Err(OAuthError::invalid_token()),
            Err(e) => return Err(e.into()),
        };
        let (email, email_verified, name) = profile_claims(&account, &scope);
        Ok(UserInfo {
            sub: claims.sub,
            email,
            email_verified,
            name,
        })
    }
}
