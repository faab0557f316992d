//! The imported hashes (bcrypt, PBKDF2-SHA256, argon2 PHC) are checked by
//! `lanyard_sites::legacy_hash`; this is the one call into it, run on the password pool.

/// Whether `password` matches the imported hash. An unreadable or unsupported hash matches
/// nothing (the import refused those; a row changed since is no way in).
pub(crate) fn verify(stored: &str, password: &str) -> bool {
    // Until the sites crate lands: nothing matches.
    let _ = (stored, password);
    false
}
