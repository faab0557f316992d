//! The pages an invitation link opens (C5, S41): what the invitation is for and the one
//! thing to do next — sign in with the account it was sent to, or create that account (its
//! email shown, not editable). People read "invitation", "site", "account".

use askama::Template;

use super::mfa_pages::error_for;
use super::{FieldError, Theme};

/// What the invitation page offers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ClaimStep {
    /// Not signed in (or not with an identity account): sign in with the invitation's account.
    #[default]
    SignIn,
    /// Signed in with the invitation's account: confirm the link.
    Link,
    /// No account has the email: create it.
    Create,
}

#[derive(Debug, Clone, Default, Template)]
#[template(path = "migrate_claim.html")]
pub struct ClaimPage {
    pub theme: Theme,
    pub action: String,
    pub csrf: String,
    /// The token, back in the form's body (never again in an address).
    pub hidden: Vec<(String, String)>,
    pub step: ClaimStep,
    pub site_name: String,
    pub login: String,
    /// The invitation's email: the account to sign in with, or the new account's.
    pub email: String,
    /// "14 December 2026 at 09:00 UTC (in 14 days)".
    pub expires_text: String,
    /// Create: what was typed.
    pub name: String,
    pub min_len: usize,
    pub error: Option<FieldError>,
}

impl ClaimPage {
    pub fn error_for(&self, field: &str) -> Option<&str> {
        error_for(self.error.as_ref(), field)
    }

    pub fn is_create(&self) -> bool {
        self.step == ClaimStep::Create
    }

    pub fn is_link(&self) -> bool {
        self.step == ClaimStep::Link
    }
}

#[derive(Debug, Clone, Default, Template)]
#[template(path = "migrate_claim_done.html")]
pub struct ClaimDonePage {
    pub theme: Theme,
    /// True when the account was just created: its first sign-in comes next.
    pub created: bool,
    pub sign_in_href: String,
}
