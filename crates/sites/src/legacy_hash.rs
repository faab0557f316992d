//! The password hashes a legacy site brings along (C2), checked with well-kept crates and
//! never produced here:
//!
//! - bcrypt, `$2a$`, `$2b$`, `$2y$` (the `bcrypt` crate). Like the reference implementations
//!   the legacy sites used, only the first 72 bytes of a password count;
//! - passlib's PBKDF2-SHA256, `$pbkdf2-sha256$<rounds>$<salt>$<checksum>` with passlib's
//!   "adapted base64" (`.` for `+`, no padding), derived with `pbkdf2` + `sha2` and compared
//!   in constant time (`subtle`);
//! - argon2 PHC strings, `$argon2id$`, `$argon2i$`, `$argon2d$` (the `argon2` crate).
//!
//! [`parse`] checks a stored hash's shape and cost without any hashing work (the import calls
//! it for every row); [`verify`] does the work (the legacy login calls it on the bounded
//! password pool). Costs above the bounds below are refused: an imported file must not be
//! able to make one sign-in take minutes or gigabytes.

use argon2::password_hash::PasswordHash;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use lanyard_crypto::password::HashMemory;
use subtle::ConstantTimeEq;

/// Longer stored values are refused unread (a bcrypt hash is 60 characters, the others
/// well under 200).
pub const MAX_HASH_LEN: usize = 512;
/// Longer passwords are refused before any hashing.
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// bcrypt cost (log2 of the rounds): 15 is about two seconds here; legacy sites use 10–13.
pub const MAX_BCRYPT_COST: u32 = 15;
/// PBKDF2 iterations: OWASP asks for 600,000 with SHA-256 today; twice that still verifies
/// in well under a second.
pub const MAX_PBKDF2_ROUNDS: u32 = 2_000_000;
/// argon2 memory in KiB (256 MiB), passes and lanes.
pub const MAX_ARGON2_MEMORY_KIB: u32 = 262_144;
pub const MAX_ARGON2_PASSES: u32 = 16;
pub const MAX_ARGON2_LANES: u32 = 16;

const PBKDF2_PREFIX: &str = "$pbkdf2-sha256$";
const PBKDF2_CHECKSUM_LEN: usize = 32;
const PBKDF2_MAX_SALT: usize = 64;

/// The formats [`parse`] knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Bcrypt,
    Pbkdf2Sha256,
    Argon2,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bcrypt => "bcrypt",
            Self::Pbkdf2Sha256 => "pbkdf2-sha256",
            Self::Argon2 => "argon2",
        }
    }
}

/// Why a stored hash can not be used. The messages name the problem, never the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LegacyHashError {
    #[error(
        "unknown password hash format (expected bcrypt $2a$/$2b$/$2y$, $pbkdf2-sha256$ or $argon2id$/$argon2i$/$argon2d$)"
    )]
    UnknownFormat,
    #[error("malformed {scheme} hash: {reason}")]
    Malformed {
        scheme: &'static str,
        reason: &'static str,
    },
    #[error("{scheme} hash too costly to check: {reason}")]
    TooCostly {
        scheme: &'static str,
        reason: &'static str,
    },
    #[error("password hash longer than {MAX_HASH_LEN} characters")]
    HashTooLong,
    #[error("password longer than {MAX_PASSWORD_BYTES} bytes")]
    PasswordTooLong,
}

fn malformed(scheme: Scheme, reason: &'static str) -> LegacyHashError {
    LegacyHashError::Malformed {
        scheme: scheme.as_str(),
        reason,
    }
}

fn too_costly(scheme: Scheme, reason: &'static str) -> LegacyHashError {
    LegacyHashError::TooCostly {
        scheme: scheme.as_str(),
        reason,
    }
}

/// The scheme of a usable stored hash: right shape, cost within bounds. No hashing.
pub fn parse(stored: &str) -> Result<Scheme, LegacyHashError> {
    if stored.len() > MAX_HASH_LEN {
        return Err(LegacyHashError::HashTooLong);
    }
    if ["$2a$", "$2b$", "$2y$"]
        .iter()
        .any(|p| stored.starts_with(p))
    {
        parse_bcrypt(stored)?;
        Ok(Scheme::Bcrypt)
    } else if stored.starts_with(PBKDF2_PREFIX) {
        Pbkdf2::parse(stored)?;
        Ok(Scheme::Pbkdf2Sha256)
    } else if ["$argon2id$", "$argon2i$", "$argon2d$"]
        .iter()
        .any(|p| stored.starts_with(p))
    {
        parse_argon2(stored)?;
        Ok(Scheme::Argon2)
    } else {
        Err(LegacyHashError::UnknownFormat)
    }
}

/// Whether `password` matches `stored`. Errors for a hash [`parse`] refuses and for an
/// over-long password; a well-formed hash that does not match is `Ok(false)`.
/// An argon2 hash is computed in `memory`, the hashing thread's own (`PasswordHasher::run_bounded`).
pub fn verify(
    stored: &str,
    password: &[u8],
    memory: &mut HashMemory,
) -> Result<bool, LegacyHashError> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(LegacyHashError::PasswordTooLong);
    }
    match parse(stored)? {
        Scheme::Bcrypt => bcrypt::verify(password, stored)
            .map_err(|_| malformed(Scheme::Bcrypt, "rejected by the bcrypt library")),
        Scheme::Pbkdf2Sha256 => Ok(Pbkdf2::parse(stored)?.matches(password)),
        Scheme::Argon2 => {
            let hash = parse_argon2(stored)?;
            memory
                .argon2_matches(password, &hash)
                .map_err(|_| malformed(Scheme::Argon2, "rejected by the argon2 library"))
        }
    }
}

/// `$2b$12$` + 22 characters of salt + 31 of checksum, in bcrypt's base64 alphabet.
fn parse_bcrypt(stored: &str) -> Result<(), LegacyHashError> {
    let scheme = Scheme::Bcrypt;
    let bytes = stored.as_bytes();
    if bytes.len() != 60 || bytes[6] != b'$' {
        return Err(malformed(
            scheme,
            "expected 60 characters: $2b$<cost>$<53 characters>",
        ));
    }
    let cost = std::str::from_utf8(&bytes[4..6])
        .ok()
        .filter(|c| c.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|c| c.parse::<u32>().ok())
        .ok_or_else(|| malformed(scheme, "the cost is not two digits"))?;
    if !(4..=31).contains(&cost) {
        return Err(malformed(scheme, "the cost is outside 04–31"));
    }
    if cost > MAX_BCRYPT_COST {
        return Err(too_costly(scheme, "cost above 15"));
    }
    let alphabet = |b: &u8| b.is_ascii_alphanumeric() || *b == b'.' || *b == b'/';
    if !bytes[7..].iter().all(alphabet) {
        return Err(malformed(
            scheme,
            "characters outside bcrypt's base64 alphabet",
        ));
    }
    Ok(())
}

fn parse_argon2(stored: &str) -> Result<PasswordHash<'_>, LegacyHashError> {
    let scheme = Scheme::Argon2;
    let hash = PasswordHash::new(stored).map_err(|_| malformed(scheme, "not a PHC string"))?;
    let params = argon2::Params::try_from(&hash)
        .map_err(|_| malformed(scheme, "missing or invalid m, t, p parameters"))?;
    if hash.hash.is_none() || hash.salt.is_none() {
        return Err(malformed(scheme, "missing salt or hash"));
    }
    if params.m_cost() > MAX_ARGON2_MEMORY_KIB {
        return Err(too_costly(scheme, "memory above 256 MiB"));
    }
    if params.t_cost() > MAX_ARGON2_PASSES || params.p_cost() > MAX_ARGON2_LANES {
        return Err(too_costly(scheme, "more than 16 passes or lanes"));
    }
    Ok(hash)
}

/// passlib's `pbkdf2_sha256` string, decoded.
struct Pbkdf2 {
    rounds: u32,
    salt: Vec<u8>,
    checksum: Vec<u8>,
}

impl Pbkdf2 {
    fn parse(stored: &str) -> Result<Pbkdf2, LegacyHashError> {
        let scheme = Scheme::Pbkdf2Sha256;
        let rest = stored
            .strip_prefix(PBKDF2_PREFIX)
            .ok_or(LegacyHashError::UnknownFormat)?;
        let mut parts = rest.split('$');
        let (Some(rounds), Some(salt), Some(checksum), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(malformed(
                scheme,
                "expected $pbkdf2-sha256$<rounds>$<salt>$<checksum>",
            ));
        };
        let rounds = Some(rounds)
            .filter(|r| !r.is_empty() && r.len() <= 10 && r.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|r| r.parse::<u32>().ok())
            .filter(|r| *r >= 1)
            .ok_or_else(|| malformed(scheme, "the rounds are not a positive number"))?;
        if rounds > MAX_PBKDF2_ROUNDS {
            return Err(too_costly(scheme, "more than 2,000,000 rounds"));
        }
        let salt =
            ab64_decode(salt).ok_or_else(|| malformed(scheme, "the salt is not adapted base64"))?;
        if salt.is_empty() || salt.len() > PBKDF2_MAX_SALT {
            return Err(malformed(
                scheme,
                "the salt is empty or longer than 64 bytes",
            ));
        }
        let checksum = ab64_decode(checksum)
            .filter(|c| c.len() == PBKDF2_CHECKSUM_LEN)
            .ok_or_else(|| malformed(scheme, "the checksum is not 32 bytes of adapted base64"))?;
        Ok(Pbkdf2 {
            rounds,
            salt,
            checksum,
        })
    }

    fn matches(&self, password: &[u8]) -> bool {
        let mut derived = zeroize::Zeroizing::new([0u8; PBKDF2_CHECKSUM_LEN]);
        pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password, &self.salt, self.rounds, &mut *derived);
        derived.ct_eq(&self.checksum).into()
    }
}

/// passlib's adapted base64: the standard alphabet with `.` for `+`, no padding.
fn ab64_decode(text: &str) -> Option<Vec<u8>> {
    if text.contains('+') || text.contains('=') {
        return None;
    }
    STANDARD_NO_PAD.decode(text.replace('.', "+")).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Shapes only; hashes made by the reference implementations are checked in
    // tests/legacy_hash.rs against the committed fixture.
    #[test]
    fn unknown_and_oversized_formats_are_refused() {
        for stored in [
            "",
            "plain",
            "$1$abc$def",
            "$5$rounds=5000$x$y",
            "$2x$10$",
            "{SSHA}abc",
        ] {
            assert_eq!(
                parse(stored),
                Err(LegacyHashError::UnknownFormat),
                "{stored}"
            );
        }
        let long = format!("$argon2id${}", "a".repeat(MAX_HASH_LEN));
        assert_eq!(parse(&long), Err(LegacyHashError::HashTooLong));
        assert_eq!(
            verify(
                "$2b$04$abc",
                &[b'x'; MAX_PASSWORD_BYTES + 1],
                &mut HashMemory::default()
            ),
            Err(LegacyHashError::PasswordTooLong)
        );
    }

    #[test]
    fn bcrypt_shapes() {
        let good = "$2b$04$EGdrhbKUv8Oc9vGiXX0HQOxSg445d458Muh7DAHskb6QbtCvdxcie";
        assert_eq!(parse(good), Ok(Scheme::Bcrypt));
        for bad in [
            "$2b$04$short",
            "$2b$4x$EGdrhbKUv8Oc9vGiXX0HQOxSg445d458Muh7DAHskb6QbtCvdxcie",
            "$2b$03$EGdrhbKUv8Oc9vGiXX0HQOxSg445d458Muh7DAHskb6QbtCvdxcie",
            "$2b$04$EGdrhbKUv8Oc9vGiXX0HQOxSg445d458Muh7DAHskb6QbtCvdxci!",
        ] {
            assert!(
                matches!(parse(bad), Err(LegacyHashError::Malformed { .. })),
                "{bad}"
            );
        }
        let costly = "$2b$16$EGdrhbKUv8Oc9vGiXX0HQOxSg445d458Muh7DAHskb6QbtCvdxcie";
        assert!(matches!(
            parse(costly),
            Err(LegacyHashError::TooCostly { .. })
        ));
    }

    #[test]
    fn pbkdf2_shapes() {
        let salt = "N2bsvdc6R2jNGWPMmbPWmg";
        let sum = "hPIr1H8pnHBzHxiA8DKH0IzUC4LM8Hu9fZBJ1Mv3n9U";
        assert_eq!(
            parse(&format!("$pbkdf2-sha256$29000${salt}${sum}")),
            Ok(Scheme::Pbkdf2Sha256)
        );
        for bad in [
            format!("$pbkdf2-sha256$29000${salt}"),
            format!("$pbkdf2-sha256$0${salt}${sum}"),
            format!("$pbkdf2-sha256$-5${salt}${sum}"),
            format!("$pbkdf2-sha256$29000$${sum}"),
            format!("$pbkdf2-sha256$29000${salt}$abc"),
            format!("$pbkdf2-sha256$29000${salt}+${sum}"),
            format!("$pbkdf2-sha256$29000${salt}${sum}$extra"),
        ] {
            assert!(
                matches!(parse(&bad), Err(LegacyHashError::Malformed { .. })),
                "{bad}"
            );
        }
        let costly = format!("$pbkdf2-sha256$2000001${salt}${sum}");
        assert!(matches!(
            parse(&costly),
            Err(LegacyHashError::TooCostly { .. })
        ));
    }

    #[test]
    fn argon2_shapes() {
        let good = "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$iWh06vD8Fy27wf9npn6FXWiCX4K6pW6Ue1Bnzz07Z8A";
        assert_eq!(parse(good), Ok(Scheme::Argon2));
        let costly = "$argon2id$v=19$m=1048576,t=3,p=4$c29tZXNhbHQ$iWh06vD8Fy27wf9npn6FXWiCX4K6pW6Ue1Bnzz07Z8A";
        assert!(matches!(
            parse(costly),
            Err(LegacyHashError::TooCostly { .. })
        ));
        for bad in [
            "$argon2id$v=19$m=65536",
            "$argon2id$v=19$m=x,t=3,p=4$c29tZQ$aGFzaA",
        ] {
            assert!(
                matches!(parse(bad), Err(LegacyHashError::Malformed { .. })),
                "{bad}"
            );
        }
    }
}
