//! Back-channel logout tokens from an upstream identity provider (OIDC Back-Channel Logout
//! 1.0 §2.4, §2.6), verified with the upstream's published key set. The caller checks what
//! depends on its state: that `jti` was not seen before, and which sessions `sub`/`sid` name.

use lanyard_core::Timestamp;
use serde::Deserialize;

use super::claims::{audience, check_times, numeric_date};
use super::client_assertion::verify_jwks_signature;
use super::header::{parse_object, typ_matches};
use crate::JwtError;

/// The member of `events` that makes a JWT a logout token (§2.4).
pub const LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutTokenClaims {
    pub sub: Option<String>,
    pub sid: Option<String>,
    pub jti: String,
    pub exp: i64,
}

#[derive(Deserialize)]
struct Wire {
    iss: Option<String>,
    #[serde(default, deserialize_with = "audience")]
    aud: Option<Vec<String>>,
    #[serde(default, deserialize_with = "numeric_date")]
    iat: Option<i64>,
    #[serde(default, deserialize_with = "numeric_date")]
    exp: Option<i64>,
    jti: Option<String>,
    sub: Option<String>,
    sid: Option<String>,
    events: Option<serde_json::Map<String, serde_json::Value>>,
    /// Present only to be refused: a nonce marks an ID token (§2.4).
    nonce: Option<serde_json::Value>,
}

/// What the token must be for.
#[derive(Debug, Clone, Copy)]
pub struct LogoutValidation<'a> {
    pub issuer: &'a str,
    /// Our client id at the upstream.
    pub audience: &'a str,
    pub now: Timestamp,
    pub leeway_secs: u32,
}

/// Verifies a logout token: the signature with a key of `jwks` (never `none` or HS*), a
/// `typ` of `logout+jwt` when one is given, `iss`, `aud`, `iat`, `exp` and `jti` present
/// and valid, the logout event in `events`, `sub` or `sid` present, and no `nonce`.
pub fn verify_logout_token(
    token: &str,
    jwks: &serde_json::Value,
    validation: &LogoutValidation<'_>,
) -> Result<LogoutTokenClaims, JwtError> {
    let signed = verify_jwks_signature(token, jwks)?;
    // §2.4 recommends `logout+jwt`; older providers send none, and `JWT` says nothing.
    if let Some(typ) = signed.typ.as_deref()
        && !typ_matches(Some(typ), "logout+jwt")
        && !typ.eq_ignore_ascii_case("JWT")
    {
        return Err(JwtError::WrongType);
    }
    let wire: Wire = parse_object(&signed.payload).map_err(|_| JwtError::InvalidClaims)?;
    if wire.iss.as_deref() != Some(validation.issuer) {
        return Err(JwtError::WrongIssuer);
    }
    if !wire
        .aud
        .unwrap_or_default()
        .iter()
        .any(|a| a == validation.audience)
    {
        return Err(JwtError::WrongAudience);
    }
    let iat = wire.iat.ok_or(JwtError::MissingClaim("iat"))?;
    let exp = wire.exp.ok_or(JwtError::MissingClaim("exp"))?;
    check_times(
        Some(exp),
        None,
        Some(iat),
        validation.now,
        validation.leeway_secs,
    )?;
    let jti = wire.jti.ok_or(JwtError::MissingClaim("jti"))?;
    let is_logout = wire
        .events
        .as_ref()
        .and_then(|events| events.get(LOGOUT_EVENT))
        .is_some_and(serde_json::Value::is_object);
    if !is_logout {
        return Err(JwtError::MissingClaim("events"));
    }
    if wire.nonce.is_some() {
        return Err(JwtError::InvalidClaims);
    }
    if wire.sub.is_none() && wire.sid.is_none() {
        return Err(JwtError::MissingClaim("sub"));
    }
    Ok(LogoutTokenClaims {
        sub: wire.sub,
        sid: wire.sid,
        jti,
        exp,
    })
}

#[cfg(test)]
mod tests;
