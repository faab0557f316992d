//! Token revocation (RFC 7009). Revoking a refresh token or an access token of a grant
//! revokes the whole grant (RFC 7009 §2.1 SHOULD). Unknown tokens and other clients' tokens
//! get the same 200 and change nothing (§2.2).

use lanyard_core::Origin;
use lanyard_core::model::{AuditEvent, Client};

use crate::error::OAuthError;
use crate::grant::REFRESH_TOKEN_PREFIX;
use crate::issuer::Issuer;

impl Issuer {
    pub async fn revoke(
        &self,
        caller: &Client,
        token: &str,
        origin: &Origin,
    ) -> Result<(), OAuthError> {
        if token.is_empty() || token.len() > 8 * 1024 {
            return Ok(());
        }
        let now = self.clock.now();
        if token.starts_with(REFRESH_TOKEN_PREFIX) {
            let family = self
                .refresh
                .find_family_by_token(&self.hasher.hash(token))
                .await?;
            let Some(family) = family else {
                return Ok(());
            };
            if family.client_id != caller.id {
                let target = format!("grant:{}", family.id);
                self.record_foreign_attempt(caller, target, "refresh token", origin)
                    .await;
                return Ok(());
            }
            self.refresh.revoke_family(family.id, now).await?;
            self.record(
                AuditEvent::new(now, "token.revoked", "success")
                    .client(caller.id.as_str())
                    .subject(format!("grant:{}", family.id)),
                origin,
            )
            .await;
            return Ok(());
        }
        let Some(claims) = self.verify_access_token(token) else {
            return Ok(());
        };
        if claims.client_id != caller.id.as_str() {
            // The grant when the token has one, else the token's id (not a secret).
            let target = claims
                .gid
                .as_deref()
                .map_or_else(|| format!("jti:{}", claims.jti), |g| format!("grant:{g}"));
            self.record_foreign_attempt(caller, target, "access token", origin)
                .await;
            return Ok(());
        }
        self.deny_access_token(&claims).await?;
        if let Some(gid) = claims
            .gid
            .as_deref()
            .and_then(|g| uuid::Uuid::parse_str(g).ok())
        {
            self.refresh
                .revoke_family(lanyard_core::FamilyId(gid), now)
                .await?;
        }
        self.record(
            AuditEvent::new(now, "token.revoked", "success")
                .client(caller.id.as_str())
                .reason("access token"),
            origin,
        )
        .await;
        Ok(())
    }

    /// Another client's token: nothing changes and the answer is the same 200, but the
    /// attempt is recorded with the grant (or token id) it aimed at, so an operator can see
    /// which client probed whose tokens (S16).
    async fn record_foreign_attempt(
        &self,
        caller: &Client,
        target: String,
        kind: &str,
        origin: &Origin,
    ) {
        self.record(
            AuditEvent::new(self.clock.now(), "token.revoke_foreign", "failure")
                .client(caller.id.as_str())
                .subject(target)
                .reason(format!("client tried to revoke another client's {kind}")),
            origin,
        )
        .await;
    }
}
