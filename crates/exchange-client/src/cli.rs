//! The `lanyard-token` command line. Everything the process touches — arguments,
//! environment, clock, output — comes in as a parameter, so tests run the real command in
//! process with a clock they move.

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;

use clap::Parser;
use url::Url;
use zeroize::Zeroizing;

use crate::cache::{Cache, CacheKey, Lookup};
use crate::exchange::{self, ClientAuth, Exchange};
use crate::pat::{MAX_FILE_BYTES, Pat};
use crate::{Clock, Error};

/// The variable a PAT may come from when `--pat-file` is not given.
pub const PAT_ENV: &str = "LANYARD_PAT";
/// The variable a client secret may come from when `--client-secret-file` is not given.
pub const CLIENT_SECRET_ENV: &str = "LANYARD_CLIENT_SECRET";
/// Prefixes of Lanyard secrets (PATs, client secrets). An argument containing one is
/// refused before parsing, so that not even the parser's error message repeats it.
const SECRET_PREFIXES: [&str; 2] = ["lyd_pat_", "lyd_cs_"];

/// Trades a Lanyard personal access token for a short-lived access token (RFC 8693) and
/// prints it. The token is cached until 30 s before it expires.
///
/// There is deliberately no option that takes the PAT itself: the command line is visible
/// to other users and kept in shell history.
#[derive(Debug, Parser)]
#[command(name = "lanyard-token", version)]
#[command(
    after_help = "The PAT is read from --pat-file, else from $LANYARD_PAT.\n\
    Example: curl -H \"Authorization: Bearer $(lanyard-token --issuer https://id.example.com \
    --client-id my-tool --pat-file ~/.config/my-tool/pat --audience api.example.com)\" …"
)]
pub struct Args {
    /// The Lanyard issuer URL (its discovery document names the token endpoint).
    #[arg(long, value_name = "URL")]
    pub issuer: String,
    /// The client id registered for this tool (allowed the token-exchange grant).
    #[arg(long, value_name = "ID")]
    pub client_id: String,
    /// File holding the PAT, `-` for stdin (at most 4096 bytes; whitespace around it is
    /// ignored). Without it, the PAT comes from $LANYARD_PAT.
    #[arg(long, value_name = "PATH")]
    pub pat_file: Option<PathBuf>,
    /// File holding the client secret, for a confidential client. Without it,
    /// $LANYARD_CLIENT_SECRET is used if set; otherwise the client is public.
    #[arg(long, value_name = "PATH")]
    pub client_secret_file: Option<PathBuf>,
    /// How the client secret is sent (the method the client was registered with).
    #[arg(long, value_enum, default_value = "basic")]
    pub client_auth: ClientAuth,
    /// The API the token is for (RFC 8693 `audience`).
    #[arg(long, value_name = "ID")]
    pub audience: Option<String>,
    /// The API the token is for, as a URI (RFC 8707 `resource`).
    #[arg(long, value_name = "URI")]
    pub resource: Option<String>,
    /// Space-separated scopes, narrower than the PAT's.
    #[arg(long, value_name = "SCOPES")]
    pub scope: Option<String>,
    /// Where tokens are cached [default: $XDG_CACHE_HOME/lanyard-token or
    /// ~/.cache/lanyard-token].
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Always ask the server; neither read nor write the cache.
    #[arg(long)]
    pub no_cache: bool,
}

/// Runs the command: `argv` with the program name first, `env` to read variables. Returns
/// the exit code: 0 with the token on `stdout`, 1 on a failed exchange, 2 on bad usage.
pub async fn run(
    argv: Vec<OsString>,
    env: &dyn Fn(&str) -> Option<OsString>,
    clock: &dyn Clock,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> u8 {
    if argv.iter().any(|a| {
        SECRET_PREFIXES
            .iter()
            .any(|p| a.to_string_lossy().contains(p))
    }) {
        let _ = writeln!(
            stderr,
            "lanyard-token: a secret was given on the command line, where other users and \
             the shell history can see it; put the PAT in a file (--pat-file) or in \
             ${PAT_ENV}, and consider revoking the one you typed"
        );
        return 2;
    }
    let args = match Args::try_parse_from(argv) {
        Ok(args) => args,
        Err(e) => {
            let _ = match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    write!(stdout, "{e}")
                }
                _ => write!(stderr, "{e}"),
            };
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    match token(&args, env, clock, stderr).await {
        Ok(token) => {
            // A newline for people; `$(…)` drops it.
            if writeln!(stdout, "{}", token.as_str()).is_err() {
                return 1;
            }
            0
        }
        Err(e) => {
            let _ = writeln!(stderr, "lanyard-token: {e}");
            match e {
                Error::Usage(_) => 2,
                _ => 1,
            }
        }
    }
}

/// The cached token, or a new one from the server.
async fn token(
    args: &Args,
    env: &dyn Fn(&str) -> Option<OsString>,
    clock: &dyn Clock,
    stderr: &mut dyn Write,
) -> Result<Zeroizing<String>, Error> {
    let issuer_text = args.issuer.trim_end_matches('/');
    let issuer = Url::parse(issuer_text)
        .map_err(|_| Error::Usage(format!("--issuer {issuer_text} is not a URL")))?;
    exchange::check_transport(&issuer, "issuer")?;
    let pat = read_pat(args, env)?;
    let client_secret = read_secret(args, env)?;
    let request = Exchange {
        issuer,
        client_id: args.client_id.clone(),
        client_secret,
        client_auth: args.client_auth,
        audience: args.audience.clone(),
        resource: args.resource.clone(),
        scope: args.scope.clone(),
    };

    let cache = if args.no_cache {
        None
    } else {
        let dir = args.cache_dir.clone().or_else(|| Cache::default_dir(env));
        if dir.is_none() {
            let _ = writeln!(
                stderr,
                "lanyard-token: no cache directory (set HOME, XDG_CACHE_HOME or --cache-dir); not caching"
            );
        }
        dir.map(Cache::new)
    };
    let key = CacheKey::new(
        issuer_text,
        &args.client_id,
        args.audience.as_deref(),
        args.resource.as_deref(),
        args.scope.as_deref(),
        &pat,
    );
    if let Some(cache) = &cache {
        match cache.lookup(&key, clock.now()) {
            Lookup::Fresh(token) => return Ok(token),
            Lookup::Unsafe(why) => {
                let _ = writeln!(
                    stderr,
                    "lanyard-token: ignored and removed the cached token {}: {why}",
                    cache.path(&key).display()
                );
            }
            Lookup::Missing | Lookup::Stale | Lookup::Corrupt => {}
        }
    }

    let http = exchange::http_client()?;
    let endpoint = request.token_endpoint(&http).await?;
    let issued = request.run(&http, &endpoint, &pat).await?;
    if let (Some(cache), Some(expires_in)) = (&cache, issued.expires_in) {
        // The time the answer arrived: the token's life is counted from no earlier.
        if let Err(e) = cache.store(&key, &issued.access_token, expires_in, clock.now()) {
            let _ = writeln!(stderr, "lanyard-token: could not cache the token: {e}");
        }
    }
    Ok(issued.access_token)
}

fn read_pat(args: &Args, env: &dyn Fn(&str) -> Option<OsString>) -> Result<Pat, Error> {
    match (&args.pat_file, env(PAT_ENV)) {
        (Some(_), Some(_)) => Err(Error::Usage(format!(
            "both --pat-file and ${PAT_ENV} are set; give the PAT one way"
        ))),
        (Some(path), None) => Pat::from_file(path),
        (None, Some(value)) => {
            if value.len() as u64 > MAX_FILE_BYTES {
                return Err(Error::Pat(format!("${PAT_ENV} is too long to be a PAT")));
            }
            let text = value
                .into_string()
                .map_err(|_| Error::Pat(format!("${PAT_ENV} is not text")))?;
            Pat::parse(Zeroizing::new(text), &format!("${PAT_ENV}"))
        }
        (None, None) => Err(Error::Usage(format!(
            "no PAT: give --pat-file PATH or set ${PAT_ENV}"
        ))),
    }
}

fn read_secret(
    args: &Args,
    env: &dyn Fn(&str) -> Option<OsString>,
) -> Result<Option<Zeroizing<String>>, Error> {
    let text = match (&args.client_secret_file, env(CLIENT_SECRET_ENV)) {
        (Some(path), _) => {
            let mut bytes = std::fs::read(path).map(Zeroizing::new).map_err(|e| {
                Error::Usage(format!(
                    "cannot read the client secret file {}: {e}",
                    path.display()
                ))
            })?;
            String::from_utf8(std::mem::take(&mut *bytes))
                .map_err(|_| Error::Usage(format!("{} is not text", path.display())))?
        }
        (None, Some(value)) => value
            .into_string()
            .map_err(|_| Error::Usage(format!("${CLIENT_SECRET_ENV} is not text")))?,
        (None, None) => return Ok(None),
    };
    let text = Zeroizing::new(text);
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(Error::Usage("the client secret is empty".into()));
    }
    Ok(Some(Zeroizing::new(trimmed.to_owned())))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn no_option_takes_a_token() {
        use clap::CommandFactory;
        let command = Args::command();
        let names: Vec<String> = command
            .get_arguments()
            .filter_map(|a| a.get_long().map(str::to_owned))
            .collect();
        for name in &names {
            assert!(
                !matches!(name.as_str(), "pat" | "token" | "client-secret" | "secret"),
                "--{name}"
            );
        }
        assert!(
            command.get_positionals().next().is_none(),
            "no positional arguments"
        );
    }
}
