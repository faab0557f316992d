//! View models for the account pages' confirmation steps and one-time pages: "are you
//! sure?" before a security reduction (issue 12 item 8), and what a one-time page shows once
//! its secret was shown (item 6).

use askama::Template;

use super::{Theme, safe_href};

/// "Are you sure?" before an action that lowers the account's protection: what it is, what
/// follows from it, a CSRF-protected button, and a Cancel link back.
#[derive(Debug, Clone, Default, Template)]
#[template(path = "confirm.html")]
pub struct ConfirmPage {
    pub theme: Theme,
    /// The question, e.g. "Turn off your authenticator app?".
    pub title: String,
    /// What will happen, one paragraph each.
    pub consequences: Vec<String>,
    pub action: String,
    pub csrf: String,
    /// The button, e.g. "Turn off the app".
    pub button: String,
    /// Where Cancel goes (the page the action was offered on).
    pub cancel_href: String,
}

impl ConfirmPage {
    pub fn cancel_link(&self) -> Option<&str> {
        safe_href(&self.cancel_href)
    }
}

/// A one-time page loaded again, or one that is not (or no longer) there.
#[derive(Debug, Clone, Default, Template)]
#[template(path = "shown_once.html")]
pub struct ShownOncePage {
    pub theme: Theme,
    pub title: String,
    pub paragraphs: Vec<String>,
    /// "Create a new one"-style link, when there is a way to get another.
    pub next: Option<(String, String)>,
    /// Back to the page the secret belongs to.
    pub back_href: String,
    pub back_text: String,
}
