//! Typed codes (S29, S35, RFC 8628 §6.1): whatever the normaliser accepts is exactly the
//! canonical shape — six ASCII digits, 24 Crockford base32 characters, or a device user code
//! of eight consonants — and it never panics on any input. Canonical forms are fixed points,
//! and the grouped display forms of a backup code and a user code read back as the code.
#![no_main]

use lanyard_issuer::device::UserCode;
use lanyard_mfa::code::{
    BACKUP_CODE_LEN, OTP_DIGITS, display_backup_code, normalize_backup_code, normalize_otp,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &str| {
    if let Some(code) = normalize_otp(input) {
        assert_eq!(code.len(), OTP_DIGITS);
        assert!(code.bytes().all(|b| b.is_ascii_digit()), "{input:?} → {code:?}");
        assert_eq!(normalize_otp(&code).as_deref(), Some(code.as_str()));
    }
    if let Some(code) = normalize_backup_code(input) {
        assert_eq!(code.len(), BACKUP_CODE_LEN);
        assert!(
            code.bytes()
                .all(|b| b.is_ascii_digit() || (b.is_ascii_uppercase() && !b"ILOU".contains(&b))),
            "{input:?} → {code:?}"
        );
        assert_eq!(normalize_backup_code(&code).as_deref(), Some(code.as_str()));
        let shown = display_backup_code(&code);
        assert_eq!(normalize_backup_code(&shown).as_deref(), Some(code.as_str()));
    }
    if let Some(code) = UserCode::parse(input) {
        let shown = code.display();
        let (left, right) = shown.split_once('-').expect("XXXX-XXXX");
        assert_eq!((left.len(), right.len()), (4, 4), "{input:?} → {shown:?}");
        let mut letters = left.bytes().chain(right.bytes());
        assert!(letters.all(|b| b"BCDFGHJKLMNPQRSTVWXZ".contains(&b)), "{input:?} → {shown:?}");
        assert_eq!(UserCode::parse(&shown), Some(code));
    }
});
