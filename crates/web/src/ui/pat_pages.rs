//! View models for personal access tokens: the list with the create form, and the page that
//! shows a new token once. People see "token", "scope" and "expires".

use askama::Template;
use lanyard_core::model::Pat;

use super::mfa_pages::error_for;
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
    pub revoke_action: String,
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
            revoke_action: format!("/account/pats/{}/revoke", pat.id),
        }
    }
}

/// A scope checkbox of the create form.
#[derive(Debug, Clone, Default)]
pub struct ScopeChoice {
    pub field: String,
    pub value: String,
    pub checked: bool,
}

#[derive(Debug, Clone, Default, Template)]
#[template(path = "pats.html")]
pub struct PatsPage {
    pub theme: Theme,
    pub action: String,
    pub csrf: String,
    pub hidden: Vec<(String, String)>,
    pub pats: Vec<PatView>,
    pub scopes: Vec<ScopeChoice>,
    pub name: String,
    /// Lifetimes in days, the default first.
    pub lifetimes: Vec<i64>,
    pub allow_no_expiry: bool,
    pub notice: Option<String>,
    pub error: Option<FieldError>,
}

impl PatsPage {
    pub fn error_for(&self, field: &str) -> Option<&str> {
        error_for(self.error.as_ref(), field)
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
