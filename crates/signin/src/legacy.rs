//! The imported hashes (bcrypt, PBKDF2-SHA256, argon2 PHC) are checked by
//! `lanyard_sites::legacy_hash`; this is the one call into it, run on the password pool.

use lanyard_crypto::password::HashMemory;

/// Whether `password` matches the imported hash. An unreadable or unsupported hash matches
/// nothing: the import refused those, so a row changed since then is no way in (and is
/// logged, without its value, for the operator).
pub(crate) fn verify(stored: &str, password: &str, memory: &mut HashMemory) -> bool {
    match lanyard_sites::legacy_hash::verify(stored, password.as_bytes(), memory) {
        Ok(matches) => matches,
        Err(e) => {
            tracing::warn!(error = %e, "a site user's imported password hash can not be checked");
            false
        }
    }
}
