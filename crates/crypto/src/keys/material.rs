//! Key material: generating and parsing aws-lc-rs key pairs, and the public JWK form
//! (RFC 7517/7518) shared by our own keys and clients' registered keys.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair,
    RsaPublicKeyComponents,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::DecodingKey;
use lanyard_core::model::SigningAlg;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// A parsed private key, ready to sign. Parsing (RSA especially: it validates the key) is
/// far costlier than signing, so it happens once per ring load.
pub(crate) enum PrivateKey {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

impl PrivateKey {
    /// A fresh key and its PKCS#8 encoding.
    pub(crate) fn generate(alg: SigningAlg) -> Option<(PrivateKey, Zeroizing<Vec<u8>>)> {
        match alg {
            SigningAlg::RS256 => {
                let pair = RsaKeyPair::generate(KeySize::Rsa2048).ok()?;
                let der = Zeroizing::new(pair.as_der().ok()?.as_ref().to_vec());
                Some((PrivateKey::Rsa(pair), der))
            }
            SigningAlg::ES256 => {
                let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).ok()?;
                let der = Zeroizing::new(pair.to_pkcs8v1().ok()?.as_ref().to_vec());
                Some((PrivateKey::Ec(pair), der))
            }
            SigningAlg::EdDSA => {
                let pair = Ed25519KeyPair::generate().ok()?;
                let der = Zeroizing::new(pair.to_pkcs8().ok()?.as_ref().to_vec());
                Some((PrivateKey::Ed(pair), der))
            }
        }
    }

    /// Parses PKCS#8 as a key of `alg`; `None` when it is not one.
    pub(crate) fn from_pkcs8(alg: SigningAlg, pkcs8: &[u8]) -> Option<PrivateKey> {
        match alg {
            SigningAlg::RS256 => RsaKeyPair::from_pkcs8(pkcs8)
                .ok()
                // RFC 7518 §3.3: RS256 keys are at least 2048 bits.
                .filter(|pair| pair.public_modulus_len() >= 256)
                .map(PrivateKey::Rsa),
            SigningAlg::ES256 => EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8)
                .ok()
                .map(PrivateKey::Ec),
            SigningAlg::EdDSA => Ed25519KeyPair::from_pkcs8(pkcs8).ok().map(PrivateKey::Ed),
        }
    }

    pub(crate) fn public_jwk(&self, alg: SigningAlg, kid: &str) -> Option<PublicJwk> {
        let mut jwk = PublicJwk {
            kty: String::new(),
            kid: Some(kid.to_owned()),
            use_: Some("sig".to_owned()),
            alg: Some(alg.as_str().to_owned()),
            crv: None,
            x: None,
            y: None,
            n: None,
            e: None,
        };
        match self {
            PrivateKey::Rsa(pair) => {
                let components = RsaPublicKeyComponents::<Vec<u8>>::from(pair.public_key());
                jwk.kty = "RSA".to_owned();
                jwk.n = Some(b64(&components.n));
                jwk.e = Some(b64(&components.e));
            }
            PrivateKey::Ec(pair) => {
                // Uncompressed SEC1 point: 0x04 || x (32) || y (32).
                let point = pair.public_key().as_ref();
                if point.len() != 65 || point.first() != Some(&0x04) {
                    return None;
                }
                jwk.kty = "EC".to_owned();
                jwk.crv = Some("P-256".to_owned());
                jwk.x = Some(b64(point.get(1..33)?));
                jwk.y = Some(b64(point.get(33..65)?));
            }
            PrivateKey::Ed(pair) => {
                jwk.kty = "OKP".to_owned();
                jwk.crv = Some("Ed25519".to_owned());
                jwk.x = Some(b64(pair.public_key().as_ref()));
            }
        }
        Some(jwk)
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn b64_len(text: &str) -> Option<usize> {
    URL_SAFE_NO_PAD.decode(text).ok().map(|bytes| bytes.len())
}

/// A public JWK: exactly the members we publish and read. Unknown members of a client's JWK
/// (x5c, key_ops, ...) are ignored; private members (`d`, `p`, ...) are never read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicJwk {
    pub kty: String,
    #[serde(default, rename = "use", skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
}

impl PublicJwk {
    /// The one algorithm this key may verify, from the key itself (RFC 8725 §3.1): its `alg`
    /// member when present (and consistent with the key type), else implied by kty/crv.
    /// Symmetric (`oct`) keys and anything else have none: never HS*, never `none`.
    pub fn signing_alg(&self) -> Option<SigningAlg> {
        let implied = match (self.kty.as_str(), self.crv.as_deref()) {
            ("RSA", _) => SigningAlg::RS256,
            ("EC", Some("P-256")) => SigningAlg::ES256,
            ("OKP", Some("Ed25519")) => SigningAlg::EdDSA,
            _ => return None,
        };
        match self.alg.as_deref() {
            None => Some(implied),
            Some(alg) => SigningAlg::parse(alg).filter(|declared| *declared == implied),
        }
    }

    /// A verification key for [`PublicJwk::signing_alg`], with the component sizes checked
    /// so a truncated or oversized coordinate is refused here, not deep in aws-lc.
    pub(crate) fn decoding_key(&self) -> Option<(SigningAlg, DecodingKey)> {
        let alg = self.signing_alg()?;
        let key = match alg {
            SigningAlg::RS256 => {
                let (n, e) = (self.n.as_deref()?, self.e.as_deref()?);
                // ≥ 2048-bit modulus (RFC 7518 §3.3); aws-lc enforces 2048..=8192 again.
                if b64_len(n)? < 256 || b64_len(e)? == 0 {
                    return None;
                }
                DecodingKey::from_rsa_components(n, e).ok()?
            }
            SigningAlg::ES256 => {
                let (x, y) = (self.x.as_deref()?, self.y.as_deref()?);
                if b64_len(x)? != 32 || b64_len(y)? != 32 {
                    return None;
                }
                // Off-curve points are rejected by aws-lc when the key is used.
                DecodingKey::from_ec_components(x, y).ok()?
            }
            SigningAlg::EdDSA => {
                let x = self.x.as_deref()?;
                if b64_len(x)? != 32 {
                    return None;
                }
                DecodingKey::from_ed_components(x).ok()?
            }
        };
        Some((alg, key))
    }

    /// For signature keys: `use` absent or `sig` (RFC 7517 §4.2).
    pub(crate) fn is_for_signing(&self) -> bool {
        self.use_.as_deref().is_none_or(|u| u == "sig")
    }
}

pub(crate) fn jsonwebtoken_alg(alg: SigningAlg) -> jsonwebtoken::Algorithm {
    match alg {
        SigningAlg::RS256 => jsonwebtoken::Algorithm::RS256,
        SigningAlg::ES256 => jsonwebtoken::Algorithm::ES256,
        SigningAlg::EdDSA => jsonwebtoken::Algorithm::EdDSA,
    }
}
