//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): the redirect after logout
//! goes only to a URI the client registered; the hint is verified, never trusted unsigned.

use lanyard_core::AccountId;
use lanyard_core::model::Client;
use std::sync::Arc;

use crate::authorize::append_query;
use crate::issuer::Issuer;
use crate::redirect_uri::matches_registered;
use crate::tokens::{ID_TOKEN_TYP, IdTokenClaims};

#[derive(Debug, Clone, Default)]
pub struct LogoutRequest {
    pub id_token_hint: Option<String>,
    pub post_logout_redirect_uri: Option<String>,
    pub client_id: Option<String>,
    pub state: Option<String>,
}

#[derive(Debug, Clone)]
pub struct LogoutPlan {
    pub client: Option<Arc<Client>>,
    /// Where to send the browser afterwards (already checked against the registration).
    pub redirect: Option<String>,
    /// The subject the verified hint names; the web layer only logs out without asking
    /// when it matches the session.
    pub hinted_subject: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogoutRejection {
    InvalidHint,
    UnknownClient,
    ClientMismatch,
    UnregisteredRedirect,
}

/// Hints may be presented some time after the ID token expired (the spec expects this); a
/// day of grace keeps stale sessions logoutable without accepting ancient tokens.
const HINT_GRACE_SECS: i64 = 86_400;

impl Issuer {
    pub async fn plan_logout(&self, req: &LogoutRequest) -> Result<LogoutPlan, LogoutRejection> {
        let hint = match &req.id_token_hint {
            Some(token) => Some(
                self.verify_id_token_hint(token)
                    .ok_or(LogoutRejection::InvalidHint)?,
            ),
            None => None,
        };
        let client_id = match (&hint, &req.client_id) {
            (Some(h), Some(id)) if &h.aud != id => return Err(LogoutRejection::ClientMismatch),
            (Some(h), _) => Some(h.aud.clone()),
            (None, id) => id.clone(),
        };
        let client = match &client_id {
            Some(id) => Some(
                self.clients
                    .find(id)
                    .await
                    .ok()
                    .flatten()
                    .ok_or(LogoutRejection::UnknownClient)?,
            ),
            None => None,
        };
        let redirect = match (&req.post_logout_redirect_uri, &client) {
            (Some(uri), Some(client)) => {
                matches_registered(&client.post_logout_redirect_uris, uri, false)
                    .ok_or(LogoutRejection::UnregisteredRedirect)?;
                let mut pairs = Vec::new();
                if let Some(state) = &req.state {
                    pairs.push(("state", state.as_str()));
                }
                Some(if pairs.is_empty() {
                    uri.clone()
                } else {
                    append_query(uri, &pairs)
                })
            }
            (Some(_), None) => return Err(LogoutRejection::UnregisteredRedirect),
            (None, _) => None,
        };
        Ok(LogoutPlan {
            client,
            redirect,
            hinted_subject: hint.map(|h| h.sub),
        })
    }

    /// Whether the verified hint names `account`: its id, or — for a site's client, whose ID
    /// tokens name the site user — the site user the account signs in as there.
    pub async fn hint_names(&self, plan: &LogoutPlan, account: AccountId) -> bool {
        let Some(sub) = &plan.hinted_subject else {
            return false;
        };
        if *sub == account.to_string() {
            return true;
        }
        let Some(client) = &plan.client else {
            return false;
        };
        matches!(
            self.site_subjects.named_subject(&client.id, account).await,
            Ok(Some(site)) if site.site_user.to_string() == *sub
        )
    }

    fn verify_id_token_hint(&self, token: &str) -> Option<IdTokenClaims> {
        if token.len() > 8 * 1024 {
            return None;
        }
        let ring = self.keys.current();
        let now = self.clock.now();
        // Judge the hint as of its own expiry when it expired within the grace period; the
        // signature, issuer and type are still verified in full.
        let at = match unverified_exp(token) {
            Some(exp) if exp < now.seconds() && now.seconds() - exp <= HINT_GRACE_SECS => {
                lanyard_core::Timestamp(exp)
            }
            _ => now,
        };
        let params = lanyard_crypto::jws::Validation {
            issuer: &self.settings.issuer,
            audience: None,
            leeway_secs: 0,
            now: at,
        };
        lanyard_crypto::jws::verify_jwt::<IdTokenClaims>(token, &ring, ID_TOKEN_TYP, &params).ok()
    }
}

fn unverified_exp(token: &str) -> Option<i64> {
    #[derive(serde::Deserialize)]
    struct Exp {
        exp: i64,
    }
    crate::unverified::unverified_claims::<Exp>(token).map(|e| e.exp)
}
