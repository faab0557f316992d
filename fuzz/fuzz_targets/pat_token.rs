//! Personal access tokens (E1, S25): `is_well_formed` never panics and agrees with a reference
//! check written here from the documented format (docs/pats.md) — prefix, 58 bytes, base62
//! body and checksum, CRC-32/ISO-HDLC recomputed with the `crc` crate and written in base62
//! by plain `u64` arithmetic. `mint` turns any 32 random bytes into a token that is accepted
//! and whose body reads back as those bytes; every single-character change, deletion or
//! insertion of that token is refused.
#![no_main]

use crc::{CRC_32_ISO_HDLC, Crc};
use lanyard_core::Rng;
use lanyard_core::pat_token::{PAT_LEN, PAT_PREFIX, is_well_formed, mint};
use libfuzzer_sys::fuzz_target;

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const BODY_END: usize = 8 + 43;

/// The checksum digits of `prefix_and_body`, computed apart from the code under test.
fn reference_checksum(prefix_and_body: &[u8]) -> [u8; 6] {
    let mut n = u64::from(Crc::<u32>::new(&CRC_32_ISO_HDLC).checksum(prefix_and_body));
    let mut digits = [b'0'; 6];
    for slot in digits.iter_mut().rev() {
        *slot = ALPHABET[(n % 62) as usize];
        n /= 62;
    }
    assert_eq!(n, 0, "a CRC-32 fits in six base62 digits");
    digits
}

/// The documented shape, byte by byte.
fn reference_well_formed(candidate: &str) -> bool {
    let b = candidate.as_bytes();
    b.len() == 58
        && b.starts_with(b"lyd_pat_")
        && b[BODY_END] == b'_'
        && b[8..BODY_END].iter().all(|c| ALPHABET.contains(c))
        && b[BODY_END + 1..].iter().all(|c| ALPHABET.contains(c))
        && b[BODY_END + 1..] == reference_checksum(&b[..BODY_END])
}

fn check(candidate: &str) {
    assert_eq!(
        is_well_formed(candidate),
        reference_well_formed(candidate),
        "{candidate:?}"
    );
}

/// Hands out the fuzzer's bytes as the "random" draw.
struct Fixed([u8; 32]);
impl Rng for Fixed {
    fn fill(&self, buf: &mut [u8]) {
        assert_eq!(buf.len(), 32, "a PAT is one 32-byte draw");
        buf.copy_from_slice(&self.0);
    }
}

/// The body read back as a 256-bit big-endian number (a 33rd byte catches overflow).
fn body_value(body: &[u8]) -> [u8; 33] {
    let mut n = [0u8; 33];
    for c in body {
        let digit = ALPHABET.iter().position(|a| a == c).expect("base62") as u32;
        let mut carry = digit;
        for byte in n.iter_mut().rev() {
            let acc = u32::from(*byte) * 62 + carry;
            *byte = acc as u8;
            carry = acc >> 8;
        }
        assert_eq!(carry, 0);
    }
    n
}

fuzz_target!(|input: &[u8]| {
    // 1. Any text, as given and with a correct checksum appended (so that the accepting
    //    branch is reached often, not only when the fuzzer guesses a CRC).
    let text = String::from_utf8_lossy(input);
    check(&text);
    if text.len() >= BODY_END && text.is_char_boundary(BODY_END) {
        let head = &text[..BODY_END];
        let sum = reference_checksum(head.as_bytes());
        let completed = format!("{head}_{}", String::from_utf8_lossy(&sum));
        check(&completed);
    }

    // 2. A minted token from the input's first 32 bytes, and its one-character neighbours
    //    with a replacement character the input chooses.
    let mut seed = [0u8; 32];
    let n = input.len().min(32);
    seed[..n].copy_from_slice(&input[..n]);
    let minted = mint(&Fixed(seed));
    let token = minted.token.expose();
    assert_eq!(token.len(), PAT_LEN);
    assert!(token.starts_with(PAT_PREFIX));
    assert!(is_well_formed(token) && reference_well_formed(token), "{token}");
    let value = body_value(&token.as_bytes()[8..BODY_END]);
    assert_eq!(value[0], 0, "{token}");
    assert_eq!(value[1..], seed, "{token}");

    let replacement = std::str::from_utf8(input.get(32..).unwrap_or_default())
        .ok()
        .and_then(|rest| rest.chars().next())
        .unwrap_or('a');
    for (i, original) in token.char_indices() {
        let before = &token[..i];
        let after = &token[i + original.len_utf8()..];
        if replacement != original {
            let changed = format!("{before}{replacement}{after}");
            assert!(!is_well_formed(&changed), "{changed:?}");
        }
        assert!(!is_well_formed(&format!("{before}{after}")), "deleted {i}");
        let inserted = format!("{before}{replacement}{original}{after}");
        assert!(!is_well_formed(&inserted), "{inserted:?}");
    }
});
