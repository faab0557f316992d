//! What a typed code may look like. People paste codes with spaces and dashes, so those are
//! dropped; anything else that is not the exact shape is refused before any comparison
//! (S29: full-width digits, signs, wrong lengths).

/// Digits in a one-time code (email and authenticator app).
pub const OTP_DIGITS: usize = 6;

/// Characters of a backup code: Crockford base32 (no I, L, O, U), 24 of them = 120 bits.
pub const BACKUP_CODE_LEN: usize = 24;
const BACKUP_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

fn without_separators(input: &str) -> impl Iterator<Item = char> + '_ {
    input.chars().filter(|c| *c != ' ' && *c != '-')
}

/// A 6-digit code as typed, or `None` when it is not one (letters, 5 or 7 digits, empty,
/// full-width digits, `+123456`).
pub fn normalize_otp(input: &str) -> Option<String> {
    if input.len() > 64 {
        return None;
    }
    let code: String = without_separators(input).collect();
    (code.len() == OTP_DIGITS && code.bytes().all(|b| b.is_ascii_digit())).then_some(code)
}

/// Characters of a code of a site user's backup-code set (C4): 10 of the same alphabet = 50
/// bits, stored as a keyed hash (see `code_sets`).
pub const SET_CODE_LEN: usize = 10;

/// A backup code as typed: case-insensitive, spaces and dashes ignored, and the Crockford
/// look-alikes (O → 0, I and L → 1) read as what the user meant.
pub fn normalize_backup_code(input: &str) -> Option<String> {
    normalize_base32(input, BACKUP_CODE_LEN)
}

/// A code of a backup-code set as typed, read like [`normalize_backup_code`].
pub fn normalize_set_code(input: &str) -> Option<String> {
    normalize_base32(input, SET_CODE_LEN)
}

fn normalize_base32(input: &str, len: usize) -> Option<String> {
    if input.len() > 128 {
        return None;
    }
    let mut code = String::with_capacity(len);
    for c in without_separators(input) {
        let c = match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        };
        if !c.is_ascii() || !BACKUP_ALPHABET.contains(&(c as u8)) {
            return None;
        }
        code.push(c);
    }
    (code.len() == len).then_some(code)
}

/// Encodes 15 random bytes (120 bits) as a backup code.
pub fn backup_code_from(bytes: &[u8; 15]) -> String {
    let mut code = String::with_capacity(BACKUP_CODE_LEN);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            code.push(char::from(BACKUP_ALPHABET[((acc >> bits) & 31) as usize]));
        }
    }
    code
}

/// A code of a set from 7 random bytes: their first 50 bits, 5 to a character.
pub fn set_code_from(bytes: &[u8; 7]) -> String {
    let mut acc = [0u8; 8];
    acc[1..].copy_from_slice(bytes);
    let bits = u64::from_be_bytes(acc);
    (0..SET_CODE_LEN)
        .map(|i| {
            let shift = 56 - 5 * (i + 1);
            char::from(BACKUP_ALPHABET[((bits >> shift) & 31) as usize])
        })
        .collect()
}

/// A set's code in two groups of five for reading and copying: `ABCDE-FGHJK`.
pub fn display_set_code(code: &str) -> String {
    code.as_bytes()
        .chunks(5)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

/// Groups of four for reading and copying: `ABCD-EFGH-…`.
pub fn display_backup_code(code: &str) -> String {
    code.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

/// A uniformly random 6-digit code: rejection sampling over 20-bit draws, so no digit
/// string is likelier than another.
pub fn otp_from(rng: &dyn lanyard_core::Rng) -> String {
    loop {
        let mut buf = [0u8; 4];
        rng.fill(&mut buf);
        let value = u32::from_le_bytes(buf) & 0x000F_FFFF;
        if value < 1_000_000 {
            return format!("{value:06}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn otp_accepts_six_digits_with_separators() {
        assert_eq!(normalize_otp("123456").as_deref(), Some("123456"));
        assert_eq!(normalize_otp(" 123 456 ").as_deref(), Some("123456"));
        assert_eq!(normalize_otp("123-456").as_deref(), Some("123456"));
    }

    #[test]
    fn otp_refuses_every_other_shape() {
        for bad in [
            "",
            "12345",
            "1234567",
            "12345a",
            "abcdef",
            "+12345",
            "+123456",
            "１２３４５６",
            "123\t456",
            "12.3456",
            "0x1234",
        ] {
            assert_eq!(normalize_otp(bad), None, "{bad:?}");
        }
        assert_eq!(normalize_otp(&"1".repeat(10_000)), None);
    }

    #[test]
    fn backup_codes_round_trip_through_display_and_typing() {
        let code = backup_code_from(&[0xA5; 15]);
        assert_eq!(code.len(), BACKUP_CODE_LEN);
        let shown = display_backup_code(&code);
        assert_eq!(shown.len(), BACKUP_CODE_LEN + 5);
        assert_eq!(
            normalize_backup_code(&shown).as_deref(),
            Some(code.as_str())
        );
        assert_eq!(
            normalize_backup_code(&shown.to_lowercase().replace('-', " ")).as_deref(),
            Some(code.as_str())
        );
    }

    #[test]
    fn backup_code_look_alikes_are_read_as_meant() {
        let typed = "oooo iiii llll 0000 1111 2222";
        assert_eq!(
            normalize_backup_code(typed).as_deref(),
            Some("000011111111000011112222")
        );
    }

    #[test]
    fn backup_code_refuses_wrong_shapes() {
        for bad in [
            "",
            "ABCD",
            "U000-0000-0000-0000-0000-0000",
            "Ａ000-0000-0000-0000-0000-000",
        ] {
            assert_eq!(normalize_backup_code(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn set_codes_use_fifty_bits_and_read_back_however_typed() {
        assert_eq!(set_code_from(&[0; 7]), "0000000000");
        assert_eq!(set_code_from(&[0xFF; 7]), "ZZZZZZZZZZ");
        // The top five bits make the first character, and the last six bits are unused.
        assert_eq!(set_code_from(&[0x08, 0, 0, 0, 0, 0, 0x3F]), "1000000000");
        assert_eq!(set_code_from(&[0, 0, 0, 0, 0, 0, 0x40]), "0000000001");
        let code = set_code_from(&[0xA5, 0x5A, 0x0F, 0xF0, 0x33, 0xCC, 0x99]);
        let shown = display_set_code(&code);
        assert_eq!(shown.len(), SET_CODE_LEN + 1);
        assert_eq!(&shown[5..6], "-");
        for typed in [
            shown.clone(),
            shown.to_lowercase(),
            shown.replace('-', " "),
            format!(" {} ", shown.replace('-', "")),
        ] {
            assert_eq!(
                normalize_set_code(&typed).as_deref(),
                Some(code.as_str()),
                "{typed:?}"
            );
        }
    }

    #[test]
    fn set_codes_refuse_other_shapes_and_the_two_lengths_never_mix() {
        let long = display_backup_code(&backup_code_from(&[7; 15]));
        assert_eq!(normalize_set_code(&long), None);
        assert_eq!(normalize_backup_code("ABCDE-FGHJK"), None);
        for bad in [
            "",
            "ABCDE",
            "ABCDE-FGHJKM",
            "ABCDE-FGHJU",
            "ＡBCDE-FGHJK",
            "ABCDE_FGHJK",
        ] {
            assert_eq!(normalize_set_code(bad), None, "{bad:?}");
        }
        assert_eq!(normalize_set_code(&"A".repeat(10_000)), None);
    }

    #[test]
    fn every_otp_is_six_digits() {
        let rng = lanyard_core::OsRng;
        for _ in 0..1000 {
            assert!(normalize_otp(&otp_from(&rng)).is_some());
        }
    }
}
