//! The user code of RFC 8628 §6.1: eight letters from the 20 consonants that read and type
//! unambiguously (no vowels, so no words; no I/O/U/Y next to 1/0/V), shown as `XXXX-XXXX`.
//! Input is normalised the way people type it: lower case, spaces and dashes are fine.

use lanyard_core::{Rng, Secret};

/// RFC 8628 §6.1's alphabet ("BCDFGHJKLMNPQRSTVWXZ").
pub const ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";
/// 20^8 ≈ 2^34.6 codes: guessing is held back by rate limits, not by length alone.
pub const LENGTH: usize = 8;
/// Longer input is refused before any normalisation: nobody types this much for 8 letters.
const MAX_INPUT_LEN: usize = 32;
/// The largest multiple of the alphabet's size that fits in a byte: bytes from here up are
/// drawn again, so every letter is equally likely (no modulo bias).
const UNBIASED_LIMIT: u8 = 240;

/// A well-formed user code in canonical form (eight upper-case letters of [`ALPHABET`]).
/// Its `Debug` hides the value: until it expires, it is worth as much as the device code.
#[derive(Clone, PartialEq, Eq)]
pub struct UserCode(Secret);

impl UserCode {
    /// Normalises what a person typed; `None` when it can not be a user code.
    pub fn parse(input: &str) -> Option<UserCode> {
        if input.len() > MAX_INPUT_LEN {
            return None;
        }
        let mut canonical = String::with_capacity(LENGTH);
        for c in input.chars() {
            if c == '-' || c == ' ' {
                continue;
            }
            let upper = c.to_ascii_uppercase();
            if !upper.is_ascii() || !ALPHABET.contains(&(upper as u8)) {
                return None;
            }
            canonical.push(upper);
        }
        (canonical.len() == LENGTH).then(|| UserCode(Secret::new(canonical)))
    }

    /// A new uniformly random code.
    pub(crate) fn generate(rng: &dyn Rng) -> UserCode {
        let mut canonical = String::with_capacity(LENGTH);
        let mut buf = [0u8; 16];
        while canonical.len() < LENGTH {
            rng.fill(&mut buf);
            for b in buf {
                if b < UNBIASED_LIMIT && canonical.len() < LENGTH {
                    canonical.push(char::from(ALPHABET[usize::from(b % 20)]));
                }
            }
        }
        UserCode(Secret::new(canonical))
    }

    /// The eight letters without the dash: what is hashed and stored.
    pub(crate) fn canonical(&self) -> &str {
        self.0.expose()
    }

    /// `XXXX-XXXX`, as shown on the device and on the confirmation page.
    pub fn display(&self) -> String {
        let code = self.0.expose();
        format!("{}-{}", &code[..LENGTH / 2], &code[LENGTH / 2..])
    }
}

impl std::fmt::Debug for UserCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UserCode(***)")
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use lanyard_core::OsRng;

    use super::*;

    /// Hands out scripted bytes, then zeros.
    struct Scripted(Mutex<Vec<u8>>);

    impl Rng for Scripted {
        fn fill(&self, buf: &mut [u8]) {
            let mut left = self.0.lock().unwrap();
            for b in buf.iter_mut() {
                *b = if left.is_empty() { 0 } else { left.remove(0) };
            }
        }
    }

    #[test]
    fn typed_forms_normalise_to_one_code() {
        let canonical = UserCode::parse("BCDF-GHJK").unwrap();
        for typed in [
            "bcdfghjk",
            "BCDFGHJK",
            "bcdf-ghjk",
            " bcdf ghjk ",
            "B-C-D-F-G-H-J-K",
        ] {
            assert_eq!(UserCode::parse(typed).as_ref(), Some(&canonical), "{typed}");
        }
        assert_eq!(canonical.display(), "BCDF-GHJK");
        assert_eq!(canonical.canonical(), "BCDFGHJK");
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in [
            "",
            "BCDF-GHJ",
            "BCDF-GHJKL",
            "BCDF-GHJA", // a vowel
            "BCDF-GHJ1",
            "BCDF_GHJK",
            "BCDF\u{2011}GHJK", // a non-breaking hyphen
            "ＢCDF-GHJK",       // a full-width letter
            "ß",
            &"B".repeat(33),
            &format!("{}{}", "-".repeat(30), "BCDFGHJK"),
        ] {
            assert!(UserCode::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn generated_codes_use_the_alphabet_and_skip_biased_bytes() {
        for _ in 0..200 {
            let code = UserCode::generate(&OsRng);
            assert_eq!(code.canonical().len(), LENGTH);
            assert!(code.canonical().bytes().all(|b| ALPHABET.contains(&b)));
            assert_eq!(UserCode::parse(&code.display()), Some(code));
        }
        // 240..=255 would favour the first 16 letters; they are drawn again.
        let rng = Scripted(Mutex::new(vec![
            255, 240, 0, 19, 20, 239, 241, 1, 2, 3, 4, 5,
        ]));
        let code = UserCode::generate(&rng);
        assert_eq!(code.canonical(), "BZBZCDFG");
    }

    #[test]
    fn debug_hides_the_code() {
        let code = UserCode::parse("BCDF-GHJK").unwrap();
        assert_eq!(format!("{code:?}"), "UserCode(***)");
    }
}
