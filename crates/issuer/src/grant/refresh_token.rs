//! The refresh token grant (RFC 6749 §6) with rotation and reuse detection
//! (RFC 9700 §4.14.2): each use retires the token; presenting a retired one revokes the
//! whole family.

use lanyard_core::model::{AccountStatus, AuditEvent, Client, GrantType, RotateOutcome};
use lanyard_core::rng::random_token;
use lanyard_core::{Origin, Secret};

use super::authorization_code::REFRESH_TOKEN_PREFIX;
use super::{HowAuthenticated, TokenResponse, unauthorized_client};
use crate::error::{ErrorCode, OAuthError};
use crate::issuer::Issuer;
use crate::scope::Scopes;

fn invalid_refresh() -> OAuthError {
    OAuthError::invalid_grant("invalid refresh token")
}

impl Issuer {
    pub(super) async fn rotate_refresh_token(
        &self,
        client: &Client,
        presented: &Secret,
        scope: Option<&str>,
        origin: &Origin,
    ) -> Result<TokenResponse, OAuthError> {
        if !client.allows_grant(GrantType::RefreshToken) {
            return Err(unauthorized_client());
        }
        let presented = presented.expose();
        if !presented.starts_with(REFRESH_TOKEN_PREFIX) || presented.len() > 128 {
            return Err(invalid_refresh());
        }
        let hash = self.hasher.hash(presented);
        let now = self.clock.now();
        let Some(family) = self.refresh.find_family_by_token(&hash).await? else {
            return Err(invalid_refresh());
        };
        // RFC 6749 §6: bound to the client it was issued to; another client's attempt
        // changes nothing.
        if family.client_id != client.id {
            self.record(
                AuditEvent::new(now, "token.refresh_wrong_client", "failure")
                    .client(client.id.as_str())
                    .subject(format!("grant:{}", family.id)),
                origin,
            )
            .await;
            return Err(invalid_refresh());
        }
        let granted = Scopes::parse(&family.scope).unwrap_or_default();
        let scope = match scope {
            Some(requested) => {
                let requested = Scopes::parse(requested).ok_or_else(invalid_scope)?;
                if !requested.is_subset_of(&granted) {
                    return Err(invalid_scope());
                }
                requested
            }
            None => granted,
        };
        let successor = format!("{REFRESH_TOKEN_PREFIX}{}", random_token(&*self.rng, 32));
        let idle = client
            .refresh_idle_ttl
            .unwrap_or(self.settings.refresh_idle_ttl_secs);
        let family = match self
            .refresh
            .rotate_refresh_token(&hash, &self.hasher.hash(&successor), now, idle)
            .await?
        {
            RotateOutcome::Rotated(family) => family,
            RotateOutcome::Reused(family) => {
                self.record(
                    AuditEvent::new(now, "token.refresh_reuse_detected", "failure")
                        .subject(format!("grant:{}", family.id))
                        .client(client.id.as_str())
                        .reason("a rotated refresh token was presented; the family was revoked"),
                    origin,
                )
                .await;
                return Err(invalid_refresh());
            }
            RotateOutcome::Dead(_) | RotateOutcome::Unknown => return Err(invalid_refresh()),
        };
        let account = self.accounts.get_account(family.account_id).await?;
        if account.status != AccountStatus::Active {
            self.refresh.revoke_family(family.id, now).await?;
            return Err(invalid_refresh());
        }
        let how = HowAuthenticated {
            auth_time: family.auth_time,
            acr: family.acr.clone().unwrap_or_default(),
            amr: family
                .amr
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        };
        let (access, id_token) =
            self.mint_user_tokens(client, &account, &scope, &how, family.id, None)?;
        Ok(TokenResponse {
            access_token: access.token,
            token_type: "Bearer",
            expires_in: access.expires_in,
            refresh_token: Some(successor),
            id_token,
            scope: Some(scope.to_string()),
        })
    }
}

fn invalid_scope() -> OAuthError {
    OAuthError::new(
        ErrorCode::InvalidScope,
        "the requested scope exceeds the original grant",
    )
}
