//! The refresh token grant (RFC 6749 §6) with rotation and reuse detection
//! (RFC 9700 §4.14.2): each use retires the token; presenting a retired one revokes the
//! whole family.
//!
//! With `refresh_grace_secs` > 0, the immediately previous token presented again within that
//! many seconds of its rotation (a retry after a lost response, or two concurrent refreshes)
//! gets the same successor back with fresh access and ID tokens: still one live branch. The
//! successor is kept sealed under the presented token ([`lanyard_crypto::successor_seal`]),
//! so the store holds nothing that works without it.

use lanyard_core::model::GraceSeal;
use lanyard_core::model::{AccountStatus, AuditEvent, Client, GrantType, RotateOutcome};
use lanyard_core::rng::random_token;
use lanyard_core::{FamilyId, Origin, Secret};
use lanyard_crypto::successor_seal::{open_successor, seal_successor};

use super::authorization_code::REFRESH_TOKEN_PREFIX;
use super::{HowAuthenticated, TokenResponse, UserTokens, unauthorized_client};
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
            .unwrap_or(self.settings.tokens.refresh_idle_ttl_secs);
        let grace = self.grace_seal(presented, &successor, family.id)?;
        let (family, refresh_token) = match self
            .refresh
            .rotate_refresh_token(&hash, &self.hasher.hash(&successor), grace, now, idle)
            .await?
        {
            RotateOutcome::Rotated(family) => (family, successor),
            RotateOutcome::Replayed {
                family,
                sealed_successor,
            } => {
                let Ok(earlier) =
                    open_successor(presented, &sealed_successor, &seal_aad(family.id))
                else {
                    // Only a tampered row gets here; the family stays as it is.
                    return Err(OAuthError {
                        internal: Some("sealed refresh successor does not open".to_owned()),
                        ..invalid_refresh()
                    });
                };
                self.record(
                    AuditEvent::new(now, "token.refresh_grace_replay", "success")
                        .subject(format!("grant:{}", family.id))
                        .client(client.id.as_str())
                        .reason("the previous refresh token was retried within the grace window"),
                    origin,
                )
                .await;
                (family, earlier.as_str().to_owned())
            }
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
        // S54: an organization's policy that this grant's sign-in did not meet ends the
        // grant; the app sends the user through a new sign-in (docs/orgs.md).
        if !self
            .sign_in_policy
            .grant_still_allowed(account.id, family.auth_time)
            .await?
        {
            self.refresh.revoke_family(family.id, now).await?;
            self.record(
                AuditEvent::new(now, "token.refresh_refused", "failure")
                    .subject(format!("grant:{}", family.id))
                    .client(client.id.as_str())
                    .reason("the account's sign-in policy changed after this grant's sign-in"),
                origin,
            )
            .await;
            return Err(OAuthError::invalid_grant(
                "the account's sign-in policy changed: sign in again",
            ));
        }
        // G4: the account's organization requires its own sign-in, and this grant came
        // from another (docs/federation.md).
        let federated = family.amr.split(' ').any(|m| m == "fed");
        if !federated && self.sso.sso_required(&account.email).await? {
            self.refresh.revoke_family(family.id, now).await?;
            self.record(
                AuditEvent::new(now, "token.refresh_refused", "failure")
                    .subject(format!("grant:{}", family.id))
                    .client(client.id.as_str())
                    .reason("the organization requires its own sign-in"),
                origin,
            )
            .await;
            return Err(OAuthError::invalid_grant(
                "the organization requires its own sign-in: sign in again",
            ));
        }
        // A site's grant lives only while its account may still have the site's tokens
        // (linked, or the principal, in a state that admits that way in).
        let subject = match self
            .grant_subject(client, &account, "refresh_token", origin)
            .await
        {
            Ok(subject) => subject,
            Err(refused) => {
                self.refresh.revoke_family(family.id, now).await?;
                return Err(refused);
            }
        };
        let how = HowAuthenticated {
            auth_time: family.auth_time,
            acr: family.acr.clone().unwrap_or_default(),
            amr: family
                .amr
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            // The family does not keep its session: refreshed ID tokens carry no `sid`
            // (docs/logout.md).
            sid: None,
        };
        let (access, id_token) = self.mint_user_tokens(
            client,
            UserTokens {
                account: &account,
                subject: &subject,
                scope: &scope,
                how: &how,
                grant: family.id,
                nonce: None,
            },
        )?;
        Ok(TokenResponse {
            access_token: access.token,
            token_type: "Bearer",
            expires_in: access.expires_in,
            refresh_token: Some(refresh_token),
            id_token,
            scope: Some(scope.to_string()),
            issued_token_type: None,
        })
    }

    /// In grace mode, the successor sealed for a retry of `presented`; in strict mode nothing,
    /// so nothing is stored.
    fn grace_seal(
        &self,
        presented: &str,
        successor: &str,
        family: FamilyId,
    ) -> Result<Option<GraceSeal>, OAuthError> {
        let window_secs = self.settings.tokens.refresh_grace_secs;
        if window_secs <= 0 {
            return Ok(None);
        }
        let sealed_successor =
            seal_successor(presented, successor, &seal_aad(family)).map_err(OAuthError::server)?;
        Ok(Some(GraceSeal {
            window_secs,
            sealed_successor,
        }))
    }
}

/// A seal opens only on its own family's row.
fn seal_aad(family: FamilyId) -> Vec<u8> {
    family.to_string().into_bytes()
}

fn invalid_scope() -> OAuthError {
    OAuthError::new(
        ErrorCode::InvalidScope,
        "the requested scope exceeds the original grant",
    )
}

#[cfg(test)]
pub(crate) mod tests;
