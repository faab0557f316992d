//! Token revocation (RFC 7009). Revoking a refresh token or an access token of a grant
//! revokes the whole grant (RFC 7009 §2.1 SHOULD). Unknown, expired and already revoked
//! tokens get 200 and change nothing (§2.2). A live token issued to another client is
//! refused with `unauthorized_client` (§2.1, §2.2.1) and changes nothing; that answer is
//! only given for tokens that still work, so a client learns no more than §2.1 requires
//! (whether a live token it holds is its own), and nothing about dead or unknown tokens.

use lanyard_core::Origin;
use lanyard_core::model::{AuditEvent, Client};

use crate::error::{ErrorCode, OAuthError};
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
                return foreign(family.is_live(now));
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
            let live = self.live_access_token(token).await?.is_some();
            return foreign(live);
        }
        self.deny_access_token(&claims).await?;
        if let Some(gid) = claims
            .gid
            .as_deref()
            .and_then(|g| uuid::Uuid::parse_str(g).ok())
        {
            // A token minted by token exchange carries the grant of its subject token, which
            // may belong to another client: only the caller's own grant is revoked with it.
            let family = self
                .refresh
                .find_family(lanyard_core::FamilyId(gid))
                .await?;
            if family.is_some_and(|f| f.client_id == caller.id) {
                self.refresh
                    .revoke_family(lanyard_core::FamilyId(gid), now)
                    .await?;
            }
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

    /// Another client's token: nothing changes, and the attempt is recorded with the grant
    /// (or token id) it aimed at, so an operator can see which client probed whose tokens
    /// (S16).
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

/// RFC 7009 §2.1: a token issued to another client is refused, but only while it is live;
/// a dead one is an invalid token, which §2.2 answers with 200.
fn foreign(live: bool) -> Result<(), OAuthError> {
    if live {
        Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "the token was not issued to this client",
        ))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use lanyard_core::{ClientId, Origin};

    use crate::grant::harness;

    const RT: &str = "lyd_rt_c2VjcmV0LXJlZnJlc2gtdG9rZW4tb25lLWZvci10ZXN0cw";

    /// RFC 7009 §2.1: a live refresh token of another client is refused with
    /// `unauthorized_client`; its own client revokes it.
    #[tokio::test]
    async fn rfc7009_2_1_another_clients_live_token_is_unauthorized_client() {
        let h = harness(0);
        let mut other = h.client.clone();
        other.id = ClientId::parse("other").unwrap();
        let refused = h
            .issuer
            .revoke(&other, RT, &Origin::default())
            .await
            .unwrap_err();
        assert_eq!(refused.code.as_str(), "unauthorized_client");
        h.issuer
            .revoke(&h.client, RT, &Origin::default())
            .await
            .unwrap();
        // Garbage is an invalid token: 200 (§2.2) for anyone.
        h.issuer
            .revoke(&other, "not-a-token", &Origin::default())
            .await
            .unwrap();
    }
}
