//! Server-held keys in the data folder for the embedded default: created once with mode 0600
//! and reused, so restarts keep sessions and tokens valid.

use std::io::Write;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use lanyard_core::Rng;

pub fn load_or_create_key(path: &Path, what: &str, rng: &dyn Rng) -> std::io::Result<String> {
    match std::fs::read_to_string(path) {
        Ok(text) => return Ok(text.trim().to_owned()),
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        Err(_) => {}
    }
    if let Some(parent) = path.parent() {
        lanyard_store::files::create_private_dir(parent)?;
    }
    let mut bytes = [0u8; 32];
    rng.fill(&mut bytes);
    let text = STANDARD.encode(bytes);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    tracing::warn!(
        path = %path.display(),
        "generated a new {what}; keep this file secret and back it up (set it in config for production)"
    );
    Ok(text)
}
