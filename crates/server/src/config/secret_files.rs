//! `*_file` indirection for secrets: container platforms mount secrets as files, and a
//! value read from a file never shows up in the process environment or `ps`.

use std::path::{Path, PathBuf};

use super::{Config, ConfigError};

/// Replaces each secret whose `*_file` key is set with the file's content (surrounding
/// whitespace trimmed, since mounted secrets usually end in a newline).
pub(super) fn read_into(config: &mut Config) -> Result<(), ConfigError> {
    resolve(&mut config.keys.kek, &config.keys.kek_file, "keys.kek_file")?;
    resolve(
        &mut config.keys.token_hash_key,
        &config.keys.token_hash_key_file,
        "keys.token_hash_key_file",
    )?;
    resolve(
        &mut config.database.url,
        &config.database.url_file,
        "database.url_file",
    )?;
    resolve(
        &mut config.ephemeral.redis_url,
        &config.ephemeral.redis_url_file,
        "ephemeral.redis_url_file",
    )?;
    resolve(
        &mut config.mail.smtp_password,
        &config.mail.smtp_password_file,
        "mail.smtp_password_file",
    )?;
    Ok(())
}

fn resolve(value: &mut String, file: &PathBuf, key: &'static str) -> Result<(), ConfigError> {
    if file.as_os_str().is_empty() {
        return Ok(());
    }
    let invalid = |reason: String| ConfigError::Invalid { key, reason };
    if !value.is_empty() {
        return Err(invalid(
            "set either the value or the file that holds it, not both".to_owned(),
        ));
    }
    // The error names the file and the OS reason, never any of the content.
    let text = std::fs::read_to_string(file)
        .map_err(|e| invalid(format!("can not read {}: {e}", file.display())))?;
    let text = text.trim();
    if text.is_empty() {
        return Err(invalid(format!("{} is empty", file.display())));
    }
    warn_if_readable_by_others(file, key);
    *value = text.to_owned();
    Ok(())
}

#[cfg(unix)]
fn warn_if_readable_by_others(file: &Path, key: &str) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(file)
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(
            path = %file.display(),
            key,
            "secret file is readable by group or others; chmod 600 it"
        );
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_file: &Path, _key: &str) {}
