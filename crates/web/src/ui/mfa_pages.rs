//! View models for the second sign-in step and the account's security settings: the code
//! challenge, a new backup code, "trust this device?", the security overview, setting up an
//! authenticator app, and asking for the password again before a sensitive change.
//!
//! Like [`super::pages`], every struct derives `Default` (fill what you have, then
//! `..Default::default()`) and renders with status 200 when returned from a handler. The pages
//! never use protocol words: people see "code", "authenticator app" and "sign-in confirmation".

use askama::Template;
use axum::response::{IntoResponse, Response};

use super::{FieldError, Theme, safe_href};

/// Asks for the second-step code: from an email, an authenticator app, or the backup code.
#[derive(Debug, Clone, Default, Template)]
#[template(path = "challenge.html")]
pub struct ChallengePage {
    pub theme: Theme,
    /// Where the code form posts to.
    pub action: String,
    pub csrf: String,
    /// Hidden fields carried through both forms (the code form and the email form).
    pub hidden: Vec<(String, String)>,
    /// Which code is asked for: `"email"`, `"totp"` or `"backup"`. Anything else is treated as
    /// `"email"`. Posted back as the hidden field `method`.
    pub method: String,
    /// Where emailed codes go.
    pub email: String,
    /// When the emailed code stops working, e.g. "14:32 UTC (in 10 minutes)".
    pub expires_text: Option<String>,
    /// Where the small "Get code by email" / "Send a new code" form posts to.
    pub resend_action: String,
    /// When a new code can be asked for, e.g. "You can ask for a new code at 14:33 UTC".
    pub resend_text: Option<String>,
    /// The hourly limit on emailed codes is reached: the email variant becomes "Too many codes
    /// sent", with the other ways first and `resend_text` saying when to try again.
    pub too_many_sends: bool,
    /// A code emailed for this sign-in is still valid (only that code works here).
    pub email_code_live: bool,
    /// "Use a backup code"; omitted if not a safe link.
    pub backup_href: Option<String>,
    /// "Use your authenticator app"; omitted if not a safe link.
    pub totp_href: Option<String>,
    /// A status message, e.g. "We sent a new code".
    pub notice: Option<String>,
    /// True when the code confirms a sensitive change rather than a sign-in.
    pub step_up: bool,
    pub error: Option<FieldError>,
    /// The main button, normally "Continue".
    pub submit_label: String,
}

/// Shows a new backup code once and asks the person to confirm they saved it.
#[derive(Debug, Clone, Default, Template)]
#[template(path = "backup_code.html")]
pub struct BackupCodePage {
    pub theme: Theme,
    pub action: String,
    pub csrf: String,
    pub hidden: Vec<(String, String)>,
    /// The code, already grouped for reading ("ABCD-EFGH-...").
    pub code: String,
    /// When it was made, e.g. "22 November 2026 at 14:32 UTC".
    pub generated_text: String,
    /// The first backup code this account has had.
    pub first_time: bool,
    /// Shown because the previous code was just used to sign in.
    pub replaced_used: bool,
    pub error: Option<FieldError>,
}

/// After a successful code: skip the code on this browser for a while?
#[derive(Debug, Clone, Default, Template)]
#[template(path = "trust_device.html")]
pub struct TrustDevicePage {
    pub theme: Theme,
    pub action: String,
    pub csrf: String,
    pub hidden: Vec<(String, String)>,
    /// The day trust ends, e.g. "21 December 2026".
    pub until_text: String,
}

/// After the second step, for an authenticator-app account: keep this browser signed in?
/// (Trusting a device would not spare it the app's code, so that is not offered.)
#[derive(Debug, Clone, Default, Template)]
#[template(path = "stay_signed_in.html")]
pub struct StaySignedInPage {
    pub theme: Theme,
    pub action: String,
    pub csrf: String,
    pub hidden: Vec<(String, String)>,
    /// When the session ends at the latest, e.g. "6 January 2027 at 14:32 UTC".
    pub until_text: String,
    /// The session's absolute lifetime in days (30).
    pub days: i64,
    /// How long an ordinary session lasts unused, in hours (24).
    pub idle_hours: i64,
}

/// One trusted browser on the security page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceView {
    /// What the person will recognise, e.g. "Firefox on Linux". User-controlled: escaped.
    pub label: String,
    pub trusted_until_text: String,
    pub last_used_text: String,
    /// Its "Remove" link: the confirmation page, whose form posts to the same path.
    pub revoke_action: String,
    /// The browser showing the page is this device (its cookie names it).
    pub this_device: bool,
}

/// One signed-in browser in the security page's list.
#[derive(Debug, Clone, Default)]
pub struct SessionView {
    /// "Firefox on Linux".
    pub device: String,
    /// "Network 203.0.113.0/24", or that the network is unknown.
    pub place: String,
    pub started_text: String,
    pub last_seen_text: String,
    /// The form's value naming the session (a keyed hash, never the cookie).
    pub handle: String,
    /// The browser showing the page.
    pub current: bool,
}

/// The account's security settings: how sign-in is confirmed, the backup code, trusted devices.
#[derive(Debug, Clone, Default, Template)]
#[template(path = "security.html")]
pub struct SecurityPage {
    pub theme: Theme,
    pub csrf: String,
    pub email: String,
    pub uses_authenticator: bool,
    /// A GET link to set up (or replace) the authenticator app; omitted if not a safe link.
    pub setup_href: String,
    /// "Turn off": the confirmation page, whose form posts to the same path.
    pub turn_off_action: String,
    /// When the current backup code was made; `None` if there is none.
    pub backup_generated_text: Option<String>,
    /// "Generate a new backup code": the confirmation page, whose form posts to the same path.
    pub backup_action: String,
    pub devices: Vec<DeviceView>,
    /// "Remove all trusted devices": the confirmation page, whose form posts to the same path.
    pub revoke_all_action: String,
    /// A status message, e.g. "Your authenticator app is turned off".
    pub notice: Option<String>,
    /// Where the "Sign out everywhere else" form posts to.
    pub end_other_sessions_action: String,
    /// Where the account is signed in (F3), newest first.
    pub sessions: Vec<SessionView>,
    /// Where a session's "Sign out" form posts to.
    pub end_session_action: String,
    /// A link to the sign-out page; omitted if not a safe link.
    pub sign_out_href: String,
}

/// Sets up (or replaces) an authenticator app: QR code, the key as text, and a first code.
#[derive(Debug, Clone, Default, Template)]
#[template(path = "totp_setup.html")]
pub struct TotpSetupPage {
    pub theme: Theme,
    pub action: String,
    pub csrf: String,
    pub hidden: Vec<(String, String)>,
    /// The QR code as an SVG document, generated server-side by the `qrcode` crate from our own
    /// `otpauth:` URI. It is inserted unescaped, so it must never contain user text.
    pub qr_svg: String,
    /// The key in groups of 4 for typing by hand.
    pub secret_text: String,
    /// True when an app is already set up and this one will replace it.
    pub replacing: bool,
    /// True during sign-in when an organization requires an app (S54): no way around it.
    pub required: bool,
    /// During a site user's sign-in, the site whose two-factor preference requires it (C3):
    /// the page names the site and its button says "Verify and Save".
    pub site_name: Option<String>,
    pub error: Option<FieldError>,
}

/// Asks for the password again before a change to security settings.
#[derive(Debug, Clone, Default, Template)]
#[template(path = "reconfirm.html")]
pub struct ReconfirmPage {
    pub theme: Theme,
    pub action: String,
    pub csrf: String,
    pub hidden: Vec<(String, String)>,
    /// Offered to password managers as the username (a site user's login on a site's page).
    pub email: String,
    /// Where Cancel goes; empty: the security page.
    pub cancel_href: String,
    pub error: Option<FieldError>,
}

/// Where the security page links for a password change.
pub const PASSWORD_CHANGE_PATH: &str = "/account/password";

/// Sets a new password (a sensitive action: the session is fresh when this shows).
#[derive(Debug, Clone, Default, Template)]
#[template(path = "password_change.html")]
pub struct PasswordChangePage {
    pub theme: Theme,
    pub action: String,
    pub csrf: String,
    pub hidden: Vec<(String, String)>,
    /// Offered to password managers as the username.
    pub email: String,
    pub min_len: usize,
    pub error: Option<FieldError>,
}

/// The error message for `field`, if the page's error is about it.
pub(super) fn error_for<'a>(error: Option<&'a FieldError>, field: &str) -> Option<&'a str> {
    error
        .filter(|e| e.field_id == field)
        .map(|e| e.message.as_str())
}

/// Percent-encodes everything except RFC 3986 unreserved characters, so the result is safe in
/// any URL and unchanged by HTML escaping. Spaces become `%20` (never `+`, which a `data:` URL
/// would keep as a plus sign).
fn percent_encode(text: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
    }
    out
}

impl ChallengePage {
    pub fn error_for(&self, field: &str) -> Option<&str> {
        error_for(self.error.as_ref(), field)
    }

    pub fn is_totp(&self) -> bool {
        self.method == "totp"
    }

    pub fn is_backup(&self) -> bool {
        self.method == "backup"
    }

    /// The emailed-code variant; also the fallback for an unknown method.
    pub fn is_email(&self) -> bool {
        !self.is_totp() && !self.is_backup()
    }

    /// "Too many codes sent": the email variant once the hourly limit is reached.
    pub fn is_too_many_sends(&self) -> bool {
        self.is_email() && self.too_many_sends
    }

    /// Whether the page asks for a code: not on "Too many codes sent" without a code of this
    /// sign-in to enter.
    pub fn asks_code(&self) -> bool {
        !self.is_too_many_sends() || self.email_code_live
    }

    /// The method posted back with the code: always one of the three known values.
    pub fn method_value(&self) -> &'static str {
        if self.is_totp() {
            "totp"
        } else if self.is_backup() {
            "backup"
        } else {
            "email"
        }
    }

    /// "Use a backup code", unless this is already the backup variant.
    pub fn backup_link(&self) -> Option<&str> {
        if self.is_backup() {
            return None;
        }
        self.backup_href.as_deref().and_then(safe_href)
    }

    /// "Use your authenticator app", unless this is already the app variant.
    pub fn totp_link(&self) -> Option<&str> {
        if self.is_totp() {
            return None;
        }
        self.totp_href.as_deref().and_then(safe_href)
    }

    /// The main button's text, "Continue" unless the handler says otherwise.
    pub fn submit_text(&self) -> &str {
        if self.submit_label.is_empty() {
            "Continue"
        } else {
            &self.submit_label
        }
    }
}

impl BackupCodePage {
    pub fn error_for(&self, field: &str) -> Option<&str> {
        error_for(self.error.as_ref(), field)
    }

    /// The text file the "Download" link saves, as a `data:` URL. Only unreserved characters
    /// and percent escapes follow the comma, so askama's HTML escaping leaves it intact.
    pub fn download_href(&self) -> String {
        let text = format!(
            "Backup code for {}: {}\n",
            self.theme.product_name, self.code
        );
        format!("data:text/plain;charset=utf-8,{}", percent_encode(&text))
    }
}

impl SecurityPage {
    pub fn setup_link(&self) -> Option<&str> {
        safe_href(&self.setup_href)
    }

    pub fn sign_out_link(&self) -> Option<&str> {
        safe_href(&self.sign_out_href)
    }
}

impl TotpSetupPage {
    pub fn error_for(&self, field: &str) -> Option<&str> {
        error_for(self.error.as_ref(), field)
    }
}

impl ReconfirmPage {
    pub fn error_for(&self, field: &str) -> Option<&str> {
        error_for(self.error.as_ref(), field)
    }
}

impl PasswordChangePage {
    pub fn error_for(&self, field: &str) -> Option<&str> {
        error_for(self.error.as_ref(), field)
    }
}

/// Lets handlers return a page directly; it renders with status 200.
macro_rules! page_responses {
    ($($page:ty),+ $(,)?) => {$(
        impl IntoResponse for $page {
            fn into_response(self) -> Response {
                super::render(&self)
            }
        }
    )+};
}

page_responses!(
    ChallengePage,
    BackupCodePage,
    TrustDevicePage,
    StaySignedInPage,
    SecurityPage,
    TotpSetupPage,
    ReconfirmPage,
    PasswordChangePage,
);
