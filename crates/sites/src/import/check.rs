//! Each row on its own (login, email, role, hash format, TOTP secret) and the rows against
//! each other (a login or an email at most once per file).

use std::collections::HashMap;

use data_encoding::BASE32_NOPAD;
use lanyard_core::model::SiteRole;
use lanyard_mfa::totp::MIN_SECRET_LEN;
use zeroize::Zeroizing;

use super::{CheckedRow, Problem, RawRow};
use crate::legacy_hash;

pub const MAX_LOGIN_CHARS: usize = 128;
/// 512 bits: more than any authenticator app uses.
pub const MAX_TOTP_SECRET_BYTES: usize = 64;
/// Longer role values are not quoted back in full.
const QUOTED_MAX: usize = 40;

fn quoted(value: &str) -> String {
    let shown: String = value.chars().take(QUOTED_MAX).collect();
    let more = if value.chars().count() > QUOTED_MAX {
        "…"
    } else {
        ""
    };
    format!("{shown:?}{more}")
}

pub(super) fn check_rows(raw: Vec<RawRow>, problems: &mut Vec<Problem>) -> Vec<CheckedRow> {
    let mut logins: HashMap<String, u64> = HashMap::new();
    let mut emails: HashMap<String, u64> = HashMap::new();
    let mut checked = Vec::with_capacity(raw.len());
    for row in raw {
        let before = problems.len();
        let number = row.row;
        let mut refuse = |reason: String| problems.push(Problem::row(number, reason));
        let login = check_login(&row.login).map_err(&mut refuse).ok();
        let email = check_email(&row.email).map_err(&mut refuse).ok();
        let role = SiteRole::parse(row.role.trim())
            .ok_or_else(|| {
                format!(
                    "bad role {}: licensed_user, admin or client_user",
                    quoted(row.role.trim())
                )
            })
            .map_err(&mut refuse)
            .ok();
        let hash = row.password_hash.trim();
        if let Err(e) = legacy_hash::parse(hash) {
            refuse(e.to_string());
        }
        let totp = row
            .totp_secret
            .as_deref()
            .map(check_totp_secret)
            .transpose()
            .map_err(&mut refuse)
            .ok()
            .flatten()
            .flatten();
        if let Some((_, normalized)) = &login {
            if let Some(first) = logins.get(normalized) {
                refuse(format!(
                    "duplicate login {} (first on row {first})",
                    quoted(normalized)
                ));
            } else {
                logins.insert(normalized.clone(), number);
            }
        }
        if let Some((_, normalized)) = &email {
            if let Some(first) = emails.get(normalized) {
                refuse(format!(
                    "duplicate email {normalized} (first on row {first})"
                ));
            } else {
                emails.insert(normalized.clone(), number);
            }
        }
        if problems.len() > before {
            continue;
        }
        let (Some((login, login_normalized)), Some((email, email_normalized)), Some(role)) =
            (login, email, role)
        else {
            continue;
        };
        checked.push(CheckedRow {
            row: number,
            login,
            login_normalized,
            email,
            email_normalized,
            role,
            password_hash: hash.to_owned(),
            totp_secret: totp,
        });
    }
    checked
}

/// The login as stored and its lookup form (lower case).
fn check_login(value: &str) -> Result<(String, String), String> {
    let login = value.trim();
    if login.is_empty() {
        return Err("the login is empty".to_owned());
    }
    if login.chars().count() > MAX_LOGIN_CHARS {
        return Err(format!(
            "the login is longer than {MAX_LOGIN_CHARS} characters"
        ));
    }
    if login.chars().any(char::is_control) {
        return Err("the login contains control characters".to_owned());
    }
    Ok((login.to_owned(), login.to_lowercase()))
}

fn check_email(value: &str) -> Result<(String, String), String> {
    let email = value.trim();
    match lanyard_identity::normalize_email(email) {
        Ok(normalized) => Ok((email.to_owned(), normalized)),
        Err(lanyard_identity::IdentityError::InvalidEmail(why)) => Err(format!("bad email: {why}")),
        Err(_) => Err("bad email".to_owned()),
    }
}

/// An empty value is no secret. Spaces, `=` padding and lower case are tolerated (apps show
/// secrets in groups of four, some sites stored them padded or in lower case).
fn check_totp_secret(value: &str) -> Result<Option<Zeroizing<Vec<u8>>>, String> {
    let text: Zeroizing<String> = Zeroizing::new(
        value
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .trim_end_matches('=')
            .to_ascii_uppercase(),
    );
    if text.is_empty() {
        return Ok(None);
    }
    if text.len() > MAX_TOTP_SECRET_BYTES * 2 {
        return Err(format!(
            "bad TOTP secret: longer than {} bits",
            MAX_TOTP_SECRET_BYTES * 8
        ));
    }
    let secret = BASE32_NOPAD
        .decode(text.as_bytes())
        .map(Zeroizing::new)
        .map_err(|_| "bad TOTP secret: not base32 (RFC 4648)".to_owned())?;
    if secret.len() < MIN_SECRET_LEN {
        return Err(format!(
            "bad TOTP secret: shorter than {} bits",
            MIN_SECRET_LEN * 8
        ));
    }
    if secret.len() > MAX_TOTP_SECRET_BYTES {
        return Err(format!(
            "bad TOTP secret: longer than {} bits",
            MAX_TOTP_SECRET_BYTES * 8
        ));
    }
    Ok(Some(secret))
}
