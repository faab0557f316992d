//! View models for connecting a device (RFC 8628 §3.3): enter the code the device shows,
//! confirm which app asked and for what, and the page that says the device may carry on.
//!
//! Like [`super::pages`], every struct derives `Default` and renders with status 200 when
//! returned from a handler. People see "code" and "device", never protocol words.

use askama::Template;
use axum::response::{IntoResponse, Response};

use super::{FieldError, ScopeView, Theme};

/// Asks for the code shown on the device.
#[derive(Debug, Clone, Default, Template)]
#[template(path = "device_code.html")]
pub struct DeviceCodePage {
    pub theme: Theme,
    pub action: String,
    pub csrf: String,
    pub hidden: Vec<(String, String)>,
    /// Prefill: from the device's link (`?user_code=`) or what the person typed before an
    /// error.
    pub user_code: String,
    pub error: Option<FieldError>,
    /// Who is signed in, with "Not you? Sign out" (`sign_out_href`).
    pub account_email: String,
    pub sign_out_href: String,
}

/// Names the app that asked and what it will get; Allow or Deny.
#[derive(Debug, Clone, Default, Template)]
#[template(path = "device_confirm.html")]
pub struct DeviceConfirmPage {
    pub theme: Theme,
    pub action: String,
    pub csrf: String,
    /// Carries the one-time confirmation token.
    pub hidden: Vec<(String, String)>,
    /// The app's registered display name.
    pub client_name: String,
    /// The code as the device shows it (`XXXX-XXXX`), to compare.
    pub user_code: String,
    pub scopes: Vec<ScopeView>,
    /// When the code stops working, e.g. "14:32 UTC (in 10 minutes)".
    pub expires_text: String,
    /// Who is signed in: the account the device will use.
    pub account_email: String,
    pub sign_out_href: String,
}

/// After Allow or Deny: the person can go back to the device.
#[derive(Debug, Clone, Default, Template)]
#[template(path = "device_done.html")]
pub struct DeviceDonePage {
    pub theme: Theme,
    pub approved: bool,
    pub client_name: String,
}

impl DeviceCodePage {
    pub fn error_for(&self, field: &str) -> Option<&str> {
        self.error
            .as_ref()
            .filter(|e| e.field_id == field)
            .map(|e| e.message.as_str())
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

page_responses!(DeviceCodePage, DeviceConfirmPage, DeviceDonePage);
