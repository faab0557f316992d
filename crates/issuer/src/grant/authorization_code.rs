//! The authorization code grant (RFC 6749 §4.1.3) with PKCE (RFC 7636 §4.6) and the
//! downgrade defence of RFC 9700 §4.8.2.

use lanyard_core::model::{AccountStatus, AuditEvent, Client, GrantType};
use lanyard_core::{ClientId, Origin, Secret, Timestamp};

use super::user_grant::NewUserGrant;
use super::{HowAuthenticated, TokenResponse, UserTokens, unauthorized_client};
use crate::code::PendingCode;
use crate::error::OAuthError;
use crate::issuer::Issuer;
use crate::pkce;
use crate::scope::Scopes;

pub const REFRESH_TOKEN_PREFIX: &str = "lyd_rt_";

impl Issuer {
    pub(super) async fn redeem_code(
        &self,
        client: &Client,
        code: &Secret,
        redirect_uri: Option<&str>,
        code_verifier: Option<&Secret>,
        origin: &Origin,
    ) -> Result<TokenResponse, OAuthError> {
        if !client.allows_grant(GrantType::AuthorizationCode) {
            return Err(unauthorized_client());
        }
        // Taken before any check: a failed attempt burns the code, so it can't be guessed at
        // (S07c) or retried with another client (S10).
        let pending = self.take_code(code.expose(), origin).await?;
        let now = self.clock.now();
        if let Err(reason) = check_binding(
            client,
            &pending,
            redirect_uri,
            code_verifier,
            now,
            self.settings.tokens.code_ttl_secs,
        ) {
            self.record(
                AuditEvent::new(now, "token.code_rejected", "failure")
                    .client(client.id.as_str())
                    .reason(reason),
                origin,
            )
            .await;
            return Err(OAuthError::invalid_grant("invalid authorization code"));
        }
        let account = self.accounts.get_account(pending.account_id).await?;
        if account.status != AccountStatus::Active {
            return Err(OAuthError::invalid_grant("invalid authorization code"));
        }
        let subject = self
            .grant_subject(client, &account, "authorization_code", origin)
            .await?;
        let scope = Scopes::parse(&pending.scope).unwrap_or_default();
        let how = HowAuthenticated {
            auth_time: Timestamp(pending.auth_time),
            acr: pending.acr.clone(),
            amr: pending.amr.clone(),
            sid: pending.sid.clone(),
        };
        let refresh_token = self
            .start_user_grant(
                client,
                NewUserGrant {
                    id: pending.grant,
                    account_id: account.id,
                    scope: &pending.scope,
                    how: &how,
                },
                now,
            )
            .await?;
        self.revoke_if_replayed(code.expose(), &pending, origin)
            .await?;
        let (access, id_token) = self.mint_user_tokens(
            client,
            UserTokens {
                account: &account,
                subject: &subject,
                scope: &scope,
                how: &how,
                grant: pending.grant,
                nonce: pending.nonce,
            },
        )?;
        self.record(
            AuditEvent::new(now, "token.issued", "success")
                .subject(account.id.to_string())
                .client(client.id.as_str())
                .reason("authorization_code"),
            origin,
        )
        .await;
        Ok(TokenResponse {
            access_token: access.token,
            token_type: "Bearer",
            expires_in: access.expires_in,
            refresh_token,
            id_token,
            scope: Some(pending.scope),
            issued_token_type: None,
        })
    }
}

/// The checks of RFC 6749 §4.1.3 and RFC 7636 §4.6; the reason is for the audit log only.
fn check_binding(
    client: &Client,
    pending: &PendingCode,
    redirect_uri: Option<&str>,
    code_verifier: Option<&Secret>,
    now: Timestamp,
    code_ttl_secs: i64,
) -> Result<(), &'static str> {
    if ClientId::parse(&pending.client_id).as_ref() != Some(&client.id) {
        return Err("code issued to another client");
    }
    if now.seconds() - pending.issued_at > code_ttl_secs {
        return Err("code expired");
    }
    match redirect_uri {
        Some(uri) if uri != pending.redirect_uri => return Err("redirect_uri differs"),
        None if client.redirect_uris.len() > 1 => return Err("redirect_uri missing"),
        _ => {}
    }
    match (&pending.code_challenge, code_verifier) {
        (Some(challenge), Some(verifier)) if pkce::verify_s256(verifier.expose(), challenge) => {
            Ok(())
        }
        (Some(_), _) => Err("code_verifier missing or wrong"),
        // RFC 9700 §4.8.2: a verifier for a code issued without a challenge is a downgrade.
        (None, Some(_)) => Err("code_verifier without code_challenge"),
        (None, None) => Ok(()),
    }
}
