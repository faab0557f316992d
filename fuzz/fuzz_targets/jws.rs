//! JWS parsing and verification (S17–S23): access tokens against our key ring and client
//! assertions against a client's JWKS. Forging a signature by mutation is infeasible, so
//! any input that verifies, other than the one token we signed, is a verifier bug.
#![no_main]

use std::sync::OnceLock;

use lanyard_core::model::SigningAlg;
use lanyard_core::{OsRng, Timestamp};
use lanyard_crypto::Kek;
use lanyard_crypto::jws::{AssertionValidation, Validation, verify_client_assertion, verify_jwt};
use lanyard_crypto::keys::{KeyRing, generate_signing_key};
use libfuzzer_sys::fuzz_target;

const ISSUER: &str = "https://id.example.com";
const NOW: i64 = 1_800_000_000;

struct Fixture {
    ring: KeyRing,
    client_jwks: serde_json::Value,
    /// A valid access token and a valid client assertion, the starting points of mutation.
    access_token: String,
    assertion: String,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let kek = Kek::generate(&OsRng);
        let now = Timestamp(NOW);
        let records: Vec<_> = [
            (SigningAlg::ES256, "es"),
            (SigningAlg::RS256, "rs"),
            (SigningAlg::EdDSA, "ed"),
        ]
        .into_iter()
        .map(|(alg, kid)| generate_signing_key(alg, kid.into(), &kek, now, now).unwrap())
        .collect();
        let ring = KeyRing::load(&records, &kek, now).unwrap();
        let claims = serde_json::json!({
            "iss": ISSUER, "aud": "api", "sub": "u1", "client_id": "c",
            "iat": NOW, "exp": NOW + 300, "jti": "j1",
        });
        let access_token = ring
            .signer(SigningAlg::ES256)
            .unwrap()
            .sign("at+jwt", &claims)
            .unwrap();
        let assertion_claims = serde_json::json!({
            "iss": "c", "sub": "c", "aud": format!("{ISSUER}/token"),
            "iat": NOW, "exp": NOW + 60, "jti": "a1",
        });
        let assertion = ring
            .signer(SigningAlg::EdDSA)
            .unwrap()
            .sign("JWT", &assertion_claims)
            .unwrap();
        let public: serde_json::Value = serde_json::from_str(&records[2].public_jwk).unwrap();
        Fixture {
            ring,
            client_jwks: serde_json::json!({ "keys": [public] }),
            access_token,
            assertion,
        }
    })
}

/// The first byte picks the mode; the rest is a raw token, or a splice into a valid one:
/// two bytes of position, then the bytes written there.
fn candidate(original: &str, data: &[u8]) -> Option<String> {
    let (&[hi, lo], patch) = data.split_first_chunk::<2>()? else {
        return None;
    };
    let at = usize::from(u16::from_be_bytes([hi, lo])) % (original.len() + 1);
    let mut bytes = original.as_bytes().to_vec();
    let end = (at + patch.len()).min(bytes.len());
    bytes.splice(at..end, patch.iter().copied());
    String::from_utf8(bytes).ok()
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let validation = Validation {
        issuer: ISSUER,
        audience: Some("api"),
        leeway_secs: 0,
        now: Timestamp(NOW + 1),
    };
    let assertion_validation = AssertionValidation {
        now: Timestamp(NOW + 1),
        leeway_secs: 0,
    };
    match mode % 4 {
        0 => {
            let Ok(token) = std::str::from_utf8(rest) else {
                return;
            };
            let verified = verify_jwt::<serde_json::Value>(token, &f.ring, "at+jwt", &validation);
            assert!(verified.is_err() || token == f.access_token);
        }
        1 => {
            let Some(token) = candidate(&f.access_token, rest) else {
                return;
            };
            let verified = verify_jwt::<serde_json::Value>(&token, &f.ring, "at+jwt", &validation);
            assert!(verified.is_err() || token == f.access_token, "{token}");
        }
        2 => {
            let Ok(token) = std::str::from_utf8(rest) else {
                return;
            };
            let verified = verify_client_assertion(token, &f.client_jwks, &assertion_validation);
            assert!(verified.is_err() || token == f.assertion);
        }
        _ => {
            let Some(token) = candidate(&f.assertion, rest) else {
                return;
            };
            let verified = verify_client_assertion(&token, &f.client_jwks, &assertion_validation);
            assert!(verified.is_err() || token == f.assertion, "{token}");
        }
    }
});
