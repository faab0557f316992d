//! The pages of sign-up, email verification, password reset and email change (A2): a form
//! per question, one page that says "check your email", one that asks to confirm what a link
//! does (its token travels in the form, never again in an address), and one that says what
//! was done. People read "account", "email address", "link".

use askama::Template;

use super::mfa_pages::error_for;
use super::{FieldError, Theme};

/// `/register`: email, name, password; or, with sign-up off, "by invitation only".
#[derive(Debug, Clone, Default, Template)]
#[template(path = "register.html")]
pub struct RegisterPage {
    pub theme: Theme,
    pub action: String,
    pub csrf: String,
    pub open: bool,
    pub email: String,
    pub name: String,
    pub min_len: usize,
    pub error: Option<FieldError>,
}

impl RegisterPage {
    pub fn error_for(&self, field: &str) -> Option<&str> {
        error_for(self.error.as_ref(), field)
    }
}

/// `/password/forgot`: the email address.
#[derive(Debug, Clone, Default, Template)]
#[template(path = "password_forgot.html")]
pub struct ForgotPage {
    pub theme: Theme,
    pub action: String,
    pub csrf: String,
    pub email: String,
    pub error: Option<FieldError>,
}

impl ForgotPage {
    pub fn error_for(&self, field: &str) -> Option<&str> {
        error_for(self.error.as_ref(), field)
    }
}

/// `/password/reset`: the new password, for the account the link names.
#[derive(Debug, Clone, Default, Template)]
#[template(path = "password_reset.html")]
pub struct ResetPage {
    pub theme: Theme,
    pub action: String,
    pub csrf: String,
    /// The token, back in the form's body.
    pub hidden: Vec<(String, String)>,
    /// For password managers (never submitted).
    pub email: String,
    pub expires_text: String,
    pub min_len: usize,
    pub error: Option<FieldError>,
}

impl ResetPage {
    pub fn error_for(&self, field: &str) -> Option<&str> {
        error_for(self.error.as_ref(), field)
    }
}

/// What a link will do, and a button to do it (a link opened by a mail scanner changes
/// nothing).
#[derive(Debug, Clone, Default, Template)]
#[template(path = "link_confirm.html")]
pub struct LinkConfirmPage {
    pub theme: Theme,
    pub action: String,
    pub csrf: String,
    pub hidden: Vec<(String, String)>,
    pub heading: String,
    pub text: String,
    pub expires_text: String,
    pub button: String,
    /// Needed by the shared error summary; these pages have no field.
    pub error: Option<FieldError>,
}

/// A page that says what happened (or what to look for in the mailbox) and where to go.
#[derive(Debug, Clone, Default, Template)]
#[template(path = "account_message.html")]
pub struct MessagePage {
    pub theme: Theme,
    pub heading: String,
    pub paragraphs: Vec<String>,
    /// The way on: text and address.
    pub link: Option<(String, String)>,
}
