//! The grants of the token endpoint (RFC 6749 §4.1.3, §4.4, §6; RFC 8628 §3.4).

mod authorization_code;
pub use authorization_code::REFRESH_TOKEN_PREFIX;
mod client_credentials;
mod device_code;
mod exchange_limits;
pub(crate) use exchange_limits::ExchangeLimits;
mod access_token_exchange;
mod refresh_token;
/// The issuer test harness, for unit tests of modules outside `grant`.
#[cfg(test)]
pub(crate) use refresh_token::tests::{API, Harness, RT1, harness};
mod target;
mod token_exchange;
mod user_grant;
pub use token_exchange::{ACCESS_TOKEN_TYPE, AMR_PAT, PAT_TOKEN_TYPE};

use lanyard_core::model::{Account, Client};
use lanyard_core::{FamilyId, Origin, Secret, Timestamp};
use serde::Serialize;

use crate::error::{ErrorCode, OAuthError};
use crate::issuer::Issuer;
use crate::scope::{OPENID, Scopes};
use crate::subject::Subject;
use crate::tokens::{AccessTokenRequest, IdTokenClaims, MintedAccessToken};

/// A token request after the web layer parsed the form and authenticated the client.
#[derive(Debug)]
pub enum GrantRequest {
    AuthorizationCode {
        code: Secret,
        redirect_uri: Option<String>,
        code_verifier: Option<Secret>,
    },
    RefreshToken {
        refresh_token: Secret,
        scope: Option<String>,
    },
    /// RFC 6749 §4.4, with RFC 8707 `resource` and RFC 8693-style `audience`.
    ClientCredentials {
        scope: Option<String>,
        audience: Option<String>,
        resource: Option<String>,
    },
    /// RFC 8693 §2.1: a personal access token, or an access token we issued.
    TokenExchange(TokenExchangeRequest),
    /// RFC 8628 §3.4.
    DeviceCode { device_code: Secret },
}

/// The parameters of an RFC 8693 request, as sent (the grant checks them).
#[derive(Debug)]
pub struct TokenExchangeRequest {
    pub subject_token: Secret,
    pub subject_token_type: String,
    pub requested_token_type: Option<String>,
    pub audience: Option<String>,
    pub resource: Option<String>,
    pub scope: Option<String>,
    pub actor_token: Option<Secret>,
    pub actor_token_type: Option<String>,
}

/// RFC 6749 §5.1 (and OIDC Core §3.1.3.3 for `id_token`).
#[derive(Debug, Clone, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// RFC 8693 §2.2.1: set on token-exchange responses only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issued_token_type: Option<&'static str>,
}

impl Issuer {
    pub async fn exchange(
        &self,
        client: &Client,
        request: GrantRequest,
        origin: &Origin,
    ) -> Result<TokenResponse, OAuthError> {
        match request {
            GrantRequest::AuthorizationCode {
                code,
                redirect_uri,
                code_verifier,
            } => {
                self.redeem_code(
                    client,
                    &code,
                    redirect_uri.as_deref(),
                    code_verifier.as_ref(),
                    origin,
                )
                .await
            }
            GrantRequest::RefreshToken {
                refresh_token,
                scope,
            } => {
                self.rotate_refresh_token(client, &refresh_token, scope.as_deref(), origin)
                    .await
            }
            GrantRequest::ClientCredentials {
                scope,
                audience,
                resource,
            } => self.client_credentials(
                client,
                scope.as_deref(),
                audience.as_deref(),
                resource.as_deref(),
            ),
            GrantRequest::TokenExchange(request) => {
                self.exchange_token(client, request, origin).await
            }
            GrantRequest::DeviceCode { device_code } => {
                self.redeem_device_code(client, &device_code, origin).await
            }
        }
    }

    /// The access token of a user grant and, when `openid` was granted, its ID token
    /// (OIDC Core §3.1.3.3; on refresh §12.2, without a nonce).
    pub(crate) fn mint_user_tokens(
        &self,
        client: &Client,
        grant: UserTokens<'_>,
    ) -> Result<(MintedAccessToken, Option<String>), OAuthError> {
        let UserTokens {
            account,
            subject,
            scope,
            how,
            grant,
            nonce,
        } = grant;
        let access = self.mint_access_token(AccessTokenRequest {
            subject: &subject.sub,
            client_id: client.id.as_str(),
            scope: Some(scope.to_string()),
            auth_time: Some(how.auth_time),
            acr: Some(how.acr.clone()),
            amr: Some(how.amr.clone()),
            grant: Some(grant),
            ttl_secs: self.access_ttl(client),
            audience: None,
            pat: None,
            act: None,
            site: subject.claims(),
        })?;
        if !scope.contains(OPENID) {
            return Ok((access, None));
        }
        let now = self.clock.now().seconds();
        let (email, email_verified, name) = profile_claims(account, scope);
        let id_token = self.mint_id_token(IdTokenClaims {
            iss: self.settings.issuer.clone(),
            sub: subject.sub.clone(),
            aud: client.id.as_str().to_owned(),
            exp: now + self.settings.tokens.id_token_ttl_secs,
            iat: now,
            auth_time: how.auth_time.seconds(),
            nonce,
            acr: how.acr.clone(),
            amr: how.amr.clone(),
            azp: client.id.as_str().to_owned(),
            at_hash: Some(self.at_hash(&access.token)),
            email,
            email_verified,
            name,
            sid: how.sid.clone(),
            site: subject.claims(),
        })?;
        Ok((access, Some(id_token)))
    }

    /// The client's own lifetime if it has one, never above the bound the retention of
    /// retired signing keys is computed from (`settings::longest_token_lifetime_secs`).
    fn access_ttl(&self, client: &Client) -> i64 {
        client
            .access_token_ttl
            .map_or(self.settings.tokens.access_token_ttl_secs, |ttl| {
                ttl.clamp(1, crate::settings::MAX_ACCESS_TOKEN_TTL_SECS)
            })
    }
}

fn unauthorized_client() -> OAuthError {
    OAuthError::new(
        ErrorCode::UnauthorizedClient,
        "the client is not allowed to use this grant type",
    )
}

/// What the tokens of a user grant are minted from.
pub(crate) struct UserTokens<'a> {
    pub account: &'a Account,
    /// Whom they name (`crate::subject`).
    pub subject: &'a Subject,
    pub scope: &'a Scopes,
    pub how: &'a HowAuthenticated,
    pub grant: FamilyId,
    pub nonce: Option<String>,
}

/// How the user of a grant authenticated, carried into every token of the grant.
#[derive(Debug, Clone)]
pub(crate) struct HowAuthenticated {
    pub auth_time: Timestamp,
    pub acr: String,
    pub amr: Vec<String>,
    /// The browser session the grant started in, when it did (the code grant).
    pub sid: Option<String>,
}

/// Profile claims released by scope (OIDC Core §5.4).
pub(crate) fn profile_claims(
    account: &Account,
    scope: &crate::scope::Scopes,
) -> (Option<String>, Option<bool>, Option<String>) {
    let (email, verified) = if scope.contains("email") {
        (Some(account.email.clone()), Some(account.email_verified))
    } else {
        (None, None)
    };
    let name = scope.contains("profile").then(|| account.name.clone());
    (email, verified, name)
}
