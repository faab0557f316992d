//! View models of the pages that are nobody's step: the landing page at `/`, the account
//! page (who is signed in, the time zone, the way to the security settings) and the
//! themed "page not found".

use askama::Template;

use super::{FieldError, Theme};

/// `/`: what this service is and the ways on from here.
#[derive(Debug, Clone, Default, Template)]
#[template(path = "home.html")]
pub struct HomePage {
    pub theme: Theme,
    /// The signed-in person's email, when someone is signed in in this browser.
    pub signed_in_as: Option<String>,
    /// The OpenID Connect discovery document, for developers connecting an app.
    pub discovery_href: String,
    pub issuer: String,
}

/// `/account`: the signed-in person's own settings.
#[derive(Debug, Clone, Default, Template)]
#[template(path = "account.html")]
pub struct AccountPage {
    pub theme: Theme,
    pub csrf: String,
    pub email: String,
    pub notice: Option<String>,
    /// Where the time zone form posts.
    pub action: String,
    /// The zone times are shown in now ("UTC" until one is chosen).
    pub zone: String,
    /// The zone the list shows as chosen: `zone`, or what was refused ("" then).
    pub selected: String,
    /// The current time in `zone`, so the choice can be checked at a glance.
    pub now_text: String,
    /// Every zone offered, "UTC" first.
    pub zones: Vec<String>,
    pub error: Option<FieldError>,
}

impl AccountPage {
    pub fn error_for(&self, field: &str) -> Option<&str> {
        super::mfa_pages::error_for(self.error.as_ref(), field)
    }

    pub fn is_selected(&self, name: &str) -> bool {
        self.selected == name
    }
}
