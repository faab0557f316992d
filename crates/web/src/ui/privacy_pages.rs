//! The account's privacy page (A4: the categories with their switches, the required one
//! shown on and disabled, and the list of the account's changes) and its connected
//! applications page (F3).

use askama::Template;

use super::{FieldError, Theme};

#[derive(Debug, Clone, Default, Template)]
#[template(path = "privacy.html")]
pub struct PrivacyPage {
    pub theme: Theme,
    pub csrf: String,
    pub email: String,
    pub action: String,
    pub preferences: Vec<PreferenceView>,
    pub changes: Vec<ChangeView>,
    pub notice: Option<String>,
    pub error: Option<FieldError>,
}

#[derive(Debug, Clone, Default)]
pub struct PreferenceView {
    pub id: String,
    pub name: String,
    pub description: String,
    pub enabled: bool,
    pub required: bool,
}

#[derive(Debug, Clone, Default)]
pub struct ChangeView {
    pub when: String,
    pub name: String,
    /// "On" or "Off".
    pub state: String,
}

/// The connected applications page (F3): each app, what it may do, and "Disconnect".
#[derive(Debug, Clone, Default, Template)]
#[template(path = "apps.html")]
pub struct AppsPage {
    pub theme: Theme,
    pub csrf: String,
    pub email: String,
    pub apps: Vec<AppView>,
    pub disconnect_action: String,
    pub notice: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct AppView {
    pub client_id: String,
    pub name: String,
    /// "Allowed on 3 Dec 2026" or "Signed in since …".
    pub since_text: String,
    pub scopes: Vec<super::ScopeView>,
}

/// The account's recent security events (F3).
#[derive(Debug, Clone, Default, Template)]
#[template(path = "activity.html")]
pub struct ActivityPage {
    pub theme: Theme,
    pub email: String,
    pub events: Vec<EventView>,
}

#[derive(Debug, Clone, Default)]
pub struct EventView {
    pub when: String,
    /// "Signed in", "Password changed", …
    pub what: String,
    pub failed: bool,
    /// "Firefox on Linux, network 203.0.113.0/24", or "Lanyard" for the server's own doing.
    pub from: String,
}
