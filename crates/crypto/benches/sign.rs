//! Signing and verification cost per token: our pre-parsed aws-lc-rs signers against
//! `jsonwebtoken::encode`, which re-parses the private key on every call.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use lanyard_core::model::SigningAlg;
use lanyard_core::{OsRng, Timestamp};
use lanyard_crypto::{Kek, KeyRing, Validation, generate_signing_key, verify_jwt};
use serde_json::{Value, json};

const NOW: Timestamp = Timestamp(1_800_000_000);

fn claims() -> Value {
    json!({
        "iss": "https://id.example.com",
        "sub": "0192f5e4-7d3a-7c1e-9b7a-2f1c9d0e8a11",
        "aud": "https://api.example.com",
        "exp": NOW.seconds() + 300,
        "iat": NOW.seconds(),
        "jti": "Jr4qX2m9c1VZb8TnQwEoYg",
        "client_id": "billing-service",
        "scope": "invoices:read invoices:write",
    })
}

fn bench(c: &mut Criterion) {
    let kek = Kek::generate(&OsRng);
    let records: Vec<_> = SigningAlg::ALL
        .iter()
        .map(|alg| {
            generate_signing_key(*alg, format!("k-{}", alg.as_str()), &kek, NOW, NOW).unwrap()
        })
        .collect();
    let ring = KeyRing::load(&records, &kek, NOW).unwrap();
    let claims = claims();

    let mut group = c.benchmark_group("sign");
    for alg in SigningAlg::ALL {
        let signer = ring.signer(alg).unwrap();
        group.bench_function(format!("lanyard/{}", alg.as_str()), |b| {
            b.iter(|| {
                signer
                    .sign(black_box("at+jwt"), black_box(&claims))
                    .unwrap()
            })
        });
    }
    // The same keys through jsonwebtoken::encode (PKCS#8 DER; RSA as PKCS#1 DER, which is
    // what its aws-lc backend expects).
    for (alg, jwt_alg) in [
        (SigningAlg::ES256, Algorithm::ES256),
        (SigningAlg::RS256, Algorithm::RS256),
        (SigningAlg::EdDSA, Algorithm::EdDSA),
    ] {
        let record = records.iter().find(|r| r.alg == alg).unwrap();
        let pkcs8 = kek
            .decrypt(&record.private_key_encrypted, record.kid.as_bytes())
            .unwrap();
        let key = match alg {
            SigningAlg::ES256 => EncodingKey::from_ec_der(&pkcs8),
            SigningAlg::EdDSA => EncodingKey::from_ed_der(&pkcs8),
            SigningAlg::RS256 => EncodingKey::from_rsa_der(&pkcs1_from_pkcs8(&pkcs8)),
        };
        let mut header = Header::new(jwt_alg);
        header.kid = Some(record.kid.clone());
        header.typ = Some("at+jwt".into());
        // Sanity: the comparison path produces tokens we accept.
        let token = jsonwebtoken::encode(&header, &claims, &key).unwrap();
        verify_jwt::<Value>(&token, &ring, "at+jwt", &validation()).unwrap();
        group.bench_function(format!("jsonwebtoken_encode/{}", alg.as_str()), |b| {
            b.iter(|| jsonwebtoken::encode(black_box(&header), black_box(&claims), &key).unwrap())
        });
    }
    group.finish();

    let mut group = c.benchmark_group("verify");
    for alg in SigningAlg::ALL {
        let token = ring.signer(alg).unwrap().sign("at+jwt", &claims).unwrap();
        group.bench_function(format!("lanyard/{}", alg.as_str()), |b| {
            b.iter(|| {
                verify_jwt::<Value>(black_box(&token), &ring, "at+jwt", &validation()).unwrap()
            })
        });
    }
    group.finish();
}

fn validation() -> Validation<'static> {
    Validation {
        issuer: "https://id.example.com",
        audience: Some("https://api.example.com"),
        leeway_secs: 30,
        now: NOW,
    }
}

/// PKCS#8 wraps the PKCS#1 RSAPrivateKey in an OCTET STRING; jsonwebtoken's RSA signer
/// wants the inner PKCS#1. For the benchmark only: find the OCTET STRING holding it.
fn pkcs1_from_pkcs8(pkcs8: &[u8]) -> Vec<u8> {
    // SEQUENCE { INTEGER 0, SEQUENCE { OID rsaEncryption, NULL }, OCTET STRING { pkcs1 } }
    let marker = [0x05, 0x00, 0x04, 0x82];
    let at = pkcs8.windows(4).position(|w| w == marker).unwrap() + 2;
    let len = usize::from(pkcs8[at + 2]) << 8 | usize::from(pkcs8[at + 3]);
    pkcs8[at + 4..at + 4 + len].to_vec()
}

criterion_group!(benches, bench);
criterion_main!(benches);
