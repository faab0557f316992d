use std::sync::Arc;

use lanyard_core::{Clock, ManualClock, OsRng};
use openidconnect::core::{CoreJsonWebKeySet, CoreJwsSigningAlgorithm};
use openidconnect::{JsonWebKey, JsonWebKeyId};
use serde_json::Value;

use super::*;
use crate::JwtError;
use crate::jws::{Validation, verify_jwt};
use crate::test_support::{self, MemoryKeys, NOW, claims, kek, records, ring, validation};

fn jwk_of(record: &SigningKeyRecord) -> Value {
    serde_json::from_str(&record.public_jwk).unwrap()
}

#[test]
fn generated_records_have_the_expected_public_jwk() {
    for record in records() {
        let jwk = jwk_of(record);
        assert_eq!(jwk["kid"], record.kid.as_str());
        assert_eq!(jwk["alg"], record.alg.as_str());
        assert_eq!(jwk["use"], "sig");
        assert!(jwk.get("d").is_none(), "no private member");
        let members: Vec<&str> = match record.alg {
            SigningAlg::RS256 => vec!["n", "e"],
            SigningAlg::ES256 => vec!["crv", "x", "y"],
            SigningAlg::EdDSA => vec!["crv", "x"],
        };
        for member in members {
            assert!(jwk[member].is_string(), "{member} in {jwk}");
        }
        match record.alg {
            SigningAlg::RS256 => {
                assert_eq!(jwk["kty"], "RSA");
                // 2048-bit modulus, base64url without padding.
                assert_eq!(jwk["n"].as_str().unwrap().len(), 342);
                assert_eq!(jwk["e"], "AQAB");
            }
            SigningAlg::ES256 => {
                assert_eq!((&jwk["kty"], &jwk["crv"]), (&"EC".into(), &"P-256".into()))
            }
            SigningAlg::EdDSA => assert_eq!(
                (&jwk["kty"], &jwk["crv"]),
                (&"OKP".into(), &"Ed25519".into())
            ),
        }
        assert_eq!(record.retired_at, None);
        assert_eq!(record.remove_after, None);
        // The private key is stored sealed, not as PKCS#8 in the clear.
        assert!(
            kek()
                .decrypt(&record.private_key_encrypted, record.kid.as_bytes())
                .is_ok()
        );
        assert!(
            Kek::generate(&OsRng)
                .decrypt(&record.private_key_encrypted, record.kid.as_bytes())
                .is_err()
        );
    }
}

#[test]
fn kids_are_random_base64url_of_128_bits() {
    let a = new_kid(&OsRng);
    assert_eq!(a.len(), 22);
    assert!(
        a.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    assert_ne!(a, new_kid(&OsRng));
}

#[test]
fn jwks_parses_as_an_openidconnect_jwk_set_and_its_keys_verify_our_signatures() {
    let ring = ring();
    let set: CoreJsonWebKeySet = serde_json::from_slice(ring.jwks_json()).unwrap();
    assert_eq!(set.keys().len(), 3);
    for (alg, oidc_alg) in [
        (
            SigningAlg::RS256,
            CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        ),
        (SigningAlg::ES256, CoreJwsSigningAlgorithm::EcdsaP256Sha256),
        (SigningAlg::EdDSA, CoreJwsSigningAlgorithm::EdDsa),
    ] {
        let signer = ring.signer(alg).unwrap();
        let token = signer.sign("at+jwt", &claims()).unwrap();
        let (signing_input, signature) = token.rsplit_once('.').unwrap();
        let signature =
            base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, signature)
                .unwrap();
        let key = set
            .keys()
            .iter()
            .find(|k| k.key_id() == Some(&JsonWebKeyId::new(signer.kid().to_owned())))
            .unwrap();
        key.verify_signature(&oidc_alg, signing_input.as_bytes(), &signature)
            .unwrap();
    }
}

#[test]
fn jsonwebtoken_decoding_key_from_our_jwk_verifies_our_signatures() {
    let ring = ring();
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_slice(ring.jwks_json()).unwrap();
    for alg in SigningAlg::ALL {
        let signer = ring.signer(alg).unwrap();
        let token = signer.sign("at+jwt", &claims()).unwrap();
        let jwk = set.find(signer.kid()).unwrap();
        let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
        let mut v = jsonwebtoken::Validation::new(material::jsonwebtoken_alg(alg));
        v.validate_exp = false;
        v.set_audience(&[test_support::AUDIENCE]);
        v.set_issuer(&[test_support::ISSUER]);
        let data = jsonwebtoken::decode::<Value>(&token, &key, &v).unwrap();
        assert_eq!(data.claims["sub"], "user-1");
        assert_eq!(data.header.kid.as_deref(), Some(signer.kid()));
    }
}

#[test]
fn wrong_kek_fails_the_load() {
    let err = KeyRing::load(records(), &Kek::generate(&OsRng), NOW).unwrap_err();
    assert!(matches!(err, CryptoError::KeyDecrypt { .. }), "{err}");
    // The message names the kid only.
    assert!(err.to_string().contains("kid-"));
}

#[test]
fn ciphertext_moved_to_another_kid_fails() {
    let mut moved = records().to_vec();
    moved[1].private_key_encrypted = moved[0].private_key_encrypted.clone();
    assert!(matches!(
        KeyRing::load(&moved, &kek(), NOW),
        Err(CryptoError::KeyDecrypt { .. })
    ));
}

#[test]
fn swapped_public_jwk_fails_the_load() {
    let other =
        generate_signing_key(SigningAlg::ES256, "kid-ES256".into(), &kek(), NOW, NOW).unwrap();
    let mut tampered = records().to_vec();
    let es = tampered
        .iter_mut()
        .find(|r| r.alg == SigningAlg::ES256)
        .unwrap();
    es.public_jwk = other.public_jwk;
    let err = KeyRing::load(&tampered, &kek(), NOW).unwrap_err();
    assert!(matches!(err, CryptoError::CorruptKey { .. }), "{err}");
}

#[test]
fn signer_is_the_newest_key_that_can_sign() {
    let start = NOW.minus_secs(100);
    let old = generate_signing_key(SigningAlg::ES256, "old".into(), &kek(), start, start).unwrap();
    let mut current = generate_signing_key(
        SigningAlg::ES256,
        "current".into(),
        &kek(),
        start,
        start.plus_secs(10),
    )
    .unwrap();
    let pending = generate_signing_key(
        SigningAlg::ES256,
        "pending".into(),
        &kek(),
        NOW,
        NOW.plus_secs(60),
    )
    .unwrap();
    let mut gone =
        generate_signing_key(SigningAlg::ES256, "gone".into(), &kek(), start, start).unwrap();
    gone.retired_at = Some(start);
    gone.remove_after = Some(NOW);
    current.retired_at = Some(NOW.plus_secs(60));
    let all = [old, current, pending, gone];
    let ring = KeyRing::load(&all, &kek(), NOW).unwrap();
    assert_eq!(ring.signer(SigningAlg::ES256).unwrap().kid(), "current");
    assert!(ring.signer(SigningAlg::RS256).is_none());
    // Published: everything but the key past remove_after.
    let mut kids: Vec<&str> = ring.kids().collect();
    kids.sort_unstable();
    assert_eq!(kids, ["current", "old", "pending"]);
    let jwks: Value = serde_json::from_slice(ring.jwks_json()).unwrap();
    let order: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(order, ["pending", "current", "old"], "newest first");
    assert_eq!(ring.next_transition(), Some(NOW.plus_secs(60)));
    // A minute later the pending key has taken over.
    let later = KeyRing::load(&all, &kek(), NOW.plus_secs(60)).unwrap();
    assert_eq!(later.signer(SigningAlg::ES256).unwrap().kid(), "pending");
}

#[test]
fn duplicate_kids_fail_the_load() {
    let twice = [records()[0].clone(), records()[0].clone()];
    assert!(matches!(
        KeyRing::load(&twice, &kek(), NOW),
        Err(CryptoError::CorruptKey { .. })
    ));
}

#[test]
fn shared_ring_swaps_atomically() {
    let shared = SharedKeyRing::new(KeyRing::load(&[], &kek(), NOW).unwrap());
    let before = shared.current();
    assert_eq!(before.jwks_json().as_ref(), br#"{"keys":[]}"#);
    shared.replace(KeyRing::load(records(), &kek(), NOW).unwrap());
    assert_eq!(shared.current().kids().count(), 3);
    assert_eq!(before.kids().count(), 0, "readers keep the ring they hold");
}

fn manager(
    repo: Arc<MemoryKeys>,
    clock: Arc<ManualClock>,
    kek: Kek,
    policy: RotationPolicy,
) -> KeyManager {
    KeyManager::new(repo, kek, clock, Arc::new(OsRng), policy)
}

#[tokio::test]
async fn first_start_creates_one_signing_key_per_algorithm_once() {
    let repo = Arc::new(MemoryKeys::default());
    let clock = Arc::new(ManualClock::new(NOW));
    let keys = manager(repo.clone(), clock, kek(), RotationPolicy::default());
    assert_eq!(keys.ensure_keys().await.unwrap().len(), 3);
    assert!(keys.ensure_keys().await.unwrap().is_empty());
    let ring = keys.load_ring().await.unwrap();
    for alg in SigningAlg::ALL {
        assert!(ring.signer(alg).is_some(), "{alg:?} signs immediately");
    }
}

#[tokio::test]
async fn wrong_kek_refuses_to_load_the_ring() {
    let repo = Arc::new(MemoryKeys::default());
    let clock = Arc::new(ManualClock::new(NOW));
    manager(
        repo.clone(),
        clock.clone(),
        kek(),
        RotationPolicy::default(),
    )
    .ensure_keys()
    .await
    .unwrap();
    let wrong = manager(
        repo,
        clock,
        Kek::generate(&OsRng),
        RotationPolicy::default(),
    );
    assert!(matches!(
        wrong.load_ring().await,
        Err(CryptoError::KeyDecrypt { .. })
    ));
}

#[tokio::test]
async fn rotation_timeline_publishes_first_signs_later_and_prunes_after_ttl() {
    let repo = Arc::new(MemoryKeys::default());
    let clock = Arc::new(ManualClock::new(NOW));
    let policy = RotationPolicy {
        propagation_delay_secs: 60,
        max_token_ttl_secs: 3_600,
        ..RotationPolicy::default()
    };
    let keys = manager(repo.clone(), clock.clone(), kek(), policy);
    keys.ensure_keys().await.unwrap();
    let ring = keys.load_ring().await.unwrap();
    let k1 = ring.signer(SigningAlg::ES256).unwrap().kid().to_owned();
    let old_token = ring
        .signer(SigningAlg::ES256)
        .unwrap()
        .sign("at+jwt", &claims())
        .unwrap();

    // Rotate: K2 is in the JWKS at once, but K1 keeps signing until K2's active_from.
    let k2 = keys
        .rotate(Some(SigningAlg::ES256))
        .await
        .unwrap()
        .remove(0)
        .kid;
    let ring = keys.load_ring().await.unwrap();
    assert!(ring.verifier(&k2).is_some(), "published before it signs");
    assert_eq!(ring.signer(SigningAlg::ES256).unwrap().kid(), k1);
    assert_eq!(ring.next_transition(), Some(NOW.plus_secs(60)));
    let k1_record = repo.snapshot().into_iter().find(|r| r.kid == k1).unwrap();
    assert_eq!(k1_record.retired_at, Some(NOW.plus_secs(60)));
    assert_eq!(k1_record.remove_after, Some(NOW.plus_secs(60 + 3_600)));
    // Other algorithms are untouched.
    assert_eq!(
        repo.snapshot()
            .iter()
            .filter(|r| r.retired_at.is_some())
            .count(),
        1
    );

    clock.advance(60);
    let ring = keys.load_ring().await.unwrap();
    assert_eq!(ring.signer(SigningAlg::ES256).unwrap().kid(), k2);
    let v = Validation {
        now: NOW.plus_secs(60),
        ..validation()
    };
    verify_jwt::<Value>(&old_token, &ring, "at+jwt", &v).expect("K1 tokens still verify");

    // Nothing to prune until remove_after.
    clock.advance(3_599);
    assert_eq!(keys.prune().await.unwrap(), 0);
    assert!(keys.load_ring().await.unwrap().verifier(&k1).is_some());
    clock.advance(1);
    assert_eq!(keys.prune().await.unwrap(), 1);
    let ring = keys.load_ring().await.unwrap();
    assert!(ring.verifier(&k1).is_none());
    let v = Validation {
        now: clock.now(),
        ..validation()
    };
    assert_eq!(
        verify_jwt::<Value>(&old_token, &ring, "at+jwt", &v).unwrap_err(),
        JwtError::UnknownKey
    );
    assert_eq!(repo.snapshot().len(), 3);
}

#[tokio::test]
async fn scheduled_rotation_publishes_ahead_of_the_period() {
    let repo = Arc::new(MemoryKeys::default());
    let clock = Arc::new(ManualClock::new(NOW));
    let policy = RotationPolicy {
        publish_ahead_secs: 3_600,
        rotate_every_secs: Some(30 * 86_400),
        ..RotationPolicy::default()
    };
    let keys = manager(repo.clone(), clock.clone(), kek(), policy);
    keys.ensure_keys().await.unwrap();
    assert!(keys.rotate_if_due().await.unwrap().is_empty());
    clock.advance(30 * 86_400 - 3_601);
    assert!(keys.rotate_if_due().await.unwrap().is_empty());
    clock.advance(1);
    let created = keys.rotate_if_due().await.unwrap();
    assert_eq!(created.len(), 3);
    assert!(
        created
            .iter()
            .all(|r| r.active_from == NOW.plus_secs(30 * 86_400))
    );
    assert!(keys.rotate_if_due().await.unwrap().is_empty(), "not twice");
    // Without a period nothing is ever due.
    let manual = manager(repo, clock, kek(), RotationPolicy::default());
    assert!(manual.rotate_if_due().await.unwrap().is_empty());
}

#[tokio::test]
async fn explicit_rotation_never_signs_with_an_unpublished_key() {
    let repo = Arc::new(MemoryKeys::default());
    let clock = Arc::new(ManualClock::new(NOW));
    let policy = RotationPolicy {
        propagation_delay_secs: 0,
        ..RotationPolicy::default()
    };
    let keys = manager(repo, clock, kek(), policy);
    keys.ensure_keys().await.unwrap();
    let created = keys.rotate(None).await.unwrap();
    assert_eq!(created.len(), 3);
    assert!(created.iter().all(|r| r.active_from > r.created_at));
}

#[tokio::test]
async fn revoke_removes_the_key_and_replaces_it_at_once() {
    let repo = Arc::new(MemoryKeys::default());
    let clock = Arc::new(ManualClock::new(NOW));
    let keys = manager(repo.clone(), clock, kek(), RotationPolicy::default());
    keys.ensure_keys().await.unwrap();
    let ring = keys.load_ring().await.unwrap();
    let compromised = ring.signer(SigningAlg::RS256).unwrap().kid().to_owned();
    assert!(keys.revoke(&compromised).await.unwrap());
    assert!(!keys.revoke(&compromised).await.unwrap());
    let ring = keys.load_ring().await.unwrap();
    assert!(ring.verifier(&compromised).is_none());
    assert!(ring.signer(SigningAlg::RS256).is_some());
    assert_eq!(repo.snapshot().len(), 3);
}
