//! Token exchange (RFC 8693): a personal access token for a short-lived JWT access token
//! (E3, E4). The hot path: the client is cached, the PAT lookup is cached per node (see
//! `lanyard_identity::pats`), and the only other work is one signature. An access token we
//! issued as the subject goes to `access_token_exchange` after one string comparison.
//!
//! Every refusal of the subject token is `invalid_grant` with one fixed description, whether
//! the token is malformed, mistyped (checksum), unknown, revoked, expired or its account
//! disabled (requirements E3; RFC 8693 §2.2.2 would say `invalid_request`: docs/pats.md).
//! Malformed tokens are refused before any lookup, and every refusal is counted.

use std::time::Duration;

use lanyard_core::model::authenticated::acr;
use lanyard_core::model::{
    ADMIN_SCOPE, AuditEvent, Client, GrantType, Pat, ResourceServer, admin_api_audience,
};
use lanyard_core::{Origin, pat_token};

use super::target::invalid_target;
use super::{TokenExchangeRequest, TokenResponse, unauthorized_client};
use crate::error::{ErrorCode, OAuthError};
use crate::issuer::Issuer;
use crate::scope::Scopes;
use crate::subject::SiteClaims;
use crate::tokens::AccessTokenRequest;

/// The token type URI of a Lanyard personal access token (listed in discovery).
pub const PAT_TOKEN_TYPE: &str = "urn:lanyard:token-type:pat";
/// RFC 8693 §3: what the exchange issues.
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
/// The `amr` value of a token minted from a PAT (not in RFC 8176's registry; documented).
pub const AMR_PAT: &str = "pat";

impl Issuer {
    pub(super) async fn exchange_token(
        &self,
        client: &Client,
        request: TokenExchangeRequest,
        origin: &Origin,
    ) -> Result<TokenResponse, OAuthError> {
        if !client.allows_grant(GrantType::TokenExchange) {
            return Err(unauthorized_client());
        }
        let now = self.clock.now();
        if let Some(secs) = self.exchange_limits.retry_after(origin, &client.id, now) {
            return Err(OAuthError::throttled(secs));
        }
        if request.subject_token_type != PAT_TOKEN_TYPE {
            if request.subject_token_type == ACCESS_TOKEN_TYPE {
                return self.exchange_access_token(client, request, origin).await;
            }
            return Err(OAuthError::invalid_request(
                "subject_token_type must be urn:lanyard:token-type:pat or urn:ietf:params:oauth:token-type:access_token",
            ));
        }
        if request.actor_token.is_some() || request.actor_token_type.is_some() {
            return Err(OAuthError::invalid_request(
                "actor tokens are not supported with a PAT",
            ));
        }
        if request
            .requested_token_type
            .as_deref()
            .is_some_and(|t| t != ACCESS_TOKEN_TYPE)
        {
            return Err(OAuthError::invalid_request(
                "only access tokens can be requested",
            ));
        }
        let named = self.named_resource(&request)?;
        let token = &request.subject_token;
        if !pat_token::is_well_formed(token.expose()) {
            return Err(self.refuse(client, origin).await);
        }
        let Some(verified) = self.pats.verify(token, origin).await? else {
            return Err(self.refuse(client, origin).await);
        };
        let pat = &verified.pat;
        let resource = self.resource_for(pat, named)?;
        let scope = granted_scope(pat, resource, request.scope.as_deref())?;
        if scope.contains(ADMIN_SCOPE) && !self.admins.is_admin(pat.account_id).await? {
            // The PAT may list the scope; only an admin's PAT yields it (issue 15).
            let event = AuditEvent::new(now, "pat.admin_refused", "failure")
                .subject(pat.account_id.to_string())
                .client(client.id.as_str())
                .reason(format!("pat:{}", pat.id));
            self.record(event, origin).await;
            return Err(OAuthError::new(
                ErrorCode::InvalidScope,
                "the token's account is not an administrator",
            ));
        }
        let mut ttl = self.settings.exchange.ttl_secs;
        if let Some(expires_at) = pat.expires_at {
            ttl = ttl.min(expires_at.seconds() - now.seconds());
        }
        let (subject, site) = self.pat_subject(pat, client, origin).await?;
        let scope = scope.to_string();
        let access = self.mint_access_token(AccessTokenRequest {
            subject: &subject,
            client_id: client.id.as_str(),
            scope: Some(scope.clone()),
            auth_time: None,
            acr: Some(acr::LOA1.to_owned()),
            amr: Some(vec![AMR_PAT.to_owned()]),
            grant: None,
            ttl_secs: ttl,
            audience: Some(&resource.identifier),
            pat: Some(pat.id),
            act: None,
            site,
        })?;
        Ok(TokenResponse {
            access_token: access.token,
            token_type: "Bearer",
            expires_in: access.expires_in,
            refresh_token: None,
            id_token: None,
            scope: Some(scope),
            issued_token_type: Some(ACCESS_TOKEN_TYPE),
        })
    }

    /// Whom the token names: the PAT's account, or (E2) the site user the PAT is tied to —
    /// only while that site user is still linked to the PAT's account and the site's
    /// two-factor requirement is met (checked on every exchange, so no cache outlives it).
    async fn pat_subject(
        &self,
        pat: &Pat,
        client: &Client,
        origin: &Origin,
    ) -> Result<(String, SiteClaims), OAuthError> {
        let Some(site_user) = pat.site_user else {
            return Ok((pat.account_id.to_string(), SiteClaims::default()));
        };
        match self
            .site_subjects
            .pat_subject(site_user, pat.account_id)
            .await?
        {
            Some(site) => Ok((site.site_user.to_string(), SiteClaims::of(Some(&site)))),
            None => {
                let event = AuditEvent::new(self.clock.now(), "pat.site_refused", "failure")
                    .subject(pat.account_id.to_string())
                    .client(client.id.as_str())
                    .reason(format!("pat:{} site_user:{site_user}", pat.id));
                self.record(event, origin).await;
                Err(OAuthError::invalid_grant(
                    "the token's site user is no longer linked to its account, or the site requires an authenticator app",
                ))
            }
        }
    }

    /// The registered API that `audience` / `resource` name (both, if given, must agree).
    fn named_resource(
        &self,
        request: &TokenExchangeRequest,
    ) -> Result<Option<&ResourceServer>, OAuthError> {
        let named = match (&request.audience, &request.resource) {
            (Some(a), Some(r)) if a != r => return Err(invalid_target()),
            (Some(a), _) | (None, Some(a)) => a,
            (None, None) => return Ok(None),
        };
        self.settings
            .resources
            .find(named)
            .map(Some)
            .ok_or_else(invalid_target)
    }

    /// The API the token will be for: the one named, else the PAT's only one, else the
    /// server's only one. It must be one the PAT allows.
    fn resource_for<'s>(
        &'s self,
        pat: &Pat,
        named: Option<&'s ResourceServer>,
    ) -> Result<&'s ResourceServer, OAuthError> {
        let resources = &self.settings.resources;
        // The built-in admin API is never a default: it is named, or the PAT lists it.
        let admin = admin_api_audience(&self.settings.issuer);
        let configured: Vec<&'s ResourceServer> = resources
            .0
            .iter()
            .filter(|r| r.identifier != admin)
            .collect();
        let resource = match named {
            Some(resource) => resource,
            None => match (pat.audiences.as_slice(), configured.as_slice()) {
                ([only], _) => resources.find(only).ok_or_else(invalid_target)?,
                ([], [only]) => *only,
                _ => {
                    return Err(OAuthError::invalid_request(
                        "audience or resource is required",
                    ));
                }
            },
        };
        let allowed = pat.audiences.is_empty() || pat.audiences.contains(&resource.identifier);
        allowed.then_some(resource).ok_or_else(invalid_target)
    }

    /// Counts a refused subject token against the caller's address and client, and throttles
    /// them past their limits (once per window, a `pat.exchange_throttled` audit event).
    async fn refuse(&self, client: &Client, origin: &Origin) -> OAuthError {
        let keys = super::exchange_limits::counter_keys(origin, &client.id);
        let now = self.clock.now();
        let window = self.settings.exchange.failure_window_secs;
        let ttl = Duration::from_secs(u64::try_from(window).unwrap_or(900));
        let limits = [
            self.settings.exchange.failures_per_ip,
            self.settings.exchange.failures_per_client,
        ];
        let mut throttled = false;
        for (key, limit) in keys.into_iter().zip(limits) {
            let count = match self.ephemeral.increment(&key, ttl).await {
                Ok(count) => count,
                Err(e) => return e.into(),
            };
            if count == limit {
                let event = AuditEvent::new(now, "pat.exchange_throttled", "failure")
                    .client(client.id.as_str())
                    .reason(key.split(':').next().unwrap_or_default());
                self.audit.record(event, origin).await;
            }
            if count >= limit {
                self.exchange_limits
                    .block(key, lanyard_core::Timestamp(now.seconds() + window));
                throttled = true;
            }
        }
        if throttled {
            OAuthError::throttled(u64::try_from(window).unwrap_or(900))
        } else {
            OAuthError::invalid_grant("the subject token is not valid")
        }
    }
}

/// The PAT's scopes that the API understands, narrowed to `requested` when given.
fn granted_scope(
    pat: &Pat,
    resource: &ResourceServer,
    requested: Option<&str>,
) -> Result<Scopes, OAuthError> {
    let available = Scopes::from_list(
        pat.scopes
            .iter()
            .filter(|s| resource.scopes.contains(s))
            .cloned(),
    );
    let granted = match requested {
        Some(requested) => {
            let requested = Scopes::parse(requested).ok_or_else(invalid_scope)?;
            if !requested.is_subset_of(&available) {
                return Err(invalid_scope());
            }
            requested
        }
        None => available,
    };
    if granted.is_empty() {
        return Err(invalid_scope());
    }
    Ok(granted)
}

fn invalid_scope() -> OAuthError {
    OAuthError::new(
        ErrorCode::InvalidScope,
        "a requested scope is not available to this token",
    )
}

#[cfg(test)]
mod tests {
    use lanyard_core::model::GrantType;
    use lanyard_core::{Origin, OsRng, Secret, pat_token};

    use super::PAT_TOKEN_TYPE;
    use crate::grant::refresh_token::tests::harness;
    use crate::grant::{GrantRequest, TokenExchangeRequest};

    fn request(token: &str) -> GrantRequest {
        GrantRequest::TokenExchange(TokenExchangeRequest {
            subject_token: Secret::new(token),
            subject_token_type: PAT_TOKEN_TYPE.to_owned(),
            requested_token_type: None,
            audience: None,
            resource: None,
            scope: None,
            actor_token: None,
            actor_token_type: None,
        })
    }

    /// S26 (a): a token whose checksum does not match is refused before any lookup; a
    /// well-formed one is looked up.
    #[tokio::test]
    async fn s26_mistyped_tokens_never_reach_a_lookup() {
        let mut h = harness(0);
        h.client.grant_types.push(GrantType::TokenExchange);
        for _ in 0..100 {
            let mut token = pat_token::mint(&OsRng).token.expose().to_owned();
            let last = if token.ends_with('0') { "1" } else { "0" };
            token.replace_range(57..58, last);
            let refused = h
                .issuer
                .exchange(&h.client, request(&token), &Origin::default())
                .await;
            assert_eq!(
                refused.map(|_| ()).map_err(|e| e.code.as_str()),
                Err("invalid_grant")
            );
        }
        assert_eq!(h.pats.lookups(), 0);
        let token = pat_token::mint(&OsRng).token;
        let refused = h
            .issuer
            .exchange(&h.client, request(token.expose()), &Origin::default())
            .await;
        assert!(refused.is_err());
        assert_eq!(h.pats.lookups(), 1);
    }
}
