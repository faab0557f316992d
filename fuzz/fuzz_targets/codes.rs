//! Typed codes (S29, S35): whatever the normaliser accepts is exactly the canonical shape —
//! six ASCII digits, or 24 Crockford base32 characters — and it never panics on any input.
//! Canonical forms are fixed points, and the grouped display form of a backup code reads
//! back as the code itself.
#![no_main]

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
});
