//! The admin API's caller: an access token for `<issuer>/admin/api` with the
//! `lanyard:admin` scope, verified locally by the issuer (`Issuer::verify_resource_token`:
//! our keys, issuer, audience, lifetime, revocation), then checked against the live state on
//! every request — an account must still be an active admin, a client must still exist and
//! be allowed the scope — so a revoked admin or a disabled account loses access at once.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use lanyard_core::model::{ADMIN_SCOPE, GrantType, admin_api_audience};
use lanyard_core::{AccountId, Origin};
use lanyard_issuer::resource_token::{ResourceTokenRefusal, TokenHolder};

use crate::error::{Problem, WebError};
use crate::kit::origin::RequestOrigin;
use crate::state::AppState;

/// Longer `Authorization` values are refused unread.
const MAX_TOKEN_LEN: usize = 8 * 1024;

/// An admin allowed to call the API, with the request's origin naming them as actor: the
/// account id, or `client:<id>` for client credentials.
pub struct AdminCaller {
    pub origin: Origin,
}

impl FromRequestParts<AppState> for AdminCaller {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        let token = bearer(&parts.headers)?;
        let audience = admin_api_audience(&state.issuer.settings().issuer);
        let verified = state
            .issuer
            .verify_resource_token(&token, &audience, ADMIN_SCOPE)
            .await
            .map_err(Problem::from)?;
        let verified = match verified {
            Ok(verified) => verified,
            Err(ResourceTokenRefusal::Invalid) => return Err(Problem::InvalidToken.into()),
            Err(ResourceTokenRefusal::InsufficientScope) => {
                return Err(Problem::InsufficientScope.into());
            }
        };
        let actor = match verified.holder {
            TokenHolder::Client(id) => {
                let client = state
                    .issuer
                    .clients()
                    .find(&id)
                    .await
                    .map_err(Problem::from)?;
                let allowed = client.is_some_and(|c| {
                    c.allows_grant(GrantType::ClientCredentials)
                        && c.allowed_scopes.iter().any(|s| s == ADMIN_SCOPE)
                });
                if !allowed {
                    return Err(Problem::NotAdmin.into());
                }
                format!("client:{id}")
            }
            TokenHolder::Account(sub) => {
                let id = uuid::Uuid::parse_str(&sub)
                    .map(AccountId)
                    .map_err(|_| Problem::NotAdmin)?;
                let admin = state
                    .admin
                    .admins
                    .is_active_admin(id)
                    .await
                    .map_err(Problem::from)?;
                if !admin {
                    return Err(Problem::NotAdmin.into());
                }
                sub
            }
        };
        let mut origin = RequestOrigin::of(parts, state).0;
        origin.actor = Some(actor);
        Ok(Self { origin })
    }
}

/// The `Authorization: Bearer` token; the admin API takes it nowhere else.
fn bearer(headers: &HeaderMap) -> Result<String, Problem> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(Problem::Unauthenticated);
    };
    if value.len() > MAX_TOKEN_LEN {
        return Err(Problem::InvalidToken);
    }
    let value = value.to_str().map_err(|_| Problem::InvalidToken)?;
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(Problem::Unauthenticated);
    }
    let token = token.trim();
    if token.is_empty() || token.contains(' ') {
        return Err(Problem::InvalidToken);
    }
    Ok(token.to_owned())
}
