//! What every grant a person approved starts with, whichever way it was approved (an
//! authorization code, a device code): its refresh family, whose id access tokens carry as
//! `gid`, and the first refresh token when the client may refresh (RFC 6749 §6).

use lanyard_core::model::{Client, GrantType, NewRefreshFamily, RefreshFamily};
use lanyard_core::rng::random_token;
use lanyard_core::{AccountId, FamilyId, Timestamp};

use super::HowAuthenticated;
use super::authorization_code::REFRESH_TOKEN_PREFIX;
use crate::error::OAuthError;
use crate::issuer::Issuer;

/// Who the grant is for and what it holds.
pub(super) struct NewUserGrant<'a> {
    pub id: FamilyId,
    pub account_id: AccountId,
    pub scope: &'a str,
    pub how: &'a HowAuthenticated,
}

impl Issuer {
    /// Stores the grant's family (only the refresh token's keyed hash) and returns the
    /// refresh token, if the client may have one.
    pub(super) async fn start_user_grant(
        &self,
        client: &Client,
        grant: NewUserGrant<'_>,
        now: Timestamp,
    ) -> Result<Option<String>, OAuthError> {
        let refresh_token = client
            .allows_grant(GrantType::RefreshToken)
            .then(|| format!("{REFRESH_TOKEN_PREFIX}{}", random_token(&*self.rng, 32)));
        let family = RefreshFamily {
            id: grant.id,
            client_id: client.id.clone(),
            account_id: grant.account_id,
            scope: grant.scope.to_owned(),
            auth_time: grant.how.auth_time,
            acr: Some(grant.how.acr.clone()),
            amr: grant.how.amr.join(" "),
            created_at: now,
            absolute_expires_at: now.plus_secs(
                client
                    .refresh_absolute_ttl
                    .unwrap_or(self.settings.tokens.refresh_absolute_ttl_secs),
            ),
            idle_expires_at: now.plus_secs(
                client
                    .refresh_idle_ttl
                    .unwrap_or(self.settings.tokens.refresh_idle_ttl_secs),
            ),
            revoked_at: None,
        };
        self.refresh
            .insert_family(NewRefreshFamily {
                family,
                first_token_hash: refresh_token.as_deref().map(|t| self.hasher.hash(t)),
            })
            .await?;
        Ok(refresh_token)
    }
}
