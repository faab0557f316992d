//! The injected source of randomness and the one helper that turns it into opaque tokens.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

pub trait Rng: Send + Sync + 'static {
    fn fill(&self, buf: &mut [u8]);
}

/// The operating system's CSPRNG.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsRng;

impl Rng for OsRng {
    // The one place OS randomness enters the program; everything else gets it through the
    // injected `Rng`, which clippy.toml enforces.
    #[allow(clippy::disallowed_methods)]
    fn fill(&self, buf: &mut [u8]) {
        // getrandom only fails when the OS has no entropy source at all; there is nothing
        // safe to fall back to, so abort rather than mint guessable secrets.
        if getrandom::fill(buf).is_err() {
            std::process::abort();
        }
    }
}

/// `bytes` random bytes, base64url without padding.
pub fn random_token(rng: &dyn Rng, bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rng.fill(&mut buf);
    URL_SAFE_NO_PAD.encode(&buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_tokens_differ_and_have_the_asked_length() {
        let a = random_token(&OsRng, 32);
        let b = random_token(&OsRng, 32);
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
    }
}
