use lanyard_core::OsRng;

use super::*;

#[test]
fn round_trip_with_the_same_aad() {
    let kek = Kek::generate(&OsRng);
    let sealed = kek.encrypt(b"private key bytes", b"kid-1").unwrap();
    assert_eq!(sealed.len(), 12 + 17 + 16);
    assert_eq!(
        kek.decrypt(&sealed, b"kid-1").unwrap().as_slice(),
        b"private key bytes"
    );
}

#[test]
fn empty_plaintext_round_trips() {
    let kek = Kek::generate(&OsRng);
    let sealed = kek.encrypt(b"", b"").unwrap();
    assert!(kek.decrypt(&sealed, b"").unwrap().is_empty());
}

#[test]
fn nonces_differ_between_seals() {
    let kek = Kek::generate(&OsRng);
    let a = kek.encrypt(b"same", b"aad").unwrap();
    let b = kek.encrypt(b"same", b"aad").unwrap();
    assert_ne!(a[..12], b[..12]);
}

#[test]
fn wrong_key_fails() {
    let sealed = Kek::generate(&OsRng).encrypt(b"secret", b"kid").unwrap();
    let other = Kek::generate(&OsRng);
    assert!(matches!(
        other.decrypt(&sealed, b"kid"),
        Err(CryptoError::Decrypt)
    ));
}

#[test]
fn wrong_aad_fails() {
    let kek = Kek::generate(&OsRng);
    let sealed = kek.encrypt(b"secret", b"kid-1").unwrap();
    assert!(matches!(
        kek.decrypt(&sealed, b"kid-2"),
        Err(CryptoError::Decrypt)
    ));
}

#[test]
fn every_flipped_bit_fails() {
    let kek = Kek::generate(&OsRng);
    let sealed = kek.encrypt(b"secret", b"kid").unwrap();
    for i in 0..sealed.len() {
        let mut tampered = sealed.clone();
        tampered[i] ^= 0x01;
        assert!(kek.decrypt(&tampered, b"kid").is_err(), "byte {i}");
    }
}

#[test]
fn truncated_input_fails_without_panicking() {
    let kek = Kek::generate(&OsRng);
    let sealed = kek.encrypt(b"secret", b"kid").unwrap();
    for len in 0..sealed.len() {
        assert!(kek.decrypt(&sealed[..len], b"kid").is_err());
    }
}

#[test]
fn base64_round_trip_and_validation() {
    let kek = Kek::generate(&OsRng);
    let text = kek.to_base64();
    let back = Kek::from_base64(&text).unwrap();
    let sealed = kek.encrypt(b"x", b"").unwrap();
    assert_eq!(back.decrypt(&sealed, b"").unwrap().as_slice(), b"x");
    // URL-safe unpadded form is accepted too.
    let url = URL_SAFE_NO_PAD.encode([7u8; 32]);
    assert!(Kek::from_base64(&url).is_ok());
    assert!(matches!(
        Kek::from_base64("c2hvcnQ="),
        Err(CryptoError::InvalidKek)
    ));
    assert!(matches!(
        Kek::from_base64("not base64!"),
        Err(CryptoError::InvalidKek)
    ));
}

#[test]
fn debug_is_redacted() {
    let kek = Kek::from_bytes([0x41; 32]);
    assert_eq!(format!("{kek:?}"), "Kek(***)");
}
