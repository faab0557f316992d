//! The grants of the token endpoint (RFC 6749 §4.1.3, §4.4, §6).

mod authorization_code;
pub use authorization_code::REFRESH_TOKEN_PREFIX;
mod client_credentials;
mod refresh_token;

use lanyard_core::model::{Account, Client};
use lanyard_core::{Origin, Secret};
use serde::Serialize;

use crate::error::{ErrorCode, OAuthError};
use crate::issuer::Issuer;

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
    ClientCredentials {
        scope: Option<String>,
    },
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
            GrantRequest::ClientCredentials { scope } => {
                self.client_credentials(client, scope.as_deref())
            }
        }
    }

    fn access_ttl(&self, client: &Client) -> i64 {
        client
            .access_token_ttl
            .unwrap_or(self.settings.access_token_ttl_secs)
    }
}

fn unauthorized_client() -> OAuthError {
    OAuthError::new(
        ErrorCode::UnauthorizedClient,
        "the client is not allowed to use this grant type",
    )
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
