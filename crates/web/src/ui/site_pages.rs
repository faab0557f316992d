//! The pages of a site's sign-in (C2, C5, F2): the legacy site login (in `dual` also the way
//! to the identity sign-in, in `identity` only that), and the page for a person whose
//! identity account has no user on the site.

use askama::Template;

use super::{FieldError, Theme, mfa_pages::error_for};

/// "Sign in to <site>": the site login and password, and in `dual` the identity sign-in.
#[derive(Debug, Clone, Default, Template)]
#[template(path = "site_login.html")]
pub struct SiteLoginPage {
    pub theme: Theme,
    pub action: String,
    pub csrf: String,
    pub hidden: Vec<(String, String)>,
    pub site_name: String,
    /// What was typed before an error (never the password).
    pub login: String,
    /// The legacy form is offered (`legacy`, `dual`).
    pub legacy_open: bool,
    /// "Sign in with your <product> account", same return (`dual`, `identity`).
    pub identity_href: Option<String>,
    pub error: Option<FieldError>,
}

impl SiteLoginPage {
    pub fn error_for(&self, field: &str) -> Option<&str> {
        error_for(self.error.as_ref(), field)
    }
}

/// A person is signed in whose identity account is no user of the site: no code, and the ways
/// on (sign out; in `dual`, the site login).
#[derive(Debug, Clone, Default, Template)]
#[template(path = "site_no_access.html")]
pub struct SiteNoAccessPage {
    pub theme: Theme,
    pub site_name: String,
    pub account_email: String,
    pub sign_out_href: String,
    /// The site's own login, while it is offered.
    pub site_login_href: Option<String>,
}
