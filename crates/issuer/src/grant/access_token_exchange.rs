//! Token exchange (RFC 8693) of an access token this server issued, for a new short-lived
//! access token for another registered API (delegation across services). Never on the PAT
//! path: `token_exchange` dispatches here on `subject_token_type` before any PAT work.
//!
//! - The subject token (and the actor token, if any) must be live: our signature, `typ`
//!   at+jwt, unexpired, not revoked (the `RevokedJti` guard, its grant and its PAT alive),
//!   exactly what introspection checks.
//! - The calling client may exchange it only when the token's `aud` names the client, or
//!   names an audience in the client's registration (`exchange_audiences`).
//! - The new token is for the named `audience`/`resource` (a `[[resources]]` entry), its
//!   scope can only narrow, and it lives at most `pats.exchange_ttl_secs` and never past the
//!   subject token. It keeps the subject token's grant and PAT, so revoking either ends it.
//! - With an actor token, the new token carries `act` (RFC 8693 §4.1), nesting the subject
//!   token's own `act`.
//!
//! Errors follow RFC 8693 §2.2.2: an invalid subject or actor token is `invalid_request`, an
//! unavailable target `invalid_target`, a token this client may not exchange
//! `invalid_grant`, a wider scope `invalid_scope`.

use lanyard_core::model::{AuditEvent, Client, PatId};
use lanyard_core::{FamilyId, Origin, Timestamp};

use super::target::requested_target;
use super::{TokenExchangeRequest, TokenResponse};
use crate::error::{ErrorCode, OAuthError};
use crate::issuer::Issuer;
use crate::scope::Scopes;
use crate::tokens::{AccessTokenClaims, AccessTokenRequest, Actor, Audience};

use super::token_exchange::ACCESS_TOKEN_TYPE;

impl Issuer {
    pub(super) async fn exchange_access_token(
        &self,
        client: &Client,
        request: TokenExchangeRequest,
        origin: &Origin,
    ) -> Result<TokenResponse, OAuthError> {
        if request
            .requested_token_type
            .as_deref()
            .is_some_and(|t| t != ACCESS_TOKEN_TYPE)
        {
            return Err(OAuthError::invalid_request(
                "only access tokens can be requested",
            ));
        }
        // RFC 8693 §2.1: actor_token_type is required with an actor token, and only then.
        let actor_token = match (&request.actor_token, request.actor_token_type.as_deref()) {
            (None, None) => None,
            (Some(token), Some(ACCESS_TOKEN_TYPE)) => Some(token),
            (Some(_), Some(_)) => {
                return Err(OAuthError::invalid_request(
                    "actor_token_type must be urn:ietf:params:oauth:token-type:access_token",
                ));
            }
            _ => {
                return Err(OAuthError::invalid_request(
                    "actor_token and actor_token_type go together",
                ));
            }
        };
        let named = requested_target(
            &self.settings.resources,
            request.audience.as_deref(),
            request.resource.as_deref(),
        )?;
        let target = match (named, self.settings.resources.0.as_slice()) {
            (Some(target), _) | (None, [target]) => target,
            (None, _) => {
                return Err(OAuthError::invalid_request(
                    "audience or resource is required",
                ));
            }
        };
        let subject = self
            .live_access_token(request.subject_token.expose())
            .await?
            .ok_or_else(|| OAuthError::invalid_request("the subject token is not valid"))?;
        if !may_exchange(client, &subject.aud) {
            return Err(OAuthError::invalid_grant(
                "this client may not exchange the subject token",
            ));
        }
        let act = match actor_token {
            None => subject.act.clone(),
            Some(token) => {
                let actor = self
                    .live_access_token(token.expose())
                    .await?
                    .ok_or_else(|| OAuthError::invalid_request("the actor token is not valid"))?;
                // The caller proves it is the actor: the token was issued to it or for it.
                if actor.client_id != client.id.as_str() && !actor.aud.contains(client.id.as_str())
                {
                    return Err(OAuthError::invalid_grant(
                        "the actor token is not this client's",
                    ));
                }
                Some(Actor {
                    sub: actor.sub,
                    client_id: Some(actor.client_id),
                    act: subject.act.clone().map(Box::new),
                })
            }
        };
        let scope = narrowed_scope(subject.scope.as_deref(), request.scope.as_deref())?;
        let now = self.clock.now().seconds();
        let ttl = self
            .settings
            .exchange
            .ttl_secs
            .min(subject.exp - now)
            .max(1);
        let access = self.mint_access_token(AccessTokenRequest {
            subject: &subject.sub,
            client_id: client.id.as_str(),
            scope: scope.clone(),
            auth_time: subject.auth_time.map(Timestamp),
            acr: subject.acr.clone(),
            amr: subject.amr.clone(),
            grant: subject
                .gid
                .as_deref()
                .and_then(|g| uuid::Uuid::parse_str(g).ok())
                .map(FamilyId),
            ttl_secs: ttl,
            audience: Some(&target.identifier),
            pat: subject.pat_id.as_deref().and_then(PatId::parse),
            act,
            // The new token names the same subject, so it says the same about the site user.
            site: subject.site.clone(),
        })?;
        self.record_exchange(client, &subject, &target.identifier, origin)
            .await;
        Ok(TokenResponse {
            access_token: access.token,
            token_type: "Bearer",
            expires_in: access.expires_in,
            refresh_token: None,
            id_token: None,
            scope,
            issued_token_type: Some(ACCESS_TOKEN_TYPE),
        })
    }

    /// Delegation is worth an audit line: who exchanged whose token, for which API.
    async fn record_exchange(
        &self,
        client: &Client,
        subject: &AccessTokenClaims,
        target: &str,
        origin: &Origin,
    ) {
        let event = AuditEvent::new(self.clock.now(), "token.exchanged", "success")
            .client(client.id.as_str())
            .subject(format!("jti:{}", subject.jti))
            .reason(format!("for {target}"));
        self.record(event, origin).await;
    }
}

/// The registration rule: the subject token names the client as an audience, or names an
/// audience the client was registered to exchange for (`exchange_audiences`).
pub(crate) fn may_exchange(client: &Client, aud: &Audience) -> bool {
    aud.contains(client.id.as_str()) || client.exchange_audiences.iter().any(|a| aud.contains(a))
}

/// The subject token's scope, or the part of it that `requested` names; never more.
fn narrowed_scope(
    subject: Option<&str>,
    requested: Option<&str>,
) -> Result<Option<String>, OAuthError> {
    let Some(requested) = requested else {
        return Ok(subject.map(str::to_owned));
    };
    let invalid = || {
        OAuthError::new(
            ErrorCode::InvalidScope,
            "a requested scope is not in the subject token",
        )
    };
    let requested = Scopes::parse(requested).ok_or_else(invalid)?;
    let held = subject.and_then(Scopes::parse).ok_or_else(invalid)?;
    if requested.is_empty() || !requested.is_subset_of(&held) {
        return Err(invalid());
    }
    Ok(Some(requested.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc8693_scope_only_narrows() {
        assert_eq!(
            narrowed_scope(Some("a b"), None).unwrap().as_deref(),
            Some("a b")
        );
        assert_eq!(narrowed_scope(None, None).unwrap(), None);
        assert_eq!(
            narrowed_scope(Some("a b"), Some("b")).unwrap().as_deref(),
            Some("b")
        );
        for (held, asked) in [(Some("a b"), "a c"), (None, "a"), (Some("a"), "a\u{7f}")] {
            let err = narrowed_scope(held, Some(asked)).unwrap_err();
            assert_eq!(err.code.as_str(), "invalid_scope", "{held:?} {asked}");
        }
    }

    #[tokio::test]
    async fn rfc8693_a_client_exchanges_tokens_for_it_or_its_registered_audiences() {
        let mut client = crate::grant::refresh_token::tests::harness(0).client;
        client.id = lanyard_core::ClientId::parse("svc").unwrap();
        let for_svc = Audience::One("svc".to_owned());
        let for_api = Audience::Many(vec!["https://api.example.com/".to_owned()]);
        assert!(may_exchange(&client, &for_svc));
        assert!(!may_exchange(&client, &for_api));
        client.exchange_audiences = vec!["https://api.example.com/".to_owned()];
        assert!(may_exchange(&client, &for_api));
        assert!(!may_exchange(
            &client,
            &Audience::One("https://id.example.com".to_owned())
        ));
    }
}
