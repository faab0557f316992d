//! A site admin's page (`/sites/{slug}/admin`): the "require two-factor authentication"
//! preference, the migration's mode and its next steps, invitations, and where every user
//! is. People read "mode", "invitation", "linked".

use askama::Template;

use super::Theme;

/// One user in a progress list.
#[derive(Debug, Clone, Default)]
pub struct UserLine {
    pub login: String,
    pub email: String,
    pub role: String,
    /// "until 21 December 2026 at 14:32 UTC", "bounced 7 December…"; empty when nothing to say.
    pub when_text: String,
}

/// A move the mode may make from here, with what it does.
#[derive(Debug, Clone, Default)]
pub struct ModeMove {
    pub to: String,
    pub label: String,
    pub explanation: String,
    /// Entering `identity` is final: the form asks to tick a box.
    pub needs_confirmation: bool,
}

#[derive(Debug, Clone, Default, Template)]
#[template(path = "site_admin.html")]
pub struct SiteAdminPage {
    pub theme: Theme,
    pub csrf: String,
    pub hidden: Vec<(String, String)>,
    pub site_name: String,
    pub mode: String,
    pub mode_text: String,
    pub two_factor_on: bool,
    pub two_factor_since_text: String,
    pub two_factor_action: String,
    pub mode_action: String,
    pub invite_action: String,
    pub moves: Vec<ModeMove>,
    pub total: u64,
    pub linked: Vec<UserLine>,
    pub invited: Vec<UserLine>,
    pub not_invited: Vec<UserLine>,
    pub expired_or_bounced: Vec<UserLine>,
    pub notice: Option<String>,
}

impl SiteAdminPage {
    /// The four lists under their headings (title, id).
    pub fn lists(&self) -> [(&'static str, &'static str, &[UserLine]); 4] {
        [
            ("Linked", "linked", &self.linked),
            ("Invited", "invited", &self.invited),
            ("Not invited yet", "not-invited", &self.not_invited),
            ("Expired or bounced", "expired", &self.expired_or_bounced),
        ]
    }
}
