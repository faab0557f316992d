use serde_json::{Value, json};

use super::*;
use crate::test_support::{AUDIENCE, ISSUER, NOW, b64, claims, ring, validation};

fn decode_json(segment: &str) -> Value {
    serde_json::from_slice(&header::decode_segment(segment).unwrap()).unwrap()
}

#[test]
fn sign_then_verify_for_every_algorithm() {
    for alg in SigningAlg::ALL {
        let signer = ring().signer(alg).unwrap();
        let token = signer.sign("at+jwt", &claims()).unwrap();
        let got: Value = verify_jwt(&token, ring(), "at+jwt", &validation()).unwrap();
        assert_eq!(got, claims(), "{alg:?}");
    }
}

#[test]
fn header_is_exactly_alg_typ_kid() {
    for alg in SigningAlg::ALL {
        let signer = ring().signer(alg).unwrap();
        let token = signer.sign("at+jwt", &claims()).unwrap();
        let header = decode_json(token.split('.').next().unwrap());
        assert_eq!(
            header,
            json!({"alg": alg.as_str(), "typ": "at+jwt", "kid": signer.kid()})
        );
    }
}

#[test]
fn signature_sizes_are_the_jws_fixed_forms() {
    let size = |alg| {
        let token = ring().signer(alg).unwrap().sign("JWT", &claims()).unwrap();
        header::decode_segment(token.rsplit('.').next().unwrap())
            .unwrap()
            .len()
    };
    assert_eq!(
        size(SigningAlg::ES256),
        64,
        "r || s, not DER (RFC 7518 §3.4)"
    );
    assert_eq!(size(SigningAlg::EdDSA), 64);
    assert_eq!(size(SigningAlg::RS256), 256);
}

#[test]
fn ecdsa_signatures_are_randomized_but_all_verify() {
    let signer = ring().signer(SigningAlg::ES256).unwrap();
    let a = signer.sign("at+jwt", &claims()).unwrap();
    let b = signer.sign("at+jwt", &claims()).unwrap();
    assert_ne!(a, b);
    for token in [a, b] {
        verify_jwt::<Value>(&token, ring(), "at+jwt", &validation()).unwrap();
    }
}

#[test]
fn typed_claims_are_deserialized_and_shape_errors_hide_values() {
    #[derive(serde::Deserialize, Debug)]
    struct Access {
        sub: String,
        client_id: String,
    }
    let token = ring()
        .signer(SigningAlg::EdDSA)
        .unwrap()
        .sign("at+jwt", &claims())
        .unwrap();
    let access: Access = verify_jwt(&token, ring(), "at+jwt", &validation()).unwrap();
    assert_eq!(
        (access.sub.as_str(), access.client_id.as_str()),
        ("user-1", "app")
    );

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Wrong {
        sub: u64,
    }
    let err = verify_jwt::<Wrong>(&token, ring(), "at+jwt", &validation()).unwrap_err();
    assert_eq!(err, JwtError::InvalidClaims);
    assert!(!err.to_string().contains("user-1"));
}

#[test]
fn typ_comparison_follows_media_type_rules() {
    assert!(typ_matches(Some("at+jwt"), "at+jwt"));
    assert!(typ_matches(Some("AT+JWT"), "at+jwt"));
    assert!(typ_matches(Some("At+Jwt"), "at+jwt"));
    assert!(typ_matches(Some("application/at+jwt"), "at+jwt"));
    assert!(typ_matches(Some("Application/AT+JWT"), "at+jwt"));
    assert!(typ_matches(Some("jwt"), "JWT"));
    assert!(!typ_matches(Some("JWT"), "at+jwt"));
    assert!(!typ_matches(Some(" at+jwt"), "at+jwt"));
    assert!(!typ_matches(Some("at+jwt "), "at+jwt"));
    assert!(!typ_matches(Some("at+jwt; q=1"), "at+jwt"));
    assert!(!typ_matches(Some("text/at+jwt"), "at+jwt"));
    assert!(!typ_matches(Some(""), "at+jwt"));
    assert!(!typ_matches(None, "at+jwt"));
}

#[test]
fn leeway_is_capped_at_sixty_seconds() {
    let signer = ring().signer(SigningAlg::ES256).unwrap();
    let mut c = claims();
    c["exp"] = json!(NOW.seconds() - 61);
    let token = signer.sign("at+jwt", &c).unwrap();
    let generous = Validation {
        leeway_secs: 3_600,
        ..validation()
    };
    assert_eq!(
        verify_jwt::<Value>(&token, ring(), "at+jwt", &generous).unwrap_err(),
        JwtError::Expired
    );
    c["exp"] = json!(NOW.seconds() - 59);
    let token = signer.sign("at+jwt", &c).unwrap();
    assert!(verify_jwt::<Value>(&token, ring(), "at+jwt", &generous).is_ok());
}

#[test]
fn fractional_numeric_dates_are_accepted() {
    let mut c = claims();
    c["exp"] = json!(NOW.seconds() as f64 + 100.5);
    c["iat"] = json!(NOW.seconds() as f64 - 0.25);
    let token = ring()
        .signer(SigningAlg::ES256)
        .unwrap()
        .sign("at+jwt", &c)
        .unwrap();
    assert!(verify_jwt::<Value>(&token, ring(), "at+jwt", &validation()).is_ok());
}

#[test]
fn audience_may_be_an_array_and_may_be_left_to_the_caller() {
    let mut c = claims();
    c["aud"] = json!(["other", AUDIENCE]);
    let token = ring()
        .signer(SigningAlg::ES256)
        .unwrap()
        .sign("JWT", &c)
        .unwrap();
    assert!(verify_jwt::<Value>(&token, ring(), "JWT", &validation()).is_ok());
    let unchecked = Validation {
        audience: None,
        ..validation()
    };
    c["aud"] = json!("some-client");
    let token = ring()
        .signer(SigningAlg::ES256)
        .unwrap()
        .sign("JWT", &c)
        .unwrap();
    assert!(verify_jwt::<Value>(&token, ring(), "JWT", &unchecked).is_ok());
}

// --- private_key_jwt (RFC 7523) ---

const TOKEN_ENDPOINT: &str = "https://id.example.com/token";

fn assertion_claims() -> Value {
    json!({
        "iss": "client-1",
        "sub": "client-1",
        "aud": TOKEN_ENDPOINT,
        "exp": NOW.seconds() + 60,
        "iat": NOW.seconds(),
        "jti": "assertion-1",
    })
}

fn assertion_validation() -> AssertionValidation {
    AssertionValidation {
        now: NOW,
        leeway_secs: 30,
    }
}

/// The client's JWKS: here simply our ring's (the test signs as the client).
fn client_jwks() -> Value {
    serde_json::from_slice(ring().jwks_json()).unwrap()
}

fn only_key(alg: SigningAlg) -> Value {
    let kid = ring().signer(alg).unwrap().kid();
    let mut jwks = client_jwks();
    jwks["keys"]
        .as_array_mut()
        .unwrap()
        .retain(|k| k["kid"] == kid);
    jwks
}

#[test]
fn client_assertion_verifies_with_the_clients_key_for_each_algorithm() {
    for alg in SigningAlg::ALL {
        let token = ring()
            .signer(alg)
            .unwrap()
            .sign("JWT", &assertion_claims())
            .unwrap();
        let claims =
            verify_client_assertion(&token, &client_jwks(), &assertion_validation()).unwrap();
        assert_eq!(claims.iss, "client-1");
        assert_eq!(claims.sub, "client-1");
        assert_eq!(claims.aud, vec![TOKEN_ENDPOINT.to_owned()]);
        assert_eq!(claims.exp, NOW.seconds() + 60);
        assert_eq!(claims.iat, Some(NOW.seconds()));
        assert_eq!(claims.nbf, None);
        assert_eq!(claims.jti, "assertion-1");
    }
}

#[test]
fn client_assertion_without_kid_uses_the_only_key() {
    let signer = ring().signer(SigningAlg::ES256).unwrap();
    let header = json!({"alg": "ES256"}).to_string();
    let token = signer
        .sign_parts(header.as_bytes(), assertion_claims().to_string().as_bytes())
        .unwrap();
    let jwks = only_key(SigningAlg::ES256);
    assert!(verify_client_assertion(&token, &jwks, &assertion_validation()).is_ok());
    // Three keys and no kid: ambiguous.
    assert_eq!(
        verify_client_assertion(&token, &client_jwks(), &assertion_validation()).unwrap_err(),
        JwtError::UnknownKey
    );
}

#[test]
fn client_assertion_accepts_audience_arrays_and_jwks_without_alg() {
    let mut c = assertion_claims();
    c["aud"] = json!([ISSUER, TOKEN_ENDPOINT]);
    let token = ring()
        .signer(SigningAlg::RS256)
        .unwrap()
        .sign("JWT", &c)
        .unwrap();
    let mut jwks = client_jwks();
    for key in jwks["keys"].as_array_mut().unwrap() {
        key.as_object_mut().unwrap().remove("alg");
        key.as_object_mut().unwrap().remove("use");
    }
    let claims = verify_client_assertion(&token, &jwks, &assertion_validation()).unwrap();
    assert_eq!(claims.aud.len(), 2);
}

#[test]
fn client_assertion_requires_jti_and_exp_and_checks_time() {
    let signer = ring().signer(SigningAlg::ES256).unwrap();
    for (claim, expected) in [
        ("jti", JwtError::MissingClaim("jti")),
        ("exp", JwtError::MissingClaim("exp")),
    ] {
        let mut c = assertion_claims();
        c.as_object_mut().unwrap().remove(claim);
        let token = signer.sign("JWT", &c).unwrap();
        assert_eq!(
            verify_client_assertion(&token, &client_jwks(), &assertion_validation()).unwrap_err(),
            expected
        );
    }
    let mut c = assertion_claims();
    c["exp"] = json!(NOW.seconds() - 31);
    let token = signer.sign("JWT", &c).unwrap();
    assert_eq!(
        verify_client_assertion(&token, &client_jwks(), &assertion_validation()).unwrap_err(),
        JwtError::Expired
    );
}

#[test]
fn client_assertion_rejects_unusable_key_sets() {
    let token = ring()
        .signer(SigningAlg::ES256)
        .unwrap()
        .sign("JWT", &assertion_claims())
        .unwrap();
    for jwks in [
        json!({}),
        json!({"keys": "x"}),
        json!([]),
        json!({"keys": []}),
    ] {
        assert!(
            verify_client_assertion(&token, &jwks, &assertion_validation()).is_err(),
            "{jwks}"
        );
    }
    // An encryption key with the right kid is not a signing key.
    let mut jwks = only_key(SigningAlg::ES256);
    jwks["keys"][0]["use"] = json!("enc");
    assert_eq!(
        verify_client_assertion(&token, &jwks, &assertion_validation()).unwrap_err(),
        JwtError::UnknownKey
    );
    // A JWK whose alg contradicts its key type is unusable.
    let mut jwks = only_key(SigningAlg::ES256);
    jwks["keys"][0]["alg"] = json!("RS256");
    assert_eq!(
        verify_client_assertion(&token, &jwks, &assertion_validation()).unwrap_err(),
        JwtError::UnknownKey
    );
}

#[test]
fn client_assertion_rejects_an_off_curve_ec_point() {
    let token = ring()
        .signer(SigningAlg::ES256)
        .unwrap()
        .sign("JWT", &assertion_claims())
        .unwrap();
    let mut jwks = only_key(SigningAlg::ES256);
    // (x, y) = (1, 1) is not on P-256.
    let mut one = [0u8; 32];
    one[31] = 1;
    jwks["keys"][0]["x"] = json!(b64(one));
    jwks["keys"][0]["y"] = json!(b64(one));
    assert_eq!(
        verify_client_assertion(&token, &jwks, &assertion_validation()).unwrap_err(),
        JwtError::BadSignature
    );
    // Truncated coordinates are refused before aws-lc sees them.
    jwks["keys"][0]["x"] = json!(b64([1u8; 31]));
    assert_eq!(
        verify_client_assertion(&token, &jwks, &assertion_validation()).unwrap_err(),
        JwtError::InvalidClientKeys
    );
}
