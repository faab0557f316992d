//! Reading a legacy site's users from a file (C2): CSV with a header, or a JSON array of
//! objects, with the keys `login`, `email`, `role`, `password_hash` and optionally
//! `totp_secret`. Chosen by the file name's extension.
//!
//! Every problem is reported, each with its row and reason, and none of the file is used
//! when there is one: the import is all-or-nothing. Rows are numbered as a person finds them
//! in the file: for CSV the line the record starts on (the header is line 1), for JSON the
//! object's position in the array (the first is 1).
//!
//! Password hashes are only parsed here (`legacy_hash::parse`: format and cost), never
//! checked against anything: there is no password to check them with until the user signs in.
//! Values that are secret (hashes, TOTP secrets) never appear in a problem's reason.

mod check;
mod parse;

use lanyard_core::model::SiteRole;
use zeroize::Zeroizing;

pub use check::{MAX_LOGIN_CHARS, MAX_TOTP_SECRET_BYTES};

/// Larger files are refused before parsing: about 300,000 rows of typical width.
pub const MAX_FILE_BYTES: usize = 64 * 1024 * 1024;
/// More rows are refused (the benchmark imports 100,000).
pub const MAX_ROWS: usize = 200_000;

/// How the file is read, from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Json,
}

impl Format {
    /// `.csv` or `.json`, in any letter case; anything else is no format.
    pub fn from_file_name(name: &str) -> Option<Format> {
        let (_, extension) = name.rsplit_once('.')?;
        match extension.to_ascii_lowercase().as_str() {
            "csv" => Some(Format::Csv),
            "json" => Some(Format::Json),
            _ => None,
        }
    }
}

/// One thing wrong with the file: a row's (with its number) or the whole file's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub row: Option<u64>,
    pub reason: String,
}

impl Problem {
    pub fn file(reason: impl Into<String>) -> Problem {
        Problem {
            row: None,
            reason: reason.into(),
        }
    }

    pub fn row(row: u64, reason: impl Into<String>) -> Problem {
        Problem {
            row: Some(row),
            reason: reason.into(),
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.row {
            Some(row) => write!(f, "row {row}: {}", self.reason),
            None => write!(f, "file: {}", self.reason),
        }
    }
}

/// A row as read, before any check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawRow {
    pub row: u64,
    pub login: String,
    pub email: String,
    pub role: String,
    pub password_hash: String,
    pub totp_secret: Option<String>,
}

/// A row that passed every check of the file on its own (the site's existing users are the
/// service's to compare with).
#[derive(Clone)]
pub struct CheckedRow {
    pub row: u64,
    pub login: String,
    pub login_normalized: String,
    pub email: String,
    pub email_normalized: String,
    pub role: SiteRole,
    pub password_hash: String,
    /// The decoded TOTP secret, to be sealed for the principal.
    pub totp_secret: Option<Zeroizing<Vec<u8>>>,
}

impl std::fmt::Debug for CheckedRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckedRow")
            .field("row", &self.row)
            .field("login", &self.login)
            .field("email", &self.email)
            .field("role", &self.role)
            .field("totp_secret", &self.totp_secret.as_ref().map(|_| "…"))
            .finish_non_exhaustive()
    }
}

/// Every row of the file, checked; or every problem found.
pub fn read(bytes: &[u8], format: Format) -> Result<Vec<CheckedRow>, Vec<Problem>> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(vec![Problem::file(format!(
            "larger than {} MiB",
            MAX_FILE_BYTES / (1024 * 1024)
        ))]);
    }
    let (raw, mut problems) = match format {
        Format::Csv => parse::csv_rows(bytes),
        Format::Json => parse::json_rows(bytes),
    };
    if raw.is_empty() && problems.is_empty() {
        problems.push(Problem::file("no users in the file"));
    }
    let checked = check::check_rows(raw, &mut problems);
    if problems.is_empty() {
        Ok(checked)
    } else {
        problems.sort_by_key(|p| p.row);
        Err(problems)
    }
}
