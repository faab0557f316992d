//! Token introspection (RFC 7662) for authenticated clients, and the shared question "is
//! this access token of ours still good?" that userinfo asks too.

use std::time::Duration;

use lanyard_core::model::Client;
use lanyard_core::{AccountId, EphemeralKey, FamilyId};
use serde::Serialize;

use crate::error::OAuthError;
use crate::grant::REFRESH_TOKEN_PREFIX;
use crate::issuer::Issuer;
use crate::subject::SiteClaims;
use crate::tokens::{AccessTokenClaims, Audience};

/// RFC 7662 §2.2. Inactive tokens are only `{"active": false}`.
/// An access token that verified, was not revoked, and whose grant (if it has one) is live.
#[derive(Debug)]
pub(crate) struct LiveAccessToken {
    pub claims: AccessTokenClaims,
    /// The account of the token's grant (`gid`); `None` for a token without one.
    pub grant_account: Option<AccountId>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Introspection {
    pub active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<Audience>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    /// For a site's client: the site user `sub` names (docs/migration.md).
    #[serde(flatten)]
    pub site: SiteClaims,
}

const MAX_TOKEN_LEN: usize = 8 * 1024;

pub(crate) fn revoked_jti_key(jti: &str) -> String {
    EphemeralKey::RevokedJti(jti).to_string()
}

impl Issuer {
    /// A caller learns about a token only if the token was issued to it or names it as
    /// audience; for anything else the answer is `active: false`, like an unknown token.
    pub async fn introspect(
        &self,
        caller: &Client,
        token: &str,
    ) -> Result<Introspection, OAuthError> {
        if token.is_empty() || token.len() > MAX_TOKEN_LEN {
            return Ok(Introspection::default());
        }
        if token.starts_with(REFRESH_TOKEN_PREFIX) {
            return self.introspect_refresh_token(caller, token).await;
        }
        let Some(claims) = self.live_access_token(token).await? else {
            return Ok(Introspection::default());
        };
        let caller_id = caller.id.as_str();
        if claims.client_id != caller_id && !claims.aud.contains(caller_id) {
            return Ok(Introspection::default());
        }
        Ok(Introspection {
            active: true,
            scope: claims.scope,
            client_id: Some(claims.client_id),
            sub: Some(claims.sub),
            token_type: Some("Bearer"),
            exp: Some(claims.exp),
            iat: Some(claims.iat),
            iss: Some(claims.iss),
            aud: Some(claims.aud),
            jti: Some(claims.jti),
            auth_time: claims.auth_time,
            acr: claims.acr,
            site: claims.site,
        })
    }

    async fn introspect_refresh_token(
        &self,
        caller: &Client,
        token: &str,
    ) -> Result<Introspection, OAuthError> {
        let now = self.clock.now();
        let family = self
            .refresh
            .find_family_by_current_token(&self.hasher.hash(token))
            .await?;
        let Some(family) = family.filter(|f| f.client_id == caller.id && f.is_live(now)) else {
            return Ok(Introspection::default());
        };
        // The grant's subject as its tokens name it: the site user for a site's client. A
        // grant whose account may no longer have them is not active.
        let subject = match self.accounts.get_account(family.account_id).await {
            Ok(account) => self.subject_of(&family.client_id, &account).await?,
            Err(lanyard_core::StoreError::NotFound) => None,
            Err(e) => return Err(e.into()),
        };
        let Some(subject) = subject else {
            return Ok(Introspection::default());
        };
        Ok(Introspection {
            active: true,
            scope: Some(family.scope),
            client_id: Some(family.client_id.as_str().to_owned()),
            sub: Some(subject.sub.clone()),
            // RFC 7662 §2.2: `token_type` is the OAuth token type (RFC 6749 §7.1, e.g.
            // Bearer) of an access token; a refresh token has none, so it is left out.
            token_type: None,
            exp: Some(
                family
                    .idle_expires_at
                    .min(family.absolute_expires_at)
                    .seconds(),
            ),
            iat: None,
            iss: Some(self.settings.issuer.clone()),
            aud: None,
            jti: None,
            auth_time: Some(family.auth_time.seconds()),
            acr: family.acr,
            site: subject.claims(),
        })
    }

    /// Verifies an access token and checks that neither it nor its grant was revoked.
    pub(crate) async fn live_access_token(
        &self,
        token: &str,
    ) -> Result<Option<AccessTokenClaims>, OAuthError> {
        Ok(self
            .live_access_token_and_grant(token)
            .await?
            .map(|live| live.claims))
    }

    /// [`Self::live_access_token`], with the account of the token's grant from the same read
    /// of the grant (userinfo's question).
    pub(crate) async fn live_access_token_and_grant(
        &self,
        token: &str,
    ) -> Result<Option<LiveAccessToken>, OAuthError> {
        if token.len() > MAX_TOKEN_LEN {
            return Ok(None);
        }
        let Some(claims) = self.verify_access_token(token) else {
            return Ok(None);
        };
        if self
            .ephemeral
            .get(&revoked_jti_key(&claims.jti))
            .await?
            .is_some()
        {
            return Ok(None);
        }
        let mut grant_account = None;
        if let Some(gid) = &claims.gid {
            let Ok(id) = uuid::Uuid::parse_str(gid) else {
                return Ok(None);
            };
            let family = self.refresh.find_family(FamilyId(id)).await?;
            let Some(family) = family.filter(|f| f.revoked_at.is_none()) else {
                return Ok(None);
            };
            grant_account = Some(family.account_id);
        }
        if let Some(pat) = &claims.pat_id {
            let Some(id) = lanyard_core::model::PatId::parse(pat) else {
                return Ok(None);
            };
            if !self.pats.is_live(id).await? {
                return Ok(None);
            }
        }
        Ok(Some(LiveAccessToken {
            claims,
            grant_account,
        }))
    }

    /// Remembers a revoked access token until it would have expired anyway.
    pub(crate) async fn deny_access_token(
        &self,
        claims: &AccessTokenClaims,
    ) -> Result<(), OAuthError> {
        let remaining = claims.exp - self.clock.now().seconds();
        if remaining > 0 {
            self.ephemeral
                .put(
                    &revoked_jti_key(&claims.jti),
                    b"1",
                    Duration::from_secs(remaining as u64 + 1),
                )
                .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::grant::harness;

    /// RFC 7662 §2.2: `token_type` is the OAuth token type of an access token; an active
    /// refresh token is introspected without one.
    #[tokio::test]
    async fn rfc7662_2_2_a_refresh_token_has_no_token_type() {
        let h = harness(0);
        let seen = h
            .issuer
            .introspect(
                &h.client,
                "lyd_rt_c2VjcmV0LXJlZnJlc2gtdG9rZW4tb25lLWZvci10ZXN0cw",
            )
            .await
            .unwrap();
        assert!(seen.active);
        assert_eq!(seen.token_type, None);
        let json = serde_json::to_value(&seen).unwrap();
        assert!(json.get("token_type").is_none(), "{json}");
    }
}
