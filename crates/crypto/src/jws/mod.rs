//! The one JWS signing path and the one JWT verification path.
//!
//! Signing uses aws-lc-rs key pairs parsed once per ring load: `jsonwebtoken::encode`
//! re-parses the private key on every call (11.1: `EcdsaKeyPair::from_pkcs8` /
//! `RsaKeyPair::from_der` inside its signer factory), which costs more than the signature
//! itself. Only the base64url assembly of the compact form is done here (RFC 7515 §7.1).
//!
//! Verification takes the algorithm from the key found by `kid`, never from the header
//! (RFC 8725 §3.1), and checks the signature with `jsonwebtoken::crypto::verify`.

mod claims;
mod client_assertion;
mod header;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::RSA_PKCS1_SHA256;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::DecodingKey;
use lanyard_core::Timestamp;
use lanyard_core::model::SigningAlg;
use serde::Serialize;
use serde::de::DeserializeOwned;

mod logout_token;
pub use client_assertion::{AssertionValidation, ClientAssertionClaims, verify_client_assertion};
pub use header::{typ_matches, unverified_kid};
pub use logout_token::{LOGOUT_EVENT, LogoutTokenClaims, LogoutValidation, verify_logout_token};

use crate::keys::KeyRing;
use crate::keys::material::{PrivateKey, jsonwebtoken_alg};
use crate::{CryptoError, JwtError};

/// Tokens longer than this are refused before any decoding (S23: a 1 MB header costs
/// nothing). Our own tokens are well under 2 KiB.
pub const MAX_TOKEN_LEN: usize = 8 * 1024;
/// Clock-skew allowance cap for exp/nbf/iat (S22: ≤ 60 s, documented).
pub const MAX_LEEWAY_SECS: u32 = 60;

/// A private signing key, parsed once, with its `kid`.
pub struct Signer {
    kid: String,
    alg: SigningAlg,
    key: PrivateKey,
    /// aws-lc-rs asks for a `SecureRandom` but draws ECDSA nonces from its own DRBG; RSA
    /// PKCS#1 v1.5 and Ed25519 are deterministic.
    rng: SystemRandom,
}

#[derive(Serialize)]
struct SigningHeader<'a> {
    alg: &'a str,
    typ: &'a str,
    kid: &'a str,
}

impl Signer {
    pub(crate) fn new(kid: String, alg: SigningAlg, key: PrivateKey) -> Signer {
        Signer {
            kid,
            alg,
            key,
            rng: SystemRandom::new(),
        }
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn alg(&self) -> SigningAlg {
        self.alg
    }

    /// Compact JWS with the protected header `{"alg","typ","kid"}` (RFC 7515 §7.1). `typ`
    /// names the token kind (`at+jwt`, `JWT`, `logout+jwt`) so one kind cannot pass for
    /// another (RFC 8725 §3.11).
    pub fn sign(&self, typ: &str, claims: &impl Serialize) -> Result<String, CryptoError> {
        let header = serde_json::to_vec(&SigningHeader {
            alg: self.alg.as_str(),
            typ,
            kid: &self.kid,
        })
        .map_err(|_| CryptoError::SerializeClaims)?;
        let payload = serde_json::to_vec(claims).map_err(|_| CryptoError::SerializeClaims)?;
        self.sign_parts(&header, &payload)
    }

    /// Signs exact header and payload bytes (tests use it to craft hostile headers that are
    /// nevertheless validly signed).
    pub(crate) fn sign_parts(&self, header: &[u8], payload: &[u8]) -> Result<String, CryptoError> {
        let mut token = String::with_capacity((header.len() + payload.len()) * 4 / 3 + 360);
        URL_SAFE_NO_PAD.encode_string(header, &mut token);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(payload, &mut token);
        let message = token.as_bytes();
        match &self.key {
            PrivateKey::Ec(pair) => {
                // ECDSA_P256_SHA256_FIXED_SIGNING: r || s, 64 bytes (RFC 7518 §3.4).
                let signature = pair
                    .sign(&self.rng, message)
                    .map_err(|_| CryptoError::Sign)?;
                token.push('.');
                URL_SAFE_NO_PAD.encode_string(signature.as_ref(), &mut token);
            }
            PrivateKey::Rsa(pair) => {
                let mut signature = vec![0u8; pair.public_modulus_len()];
                pair.sign(&RSA_PKCS1_SHA256, &self.rng, message, &mut signature)
                    .map_err(|_| CryptoError::Sign)?;
                token.push('.');
                URL_SAFE_NO_PAD.encode_string(&signature, &mut token);
            }
            PrivateKey::Ed(pair) => {
                let signature = pair.sign(message);
                token.push('.');
                URL_SAFE_NO_PAD.encode_string(signature.as_ref(), &mut token);
            }
        }
        Ok(token)
    }
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

/// A public key bound to exactly one algorithm.
#[derive(Debug, Clone)]
pub struct Verifier {
    kid: String,
    alg: SigningAlg,
    key: DecodingKey,
}

impl Verifier {
    pub(crate) fn new(kid: String, alg: SigningAlg, key: DecodingKey) -> Verifier {
        Verifier { kid, alg, key }
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn alg(&self) -> SigningAlg {
        self.alg
    }

    fn check_signature(&self, signing_input: &str, signature_b64: &str) -> Result<(), JwtError> {
        check_signature(&self.key, self.alg, signing_input, signature_b64)
    }
}

fn check_signature(
    key: &DecodingKey,
    alg: SigningAlg,
    signing_input: &str,
    signature_b64: &str,
) -> Result<(), JwtError> {
    // Strict decode first: jsonwebtoken's own decode would accept what ours refuses.
    header::decode_segment(signature_b64)?;
    match jsonwebtoken::crypto::verify(
        signature_b64,
        signing_input.as_bytes(),
        key,
        jsonwebtoken_alg(alg),
    ) {
        Ok(true) => Ok(()),
        _ => Err(JwtError::BadSignature),
    }
}

/// What a JWT we issued must satisfy besides its signature.
#[derive(Debug, Clone, Copy)]
pub struct Validation<'a> {
    /// Compared byte for byte with `iss` (OIDC Core §16.15: no normalization).
    pub issuer: &'a str,
    /// When set, `aud` must be present and contain it. `None` skips the audience check;
    /// only for tokens whose audience the caller checks itself (an `id_token_hint`, an
    /// access token that may name the issuer or a registered API).
    pub audience: Option<&'a str>,
    /// Capped at [`MAX_LEEWAY_SECS`].
    pub leeway_secs: u32,
    pub now: Timestamp,
}

/// Verifies a JWT signed by one of our keys and returns its claims.
///
/// Checks, in order: length cap; three strict base64url segments; header is an object with
/// no repeated member and no `crit`; `alg` names the algorithm of the key found by `kid`
/// (`none`, HS*, and any mismatch are refused); `typ` matches `expected_typ` per
/// [`typ_matches`]; the signature; `iss`; `aud`; `exp` (required), `nbf`, `iat` (required,
/// not in the future) against `validation.now`. The caller's `T` is read last.
pub fn verify_jwt<T: DeserializeOwned>(
    token: &str,
    ring: &KeyRing,
    expected_typ: &str,
    validation: &Validation<'_>,
) -> Result<T, JwtError> {
    let parts = header::split(token)?;
    let header_alg = SigningAlg::parse(&parts.header.alg).ok_or(JwtError::AlgorithmMismatch)?;
    let kid = parts.header.kid.as_deref().ok_or(JwtError::UnknownKey)?;
    let verifier = ring.verifier(kid).ok_or(JwtError::UnknownKey)?;
    if header_alg != verifier.alg() {
        return Err(JwtError::AlgorithmMismatch);
    }
    if !typ_matches(parts.header.typ.as_deref(), expected_typ) {
        return Err(JwtError::WrongType);
    }
    verifier.check_signature(parts.signing_input, parts.signature_b64)?;

    let payload = header::decode_segment(parts.payload_b64)?;
    let registered: claims::RegisteredClaims = header::parse_object(&payload)?;
    if registered.iss.as_deref() != Some(validation.issuer) {
        return Err(JwtError::WrongIssuer);
    }
    if let Some(expected) = validation.audience {
        let aud = registered.aud.as_deref().unwrap_or_default();
        if !aud.iter().any(|a| a == expected) {
            return Err(JwtError::WrongAudience);
        }
    }
    if registered.iat.is_none() {
        return Err(JwtError::MissingClaim("iat"));
    }
    claims::check_times(
        registered.exp,
        registered.nbf,
        registered.iat,
        validation.now,
        validation.leeway_secs,
    )?;
    serde_json::from_slice(&payload).map_err(|_| JwtError::InvalidClaims)
}

#[cfg(test)]
mod security_tests;
#[cfg(test)]
mod tests;
