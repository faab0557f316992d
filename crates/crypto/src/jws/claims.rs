//! The registered claims every check needs (RFC 7519 §4.1) and the time rules, read against
//! the injected clock, never system time.

use lanyard_core::Timestamp;
use serde::{Deserialize, Deserializer};

use super::MAX_LEEWAY_SECS;
use crate::JwtError;

/// Read alongside the caller's own claims type. Repeated members are rejected by serde.
#[derive(Debug, Deserialize)]
pub(crate) struct RegisteredClaims {
    #[serde(default)]
    pub iss: Option<String>,
    #[serde(default, deserialize_with = "audience")]
    pub aud: Option<Vec<String>>,
    #[serde(default, deserialize_with = "numeric_date")]
    pub exp: Option<i64>,
    #[serde(default, deserialize_with = "numeric_date")]
    pub nbf: Option<i64>,
    #[serde(default, deserialize_with = "numeric_date")]
    pub iat: Option<i64>,
}

/// RFC 7519 §2 NumericDate: seconds, possibly fractional (floored here).
pub(crate) fn numeric_date<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let Some(number) = Option::<serde_json::Number>::deserialize(d)? else {
        return Ok(None);
    };
    number
        .as_i64()
        .or_else(|| number.as_f64().map(|f| f.floor() as i64))
        .map(Some)
        .ok_or_else(|| serde::de::Error::custom("invalid NumericDate"))
}

/// RFC 7519 §4.1.3: one string or an array of strings.
pub(crate) fn audience<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(Option::<OneOrMany>::deserialize(d)?.map(|aud| match aud {
        OneOrMany::One(one) => vec![one],
        OneOrMany::Many(many) => many,
    }))
}

/// exp is required and must be after now (RFC 7519 §4.1.4); nbf, when present, at or
/// before now (§4.1.5); iat, when present, not in the future. Leeway is capped at
/// [`MAX_LEEWAY_SECS`] whatever the caller asks for.
pub(crate) fn check_times(
    exp: Option<i64>,
    nbf: Option<i64>,
    iat: Option<i64>,
    now: Timestamp,
    leeway_secs: u32,
) -> Result<(), JwtError> {
    let leeway = i64::from(leeway_secs.min(MAX_LEEWAY_SECS));
    let now = now.seconds();
    let exp = exp.ok_or(JwtError::MissingClaim("exp"))?;
    if now >= exp.saturating_add(leeway) {
        return Err(JwtError::Expired);
    }
    if nbf.is_some_and(|nbf| nbf > now.saturating_add(leeway)) {
        return Err(JwtError::NotYetValid);
    }
    if iat.is_some_and(|iat| iat > now.saturating_add(leeway)) {
        return Err(JwtError::IssuedInFuture);
    }
    Ok(())
}
