//! Test plan §D (S17–S23): every hostile token is an `Err`, never a panic.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair, RsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Value, json};

use super::*;
use crate::keys::generate_signing_key;
use crate::test_support::{AUDIENCE, ISSUER, NOW, b64, claims, kek, records, ring, validation};

fn verify(token: &str) -> Result<Value, JwtError> {
    verify_jwt(token, ring(), "at+jwt", &validation())
}

fn es256() -> &'static Signer {
    ring().signer(SigningAlg::ES256).unwrap()
}

/// A token with exactly this header and payload, validly signed by our ES256 key: the
/// rejection must come from the content, not from a bad signature.
fn signed(header: &str, payload: &str) -> String {
    es256()
        .sign_parts(header.as_bytes(), payload.as_bytes())
        .unwrap()
}

fn header(alg: &str, kid: &str) -> String {
    json!({"alg": alg, "typ": "at+jwt", "kid": kid}).to_string()
}

fn payload() -> String {
    claims().to_string()
}

fn with_claims(edit: impl FnOnce(&mut serde_json::Map<String, Value>)) -> String {
    let mut c = claims();
    edit(c.as_object_mut().unwrap());
    es256().sign("at+jwt", &c).unwrap()
}

#[test]
fn s17_alg_none_rejected() {
    let valid = es256().sign("at+jwt", &claims()).unwrap();
    let valid_sig = valid.rsplit('.').next().unwrap();
    for alg in ["none", "None", "NONE", "nOnE"] {
        let h = b64(header(alg, es256().kid()));
        let p = b64(payload());
        for sig in ["", valid_sig] {
            assert!(verify(&format!("{h}.{p}.{sig}")).is_err(), "{alg} / {sig}");
        }
        // Even validly signed, a header naming `none` is refused.
        let err = verify(&signed(&header(alg, es256().kid()), &payload())).unwrap_err();
        assert_eq!(err, JwtError::AlgorithmMismatch, "{alg}");
    }
}

fn public_key_forms(alg: SigningAlg) -> Vec<Vec<u8>> {
    let record = records().iter().find(|r| r.alg == alg).unwrap();
    let pkcs8 = kek()
        .decrypt(&record.private_key_encrypted, record.kid.as_bytes())
        .unwrap();
    let der = match alg {
        SigningAlg::RS256 => RsaKeyPair::from_pkcs8(&pkcs8)
            .unwrap()
            .public_key()
            .as_der()
            .unwrap()
            .as_ref()
            .to_vec(),
        SigningAlg::ES256 => EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &pkcs8)
            .unwrap()
            .public_key()
            .as_der()
            .unwrap()
            .as_ref()
            .to_vec(),
        SigningAlg::EdDSA => unreachable!(),
    };
    let pem = format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        STANDARD.encode(&der)
    );
    let jwks: Value = serde_json::from_slice(ring().jwks_json()).unwrap();
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == record.kid.as_str())
        .unwrap();
    vec![
        pem.into_bytes(),
        der,
        jwk.to_string().into_bytes(),
        record.public_jwk.clone().into_bytes(),
    ]
}

#[test]
fn s18_hs256_signed_with_public_key_rejected() {
    for alg in [SigningAlg::RS256, SigningAlg::ES256] {
        let kid = ring().signer(alg).unwrap().kid().to_owned();
        for secret in public_key_forms(alg) {
            for hs in [
                jsonwebtoken::Algorithm::HS256,
                jsonwebtoken::Algorithm::HS384,
                jsonwebtoken::Algorithm::HS512,
            ] {
                let mut h = Header::new(hs);
                h.kid = Some(kid.clone());
                h.typ = Some("at+jwt".into());
                let token = jsonwebtoken::encode(&h, &claims(), &EncodingKey::from_secret(&secret))
                    .unwrap();
                assert_eq!(
                    verify(&token).unwrap_err(),
                    JwtError::AlgorithmMismatch,
                    "{alg:?} {hs:?}"
                );
            }
        }
    }
}

#[test]
fn s18_rs256_header_with_ec_key_rejected() {
    let rs = ring().signer(SigningAlg::RS256).unwrap();
    let ed = ring().signer(SigningAlg::EdDSA).unwrap();
    // RS256 header naming our EC key, signed with our RSA key.
    let token = rs
        .sign_parts(
            header("RS256", es256().kid()).as_bytes(),
            payload().as_bytes(),
        )
        .unwrap();
    assert_eq!(verify(&token).unwrap_err(), JwtError::AlgorithmMismatch);
    // And every other algorithm/key pairing.
    for (signer, alg, kid) in [
        (es256(), "ES256", rs.kid()),
        (es256(), "ES256", ed.kid()),
        (ed, "EdDSA", es256().kid()),
        (es256(), "RS256", es256().kid()),
        (es256(), "ES384", es256().kid()),
        (es256(), "PS256", es256().kid()),
        (es256(), "es256", es256().kid()),
    ] {
        let token = signer
            .sign_parts(header(alg, kid).as_bytes(), payload().as_bytes())
            .unwrap();
        assert_eq!(
            verify(&token).unwrap_err(),
            JwtError::AlgorithmMismatch,
            "{alg} with {kid}"
        );
    }
}

#[test]
fn s18_es256_with_an_off_curve_client_key_rejected() {
    // Our own keys come from the ring; the invalid-point case concerns registered client
    // keys: see `tests::client_assertion_rejects_an_off_curve_ec_point`.
    let mut jwks: Value = serde_json::from_slice(ring().jwks_json()).unwrap();
    jwks["keys"]
        .as_array_mut()
        .unwrap()
        .retain(|k| k["kid"] == es256().kid());
    jwks["keys"][0]["y"] = json!(b64([0xffu8; 32]));
    let token = es256()
        .sign(
            "JWT",
            &json!({"iss":"c","sub":"c","aud":"a","exp":NOW.seconds()+60,"jti":"j"}),
        )
        .unwrap();
    let v = AssertionValidation {
        now: NOW,
        leeway_secs: 0,
    };
    assert!(verify_client_assertion(&token, &jwks, &v).is_err());
}

#[test]
fn s19_kid_injection_rejected() {
    let random = b64([0x5au8; 32]);
    let long = "A".repeat(5_000);
    for kid in [
        "../../../../dev/null",
        "' OR '1'='1",
        "{{7*7}}",
        "${jndi:ldap://x}",
        "\0",
        "kid-ES256\0",
        "",
        &random,
        &long,
    ] {
        let err = verify(&signed(&header("ES256", kid), &payload())).unwrap_err();
        assert_eq!(err, JwtError::UnknownKey, "{kid:.40}");
    }
    // A 10 KB kid does not even reach the lookup.
    let huge = "A".repeat(10 * 1024);
    assert_eq!(
        verify(&signed(&header("ES256", &huge), &payload())).unwrap_err(),
        JwtError::TooLong
    );
    // No kid at all.
    let no_kid = json!({"alg": "ES256", "typ": "at+jwt"}).to_string();
    assert_eq!(
        verify(&signed(&no_kid, &payload())).unwrap_err(),
        JwtError::UnknownKey
    );
    // Non-string kids are malformed headers.
    for kid in [
        json!(1),
        json!(null),
        json!(["kid-ES256"]),
        json!({"$ne": ""}),
    ] {
        let h = json!({"alg": "ES256", "typ": "at+jwt", "kid": kid}).to_string();
        assert!(verify(&signed(&h, &payload())).is_err(), "{kid}");
    }
}

#[test]
fn s20_jku_x5u_jwk_x5c_ignored() {
    let attacker_record =
        generate_signing_key(SigningAlg::ES256, "attacker".into(), &kek(), NOW, NOW).unwrap();
    let attacker_ring = KeyRing::load(std::slice::from_ref(&attacker_record), &kek(), NOW).unwrap();
    let attacker = attacker_ring.signer(SigningAlg::ES256).unwrap();
    let attacker_jwk: Value = serde_json::from_str(&attacker_record.public_jwk).unwrap();
    let tricks = [
        ("jku", json!("https://canary.invalid/jwks.json")),
        ("x5u", json!("https://canary.invalid/cert.pem")),
        ("jwk", attacker_jwk),
        ("x5c", json!([STANDARD.encode(b"not a certificate")])),
    ];
    for (name, value) in tricks {
        for (kid, expected) in [
            ("attacker", JwtError::UnknownKey),
            (es256().kid(), JwtError::BadSignature),
        ] {
            let h = json!({"alg": "ES256", "typ": "at+jwt", "kid": kid, name: value.clone()})
                .to_string();
            let token = attacker
                .sign_parts(h.as_bytes(), payload().as_bytes())
                .unwrap();
            assert_eq!(
                verify(&token).unwrap_err(),
                expected,
                "{name} with kid {kid}"
            );
        }
        // Our own token carrying the member verifies with our key: the member is not used.
        let h =
            json!({"alg": "ES256", "typ": "at+jwt", "kid": es256().kid(), name: value}).to_string();
        assert!(verify(&signed(&h, &payload())).is_ok(), "{name}");
    }
}

#[test]
fn s21_token_type_confusion_rejected() {
    for typ in ["JWT", "logout+jwt", "dpop+jwt", "at+jwt+x", ""] {
        let token = es256().sign(typ, &claims()).unwrap();
        assert_eq!(verify(&token).unwrap_err(), JwtError::WrongType, "{typ}");
    }
    let no_typ = json!({"alg": "ES256", "kid": es256().kid()}).to_string();
    assert_eq!(
        verify(&signed(&no_typ, &payload())).unwrap_err(),
        JwtError::WrongType
    );
    // An ID token is not an access token even with the right audience.
    let id_token = es256().sign("JWT", &claims()).unwrap();
    assert!(verify_jwt::<Value>(&id_token, ring(), "JWT", &validation()).is_ok());
    assert!(verify(&id_token).is_err());
}

#[test]
fn s22_audience_rejected() {
    let cases = [
        with_claims(|c| drop(c.remove("aud"))),
        with_claims(|c| drop(c.insert("aud".into(), json!("https://other-rs.example.com")))),
        with_claims(|c| drop(c.insert("aud".into(), json!(["a", "b"])))),
        with_claims(|c| drop(c.insert("aud".into(), json!([])))),
        with_claims(|c| drop(c.insert("aud".into(), json!(format!("{AUDIENCE}/"))))),
        with_claims(|c| drop(c.insert("aud".into(), json!(AUDIENCE.to_uppercase())))),
    ];
    for token in cases {
        assert_eq!(verify(&token).unwrap_err(), JwtError::WrongAudience);
    }
    for bad in [json!(null), json!(1), json!([1]), json!({"aud": AUDIENCE})] {
        let token = with_claims(|c| drop(c.insert("aud".into(), bad.clone())));
        assert!(verify(&token).is_err(), "{bad}");
    }
}

#[test]
fn s22_issuer_rejected() {
    for iss in [
        format!("{ISSUER}/"),
        ISSUER.replace("https://", "http://"),
        "https://evil.example.com".to_owned(),
        "https://ID.example.com".to_owned(),
        String::new(),
    ] {
        let token = with_claims(|c| drop(c.insert("iss".into(), json!(iss))));
        assert_eq!(verify(&token).unwrap_err(), JwtError::WrongIssuer, "{iss}");
    }
    let token = with_claims(|c| drop(c.remove("iss")));
    assert_eq!(verify(&token).unwrap_err(), JwtError::WrongIssuer);
}

#[test]
fn s22_time_claims_rejected() {
    let leeway = i64::from(validation().leeway_secs);
    let now = NOW.seconds();
    let at = |name: &str, value: Value| with_claims(|c| drop(c.insert(name.into(), value)));
    assert_eq!(
        verify(&at("exp", json!(now - leeway - 1))).unwrap_err(),
        JwtError::Expired
    );
    assert_eq!(
        verify(&at("exp", json!(now - leeway))).unwrap_err(),
        JwtError::Expired
    );
    assert!(
        verify(&at("exp", json!(now - leeway + 1))).is_ok(),
        "within leeway"
    );
    assert_eq!(
        verify(&with_claims(|c| drop(c.remove("exp")))).unwrap_err(),
        JwtError::MissingClaim("exp")
    );
    assert_eq!(
        verify(&at("exp", Value::Null)).unwrap_err(),
        JwtError::MissingClaim("exp")
    );
    assert_eq!(
        verify(&at("nbf", json!(now + leeway + 1))).unwrap_err(),
        JwtError::NotYetValid
    );
    assert!(
        verify(&at("nbf", json!(now + leeway))).is_ok(),
        "within leeway"
    );
    assert_eq!(
        verify(&at("iat", json!(now + 86_400))).unwrap_err(),
        JwtError::IssuedInFuture
    );
    assert_eq!(
        verify(&at("iat", json!(now + leeway + 1))).unwrap_err(),
        JwtError::IssuedInFuture
    );
    assert_eq!(
        verify(&with_claims(|c| drop(c.remove("iat")))).unwrap_err(),
        JwtError::MissingClaim("iat")
    );
    for bad in [json!("1800000300"), json!(true), json!([1])] {
        assert_eq!(verify(&at("exp", bad)).unwrap_err(), JwtError::Malformed);
    }
    // The injected clock decides, not the system clock: the same token is expired later.
    let token = es256().sign("at+jwt", &claims()).unwrap();
    let later = Validation {
        now: NOW.plus_secs(301 + leeway),
        ..validation()
    };
    assert_eq!(
        verify_jwt::<Value>(&token, ring(), "at+jwt", &later).unwrap_err(),
        JwtError::Expired
    );
}

#[test]
fn s23_malformed_jws_rejected() {
    let valid = es256().sign("at+jwt", &claims()).unwrap();
    let (h, rest) = valid.split_once('.').unwrap();
    let (p, s) = rest.split_once('.').unwrap();
    let cases = [
        String::new(),
        ".".into(),
        "..".into(),
        "...".into(),
        format!("{h}.{p}"),
        format!("{h}.{p}.{s}.{s}"),
        format!("{h}.{p}.{s}."),
        h.to_string(),
        format!("{h}*.{p}.{s}"),
        format!("{h}.{p}+.{s}"),
        format!("{h}.{p}.{s}/"),
        format!("{}.{p}.{s}", h.replace('e', "é")),
        format!("{h}=.{p}.{s}"),
        format!("{h}.{p}.{s}=="),
        format!(" {valid}"),
        format!("{valid}\n"),
        format!("{h} .{p}.{s}"),
        format!("{h}.{p}.\t{s}"),
        valid.replace('.', ". "),
        format!("{}.{}.{}", STANDARD.encode(header_json()), p, s),
    ];
    for token in &cases {
        assert!(verify(token).is_err(), "{token:.60}");
    }
}

fn header_json() -> String {
    header("ES256", es256().kid())
}

#[test]
fn s23_duplicate_header_members_rejected() {
    let kid = es256().kid();
    for h in [
        format!(r#"{{"alg":"ES256","alg":"none","typ":"at+jwt","kid":"{kid}"}}"#),
        format!(r#"{{"alg":"none","alg":"ES256","typ":"at+jwt","kid":"{kid}"}}"#),
        format!(r#"{{"alg":"ES256","typ":"at+jwt","kid":"{kid}","kid":"other"}}"#),
        format!(r#"{{"alg":"ES256","typ":"JWT","typ":"at+jwt","kid":"{kid}"}}"#),
    ] {
        assert_eq!(
            verify(&signed(&h, &payload())).unwrap_err(),
            JwtError::Malformed,
            "{h}"
        );
    }
    // The mechanism: serde's derived struct refuses repeated fields (no last-wins).
    let err =
        serde_json::from_str::<header::JoseHeader>(r#"{"alg":"ES256","alg":"none"}"#).unwrap_err();
    assert!(err.to_string().contains("duplicate field `alg`"), "{err}");
    // Repeated registered claims are refused the same way.
    let p = format!(
        r#"{{"iss":"{ISSUER}","aud":"{AUDIENCE}","exp":{},"exp":1,"iat":{}}}"#,
        NOW.seconds() + 60,
        NOW.seconds()
    );
    assert_eq!(
        verify(&signed(&header_json(), &p)).unwrap_err(),
        JwtError::Malformed
    );
}

#[test]
fn s23_crit_rejected() {
    for crit in [
        json!(["exp"]),
        json!(["b64"]),
        json!([]),
        json!("exp"),
        json!(null),
    ] {
        let h =
            json!({"alg": "ES256", "typ": "at+jwt", "kid": es256().kid(), "crit": crit, "exp": 1})
                .to_string();
        assert_eq!(
            verify(&signed(&h, &payload())).unwrap_err(),
            JwtError::UnsupportedCritical,
            "{crit}"
        );
    }
}

#[test]
fn s23_oversized_and_deeply_nested_input_rejected() {
    let big =
        json!({"alg": "ES256", "typ": "at+jwt", "kid": es256().kid(), "pad": "x".repeat(1 << 20)})
            .to_string();
    let token = format!("{}.{}.", b64(&big), b64(payload()));
    assert_eq!(verify(&token).unwrap_err(), JwtError::TooLong);
    // Nesting that fits in 8 KiB: beyond serde_json's 128-level limit, refused.
    let deep = format!(
        r#"{{"alg":"ES256","typ":"at+jwt","kid":"{}","x":{}{}}}"#,
        es256().kid(),
        "[".repeat(2_000),
        "]".repeat(2_000)
    );
    assert_eq!(
        verify(&signed(&deep, &payload())).unwrap_err(),
        JwtError::Malformed
    );
    let deep_claims = format!(
        r#"{{"iss":"{ISSUER}","x":{}{}}}"#,
        "{\"a\":".repeat(500),
        "}".repeat(500)
    );
    assert_eq!(
        verify(&signed(&header_json(), &deep_claims)).unwrap_err(),
        JwtError::Malformed
    );
    // Brackets inside strings (escaped quotes included) are not nesting.
    let h = json!({"alg": "ES256", "typ": "at+jwt", "kid": es256().kid(), "x": format!("\"{}", "[{".repeat(100))}).to_string();
    assert!(verify(&signed(&h, &payload())).is_ok());
    // The parser itself survives far deeper input than a token can carry.
    let abyss = format!(
        "{{\"x\":{}{}}}",
        "[".repeat(1_000_000),
        "]".repeat(1_000_000)
    );
    assert!(header::parse_object::<header::JoseHeader>(abyss.as_bytes()).is_err());
}

#[test]
fn s23_invalid_utf8_and_non_object_json_rejected() {
    let mut bad_claims = payload().into_bytes();
    let at = bad_claims.iter().position(|b| *b == b'u').unwrap(); // inside "user-1"
    bad_claims[at] = 0xff;
    let token = es256()
        .sign_parts(header_json().as_bytes(), &bad_claims)
        .unwrap();
    assert_eq!(verify(&token).unwrap_err(), JwtError::Malformed);
    let mut bad_header = header_json().into_bytes();
    bad_header.splice(2..2, [0xc0, 0xae]);
    let token = es256()
        .sign_parts(&bad_header, payload().as_bytes())
        .unwrap();
    assert_eq!(verify(&token).unwrap_err(), JwtError::Malformed);
    for h in [
        "[]",
        "null",
        "\"ES256\"",
        "{}",
        "{\"alg\":null}",
        "{\"alg\":\"ES256\"",
        "",
    ] {
        assert!(verify(&signed(h, &payload())).is_err(), "{h}");
    }
    for p in ["[]", "null", "1", "", "{"] {
        assert_eq!(
            verify(&signed(&header_json(), p)).unwrap_err(),
            JwtError::Malformed,
            "{p}"
        );
    }
}

#[test]
fn s23_typ_case_variants_follow_the_documented_rule() {
    // Media types compare case-insensitively, `application/` optional (see `typ_matches`).
    for typ in [
        "at+jwt",
        "AT+JWT",
        "At+Jwt",
        "application/at+jwt",
        "APPLICATION/AT+JWT",
    ] {
        let h = json!({"alg": "ES256", "typ": typ, "kid": es256().kid()}).to_string();
        assert!(verify(&signed(&h, &payload())).is_ok(), "{typ}");
    }
    for typ in [
        "at+jwt ",
        " at+jwt",
        "at+jwt\0",
        "at-jwt",
        "application/jwt",
        "x/at+jwt",
    ] {
        let h = json!({"alg": "ES256", "typ": typ, "kid": es256().kid()}).to_string();
        assert_eq!(
            verify(&signed(&h, &payload())).unwrap_err(),
            JwtError::WrongType,
            "{typ:?}"
        );
    }
}

#[test]
fn s23_every_single_character_mutation_is_rejected() {
    for alg in SigningAlg::ALL {
        let valid = ring()
            .signer(alg)
            .unwrap()
            .sign("at+jwt", &claims())
            .unwrap();
        assert!(verify(&valid).is_ok());
        let bytes = valid.as_bytes();
        for i in 0..bytes.len() {
            for replacement in [b'A', b'_', b'.', b'='] {
                if bytes[i] == replacement {
                    continue;
                }
                let mut mutated = bytes.to_vec();
                mutated[i] = replacement;
                let mutated = String::from_utf8(mutated).unwrap();
                assert!(
                    verify(&mutated).is_err(),
                    "{alg:?} byte {i} -> {}",
                    replacement as char
                );
            }
        }
    }
}
