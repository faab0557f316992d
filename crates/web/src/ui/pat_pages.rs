//! View models for personal access tokens: the list with the create form, and the page that
//! shows a new token once. People see "token", "scope" and "expires".

use askama::Template;
use lanyard_core::model::{Pat, Site, SiteUser};

use super::times::Times;
use super::{FieldError, Theme};

/// One row of the list.
#[derive(Debug, Clone, Default)]
pub struct PatView {
    pub name: String,
    pub display: String,
    pub scopes: String,
    pub created_text: String,
    pub last_used_text: String,
    pub expires_text: String,
    pub expired: bool,
    /// The revoke confirmation page (its form posts to the same path).
    pub revoke_action: String,
    /// "Studio (alice)" for a token tied to a site user (E2).
    pub site_text: Option<String>,
}

impl PatView {
    pub fn of(pat: &Pat, times: &Times) -> Self {
        Self {
            name: pat.name.clone(),
            display: pat.display.clone(),
            scopes: pat.scopes.join(", "),
            created_text: times.date(pat.created_at),
            last_used_text: pat
                .last_used_at
                .map_or_else(|| "never".to_owned(), |at| times.date_time(at)),
            expires_text: pat
                .expires_at
                .map_or_else(|| "never".to_owned(), |at| times.date(at)),
            expired: !pat.is_live(times.now()),
            revoke_action: crate::kit::paths::ACCOUNT_PAT_REVOKE
                .replace("{id}", &pat.id.to_string()),
            site_text: None,
        }
    }

    /// Names the site user a tied token is for, among the account's `sites`; one no longer
    /// linked is said so (its exchanges are refused).
    pub fn with_site(mut self, pat: &Pat, sites: &[(Site, SiteUser)]) -> Self {
        self.site_text = pat.site_user.map(|id| {
            sites.iter().find(|(_, user)| user.id == id).map_or_else(
                || "a site user no longer linked to your account".to_owned(),
                |(site, user)| format!("{} ({})", site.name, user.login),
            )
        });
        self
    }
}

/// One choice of the create form's "Site user" list: the site's slug, "Studio (alice)".
#[derive(Debug, Clone, Default)]
pub struct SiteChoice {
    pub value: String,
    pub text: String,
    pub selected: bool,
}

/// A scope checkbox of the create form.
#[derive(Debug, Clone, Default)]
pub struct ScopeChoice {
    pub field: String,
    pub value: String,
    /// From the `[[resources]]` entry's `scope_descriptions`, when it has one.
    pub description: Option<String>,
    pub checked: bool,
}

/// The scopes of one API, under its name and description from `[[resources]]`.
#[derive(Debug, Clone, Default)]
pub struct ScopeGroup {
    pub name: String,
    pub description: Option<String>,
    pub scopes: Vec<ScopeChoice>,
}

/// One expiry choice: "30 days (until 6 January 2027)".
#[derive(Debug, Clone, Default)]
pub struct LifetimeChoice {
    pub value: String,
    pub text: String,
    pub selected: bool,
}

#[derive(Debug, Clone, Default, Template)]
#[template(path = "pats.html")]
pub struct PatsPage {
    pub theme: Theme,
    pub action: String,
    pub csrf: String,
    pub hidden: Vec<(String, String)>,
    pub pats: Vec<PatView>,
    pub scope_groups: Vec<ScopeGroup>,
    pub name: String,
    /// Shortest first, "Never" last where allowed.
    pub lifetimes: Vec<LifetimeChoice>,
    /// The site users a token may be for (E2); empty: the form has no such field.
    pub site_choices: Vec<SiteChoice>,
    pub notice: Option<String>,
    /// Every field's problem at once (the summary lists them all).
    pub errors: Vec<FieldError>,
}

impl PatsPage {
    pub fn error_for(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|e| e.field_id == field)
            .map(|e| e.message.as_str())
    }

    pub fn has_scopes(&self) -> bool {
        self.scope_groups.iter().any(|g| !g.scopes.is_empty())
    }
}

/// Shows a new token, the only time it is ever shown.
#[derive(Debug, Clone, Default, Template)]
#[template(path = "pat_created.html")]
pub struct PatCreatedPage {
    pub theme: Theme,
    pub name: String,
    pub token: String,
    pub back: String,
}

impl PatCreatedPage {
    /// The "Download" link: the token as a text file in a `data:` URL (no request, nothing
    /// stored; a download is a navigation, which the CSP does not restrict). Tokens are
    /// base64url and `_`, so they need no escaping after the comma.
    pub fn download_href(&self) -> String {
        let token: String = self
            .token
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
            .collect();
        format!("data:text/plain;charset=utf-8,{token}%0A")
    }

    /// A file name from the token's name: lower-case letters and digits, runs of anything
    /// else as one dash.
    pub fn download_name(&self) -> String {
        let mut stem = String::new();
        for c in self.name.chars() {
            if c.is_ascii_alphanumeric() {
                stem.push(c.to_ascii_lowercase());
            } else if !stem.is_empty() && !stem.ends_with('-') {
                stem.push('-');
            }
        }
        let stem: String = stem.trim_end_matches('-').chars().take(40).collect();
        let stem = stem.trim_end_matches('-');
        if stem.is_empty() {
            "token.txt".to_owned()
        } else {
            format!("token-{stem}.txt")
        }
    }
}
