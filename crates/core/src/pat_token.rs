//! The personal access token format (E1): `lyd_pat_<43 base62>_<6 base62>`.
//!
//! - `lyd_pat_` names the kind, so a scanner (or a human) knows what leaked.
//! - The body is 32 random bytes (256 bits) written in base62: fixed length, no padding, no
//!   characters a shell or URL would mangle, and one double-click selects the whole token.
//! - The suffix is the CRC-32 (ISO-HDLC, the common one) of everything before it, in base62.
//!   A scanner can tell a real token from a typo offline, and the server refuses mistyped
//!   tokens before it touches the database. The CRC is not a secret and adds no strength.
//!
//! Documented for tool authors in `docs/pats.md`.

use crc::{CRC_32_ISO_HDLC, Crc};

use crate::rng::Rng;
use crate::secret::Secret;

pub const PAT_PREFIX: &str = "lyd_pat_";
const RANDOM_BYTES: usize = 32;
/// ⌈256 / log2(62)⌉ = 43 digits hold any 32-byte number.
const BODY_LEN: usize = 43;
/// 62^6 > 2^32.
const CHECKSUM_LEN: usize = 6;
pub const PAT_LEN: usize = PAT_PREFIX.len() + BODY_LEN + 1 + CHECKSUM_LEN;
/// Characters of the body shown in listings after the prefix (and of the checksum at the
/// end): enough to tell tokens apart, far too few to matter (the checksum ones carry no
/// entropy of their own).
const DISPLAY_HEAD: usize = 4;
const DISPLAY_TAIL: usize = 4;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const CRC32: Crc<u32> = Crc::<u32>::new(&CRC_32_ISO_HDLC);

/// A freshly minted token: the plaintext (shown once) and what listings may show.
#[derive(Debug)]
pub struct MintedPat {
    pub token: Secret,
    pub display: String,
}

/// Mints a token from one 32-byte draw of `rng`.
pub fn mint(rng: &dyn Rng) -> MintedPat {
    let mut random = [0u8; RANDOM_BYTES];
    rng.fill(&mut random);
    let body = base62_fixed(&random, BODY_LEN);
    let mut token = String::with_capacity(PAT_LEN);
    token.push_str(PAT_PREFIX);
    token.push_str(&body);
    let checksum = checksum_of(token.as_bytes());
    token.push('_');
    token.push_str(&checksum);
    let display = display_of(&token);
    MintedPat {
        token: Secret::new(token),
        display,
    }
}

/// True when `candidate` has the exact shape and a matching checksum. Cheap and free of
/// I/O: everything that fails here is refused without a lookup.
pub fn is_well_formed(candidate: &str) -> bool {
    // Bytes, not `str` slicing: a multibyte character straddling the body's end would make
    // a `str` split panic (found by the `pat_token` fuzz target).
    let bytes = candidate.as_bytes();
    if bytes.len() != PAT_LEN || !bytes.starts_with(PAT_PREFIX.as_bytes()) {
        return false;
    }
    let (head, tail) = bytes.split_at(PAT_PREFIX.len() + BODY_LEN);
    let body = &head[PAT_PREFIX.len()..];
    let Some(checksum) = tail.strip_prefix(b"_") else {
        return false;
    };
    if !body.iter().chain(checksum).copied().all(is_base62) {
        return false;
    }
    checksum_of(head).as_bytes() == checksum
}

/// True when `text` contains something that starts like a token: used to refuse tokens in
/// places they must never travel (query strings).
pub fn mentions_pat(text: &str) -> bool {
    text.contains(PAT_PREFIX)
}

/// `lyd_pat_AbCd…wXyZ`.
pub fn display_of(token: &str) -> String {
    let head_end = (PAT_PREFIX.len() + DISPLAY_HEAD).min(token.len());
    let tail_start = token.len().saturating_sub(DISPLAY_TAIL).max(head_end);
    format!("{}…{}", &token[..head_end], &token[tail_start..])
}

fn is_base62(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

fn checksum_of(prefix_and_body: &[u8]) -> String {
    let crc = CRC32.checksum(prefix_and_body);
    base62_fixed(&crc.to_be_bytes(), CHECKSUM_LEN)
}

/// The big-endian number in `bytes`, in base62, left-padded with '0' to `digits` digits.
fn base62_fixed(bytes: &[u8], digits: usize) -> String {
    let mut number = bytes.to_vec();
    let mut out = vec![b'0'; digits];
    for slot in out.iter_mut().rev() {
        // Long division of the whole number by 62; the remainder is the next digit.
        let mut remainder = 0u32;
        for byte in number.iter_mut() {
            let acc = (remainder << 8) | u32::from(*byte);
            *byte = (acc / 62) as u8;
            remainder = acc % 62;
        }
        *slot = BASE62[remainder as usize];
    }
    // Every caller sizes `digits` to hold the number, and the digits are ASCII.
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::OsRng;

    struct Fixed(u8);
    impl Rng for Fixed {
        fn fill(&self, buf: &mut [u8]) {
            buf.fill(self.0);
        }
    }

    #[test]
    fn minted_tokens_have_the_documented_shape_and_verify() {
        let minted = mint(&OsRng);
        let token = minted.token.expose();
        assert_eq!(token.len(), PAT_LEN);
        assert_eq!(PAT_LEN, 58);
        assert!(token.starts_with("lyd_pat_"));
        assert_eq!(token.as_bytes()[PAT_PREFIX.len() + BODY_LEN], b'_');
        assert!(is_well_formed(token));
        assert_eq!(minted.display.chars().count(), 8 + 4 + 1 + 4);
        assert!(token.starts_with(minted.display.split('…').next().unwrap_or("-")));
    }

    #[test]
    fn the_body_is_the_random_number_in_base62() {
        assert_eq!(mint(&Fixed(0)).token.expose()[8..51], "0".repeat(43));
        // 2^256 - 1 in base62 has 43 digits, the first of which is not zero.
        let max = mint(&Fixed(0xff));
        assert_ne!(&max.token.expose()[8..9], "0");
        assert_eq!(base62_fixed(&[0x01, 0x00], 3), "048"); // 256 = 4*62 + 8
        assert_eq!(base62_fixed(&[61], 2), "0z");
    }

    #[test]
    fn the_checksum_is_crc32_of_prefix_and_body() {
        // CRC-32/ISO-HDLC check value of "123456789" is 0xCBF43926.
        assert_eq!(CRC32.checksum(b"123456789"), 0xCBF4_3926);
        let token = mint(&OsRng).token.expose().to_owned();
        let crc = CRC32.checksum(&token.as_bytes()[..51]);
        assert_eq!(&token[52..], base62_fixed(&crc.to_be_bytes(), 6));
    }

    #[test]
    fn typos_and_foreign_shapes_are_refused() {
        let token = mint(&OsRng).token.expose().to_owned();
        // Every single-character substitution in the body or the checksum is caught.
        for i in PAT_PREFIX.len()..token.len() {
            if i == PAT_PREFIX.len() + BODY_LEN {
                continue;
            }
            let mut bytes = token.clone().into_bytes();
            bytes[i] = if bytes[i] == b'a' { b'b' } else { b'a' };
            let changed = String::from_utf8(bytes).unwrap_or_default();
            assert!(!is_well_formed(&changed), "position {i}");
        }
        assert!(!is_well_formed(""));
        assert!(!is_well_formed(&token[..token.len() - 1]));
        assert!(!is_well_formed(&format!("{token}0")));
        assert!(!is_well_formed(&token.replacen("lyd_pat_", "lyd_pxt_", 1)));
        assert!(!is_well_formed(&token.replacen('_', "-", 3)));
        let multibyte = format!("lyd_pat_{}é{}", &token[8..50], &token[51..]);
        assert!(!is_well_formed(&multibyte));
        // 58 bytes with a two-byte character across the body's end: refused, not a panic.
        let straddling = format!("lyd_pat_{}é{}", "a".repeat(42), "a".repeat(6));
        assert_eq!(straddling.len(), PAT_LEN);
        assert!(!is_well_formed(&straddling));
    }

    #[test]
    fn display_is_prefix_head_and_tail() {
        let token = mint(&OsRng).token.expose().to_owned();
        let display = display_of(&token);
        assert_eq!(display, format!("{}…{}", &token[..12], &token[54..]));
        assert_eq!(display_of("short"), "short…");
    }

    #[test]
    fn mentions_pat_spots_the_prefix_anywhere() {
        assert!(mentions_pat("a=1&subject_token=lyd_pat_x"));
        assert!(!mentions_pat("a=1&b=lyd_pa"));
    }
}
