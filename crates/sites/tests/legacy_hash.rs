//! The legacy hashes of the committed fixtures, made by the PyPI reference implementations
//! (tests/fixtures/README.md), verify with the right password and only with it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use lanyard_crypto::password::HashMemory;
use lanyard_sites::legacy_hash::{self, Scheme};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn password(name: &str) -> String {
    std::fs::read_to_string(fixture(name))
        .unwrap()
        .trim_end()
        .to_owned()
}

/// `(login, password_hash)` of every row of a CSV fixture.
fn hashes(name: &str) -> Vec<(String, String)> {
    let mut reader = csv::Reader::from_path(fixture(name)).unwrap();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[0].to_owned(), r[3].to_owned())
        })
        .collect()
}

#[test]
fn every_fixture_hash_verifies_with_its_password_only() {
    let right = password("password.txt");
    let rows = hashes("legacy_users.csv");
    assert_eq!(rows.len(), 8);
    let mut schemes = Vec::new();
    for (login, stored) in &rows {
        schemes.push(legacy_hash::parse(stored).unwrap());
        assert!(
            legacy_hash::verify(stored, right.as_bytes(), &mut HashMemory::default()).unwrap(),
            "{login}"
        );
        let wrong = format!("{right}!");
        assert!(
            !legacy_hash::verify(stored, wrong.as_bytes(), &mut HashMemory::default()).unwrap(),
            "{login}"
        );
        assert!(
            !legacy_hash::verify(stored, b"", &mut HashMemory::default()).unwrap(),
            "{login}"
        );
    }
    for scheme in [Scheme::Bcrypt, Scheme::Pbkdf2Sha256, Scheme::Argon2] {
        assert!(schemes.contains(&scheme), "{scheme:?} covered");
    }
    for prefix in ["$2a$", "$2b$", "$2y$", "$pbkdf2-sha256$", "$argon2id$"] {
        assert!(
            rows.iter().any(|(_, h)| h.starts_with(prefix)),
            "{prefix} covered"
        );
    }
}

#[test]
fn a_tampered_hash_matches_nothing() {
    let right = password("password.txt");
    for (login, stored) in hashes("legacy_users.csv") {
        // Change one character of the checksum (the last one may only carry padding bits).
        let mut bytes = stored.into_bytes();
        let at = bytes.len() - 3;
        bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes).unwrap();
        let outcome = legacy_hash::verify(&tampered, right.as_bytes(), &mut HashMemory::default());
        assert!(!matches!(outcome, Ok(true)), "{login}: {outcome:?}");
    }
}

#[test]
fn the_generated_user_files_verify_too() {
    let right = password("migration_1000.csv.password");
    let rows = hashes("migration_1000.csv");
    assert_eq!(rows.len(), 1000);
    // One of each format (they take turns) is enough to prove the low-cost settings work.
    for (login, stored) in rows.iter().take(5) {
        assert!(
            legacy_hash::verify(stored, right.as_bytes(), &mut HashMemory::default()).unwrap(),
            "{login}"
        );
        assert!(
            !legacy_hash::verify(stored, b"legacy-password-2", &mut HashMemory::default()).unwrap(),
            "{login}"
        );
    }
    for (login, stored) in &rows {
        legacy_hash::parse(stored).unwrap_or_else(|e| panic!("{login}: {e}"));
    }
}
