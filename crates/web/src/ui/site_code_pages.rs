//! A site user's backup codes (C4, seed 002): the set shown at the end of the site's
//! two-factor set-up or after "Generate new codes" (once, with "I saved my backup codes"),
//! the same set shown again after the password ("Show Backup Codes", used codes marked
//! inactive), and the site account's two-factor page that leads there. Print is the browser's
//! (the stylesheet prints only the codes; the CSP allows no script); "Save to Text File" is a
//! download the server names `<site>_backup_codes_<login>.txt`.

use askama::Template;

use super::mfa_pages::error_for;
use super::{FieldError, Theme};

/// One code of a set on a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetCodeView {
    /// Grouped for reading (`ABCDE-FGHJK`).
    pub code: String,
    pub used: bool,
}

/// Why a set is on the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SetShown {
    /// The first set, at the end of the site's two-factor set-up.
    #[default]
    First,
    /// A new set replacing the old one ("Generate new codes").
    Regenerated,
    /// The current set again, after the password.
    Again,
}

#[derive(Debug, Clone, Default, Template)]
#[template(path = "site_codes.html")]
pub struct SiteCodesPage {
    pub theme: Theme,
    pub site_name: String,
    pub login: String,
    pub codes: Vec<SetCodeView>,
    pub shown: SetShown,
    /// When the set was made, e.g. "22 November 2026 at 14:32 UTC".
    pub generated_text: String,
    /// "Save to Text File": the server's attachment.
    pub download_href: String,
    /// A new set's "I saved my backup codes" form (`First`, `Regenerated`).
    pub action: String,
    pub csrf: String,
    pub hidden: Vec<(String, String)>,
    pub error: Option<FieldError>,
    /// Shown again: where "Generate new codes" and "Done" go.
    pub regenerate_href: String,
    pub done_href: String,
}

impl SiteCodesPage {
    pub fn error_for(&self, field: &str) -> Option<&str> {
        error_for(self.error.as_ref(), field)
    }

    pub fn is_new(&self) -> bool {
        self.shown != SetShown::Again
    }

    pub fn title(&self) -> &'static str {
        match self.shown {
            SetShown::First => "Save your backup codes",
            SetShown::Regenerated => "Your new backup codes",
            SetShown::Again => "Your backup codes",
        }
    }

    pub fn remaining(&self) -> usize {
        self.codes.iter().filter(|c| !c.used).count()
    }
}

/// `/sites/{slug}/account/two-factor`: the site user's two-factor settings — the app, how
/// many backup codes are left — and the password that opens "Show Backup Codes".
#[derive(Debug, Clone, Default, Template)]
#[template(path = "site_two_factor.html")]
pub struct SiteTwoFactorPage {
    pub theme: Theme,
    pub site_name: String,
    pub login: String,
    pub has_app: bool,
    /// `Some((unused, generated_text))` when the user has a set.
    pub set: Option<(u32, String)>,
    /// The password form ("Show Backup Codes").
    pub action: String,
    pub csrf: String,
    pub error: Option<FieldError>,
    pub regenerate_href: String,
}

impl SiteTwoFactorPage {
    pub fn error_for(&self, field: &str) -> Option<&str> {
        error_for(self.error.as_ref(), field)
    }
}

/// The text file "Save to Text File" downloads: who and where, when made, each code on its
/// own line (used ones marked), and how to use them.
pub fn codes_text_file(
    product: &str,
    (site_name, login): (&str, &str),
    generated_text: &str,
    codes: &[SetCodeView],
) -> String {
    let mut text = format!(
        "Backup codes for {login} at {site_name} ({product})\nGenerated {generated_text}\n\n"
    );
    for code in codes {
        text.push_str(&code.code);
        if code.used {
            text.push_str("  (used)");
        }
        text.push('\n');
    }
    text.push_str(
        "\nEach code works once, instead of a code from your authenticator app.\n\
         Generating new codes makes all of these stop working.\n",
    );
    text
}

/// `<site>_backup_codes_<login>.txt` (seed 002).
pub fn codes_file_name(site_slug: &str, login: &str) -> String {
    format!("{site_slug}_backup_codes_{login}.txt")
}
