//! An upstream's back-channel logout (OIDC Back-Channel Logout 1.0 §2.5–2.8): its
//! `logout_token` verified with the upstream's key set, used once, then our sessions that
//! its `sid` started — or, when it names only a `sub`, every session of the linked account.

use std::time::Duration;

use lanyard_core::model::AuditEvent;
use lanyard_core::{EphemeralKey, Origin};
use lanyard_crypto::JwtError;
use lanyard_crypto::jws::{LogoutValidation, verify_logout_token};

use super::fed_error;
use crate::{SignInError, SignInService};

/// Clock skew tolerated on the token's `iat`/`exp`.
const LEEWAY_SECS: u32 = 60;

/// Why a logout token was refused (the endpoint answers 400 with `invalid_request`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogoutRefusal {
    /// Not a valid logout token from this organization's provider.
    Invalid,
    /// This token was used before.
    Replayed,
    /// The organization has no enabled connection.
    NoConnection,
}

impl SignInService {
    /// Ends what the upstream's logout token names; how many of our sessions ended.
    pub async fn upstream_logout(
        &self,
        slug: &str,
        logout_token: &str,
        origin: &Origin,
    ) -> Result<Result<usize, LogoutRefusal>, SignInError> {
        let Ok((_, rp)) = self.federation.relying_party(slug).await else {
            return Ok(Err(LogoutRefusal::NoConnection));
        };
        let now = self.clock.now();
        let validation = LogoutValidation {
            issuer: &rp.config().issuer,
            audience: &rp.config().client_id,
            now,
            leeway_secs: LEEWAY_SECS,
        };
        let keys = rp.key_set(None).await.map_err(fed_error)?;
        let claims = match verify_logout_token(logout_token, &keys, &validation) {
            Err(JwtError::UnknownKey) => {
                // The upstream may have rotated its keys: one refetch, under the same
                // per-kid limit as ID tokens (R12).
                let kid = lanyard_crypto::jws::unverified_kid(logout_token).unwrap_or_default();
                let keys = rp.key_set(Some(&kid)).await.map_err(fed_error)?;
                verify_logout_token(logout_token, &keys, &validation)
            }
            other => other,
        };
        let claims = match claims {
            Ok(claims) => claims,
            Err(e) => {
                tracing::info!(org = slug, error = %e, "upstream logout token refused");
                self.audit_logout(slug, "failure", Some("invalid_token"), origin)
                    .await;
                return Ok(Err(LogoutRefusal::Invalid));
            }
        };
        // Used once: kept until the token could no longer pass anyway.
        let key = EphemeralKey::UpstreamLogoutJti(&self.hasher.hash(&format!(
            "{}\u{0}{}",
            rp.config().issuer,
            claims.jti
        )))
        .to_string();
        let left = claims.exp - now.seconds() + i64::from(LEEWAY_SECS);
        let ttl = Duration::from_secs(left.clamp(1, 86_400) as u64);
        if !self.ephemeral.put_if_absent(&key, b"1", ttl).await? {
            self.audit_logout(slug, "failure", Some("replayed"), origin)
                .await;
            return Ok(Err(LogoutRefusal::Replayed));
        }
        let issuer = rp.config().issuer.clone();
        let mut ended = 0;
        if let Some(sid) = claims.sid.as_deref() {
            ended = self
                .sessions
                .end_upstream_session(&issuer, sid, origin)
                .await?;
        }
        if claims.sid.is_none()
            && let Some(sub) = claims.sub.as_deref()
            && let Some(account) = self
                .federation
                .linked_account(&issuer, sub)
                .await
                .map_err(fed_error)?
        {
            self.sessions.end_all(account, origin).await?;
            ended = 1;
        }
        self.audit_logout(slug, "success", None, origin).await;
        Ok(Ok(ended))
    }

    async fn audit_logout(&self, slug: &str, outcome: &str, reason: Option<&str>, origin: &Origin) {
        let mut event = AuditEvent::new(self.clock.now(), "federation.backchannel_logout", outcome)
            .subject(slug.to_owned());
        if let Some(reason) = reason {
            event = event.reason(reason);
        }
        self.federation.auditor().record(event, origin).await;
    }
}
