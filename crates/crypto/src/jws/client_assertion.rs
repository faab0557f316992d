//! `private_key_jwt` client assertions (RFC 7523 §3, OIDC Core §9), verified against the
//! client's registered JWKS. The caller checks what depends on its state: iss == sub ==
//! client_id, `aud` names our token endpoint or issuer, and `jti` was not seen before.

use lanyard_core::Timestamp;
use serde::Deserialize;

use super::check_signature;
use super::claims::{audience, check_times, numeric_date};
use super::header::{self, parse_object};
use crate::JwtError;
use crate::keys::material::PublicJwk;
use lanyard_core::model::SigningAlg;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ClientAssertionClaims {
    pub iss: String,
    pub sub: String,
    /// One string or an array on the wire; always a list here.
    #[serde(deserialize_with = "required_audience")]
    pub aud: Vec<String>,
    #[serde(deserialize_with = "required_date")]
    pub exp: i64,
    /// Optional in RFC 7523 §3 ("MAY"), so clients that omit it still authenticate.
    #[serde(default, deserialize_with = "numeric_date")]
    pub iat: Option<i64>,
    #[serde(default, deserialize_with = "numeric_date")]
    pub nbf: Option<i64>,
    /// Required here (RFC 7523 lets it be optional; OIDC Core §9 requires it) so replay can
    /// be refused.
    pub jti: String,
}

fn required_audience<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    audience(d)?.ok_or_else(|| serde::de::Error::custom("aud is null"))
}

fn required_date<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    numeric_date(d)?.ok_or_else(|| serde::de::Error::custom("exp is null"))
}

#[derive(Debug, Clone, Copy)]
pub struct AssertionValidation {
    pub now: Timestamp,
    /// Capped at [`super::MAX_LEEWAY_SECS`].
    pub leeway_secs: u32,
}

/// Verifies the assertion's signature with the client's key ([`verify_jwks_signature`])
/// and its time claims. `typ` is not checked: RFC 7523 defines none.
pub fn verify_client_assertion(
    token: &str,
    client_jwks: &serde_json::Value,
    validation: &AssertionValidation,
) -> Result<ClientAssertionClaims, JwtError> {
    let payload = verify_jwks_signature(token, client_jwks)?.payload;
    let claims: ClientAssertionClaims =
        parse_object(&payload).map_err(|_| missing_or_bad(&payload))?;
    check_times(
        Some(claims.exp),
        claims.nbf,
        claims.iat,
        validation.now,
        validation.leeway_secs,
    )?;
    Ok(claims)
}

/// A JWT whose signature a published key set's key verified: its header's `typ` and its
/// payload, not yet checked.
pub(crate) struct SignedByJwks {
    pub typ: Option<String>,
    pub payload: Vec<u8>,
}

/// Verifies a JWT's signature with a key of a published JWKS (a client's, an upstream
/// IdP's). The key is the one whose `kid` matches the header's, or, when the header has no
/// `kid`, the set's only signing key. Its algorithm comes from the JWK (`alg`, else
/// kty/crv): RS256, ES256 or EdDSA; `oct` keys are never used, so neither `none` nor HS*
/// can pass. The header's `alg` must name that same algorithm.
pub(crate) fn verify_jwks_signature(
    token: &str,
    jwks: &serde_json::Value,
) -> Result<SignedByJwks, JwtError> {
    let parts = header::split(token)?;
    let header_alg = SigningAlg::parse(&parts.header.alg).ok_or(JwtError::AlgorithmMismatch)?;
    let jwk = select_key(jwks, parts.header.kid.as_deref())?;
    let (key_alg, key) = jwk.decoding_key().ok_or(JwtError::InvalidClientKeys)?;
    if header_alg != key_alg {
        return Err(JwtError::AlgorithmMismatch);
    }
    check_signature(&key, key_alg, parts.signing_input, parts.signature_b64)?;
    Ok(SignedByJwks {
        typ: parts.header.typ.clone(),
        payload: header::decode_segment(parts.payload_b64)?,
    })
}

/// Names the first missing required claim, for logs; otherwise the claims are malformed.
fn missing_or_bad(payload: &[u8]) -> JwtError {
    let Ok(serde_json::Value::Object(object)) = serde_json::from_slice(payload) else {
        return JwtError::Malformed;
    };
    for name in ["iss", "sub", "aud", "exp", "jti"] {
        if object.get(name).is_none_or(serde_json::Value::is_null) {
            return JwtError::MissingClaim(name);
        }
    }
    JwtError::InvalidClaims
}

fn select_key(jwks: &serde_json::Value, kid: Option<&str>) -> Result<PublicJwk, JwtError> {
    let keys = jwks
        .get("keys")
        .and_then(serde_json::Value::as_array)
        .ok_or(JwtError::InvalidClientKeys)?;
    // Keys we cannot read (encryption keys, unknown types) are skipped, not fatal: a client
    // may publish more than its signing key.
    let mut usable = keys
        .iter()
        .filter_map(|key| serde_json::from_value::<PublicJwk>(key.clone()).ok())
        .filter(|key| key.is_for_signing() && key.signing_alg().is_some());
    match kid {
        Some(kid) => usable
            .find(|key| key.kid.as_deref() == Some(kid))
            .ok_or(JwtError::UnknownKey),
        None => match (usable.next(), usable.next()) {
            (Some(only), None) => Ok(only),
            _ => Err(JwtError::UnknownKey),
        },
    }
}
