//! The JWT cache: one small JSON file per key, in a directory only the user can enter.
//!
//! Why cache at all: a tool invoked in a loop (a shell script calling `curl` a hundred
//! times) would otherwise exchange the PAT on every call; the exchanged JWT is valid for
//! minutes (5 by default) and may be reused until shortly before it expires.
//!
//! Why the key is a hash: the file name must differ per PAT (two PATs of different users on
//! one machine must never share a JWT) without writing the PAT anywhere. A PAT carries 256
//! random bits, so its SHA-256 reveals nothing; a slow hash would add nothing.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::pat::Pat;

/// A cached token is used only while at least this many seconds of its life remain, so it
/// does not expire on its way to the API (clock skew, a slow request).
pub const MARGIN_SECS: u64 = 30;
/// A cache file larger than this is not ours.
const MAX_ENTRY_BYTES: u64 = 64 * 1024;

/// Which cache file a request maps to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheKey(String);

impl CacheKey {
    /// SHA-256 over every input that changes the token the server would mint, each field
    /// length-prefixed (so `("ab", "c")` and `("a", "bc")` differ) and `None` distinct from
    /// `Some("")`.
    pub fn new(
        issuer: &str,
        client_id: &str,
        audience: Option<&str>,
        resource: Option<&str>,
        scope: Option<&str>,
        pat: &Pat,
    ) -> CacheKey {
        let mut hash = Sha256::new();
        hash.update(b"lanyard-token cache v1");
        let fields = [
            Some(issuer),
            Some(client_id),
            audience,
            resource,
            scope,
            Some(pat.expose()),
        ];
        for field in fields {
            match field {
                None => hash.update([0u8]),
                Some(text) => {
                    hash.update([1u8]);
                    hash.update((text.len() as u64).to_be_bytes());
                    hash.update(text.as_bytes());
                }
            }
        }
        CacheKey(hex::encode(hash.finalize()))
    }

    pub fn file_name(&self) -> String {
        format!("{}.json", self.0)
    }
}

#[derive(Serialize, Deserialize)]
struct Entry {
    access_token: String,
    /// Unix seconds, computed from `expires_in` on the client's clock when it was stored
    /// (not from the JWT's `exp`: the client's and the server's clocks may differ, and
    /// `expires_in` is what RFC 6749 gives clients to go by).
    expires_at: u64,
}

/// What [`Cache::lookup`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Lookup {
    /// A token with more than [`MARGIN_SECS`] to live.
    Fresh(Zeroizing<String>),
    /// No entry.
    Missing,
    /// An entry that is expired or about to be.
    Stale,
    /// An entry that is not valid JSON of the expected shape (or too large): a crash mid-
    /// write in an older version, or someone else's file. Replaced on the next store.
    Corrupt,
    /// An entry others could read or replace (group/other permission bits, a symlink, not a
    /// regular file). Not used: a token another user could have read or planted is not one
    /// to send. Removed, and the caller warns.
    Unsafe(String),
}

pub struct Cache {
    dir: PathBuf,
}

impl Cache {
    pub fn new(dir: impl Into<PathBuf>) -> Cache {
        Cache { dir: dir.into() }
    }

    /// `$XDG_CACHE_HOME/lanyard-token`, else `$HOME/.cache/lanyard-token`.
    pub fn default_dir(env: &dyn Fn(&str) -> Option<std::ffi::OsString>) -> Option<PathBuf> {
        let non_empty = |name: &str| env(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        non_empty("XDG_CACHE_HOME")
            .or_else(|| non_empty("HOME").map(|home| home.join(".cache")))
            .map(|base| base.join("lanyard-token"))
    }

    pub fn path(&self, key: &CacheKey) -> PathBuf {
        self.dir.join(key.file_name())
    }

    /// The cached token for `key`, if it is still good at `now`.
    pub fn lookup(&self, key: &CacheKey, now: u64) -> Lookup {
        let path = self.path(key);
        let meta = match std::fs::symlink_metadata(&path) {
            Ok(meta) => meta,
            Err(_) => return Lookup::Missing,
        };
        if let Some(problem) = unsafe_file(&meta) {
            // Best effort: a file we cannot remove is still never used.
            let _ = std::fs::remove_file(&path);
            return Lookup::Unsafe(problem);
        }
        let mut text = Zeroizing::new(String::new());
        let read = std::fs::File::open(&path)
            .and_then(|f| f.take(MAX_ENTRY_BYTES + 1).read_to_string(&mut text));
        if read.is_err() || text.len() as u64 > MAX_ENTRY_BYTES {
            return Lookup::Corrupt;
        }
        let Ok(entry) = serde_json::from_str::<Entry>(&text) else {
            return Lookup::Corrupt;
        };
        let entry_token = Zeroizing::new(entry.access_token);
        if entry_token.is_empty() {
            return Lookup::Corrupt;
        }
        if now.saturating_add(MARGIN_SECS) >= entry.expires_at {
            return Lookup::Stale;
        }
        Lookup::Fresh(entry_token)
    }

    /// Stores `token`, valid for `expires_in` seconds from `now`. A token that would be
    /// stale at once is not stored. The file is written beside its final name and renamed,
    /// so a concurrent reader sees the old entry or the new one, never half of one.
    pub fn store(
        &self,
        key: &CacheKey,
        token: &str,
        expires_in: u64,
        now: u64,
    ) -> std::io::Result<()> {
        if expires_in <= MARGIN_SECS {
            return Ok(());
        }
        create_private_dir(&self.dir)?;
        let entry = Entry {
            access_token: token.to_owned(),
            expires_at: now.saturating_add(expires_in),
        };
        let json = Zeroizing::new(serde_json::to_vec(&entry).map_err(std::io::Error::other)?);
        drop(Zeroizing::new(entry.access_token));
        // `tempfile` creates the file with mode 0600 on Unix, before anything is written.
        let mut file = tempfile::Builder::new()
            .prefix(".tmp-")
            .tempfile_in(&self.dir)?;
        file.write_all(&json)?;
        file.as_file().sync_all()?;
        file.persist(self.path(key)).map_err(|e| e.error)?;
        Ok(())
    }
}

#[cfg(unix)]
fn unsafe_file(meta: &std::fs::Metadata) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    if !meta.file_type().is_file() {
        return Some("it is not a regular file".into());
    }
    let mode = meta.permissions().mode() & 0o777;
    (mode & 0o077 != 0).then(|| format!("its permissions are {mode:o}, not 600"))
}

#[cfg(not(unix))]
fn unsafe_file(meta: &std::fs::Metadata) -> Option<String> {
    (!meta.file_type().is_file()).then(|| "it is not a regular file".into())
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    const NOW: u64 = 1_700_000_000;

    fn pat() -> Pat {
        let token = lanyard_core::pat_token::mint(&lanyard_core::OsRng);
        Pat::parse(Zeroizing::new(token.token.expose().to_owned()), "test").unwrap()
    }

    fn key(pat: &Pat) -> CacheKey {
        CacheKey::new("https://id.example", "tool", Some("api"), None, None, pat)
    }

    fn fresh(lookup: Lookup) -> String {
        match lookup {
            Lookup::Fresh(token) => token.to_string(),
            other => panic!("not fresh: {other:?}"),
        }
    }

    #[test]
    fn a_stored_token_is_fresh_until_the_margin_then_stale() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().join("sub"));
        let pat = pat();
        let key = key(&pat);
        assert_eq!(cache.lookup(&key, NOW), Lookup::Missing);
        cache.store(&key, "jwt-1", 300, NOW).unwrap();
        assert_eq!(fresh(cache.lookup(&key, NOW)), "jwt-1");
        // Fresh while more than MARGIN_SECS remain…
        assert_eq!(
            fresh(cache.lookup(&key, NOW + 300 - MARGIN_SECS - 1)),
            "jwt-1"
        );
        // …near expiry and past it, not.
        assert_eq!(cache.lookup(&key, NOW + 300 - MARGIN_SECS), Lookup::Stale);
        assert_eq!(cache.lookup(&key, NOW + 300), Lookup::Stale);
        assert_eq!(cache.lookup(&key, NOW + 10_000), Lookup::Stale);
        // A newer token replaces it.
        cache.store(&key, "jwt-2", 300, NOW + 400).unwrap();
        assert_eq!(fresh(cache.lookup(&key, NOW + 400)), "jwt-2");
    }

    #[test]
    fn short_lived_tokens_are_not_stored() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let pat = pat();
        cache.store(&key(&pat), "jwt", MARGIN_SECS, NOW).unwrap();
        assert_eq!(cache.lookup(&key(&pat), NOW), Lookup::Missing);
    }

    #[test]
    fn the_key_separates_every_input_and_never_holds_the_pat() {
        let (a, b) = (pat(), pat());
        let base = key(&a);
        let variants = [
            CacheKey::new("https://id.example", "tool", Some("api"), None, None, &b),
            CacheKey::new("https://other.example", "tool", Some("api"), None, None, &a),
            CacheKey::new("https://id.example", "tool2", Some("api"), None, None, &a),
            CacheKey::new("https://id.example", "tool", None, None, None, &a),
            CacheKey::new("https://id.example", "tool", Some(""), None, None, &a),
            CacheKey::new("https://id.example", "tool", None, Some("api"), None, &a),
            CacheKey::new(
                "https://id.example",
                "tool",
                Some("api"),
                None,
                Some("x"),
                &a,
            ),
            CacheKey::new("https://id.exampl", "etool", Some("api"), None, None, &a),
        ];
        for v in &variants {
            assert_ne!(v, &base);
        }
        assert_eq!(base, key(&a));
        let name = base.file_name();
        assert_eq!(name.len(), 64 + 5);
        assert!(!name.contains(&a.expose()[8..20]));
    }

    #[test]
    fn a_corrupt_or_oversized_entry_is_a_miss_and_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let pat = pat();
        let key = key(&pat);
        cache.store(&key, "jwt", 300, NOW).unwrap();
        let path = cache.path(&key);
        for garbage in [
            b"{\"access_token\": \"jwt\", \"expires_at\":".to_vec(),
            b"not json".to_vec(),
            b"{\"access_token\": \"\", \"expires_at\": 99999999999}".to_vec(),
            b"{\"expires_at\": 99999999999}".to_vec(),
            [b' '; 70_000].to_vec(),
        ] {
            std::fs::write(&path, &garbage).unwrap();
            assert_eq!(cache.lookup(&key, NOW), Lookup::Corrupt);
        }
        cache.store(&key, "jwt-new", 300, NOW).unwrap();
        assert_eq!(fresh(cache.lookup(&key, NOW)), "jwt-new");
    }

    #[cfg(unix)]
    #[test]
    fn files_are_owner_only_and_loose_ones_are_refused_and_removed() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let cache_dir = dir.path().join("cache");
        let cache = Cache::new(&cache_dir);
        let pat = pat();
        let key = key(&pat);
        cache.store(&key, "jwt", 300, NOW).unwrap();
        let path = cache.path(&key);
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&cache_dir), 0o700);
        for loose in [0o644, 0o640, 0o606, 0o660] {
            cache.store(&key, "jwt", 300, NOW).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(loose)).unwrap();
            assert!(
                matches!(cache.lookup(&key, NOW), Lookup::Unsafe(why) if why.contains("permissions")),
                "{loose:o}"
            );
            assert!(!path.exists(), "a loose entry is removed");
        }
        // A symlink (to a file someone else controls) is not followed.
        let planted = dir.path().join("planted.json");
        std::fs::write(
            &planted,
            r#"{"access_token":"evil","expires_at":99999999999}"#,
        )
        .unwrap();
        std::fs::set_permissions(&planted, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::os::unix::fs::symlink(&planted, &path).unwrap();
        assert!(matches!(cache.lookup(&key, NOW), Lookup::Unsafe(_)));
        assert!(planted.exists(), "the link is removed, not its target");
    }
}
