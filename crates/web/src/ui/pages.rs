//! View models: one struct per page, each filling one template under `templates/`.
//!
//! Every struct derives `Default` so a handler can fill only what it has
//! (`SignInEmailPage { theme, action, csrf, ..Default::default() }`), and implements
//! `IntoResponse` so a handler can return the page itself. Pages are rendered with status 200;
//! use [`super::render_with_status`] for anything else (e.g. an [`ErrorPage`]).

use askama::Template;
use axum::response::{IntoResponse, Response};
use http::StatusCode;

use super::{FieldError, ScopeView, Theme, safe_href};

/// First step of sign-in: one question, the email address.
#[derive(Debug, Clone, Default, Template)]
#[template(path = "sign_in_email.html")]
pub struct SignInEmailPage {
    pub theme: Theme,
    /// Where the form posts to.
    pub action: String,
    /// The CSRF token from [`super::csrf::ensure_token`].
    pub csrf: String,
    /// Extra hidden fields carried through the form, e.g. the flow id.
    pub hidden: Vec<(String, String)>,
    /// Prefill, e.g. the `login_hint` or what the person typed before an error.
    pub email: String,
    pub error: Option<FieldError>,
    /// The app the person signs in to ("to continue to Example App"), when an app asked.
    pub client_name: Option<String>,
    /// "Create an account", while self sign-up is on (`[signup] enabled`).
    pub signup_href: Option<String>,
}

/// Second step of sign-in: the password for an email we already know.
#[derive(Debug, Clone, Default, Template)]
#[template(path = "sign_in_password.html")]
pub struct SignInPasswordPage {
    pub theme: Theme,
    pub action: String,
    pub csrf: String,
    pub hidden: Vec<(String, String)>,
    /// Shown as "Signing in as …" and offered to password managers as the username.
    pub email: String,
    /// Where "Not you?" goes: back to the email step. Omitted if not a safe link.
    pub change_email_href: String,
    pub error: Option<FieldError>,
}

/// Asks whether an app may access the account, and what it will get.
#[derive(Debug, Clone, Default, Template)]
#[template(path = "consent.html")]
pub struct ConsentPage {
    pub theme: Theme,
    pub action: String,
    pub csrf: String,
    pub hidden: Vec<(String, String)>,
    /// The app's registered display name.
    pub client_name: String,
    /// What the app asks for, described for people.
    pub scopes: Vec<ScopeView>,
    /// Who is signed in: the page says whose account the app gets.
    pub account_email: String,
    /// "Not you? Sign out".
    pub sign_out_href: String,
}

/// A dead end explained in plain words. Used where we must not redirect, e.g. an authorization
/// request with an unknown client or an unregistered redirect address (RFC 6749 §4.1.2.1).
#[derive(Debug, Clone, Default, Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub theme: Theme,
    /// The `<h1>`, e.g. "This link does not work".
    pub title: String,
    /// What happened and what the person can do about it.
    pub message: String,
    /// The way on, shown as the page's button ("Start again").
    pub next: Option<PageLink>,
}

/// A link a page offers as its way on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageLink {
    pub href: String,
    pub text: String,
}

impl PageLink {
    pub fn new(href: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            href: href.into(),
            text: text.into(),
        }
    }
}

/// Asks the person to confirm signing out (RP-initiated logout without proof of who asked).
#[derive(Debug, Clone, Default, Template)]
#[template(path = "logout.html")]
pub struct LogoutPage {
    pub theme: Theme,
    pub action: String,
    pub csrf: String,
    pub hidden: Vec<(String, String)>,
    /// The app that asked, when we know it.
    pub client_name: Option<String>,
    /// Where Cancel goes: the account page (only a signed-in browser sees this page).
    pub cancel_href: String,
}

/// Confirms the person is signed out; links on only to a safe, already-validated address.
#[derive(Debug, Clone, Default, Template)]
#[template(path = "signed_out.html")]
pub struct SignedOutPage {
    pub theme: Theme,
    /// A registered post-logout address, already checked by the caller.
    pub continue_href: Option<String>,
    /// "Sign in again": the app request this browser came from, if it is still known, else
    /// the account page.
    pub sign_in_href: String,
}

/// The error message for `field`, if the page's error is about it.
fn error_for<'a>(error: Option<&'a FieldError>, field: &str) -> Option<&'a str> {
    error
        .filter(|e| e.field_id == field)
        .map(|e| e.message.as_str())
}

impl SignInEmailPage {
    pub fn new(theme: Theme, action: impl Into<String>, csrf: impl Into<String>) -> Self {
        Self {
            theme,
            action: action.into(),
            csrf: csrf.into(),
            ..Self::default()
        }
    }

    #[must_use]
    pub fn with_hidden(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.hidden.push((name.into(), value.into()));
        self
    }

    #[must_use]
    pub fn with_email(mut self, email: impl Into<String>) -> Self {
        self.email = email.into();
        self
    }

    #[must_use]
    pub fn with_error(mut self, error: FieldError) -> Self {
        self.error = Some(error);
        self
    }

    pub fn error_for(&self, field: &str) -> Option<&str> {
        error_for(self.error.as_ref(), field)
    }
}

impl SignInPasswordPage {
    pub fn new(
        theme: Theme,
        action: impl Into<String>,
        csrf: impl Into<String>,
        email: impl Into<String>,
        change_email_href: impl Into<String>,
    ) -> Self {
        Self {
            theme,
            action: action.into(),
            csrf: csrf.into(),
            email: email.into(),
            change_email_href: change_email_href.into(),
            ..Self::default()
        }
    }

    #[must_use]
    pub fn with_hidden(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.hidden.push((name.into(), value.into()));
        self
    }

    #[must_use]
    pub fn with_error(mut self, error: FieldError) -> Self {
        self.error = Some(error);
        self
    }

    pub fn error_for(&self, field: &str) -> Option<&str> {
        error_for(self.error.as_ref(), field)
    }

    pub fn change_email_link(&self) -> Option<&str> {
        safe_href(&self.change_email_href)
    }
}

impl ConsentPage {
    pub fn new(
        theme: Theme,
        action: impl Into<String>,
        csrf: impl Into<String>,
        client_name: impl Into<String>,
        scopes: Vec<ScopeView>,
    ) -> Self {
        Self {
            theme,
            action: action.into(),
            csrf: csrf.into(),
            client_name: client_name.into(),
            scopes,
            ..Self::default()
        }
    }

    #[must_use]
    pub fn with_hidden(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.hidden.push((name.into(), value.into()));
        self
    }
}

impl ErrorPage {
    pub fn new(theme: Theme, title: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            theme,
            title: title.into(),
            message: message.into(),
            next: None,
        }
    }

    /// The way on, if its address is safe to link to.
    pub fn next_link(&self) -> Option<(&str, &str)> {
        let next = self.next.as_ref()?;
        Some((safe_href(&next.href)?, next.text.as_str()))
    }

    /// Renders with the caller's status; an error page has no sensible default status, so it
    /// deliberately has no `IntoResponse`.
    pub fn respond(&self, status: StatusCode) -> Response {
        super::render_with_status(status, self)
    }
}

impl LogoutPage {
    pub fn new(theme: Theme, action: impl Into<String>, csrf: impl Into<String>) -> Self {
        Self {
            theme,
            action: action.into(),
            csrf: csrf.into(),
            cancel_href: crate::kit::paths::ACCOUNT.to_owned(),
            ..Self::default()
        }
    }

    #[must_use]
    pub fn with_hidden(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.hidden.push((name.into(), value.into()));
        self
    }

    #[must_use]
    pub fn with_client_name(mut self, client_name: impl Into<String>) -> Self {
        self.client_name = Some(client_name.into());
        self
    }
}

impl SignedOutPage {
    pub fn new(theme: Theme, continue_href: Option<String>) -> Self {
        Self {
            theme,
            continue_href,
            sign_in_href: crate::kit::paths::ACCOUNT.to_owned(),
        }
    }

    pub fn continue_link(&self) -> Option<&str> {
        self.continue_href.as_deref().and_then(safe_href)
    }

    pub fn sign_in_link(&self) -> &str {
        safe_href(&self.sign_in_href).unwrap_or(crate::kit::paths::ACCOUNT)
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
    SignInEmailPage,
    SignInPasswordPage,
    ConsentPage,
    LogoutPage,
    SignedOutPage,
);
