//! The UserInfo endpoint (OIDC Core §5.3): claims about the user an access token names.

use lanyard_core::model::AccountStatus;
use lanyard_core::{ClientId, StoreError};
use serde::Serialize;

use crate::error::{ErrorCode, OAuthError};
use crate::grant::profile_claims;
use crate::issuer::Issuer;
use crate::scope::{OPENID, PRIVACY, Scopes};
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
    /// With the `privacy` scope: each configured privacy category and whether it is on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub privacy: Option<std::collections::BTreeMap<String, bool>>,
    #[serde(flatten)]
    pub site: SiteClaims,
}

impl Issuer {
    pub async fn userinfo(&self, access_token: &str) -> Result<UserInfo, OAuthError> {
        // One read of the token's grant: it is live, and it names the account.
        let live = self
            .live_access_token_and_grant(access_token)
            .await?
            .ok_or_else(OAuthError::invalid_token)?;
        let claims = live.claims;
        // Tokens without a grant name no user: client_credentials tokens, and a PAT's
        // exchange (a PAT's token is for its API, not this endpoint).
        let Some(grant_account) = live.grant_account else {
            return Err(OAuthError::invalid_token());
        };
        let scope = Scopes::parse(claims.scope.as_deref().unwrap_or("")).unwrap_or_default();
        if !scope.contains(OPENID) {
            return Err(OAuthError::new(
                ErrorCode::InsufficientScope,
                "the access token lacks the openid scope",
            ));
        }
        // The grant names the account: `sub` is the site user for a site's client.
        let account = match self.accounts.get_account(grant_account).await {
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
        let privacy = if scope.contains(PRIVACY) {
            Some(self.privacy.privacy_claim(account.id).await?)
        } else {
            None
        };
        Ok(UserInfo {
            sub: claims.sub,
            email,
            email_verified,
            name,
            privacy,
            site: subject.claims(),
        })
    }
}

#[cfg(test)]
mod tests {
    use lanyard_core::Origin;
    use lanyard_core::model::{AccountStatus, GrantType};

    use crate::grant::{GrantRequest, RT1, harness};

    /// The grant is read once (it is live, and it names the account); a disabled account
    /// is still refused.
    #[tokio::test]
    async fn userinfo_reads_the_grant_once() {
        let h = harness(0);
        let access = h.refresh(RT1).await.unwrap().access_token;
        let before = h.family_reads();
        let info = h.issuer.userinfo(&access).await.unwrap();
        assert_eq!(info.sub, h.account_id().to_string());
        assert_eq!(h.family_reads() - before, 1);

        h.change_account(|a| a.status = AccountStatus::Disabled);
        let refused = h.issuer.userinfo(&access).await.unwrap_err();
        assert_eq!(refused.code.as_str(), "invalid_token");
    }

    /// A client_credentials token names no user, even with the openid scope: `invalid_token`
    /// (RFC 6750 §3.1), before any question about its scope or account.
    #[tokio::test]
    async fn a_token_without_a_grant_is_an_invalid_token() {
        let h = harness(0);
        let mut client = h.client.clone();
        client.grant_types.push(GrantType::ClientCredentials);
        let request = GrantRequest::ClientCredentials {
            scope: None,
            audience: None,
            resource: None,
        };
        let response = h
            .issuer
            .exchange(&client, request, &Origin::default())
            .await
            .unwrap();
        assert_eq!(response.scope.as_deref(), Some("email openid"));
        let refused = h.issuer.userinfo(&response.access_token).await.unwrap_err();
        assert_eq!(refused.code.as_str(), "invalid_token");
        assert_eq!(h.family_reads(), 0);
    }
}
