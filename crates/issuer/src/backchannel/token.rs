//! The logout token (OIDC Back-Channel Logout 1.0 §2.4), signed like an ID token through the
//! one signing path, with its own `typ` (§2.4, RFC 8725 §3.11) so it can never pass as one.

use std::collections::BTreeMap;

use lanyard_core::model::LogoutNotice;
use lanyard_core::rng::random_token;
use serde::{Deserialize, Serialize};

use crate::error::OAuthError;
use crate::issuer::Issuer;

pub const LOGOUT_TOKEN_TYP: &str = "logout+jwt";
/// §2.4: the event member that makes a JWT a logout token.
pub const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// §2.4. No `nonce` (§2.4: it MUST NOT be there, so a logout token can not be taken for
/// an ID token).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LogoutTokenClaims {
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    pub events: BTreeMap<String, serde_json::Value>,
    pub sub: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sid: Option<String>,
}

/// A notice ready to send: where, and the form body's one value.
#[derive(Debug)]
pub struct LogoutDelivery {
    pub uri: String,
    pub logout_token: String,
}

impl Issuer {
    /// The logout token for `notice`, freshly minted (a retry gets a new `iat`/`exp`/`jti`),
    /// or `None` when the client is gone or no longer registers a back-channel URI.
    pub async fn logout_delivery(
        &self,
        notice: &LogoutNotice,
    ) -> Result<Option<LogoutDelivery>, OAuthError> {
        let Some(client) = self.clients.find(notice.client_id.as_str()).await? else {
            return Ok(None);
        };
        let Some(uri) = client.backchannel_logout_uri.clone() else {
            return Ok(None);
        };
        // §2.4: `sub` as the client knows it: the site user for a site's client.
        // (Also after the site moved on and the account lost access: the sessions ending
        // then are the very ones to tell about.)
        let sub = match self
            .site_subjects
            .named_subject(&client.id, notice.account_id)
            .await?
        {
            Some(site) => site.site_user.to_string(),
            None => notice.account_id.to_string(),
        };
        let now = self.clock.now().seconds();
        let claims = LogoutTokenClaims {
            iss: self.settings.issuer.clone(),
            aud: client.id.as_str().to_owned(),
            iat: now,
            exp: now + self.backchannel.settings().token_ttl_secs,
            jti: random_token(&*self.rng, 16),
            events: BTreeMap::from([(
                BACKCHANNEL_LOGOUT_EVENT.to_owned(),
                serde_json::Value::Object(serde_json::Map::new()),
            )]),
            sub,
            // §2.2: `sid` when the client asked for it; `sub` alone ends all of the user's
            // sessions at the client.
            sid: client
                .backchannel_logout_session_required
                .then(|| notice.sid.clone()),
        };
        let logout_token = self.sign(self.settings.id_token_alg, LOGOUT_TOKEN_TYP, &claims)?;
        Ok(Some(LogoutDelivery { uri, logout_token }))
    }
}
