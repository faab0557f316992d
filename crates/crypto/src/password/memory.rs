//! The argon2 working memory one hashing thread owns, and argon2 computed in it.
//!
//! argon2 would otherwise allocate `m_cost` KiB per hash and free it after. Under glibc
//! that is what kept a busy server's memory high: freeing the first 19 MiB block raises
//! malloc's dynamic mmap threshold to 19 MiB, so every later block comes from a per-thread
//! arena that is never given back. Here each hashing thread keeps one block for as long as
//! it is busy and reuses it through `hash_password_into_with_memory`; when the thread has
//! been idle it drops the block and the pages go back to the system.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use argon2::password_hash::{Output, ParamsString, Salt};
use argon2::{Algorithm, Argon2, Block, Params, PasswordHash, Version};

use crate::CryptoError;

/// glibc serves an allocation from its own mapping, and unmaps it on free without touching
/// the dynamic threshold, only above `DEFAULT_MMAP_THRESHOLD_MAX` (32 MiB on 64-bit). The
/// block's *capacity* is reserved past that, so the block is always a mapping of its own
/// under glibc; only the blocks argon2 uses are ever touched, so only they are resident.
/// (Other allocators map blocks this size on their own.)
const ALWAYS_MAPPED_BLOCKS: usize = (32 << 20) / Block::SIZE + 1;

/// One thread's argon2 memory: empty until the first hash, grown to the largest hash asked
/// of it, emptied by [`HashMemory::release`].
#[derive(Default)]
pub struct HashMemory {
    blocks: Vec<Block>,
    /// The pool's count of bytes held, kept as blocks come and go.
    gauge: Option<Arc<AtomicUsize>>,
}

impl HashMemory {
    /// Memory whose bytes held are added to `gauge` (the pool's, across its threads).
    pub(crate) fn counted(gauge: Arc<AtomicUsize>) -> HashMemory {
        HashMemory {
            blocks: Vec::new(),
            gauge: Some(gauge),
        }
    }

    /// Resident bytes held.
    pub fn held_bytes(&self) -> usize {
        self.blocks.len() * Block::SIZE
    }

    /// Gives the pages back to the system (the thread has been idle).
    pub(crate) fn release(&mut self) {
        self.replace(Vec::new());
    }

    fn replace(&mut self, blocks: Vec<Block>) {
        let before = self.held_bytes();
        self.blocks = blocks;
        if let Some(gauge) = &self.gauge {
            gauge.fetch_add(self.held_bytes(), Ordering::SeqCst);
            gauge.fetch_sub(before, Ordering::SeqCst);
        }
    }

    /// Keeps at most `blocks`: a foreign hash with more memory than the policy (an imported
    /// site hash) does not keep its larger block after it is checked.
    pub(crate) fn shrink_to(&mut self, blocks: usize) {
        if self.blocks.len() > blocks {
            self.release();
        }
    }

    fn blocks(&mut self, count: usize) -> &mut [Block] {
        if self.blocks.len() < count {
            // Dropped first, so the old and the new block are never held together.
            self.release();
            let mut fresh = Vec::with_capacity(count.max(ALWAYS_MAPPED_BLOCKS));
            fresh.resize(count, Block::default());
            self.replace(fresh);
        }
        &mut self.blocks[..count]
    }

    /// argon2id of `password` with `params` and `salt`, as a PHC string: what
    /// `argon2::PasswordHasher::hash_password` gives, computed in this memory.
    pub(crate) fn hash_phc(
        &mut self,
        params: &Params,
        password: &[u8],
        salt: Salt<'_>,
    ) -> Result<String, CryptoError> {
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
        let output = self.compute(&argon, password, salt)?;
        let hash = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(params).map_err(|_| CryptoError::PasswordHash)?,
            salt: Some(salt),
            hash: Some(output),
        };
        Ok(hash.to_string())
    }

    /// Whether `password` matches an argon2 PHC hash (any variant, version and parameters
    /// the hash names): `argon2::PasswordVerifier::verify_password`, computed in this
    /// memory. The outputs are compared in constant time (`Output`'s `PartialEq`).
    pub fn argon2_matches(
        &mut self,
        password: &[u8],
        phc: &PasswordHash<'_>,
    ) -> Result<bool, CryptoError> {
        let (Some(salt), Some(expected)) = (phc.salt, phc.hash) else {
            return Err(CryptoError::InvalidPasswordHash);
        };
        let (algorithm, version, params) = phc_parts(phc)?;
        let argon = Argon2::new(algorithm, version, params);
        let computed = self.compute(&argon, password, salt)?;
        Ok(computed == expected)
    }

    fn compute(
        &mut self,
        argon: &Argon2<'_>,
        password: &[u8],
        salt: Salt<'_>,
    ) -> Result<Output, CryptoError> {
        let mut salt_buf = [0u8; Salt::MAX_LENGTH];
        let salt = salt
            .decode_b64(&mut salt_buf)
            .map_err(|_| CryptoError::InvalidPasswordHash)?;
        let params = argon.params();
        let memory = self.blocks(params.block_count());
        let output_len = params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
        Output::init_with(output_len, |out| {
            argon
                .hash_password_into_with_memory(password, salt, out, &mut *memory)
                .map_err(|_| argon2::password_hash::Error::Crypto)
        })
        .map_err(|_| CryptoError::PasswordHash)
    }
}

/// The variant, version and parameters a PHC hash names (version 0x13 when it names none).
pub(crate) fn phc_parts(
    phc: &PasswordHash<'_>,
) -> Result<(Algorithm, Version, Params), CryptoError> {
    let algorithm =
        Algorithm::try_from(phc.algorithm).map_err(|_| CryptoError::InvalidPasswordHash)?;
    let version = phc
        .version
        .map(Version::try_from)
        .transpose()
        .map_err(|_| CryptoError::InvalidPasswordHash)?
        .unwrap_or_default();
    let params = Params::try_from(phc).map_err(|_| CryptoError::InvalidPasswordHash)?;
    Ok((algorithm, version, params))
}

#[cfg(test)]
mod tests {
    use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _, SaltString};

    use super::*;

    fn small() -> Params {
        Params::new(256, 1, 1, None).unwrap()
    }

    #[test]
    fn hashes_as_the_argon2_crate_does() {
        let salt = SaltString::encode_b64(b"sixteen byte slt").unwrap();
        let mut memory = HashMemory::default();
        let ours = memory
            .hash_phc(&small(), b"a password", salt.as_salt())
            .unwrap();
        let theirs = Argon2::new(Algorithm::Argon2id, Version::V0x13, small())
            .hash_password(b"a password", &salt)
            .unwrap()
            .to_string();
        assert_eq!(ours, theirs);
        assert_eq!(memory.held_bytes(), 256 * 1024);
    }

    #[test]
    fn verifies_what_the_argon2_crate_made_in_every_variant() {
        let salt = SaltString::encode_b64(b"sixteen byte slt").unwrap();
        let mut memory = HashMemory::default();
        for (algorithm, params) in [
            (Algorithm::Argon2id, small()),
            (
                Algorithm::Argon2i,
                Params::new(512, 2, 2, Some(16)).unwrap(),
            ),
            (
                Algorithm::Argon2d,
                Params::new(128, 1, 1, Some(64)).unwrap(),
            ),
        ] {
            let stored = Argon2::new(algorithm, Version::V0x13, params)
                .hash_password(b"right", &salt)
                .unwrap()
                .to_string();
            let parsed = PasswordHash::new(&stored).unwrap();
            assert!(
                memory.argon2_matches(b"right", &parsed).unwrap(),
                "{stored}"
            );
            assert!(
                !memory.argon2_matches(b"wrong", &parsed).unwrap(),
                "{stored}"
            );
            // And the crate agrees with the verdicts.
            assert!(Argon2::default().verify_password(b"right", &parsed).is_ok());
        }
    }

    #[test]
    fn the_block_grows_for_a_larger_hash_and_shrinks_back() {
        let salt = SaltString::encode_b64(b"sixteen byte slt").unwrap();
        let mut memory = HashMemory::default();
        memory.hash_phc(&small(), b"x", salt.as_salt()).unwrap();
        let larger = Params::new(1024, 1, 1, None).unwrap();
        memory.hash_phc(&larger, b"x", salt.as_salt()).unwrap();
        assert_eq!(memory.held_bytes(), 1024 * 1024);
        // A smaller hash reuses the larger block as it is.
        memory.hash_phc(&small(), b"x", salt.as_salt()).unwrap();
        assert_eq!(memory.held_bytes(), 1024 * 1024);
        memory.shrink_to(256);
        assert_eq!(memory.held_bytes(), 0);
        memory.hash_phc(&small(), b"x", salt.as_salt()).unwrap();
        memory.release();
        assert_eq!(memory.held_bytes(), 0);
    }

    #[test]
    fn a_hash_without_salt_or_output_is_invalid() {
        let mut memory = HashMemory::default();
        let parsed = PasswordHash::new("$argon2id$v=19$m=256,t=1,p=1").unwrap();
        assert!(matches!(
            memory.argon2_matches(b"x", &parsed),
            Err(CryptoError::InvalidPasswordHash)
        ));
    }
}
