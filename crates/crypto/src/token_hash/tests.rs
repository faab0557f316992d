use super::*;

#[test]
fn hash_is_deterministic_lowercase_hex() {
    let hasher = TokenHasher::new(&[1u8; 32]);
    let a = hasher.hash("rt_abc");
    assert_eq!(a, hasher.hash("rt_abc"));
    assert_eq!(a.len(), 64);
    assert!(
        a.chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    );
}

#[test]
fn the_primitive_is_rfc_4231_hmac_sha256() {
    // RFC 4231 test case 2 (its key is 4 bytes, so it goes through aws-lc-rs directly).
    let key = hmac::Key::new(hmac::HMAC_SHA256, b"Jefe");
    let tag = hmac::sign(&key, b"what do ya want for nothing?");
    assert_eq!(
        hex::encode(tag.as_ref()),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
}

#[test]
fn hash_depends_on_key_and_token() {
    let a = TokenHasher::new(&[1u8; 32]);
    let b = TokenHasher::new(&[2u8; 32]);
    assert_ne!(a.hash("token"), b.hash("token"));
    assert_ne!(a.hash("token"), a.hash("token2"));
}

#[test]
fn verify_accepts_only_the_right_token() {
    let hasher = TokenHasher::new(&[9u8; 32]);
    let stored = hasher.hash("secret-token");
    assert!(hasher.verify("secret-token", &stored));
    assert!(!hasher.verify("secret-tokem", &stored));
    assert!(!TokenHasher::new(&[8u8; 32]).verify("secret-token", &stored));
    assert!(!hasher.verify("secret-token", ""));
    assert!(!hasher.verify("secret-token", "zz"));
    assert!(!hasher.verify("secret-token", &stored[..62]));
    // Upper-case hex of the same MAC is still the same MAC.
    assert!(hasher.verify("secret-token", &stored.to_uppercase()));
}

#[test]
fn from_base64_requires_32_bytes() {
    assert!(TokenHasher::from_base64(&STANDARD.encode([3u8; 32])).is_ok());
    assert!(TokenHasher::from_base64(&STANDARD.encode([3u8; 16])).is_err());
    assert_eq!(
        format!("{:?}", TokenHasher::new(&[0; 32])),
        "TokenHasher(***)"
    );
}
