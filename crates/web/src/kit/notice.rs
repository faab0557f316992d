//! What an action did, carried across its Post/Redirect/Get to the page it redirects to:
//! kept server-side for the session (signin's `handoff`), read once, never free text in the
//! URL. The words are here; the store only holds which notice and the name it is about.

use axum_extra::extract::CookieJar;
use serde::{Deserialize, Serialize};

use crate::error::WebError;
use crate::kit::cookies;
use crate::state::AppState;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "done")]
pub enum Notice {
    TokenRevoked {
        name: String,
    },
    TokenAlreadyRevoked,
    BackupCodeSaved,
    DeviceRemoved {
        label: String,
        this_device: bool,
    },
    DevicesRemoved {
        count: u64,
    },
    AppTurnedOff,
    /// A site admin's changes (`/sites/{slug}/admin`).
    SiteTwoFactor {
        on: bool,
    },
    SiteMode {
        to: String,
    },
    SiteInvited {
        sent: usize,
        failed: usize,
    },
    SiteUnchanged,
}

impl Notice {
    pub fn text(&self) -> String {
        match self {
            Self::TokenRevoked { name } => format!(
                "Token \u{2018}{name}\u{2019} revoked. Tools using it can no longer sign in."
            ),
            Self::TokenAlreadyRevoked => {
                "That token was already revoked. Nothing changed.".to_owned()
            }
            Self::BackupCodeSaved => {
                "Your new backup code is saved. The old one no longer works.".to_owned()
            }
            Self::DeviceRemoved {
                label,
                this_device: true,
            } => format!(
                "\u{2018}{label}\u{2019} (this device) removed. We will ask for a code the next \
                 time you sign in here."
            ),
            Self::DeviceRemoved { label, .. } => {
                format!("\u{2018}{label}\u{2019} removed. It will be asked for a code next time.")
            }
            Self::DevicesRemoved { count: 0 } => {
                "There were no trusted devices left to remove.".to_owned()
            }
            Self::DevicesRemoved { count: 1 } => {
                "1 trusted device removed. It will be asked for a code next time.".to_owned()
            }
            Self::DevicesRemoved { count } => {
                format!("{count} trusted devices removed. Each will be asked for a code next time.")
            }
            Self::AppTurnedOff => {
                "Your authenticator app is turned off. We will email you a code when you sign in."
                    .to_owned()
            }
            Self::SiteTwoFactor { on: true } => "Two-factor authentication is now required:                 licensed users and admins set up an authenticator app at their next sign-in."
                .to_owned(),
            Self::SiteTwoFactor { on: false } => {
                "Two-factor authentication is no longer required.".to_owned()
            }
            Self::SiteMode { to } => format!("The site is now in {to} mode."),
            Self::SiteInvited { sent, failed: 0 } => format!("{sent} invitations sent."),
            Self::SiteInvited { sent, failed } => format!(
                "{sent} invitations sent; {failed} could not be sent and are listed as bounced."
            ),
            Self::SiteUnchanged => "Nothing needed changing.".to_owned(),
        }
    }
}

/// Leaves `notice` for the next page this browser's session loads.
pub async fn leave(state: &AppState, jar: &CookieJar, notice: Notice) -> Result<(), WebError> {
    state
        .signin
        .handoffs()
        .set_notice(cookies::session(jar), &notice)
        .await?;
    Ok(())
}

/// The notice left for this session, once.
pub async fn take(state: &AppState, jar: &CookieJar) -> Result<Option<String>, WebError> {
    let notice: Option<Notice> = state
        .signin
        .handoffs()
        .take_notice(cookies::session(jar))
        .await?;
    Ok(notice.map(|n| n.text()))
}
