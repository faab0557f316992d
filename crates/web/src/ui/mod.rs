//! Pages people see: view models, the askama templates they fill, the stylesheet, and the
//! stateless CSRF token that every form carries.
//!
//! Templates live in `crates/web/templates/` and are compiled into the binary; askama escapes
//! every value for HTML by default, which is what keeps user input (a `login_hint`, a client
//! name) from becoming markup. Never mark a value `|safe`.

pub mod account_link_pages;
pub mod account_pages;
pub mod assets;
pub mod device_pages;
pub mod federation_pages;
pub mod home_pages;
pub mod mfa_pages;
pub mod migrate_pages;
pub mod pages;
pub mod pat_pages;
pub mod privacy_pages;
pub mod signin;
pub mod site_admin_pages;
pub mod site_code_pages;
pub mod site_pages;
pub mod times;

use askama::Template;
use axum::response::{IntoResponse, Response};
use http::header::CONTENT_TYPE;
use http::{HeaderValue, StatusCode};

pub use crate::kit::csrf::CSRF_FIELD;
pub use assets::{STYLESHEET_PATH, asset_routes};
pub use device_pages::{DeviceCodePage, DeviceConfirmPage, DeviceDonePage};
pub use mfa_pages::{
    BackupCodePage, ChallengePage, DeviceView, ReconfirmPage, SecurityPage, SessionView,
    StaySignedInPage, TotpSetupPage, TrustDevicePage,
};
pub use pages::{
    ConsentPage, ErrorPage, LogoutPage, PageLink, SignInEmailPage, SignInPasswordPage,
    SignedOutPage,
};

/// What the operator can brand. More (logo, colours) comes later as stylesheet variables,
/// because the CSP forbids inline styles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Theme {
    /// Shown in the page header and the `<title>` of every page.
    pub product_name: String,
}

impl Theme {
    pub fn new(product_name: impl Into<String>) -> Self {
        Self {
            product_name: product_name.into(),
        }
    }
}

impl Default for Theme {
    fn default() -> Self {
        Self::new("Lanyard")
    }
}

/// A problem with one form field, shown twice (GOV.UK pattern): in the error summary at the top,
/// linking to the field, and next to the field itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The `id` of the input the message is about, e.g. `email` or `password`.
    pub field_id: String,
    /// How to fix it, in plain words ("Enter your email address"). Never say which part of a
    /// credential was wrong.
    pub message: String,
}

impl FieldError {
    pub fn new(field_id: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field_id: field_id.into(),
            message: message.into(),
        }
    }
}

/// One thing a client asks to access, described for people ("See your email address").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeView {
    /// The protocol name (`email`); kept for the caller, never shown on the page.
    pub name: String,
    /// What the app will be able to do, as a sentence fragment after "It will be able to:".
    pub description: String,
}

impl ScopeView {
    pub fn new(name: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            description: description.into(),
        }
    }
}

/// What a scope lets an app do, in words for the consent and device pages.
pub fn describe_scope(scope: &str) -> ScopeView {
    let description = match scope {
        "openid" => "Know who you are when you sign in",
        "profile" => "See your name",
        "email" => "See your email address",
        "offline_access" => "Stay connected when you are not using it",
        "privacy" => "See your privacy choices",
        _ => "Use a part of your account it asked for",
    };
    ScopeView::new(scope, description)
}

/// A code split for display into its groups, each keeping the separator that ends it
/// ("ABCD-", "EFGH-", "IJKL"; "ABCD ", "EFGH"), so the groups joined are the code as it was.
/// The page keeps each group on one line and breaks only between them.
pub fn code_groups(code: &str) -> Vec<&str> {
    code.split_inclusive(['-', ' '])
        .filter(|group| !group.is_empty())
        .collect()
}

/// 400 for a page that shows a form error, 200 otherwise.
pub fn status_for(error: Option<&FieldError>) -> StatusCode {
    if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    }
}

static HTML: HeaderValue = HeaderValue::from_static("text/html; charset=utf-8");
static PLAIN: HeaderValue = HeaderValue::from_static("text/plain; charset=utf-8");

/// Renders a page as a 200 HTML response.
pub fn render(page: impl Template) -> Response {
    render_with_status(StatusCode::OK, page)
}

/// Renders a page with the given status (e.g. 400 for an authorization request naming an unknown
/// client). If rendering fails, logs the cause once and answers a generic 500: the cause is an
/// internal detail and must not reach the browser.
pub fn render_with_status(status: StatusCode, page: impl Template) -> Response {
    match page.render() {
        Ok(body) => (status, [(CONTENT_TYPE, HTML.clone())], body).into_response(),
        Err(error) => {
            tracing::error!(%error, "page could not be rendered");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(CONTENT_TYPE, PLAIN.clone())],
                "Something went wrong on our side. Please try again.\n",
            )
                .into_response()
        }
    }
}

/// Returns `href` only if it is safe to put in a link: an absolute `https:`/`http:` URL or a
/// same-origin path. Escaping stops markup injection but not a `javascript:` URL, so links built
/// from request data (a post-logout redirect) go through here as a second line of defence.
pub fn safe_href(href: &str) -> Option<&str> {
    let lower_starts = |prefix: &str| {
        href.get(..prefix.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
    };
    let same_origin_path =
        href.starts_with('/') && !href.starts_with("//") && !href.starts_with("/\\");
    let absolute = lower_starts("https://") || lower_starts("http://");
    let clean = !href.bytes().any(|b| b.is_ascii_control() || b == b'\\');
    (clean && (same_origin_path || absolute)).then_some(href)
}

#[cfg(test)]
mod tests;
