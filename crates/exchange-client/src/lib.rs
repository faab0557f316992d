//! Reference client for Lanyard's token exchange: trades a personal access token (PAT) for a
//! short-lived JWT access token (RFC 8693) and caches the JWT until shortly before it
//! expires. The `lanyard-token` binary prints the JWT, so a shell can write
//!
//! ```text
//! curl -H "Authorization: Bearer $(lanyard-token --issuer https://id.example.com \
//!     --client-id my-tool --pat-file ~/.config/my-tool/pat --audience api.example.com)" …
//! ```
//!
//! Meant to be copied into a tool's own repository: it depends on common crates.io crates
//! only. The rules it follows, and why:
//!
//! - The PAT comes from a file or the `LANYARD_PAT` environment variable, never from the
//!   command line: argv is visible to every user of the machine (`ps`) and lands in shell
//!   history. Anything token-like on the command line is refused without being echoed.
//! - The PAT's shape and checksum are checked offline ([`pat::is_well_formed`]): a wrong
//!   file fails at once instead of counting against the server's failure throttle.
//! - The token endpoint comes from discovery, whose `issuer` must match (RFC 8414 §3.3), and
//!   the PAT only travels over HTTPS (plain HTTP to loopback only, for development).
//! - The cache never holds the PAT: a file per (issuer, client, audience, resource, scope,
//!   SHA-256 of the PAT), owner-only, ignored if anyone else could read it.
//! - Errors name the OAuth error code and never carry a token.
//!
//! The server side is documented in `docs/pats.md`.

pub mod cache;
pub mod cli;
pub mod exchange;
pub mod pat;

pub use cache::{Cache, CacheKey, Lookup};
pub use cli::run;
pub use exchange::{ClientAuth, Exchange, Issued};
pub use pat::Pat;

/// Seconds since the Unix epoch. A trait so that tests can move time; the binary uses
/// [`SystemClock`].
pub trait Clock: Send + Sync {
    fn now(&self) -> u64;
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    // The one place that reads the wall clock; everything else gets a `Clock`.
    #[allow(clippy::disallowed_methods)]
    fn now(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }
}

/// Everything that can go wrong. No variant ever holds a PAT or an access token.
#[derive(Debug)]
pub enum Error {
    /// Bad command line or environment (exit code 2).
    Usage(String),
    /// The PAT could not be read, or is not one.
    Pat(String),
    /// The issuer's metadata could not be fetched or is unusable.
    Discovery(String),
    /// The token endpoint answered with an OAuth error.
    Refused {
        status: u16,
        /// The OAuth error code (`invalid_grant`, …), or `http_<status>` without one.
        error: String,
        description: Option<String>,
        retry_after: Option<u64>,
    },
    /// Network trouble or a response that is not what RFC 8693 describes.
    Http(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Usage(m) | Error::Pat(m) | Error::Http(m) => f.write_str(m),
            Error::Discovery(m) => write!(f, "discovery failed: {m}"),
            Error::Refused {
                status,
                error,
                description,
                retry_after,
            } => {
                write!(
                    f,
                    "the server refused the exchange (HTTP {status}): {error}"
                )?;
                if let Some(d) = description {
                    write!(f, " ({d})")?;
                }
                if let Some(secs) = retry_after {
                    write!(f, "; retry after {secs} s")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for Error {}
