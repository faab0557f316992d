//! Reading the personal access token, and checking its shape offline.
//!
//! Why a copy of the format check instead of `lanyard_core::pat_token::is_well_formed`: this
//! crate is meant to be copied into a tool's own repository, where `lanyard-core` is not
//! available (it is not published). The check is small and fully specified in
//! `docs/pats.md`; a test in this crate keeps the copy in step with the server's.

use std::io::Read;
use std::path::Path;

use crc::{CRC_32_ISO_HDLC, Crc};
use zeroize::Zeroizing;

use crate::Error;

pub const PAT_PREFIX: &str = "lyd_pat_";
/// `lyd_pat_` + 43 base62 + `_` + 6 base62.
pub const PAT_LEN: usize = 58;
const BODY_END: usize = PAT_PREFIX.len() + 43;
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// Far above a PAT with any whitespace around it, far below anything worth reading: a file
/// this large is the wrong file, and we do not want to hold it in memory.
pub const MAX_FILE_BYTES: u64 = 4096;

/// A personal access token. Its `Debug` never shows it, and its memory is wiped on drop.
pub struct Pat(Zeroizing<String>);

impl Pat {
    /// The token, for the one place that sends it (the exchange request) and the one that
    /// hashes it (the cache key).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Trims surrounding whitespace (editors and `echo` add a newline) and checks the shape,
    /// so a wrong file fails here, offline, without costing the user a throttled attempt at
    /// the server. `source` names where it came from, for the error message.
    pub fn parse(raw: Zeroizing<String>, source: &str) -> Result<Pat, Error> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(Error::Pat(format!("{source} is empty")));
        }
        if !is_well_formed(trimmed) {
            // Never echo the content: it may be a real token with a typo.
            return Err(Error::Pat(format!(
                "{source} does not hold a Lanyard personal access token \
                 (lyd_pat_…, 58 characters, with a matching checksum)"
            )));
        }
        Ok(Pat(Zeroizing::new(trimmed.to_owned())))
    }

    /// Reads the token from `path` (`-` is stdin), refusing files over [`MAX_FILE_BYTES`].
    pub fn from_file(path: &Path) -> Result<Pat, Error> {
        let source = format!("the PAT file {}", path.display());
        let mut bytes = Zeroizing::new(Vec::new());
        let read = if path == Path::new("-") {
            std::io::stdin()
                .take(MAX_FILE_BYTES + 1)
                .read_to_end(&mut bytes)
        } else {
            std::fs::File::open(path)
                .and_then(|f| f.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes))
        };
        read.map_err(|e| Error::Pat(format!("cannot read {source}: {e}")))?;
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Err(Error::Pat(format!(
                "{source} is larger than {MAX_FILE_BYTES} bytes: not a PAT"
            )));
        }
        let text = String::from_utf8(std::mem::take(&mut *bytes)).map_err(|_| {
            Error::Pat(format!(
                "{source} does not hold a Lanyard personal access token"
            ))
        })?;
        Pat::parse(Zeroizing::new(text), &source)
    }
}

impl std::fmt::Debug for Pat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pat(<redacted>)")
    }
}

/// The documented shape: prefix, 43 base62 digits, `_`, and the CRC-32 (ISO-HDLC) of
/// everything before the last `_` as 6 base62 digits. Works on bytes, so no input can make
/// it slice through a multibyte character.
pub fn is_well_formed(candidate: &str) -> bool {
    let b = candidate.as_bytes();
    b.len() == PAT_LEN
        && b.starts_with(PAT_PREFIX.as_bytes())
        && b[BODY_END] == b'_'
        && b[PAT_PREFIX.len()..BODY_END]
            .iter()
            .chain(&b[BODY_END + 1..])
            .all(u8::is_ascii_alphanumeric)
        && b[BODY_END + 1..] == checksum(&b[..BODY_END])
}

fn checksum(prefix_and_body: &[u8]) -> [u8; 6] {
    let mut n = Crc::<u32>::new(&CRC_32_ISO_HDLC).checksum(prefix_and_body);
    let mut digits = [b'0'; 6];
    for slot in digits.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    digits
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use lanyard_core::OsRng;
    use lanyard_core::pat_token;

    /// The copy agrees with the server's check on real tokens and on every one-character
    /// change of them.
    #[test]
    fn the_copied_check_matches_the_servers() {
        for _ in 0..50 {
            let minted = pat_token::mint(&OsRng);
            let token = minted.token.expose();
            assert!(is_well_formed(token));
            for i in 0..token.len() {
                for c in ['0', 'a', 'Z', '_', '-', 'é'] {
                    let changed = format!("{}{c}{}", &token[..i], &token[i + 1..]);
                    assert_eq!(
                        is_well_formed(&changed),
                        pat_token::is_well_formed(&changed),
                        "{changed}"
                    );
                }
            }
        }
        let straddling = format!("lyd_pat_{}é{}", "a".repeat(42), "a".repeat(6));
        for odd in ["", "lyd_pat_", straddling.as_str()] {
            assert!(!is_well_formed(odd));
            assert!(!pat_token::is_well_formed(odd));
        }
    }

    #[test]
    fn parse_trims_and_never_echoes() {
        let token = pat_token::mint(&OsRng).token.expose().to_owned();
        let pat = Pat::parse(Zeroizing::new(format!("  {token}\r\n")), "x").unwrap();
        assert_eq!(pat.expose(), token);
        assert_eq!(format!("{pat:?}"), "Pat(<redacted>)");
        let last = if token.ends_with('x') { 'y' } else { 'x' };
        let typo = format!("{}{last}", &token[..57]);
        let err = Pat::parse(Zeroizing::new(typo.clone()), "the file").unwrap_err();
        assert!(!err.to_string().contains(&typo[8..20]), "{err}");
        let err = Pat::parse(Zeroizing::new("\n \n".into()), "the file").unwrap_err();
        assert_eq!(err.to_string(), "the file is empty");
    }
}
