//! Splitting a compact JWS and reading its protected header strictly (RFC 7515 §5.2,
//! RFC 8725 §3.1, §3.10).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Deserializer};

use super::MAX_TOKEN_LEN;
use crate::JwtError;

/// The header members we act on. A derived struct makes serde reject a repeated member
/// (`{"alg":"RS256","alg":"none"}` is an error, not last-wins: RFC 8725 §3.1 / RFC 7515 §4).
/// `jku`, `x5u`, `jwk`, `x5c` and other members are skipped unread: keys only ever come from
/// our own ring or the client's registered JWKS, never from the token (RFC 8725 §3.10).
#[derive(Debug, Deserialize)]
pub(crate) struct JoseHeader {
    pub alg: String,
    #[serde(default)]
    pub typ: Option<String>,
    #[serde(default)]
    pub kid: Option<String>,
    /// Any `crit` member at all: we implement no extension, so every one is unknown
    /// (RFC 7515 §4.1.11).
    #[serde(default, deserialize_with = "present")]
    pub crit: bool,
}

fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    serde::de::IgnoredAny::deserialize(deserializer).map(|_| true)
}

/// A token cut into its three segments with the header parsed; nothing verified yet.
pub(crate) struct Parts<'a> {
    pub header: JoseHeader,
    /// `BASE64URL(header) || '.' || BASE64URL(payload)`, the JWS signing input.
    pub signing_input: &'a str,
    pub payload_b64: &'a str,
    pub signature_b64: &'a str,
}

pub(crate) fn split(token: &str) -> Result<Parts<'_>, JwtError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(JwtError::TooLong);
    }
    let mut segments = token.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) = (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    ) else {
        return Err(JwtError::Malformed);
    };
    let header_bytes = decode_segment(header_b64)?;
    let header: JoseHeader = parse_object(&header_bytes)?;
    if header.crit {
        return Err(JwtError::UnsupportedCritical);
    }
    let signing_input = token
        .get(..header_b64.len() + 1 + payload_b64.len())
        .ok_or(JwtError::Malformed)?;
    Ok(Parts {
        header,
        signing_input,
        payload_b64,
        signature_b64,
    })
}

/// Strict base64url: no padding, no whitespace, no `+`/`/`, no non-zero trailing bits
/// (RFC 7515 §2, §C), so one token has exactly one spelling.
pub(crate) fn decode_segment(segment: &str) -> Result<Vec<u8>, JwtError> {
    URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| JwtError::Malformed)
}

/// Deepest nesting accepted in a header or claims set. Ours are at most 4 deep (an RFC 8693
/// `act` chain adds one per actor); 32 leaves room without inviting abuse.
const MAX_JSON_DEPTH: usize = 32;

/// JSON that must be an object (a derived struct would also accept an array positionally),
/// valid UTF-8 (serde_json refuses anything else) and at most [`MAX_JSON_DEPTH`] deep.
/// serde_json skips unknown members iteratively, so depth is not a stack risk, but S23 asks
/// for deep nesting to be refused rather than silently skipped.
pub(crate) fn parse_object<'de, T: Deserialize<'de>>(bytes: &'de [u8]) -> Result<T, JwtError> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'{') || !depth_within(bytes, MAX_JSON_DEPTH) {
        return Err(JwtError::Malformed);
    }
    serde_json::from_slice(bytes).map_err(|_| JwtError::Malformed)
}

/// One linear pass over the bytes counting `[`/`{` nesting outside string literals. Only
/// bounds depth; validity is serde_json's job.
fn depth_within(bytes: &[u8], limit: usize) -> bool {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &byte in bytes {
        if in_string {
            match (escaped, byte) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > limit {
                    return false;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    true
}

/// `typ` comparison. RFC 7515 §4.1.9 makes `typ` a media type, and media type names are
/// case-insensitive (RFC 2045 §5.1), with the `application/` prefix optional (RFC 7515
/// §4.1.9). So `at+jwt`, `AT+JWT` and `application/at+jwt` are the same type; anything else,
/// including surrounding whitespace or a missing `typ`, is not (RFC 8725 §3.11).
pub fn typ_matches(actual: Option<&str>, expected: &str) -> bool {
    fn bare(media_type: &str) -> &str {
        match media_type.get(..12) {
            Some(prefix) if prefix.eq_ignore_ascii_case("application/") => {
                media_type.get(12..).unwrap_or_default()
            }
            _ => media_type,
        }
    }
    actual.is_some_and(|actual| bare(actual).eq_ignore_ascii_case(bare(expected)))
}

/// The `kid` a token's header names, read without verifying anything: only to decide
/// whether a key set is worth fetching again.
pub fn unverified_kid(token: &str) -> Option<String> {
    split(token).ok()?.header.kid.clone()
}
