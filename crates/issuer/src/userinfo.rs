//! The UserInfo endpoint (OIDC Core §5.3): claims about the user an access token names.

use lanyard_core::model::AccountStatus;
use lanyard_core::{ClientId, FamilyId, StoreError};
use serde::Serialize;

use crate::error::{ErrorCode, OAuthError};
use crate::grant::profile_claims;
use crate::issuer::Issuer;
use crate::scope::{OPENID, Scopes};
use crate::subject::SiteClaims;

#[derive(Debug, Clone, Serialize)]
pub struct UserInfo {
    pub sub: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(flatten)]
    pub site: SiteClaims,
}

impl Issuer {
    /// The account of a live grant (`gid`), if the token has one.
    async fn live_grant_account(
        &self,
        gid: Option<&str>,
    ) -> Result<Option<lanyard_core::AccountId>, OAuthError> {
        let Some(id) = gid.and_then(|g| uuid::Uuid::parse_str(g).ok()) else {
            return Ok(None);
        };
        Ok(self
            .refresh
            .find_family(FamilyId(id))
            .await?
            .filter(|f| f.revoked_at.is_none())
            .map(|f| f.account_id))
    }

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
        // The grant names the account: `sub` is the site user for a site's client.
        let Some(family) = self.live_grant_account(claims.gid.as_deref()).await? else {
            return Err(OAuthError::invalid_token());
        };
        let account = match self.accounts.get_account(family).await {
            Ok(account) if account.status == AccountStatus::Active => account,
            Ok(_) | Err(StoreError::NotFound) => return Err(OAuthError::invalid_token()),
            Err(e) => return Err(e.into()),
        };
        let client = ClientId::parse(&claims.client_id).ok_or_else(OAuthError::invalid_token)?;
        // Asked afresh: a site user unlinked since the token was minted gets nothing, and a
        // token never speaks for someone other than its `sub`.
        let subject = self
            .subject_of(&client, &account)
            .await?
            .filter(|s| s.sub == claims.sub)
            .ok_or_else(OAuthError::invalid_token)?;
        let (email, email_verified, name) = profile_claims(&account, &scope);
        Ok(UserInfo {
            sub: claims.sub,
            email,
            email_verified,
            name,
            site: subject.claims(),
        })
    }
}
