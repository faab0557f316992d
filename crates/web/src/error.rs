//! The one place where errors become HTTP responses: [`WebError`] and its `IntoResponse`.
//! The body follows the kind of route that failed:
//! - token, introspection, revocation and device authorization: RFC 6749 §5.2 JSON,
//!   `no-store`, 401 with `WWW-Authenticate: Basic` for client authentication failures;
//! - bearer-protected resources and the account/organization APIs: JSON with RFC 6750 §3
//!   `WWW-Authenticate` (and RFC 9470's `insufficient_user_authentication` for step-up);
//! - pages: a themed error page, never a redirect.
//!
//! A store that can not be reached is a 503 with `Retry-After`, never a user error. Internal
//! causes are logged once, here, and never sent.

use std::borrow::Cow;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use lanyard_issuer::{ErrorCode, OAuthError};
use lanyard_signin::SignInError;
use serde::Serialize;

mod admin;
mod links;
mod sites;

pub use admin::Problem;
pub use links::field_error;

/// Seconds a client should wait after a 503.
const UNAVAILABLE_RETRY_SECS: i64 = 5;

/// An error page's words, carried on its response so that the `edge` middleware can render
/// it again in the configured theme.
#[derive(Debug, Clone)]
pub struct ErrorPageContent {
    pub title: Cow<'static, str>,
    pub message: Cow<'static, str>,
    /// The way on the page offers besides the header's home link.
    pub way_on: WayOn,
}

/// Where an error page sends the person next, so that no error is a dead end. Resolved to a
/// link by the `edge` middleware, which can read the request's cookies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum WayOn {
    /// Only the header's link home (the message says what to do).
    #[default]
    Nothing,
    /// "Go to the home page".
    Home,
    /// "Start again": the app's authorization request this browser last made, if we still
    /// know it (`kit::cookies::restart`); else "Go to your account".
    StartAgain,
}

impl WayOn {
    /// The link for this way on; `restart` is the app request this browser last made
    /// (`kit::cookies::restart`), already checked to be one of our `/authorize` addresses.
    pub fn link(self, restart: Option<&str>) -> Option<crate::ui::PageLink> {
        use crate::kit::paths;
        use crate::ui::PageLink;
        match self {
            WayOn::Nothing => None,
            WayOn::Home => Some(PageLink::new(paths::HOME, "Go to the home page")),
            WayOn::StartAgain => Some(match restart {
                Some(href) => PageLink::new(href, "Start again"),
                None => PageLink::new(paths::ACCOUNT, "Go to your account"),
            }),
        }
    }
}

#[derive(Debug)]
enum Body {
    Page(ErrorPageContent),
    /// RFC 6749 §5.2.
    OAuth(OAuthError),
    /// JSON `{error, error_description}` with a `WWW-Authenticate` challenge when set.
    Json {
        error: Cow<'static, str>,
        description: Cow<'static, str>,
        challenge: Option<String>,
    },
    /// A bare status (an API's 404 for "nothing to change").
    Empty,
    /// A bare 401 with only a `WWW-Authenticate` challenge.
    Challenge(&'static str),
    /// A browser refused a page until it signs in or reconfirms: sent there, to come back.
    Redirect(String),
    /// RFC 9457 `application/problem+json` (the admin API), with a `WWW-Authenticate`
    /// challenge when set.
    Problem {
        meta: &'static admin::ProblemMeta,
        detail: Cow<'static, str>,
        challenge: Option<String>,
    },
}

/// Every error a handler or extractor returns.
#[derive(Debug)]
pub struct WebError {
    status: StatusCode,
    body: Body,
    retry_after: Option<i64>,
    internal: Option<String>,
}

impl WebError {
    // ---- pages ----

    pub fn page(
        status: StatusCode,
        title: impl Into<Cow<'static, str>>,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            status,
            body: Body::Page(ErrorPageContent {
                title: title.into(),
                message: message.into(),
                way_on: WayOn::Nothing,
            }),
            retry_after: None,
            internal: None,
        }
    }

    pub fn bad_request(title: &'static str, message: &'static str) -> Self {
        Self::page(StatusCode::BAD_REQUEST, title, message)
    }

    pub fn not_found() -> Self {
        Self::page(
            StatusCode::NOT_FOUND,
            "Page not found",
            "There is nothing at this address. If you typed it, check it; if you followed a link, the page may have moved.",
        )
        .with_way_on(WayOn::Home)
    }

    /// The flow is gone, finished, or not at the step posted (S37). The page offers to start
    /// again where the person came from.
    pub fn expired_flow() -> Self {
        Self::bad_request(
            "Your sign-in has expired",
            "It took too long, or this page was already used. Nothing was changed: you can start again.",
        )
        .with_way_on(WayOn::StartAgain)
    }

    /// The way on an error page offers (no effect on other errors).
    pub fn with_way_on(mut self, way_on: WayOn) -> Self {
        if let Body::Page(content) = &mut self.body {
            content.way_on = way_on;
        }
        self
    }

    pub fn bad_form() -> Self {
        Self::page(
            StatusCode::FORBIDDEN,
            "This form has expired",
            "For your security the form could not be sent. Go back, reload the page and try again.",
        )
    }

    /// A state-changing request from a page of another origin (F4, S44): refused before any
    /// handler ran, so nothing changed. A browser gets a page, an API caller JSON.
    pub fn cross_site(caller: crate::kit::Caller) -> Self {
        match caller {
            crate::kit::Caller::Browser => Self::page(
                StatusCode::FORBIDDEN,
                "This form came from another site",
                "For your security it was not sent, and nothing was changed. Open this service's own page and try again there.",
            )
            .with_way_on(WayOn::Home),
            crate::kit::Caller::Api => Self::api(
                StatusCode::FORBIDDEN,
                "invalid_request",
                "cross-origin request refused",
            ),
        }
    }

    /// A 429 page with a concrete wait.
    pub fn too_many(title: &'static str, message: String, retry_after_secs: i64) -> Self {
        Self {
            retry_after: Some(retry_after_secs.max(1)),
            ..Self::page(StatusCode::TOO_MANY_REQUESTS, title, message)
        }
    }

    /// 503: more sign-ins than the node can check passwords for right now; nothing was
    /// used up, so the same step can simply be sent again.
    pub fn busy(retry_after_secs: u64) -> Self {
        let secs = i64::try_from(retry_after_secs).unwrap_or(60).max(1);
        let unit = if secs == 1 { "second" } else { "seconds" };
        Self {
            retry_after: Some(secs),
            ..Self::page(
                StatusCode::SERVICE_UNAVAILABLE,
                "We're busy right now",
                format!(
                    "Many people are signing in right now, so we could not check your \
                     password yet. Go back and try again in {secs} {unit}."
                ),
            )
        }
    }

    /// The same page with no `Retry-After` (nothing to wait for: start again).
    pub fn without_retry_after(mut self) -> Self {
        self.retry_after = None;
        self
    }

    /// Something on our side failed: 503 (with `Retry-After`) when a store is unreachable,
    /// else 500. The cause is logged, never shown.
    pub fn internal(unavailable: bool, cause: impl Into<String>) -> Self {
        let status = if unavailable {
            StatusCode::SERVICE_UNAVAILABLE
        } else {
            StatusCode::INTERNAL_SERVER_ERROR
        };
        Self {
            internal: Some(cause.into()),
            ..Self::page(
                status,
                "Something went wrong",
                "We could not finish this step. Try again in a few minutes.",
            )
        }
    }

    /// Keeps the cause for the log.
    pub fn with_internal(mut self, cause: impl Into<String>) -> Self {
        self.internal = Some(cause.into());
        self
    }

    // ---- protocol endpoints ----

    /// An error of the token, introspection, revocation or device authorization endpoint.
    pub fn token(err: OAuthError) -> Self {
        let status = match err.code {
            _ if err.retry_after.is_some() => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::InvalidClient => StatusCode::UNAUTHORIZED,
            ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            // RFC 8628 §3.5: the polling answers are ordinary token-endpoint errors.
            _ => StatusCode::BAD_REQUEST,
        };
        Self {
            status,
            retry_after: err.retry_after.map(|s| s as i64),
            internal: err.internal.clone(),
            body: Body::OAuth(err),
        }
    }

    /// An error of a bearer-token protected resource (RFC 6750 §3.1).
    pub fn bearer(err: OAuthError) -> Self {
        let (status, challenge) = match err.code {
            ErrorCode::InvalidRequest => (
                StatusCode::BAD_REQUEST,
                "Bearer realm=\"lanyard\", error=\"invalid_request\"",
            ),
            ErrorCode::InsufficientScope => (
                StatusCode::FORBIDDEN,
                "Bearer realm=\"lanyard\", error=\"insufficient_scope\", scope=\"openid\"",
            ),
            ErrorCode::TemporarilyUnavailable => {
                (StatusCode::SERVICE_UNAVAILABLE, "Bearer realm=\"lanyard\"")
            }
            ErrorCode::ServerError => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Bearer realm=\"lanyard\"",
            ),
            _ => (
                StatusCode::UNAUTHORIZED,
                "Bearer realm=\"lanyard\", error=\"invalid_token\"",
            ),
        };
        Self {
            status,
            body: Body::Json {
                error: Cow::Borrowed(err.code.as_str()),
                description: Cow::Borrowed(err.description),
                challenge: Some(challenge.to_owned()),
            },
            retry_after: None,
            internal: err.internal,
        }
    }

    /// A bearer-protected resource called with no token at all: the challenge without an
    /// error code (RFC 6750 §3.1), so the client learns how to authenticate and nothing else.
    pub fn bearer_missing() -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            body: Body::Challenge("Bearer realm=\"lanyard\""),
            retry_after: None,
            internal: None,
        }
    }

    // ---- JSON APIs (account, organizations) ----

    pub fn api(
        status: StatusCode,
        error: &'static str,
        description: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            status,
            body: Body::Json {
                error: Cow::Borrowed(error),
                description: description.into(),
                challenge: None,
            },
            retry_after: None,
            internal: None,
        }
    }

    /// An API call without a session (RFC 6750 §3).
    pub fn api_sign_in_first() -> Self {
        Self {
            body: Body::Json {
                error: Cow::Borrowed("invalid_token"),
                description: Cow::Borrowed("sign in first"),
                challenge: Some("Bearer realm=\"lanyard\", error=\"invalid_token\"".to_owned()),
            },
            ..Self::api(StatusCode::UNAUTHORIZED, "invalid_token", "")
        }
    }

    /// An API call whose session is not fresh enough (RFC 9470 §3).
    pub fn api_step_up(window_secs: i64) -> Self {
        let description = "a fresh sign-in with a second step is required";
        Self {
            body: Body::Json {
                error: Cow::Borrowed("insufficient_user_authentication"),
                description: Cow::Borrowed(description),
                challenge: Some(format!(
                    "Bearer realm=\"lanyard\", error=\"insufficient_user_authentication\", \
                     error_description=\"{description}\", max_age={window_secs}"
                )),
            },
            ..Self::api(StatusCode::UNAUTHORIZED, "", "")
        }
    }

    /// A browser sent to sign in or reconfirm first (303), to come back afterwards.
    pub fn redirect_to(location: String) -> Self {
        Self {
            status: StatusCode::SEE_OTHER,
            body: Body::Redirect(location),
            retry_after: None,
            internal: None,
        }
    }

    /// A bare status, for an API's "nothing there".
    pub fn status(status: StatusCode) -> Self {
        Self {
            status,
            body: Body::Empty,
            retry_after: None,
            internal: None,
        }
    }

    /// The same error with another status (413 for an oversized body).
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    fn log(&self) {
        let Some(cause) = &self.internal else {
            return;
        };
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            tracing::warn!(%cause, "store unavailable");
        } else if self.status.is_server_error() {
            tracing::error!(%cause, "request failed");
        }
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    error_description: &'a str,
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        self.log();
        let status = self.status;
        let mut response = match self.body {
            Body::Page(content) => {
                let page = crate::ui::ErrorPage {
                    theme: crate::ui::Theme::default(),
                    title: content.title.to_string(),
                    message: content.message.to_string(),
                    next: content.way_on.link(None),
                };
                let mut response = page.respond(status);
                // Raised where the configured product name is out of reach; the `edge`
                // middleware renders the page again with it.
                response.extensions_mut().insert(content);
                response
            }
            Body::OAuth(err) => {
                let body = ErrorBody {
                    error: err.code.as_str(),
                    error_description: err.description,
                };
                let mut response = (status, Json(body)).into_response();
                let headers = response.headers_mut();
                headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
                if err.code == ErrorCode::InvalidClient {
                    headers.insert(
                        header::WWW_AUTHENTICATE,
                        HeaderValue::from_static("Basic realm=\"lanyard\""),
                    );
                }
                response
            }
            Body::Json {
                error,
                description,
                challenge,
            } => {
                let body = ErrorBody {
                    error: &error,
                    error_description: &description,
                };
                let mut response = (status, Json(body)).into_response();
                if let Some(value) = challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
                    response
                        .headers_mut()
                        .insert(header::WWW_AUTHENTICATE, value);
                }
                response
            }
            Body::Empty => status.into_response(),
            Body::Challenge(challenge) => {
                let mut response = status.into_response();
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(challenge),
                );
                response
            }
            Body::Redirect(location) => crate::kit::redirect(&location, status),
            Body::Problem {
                meta,
                detail,
                challenge,
            } => admin::problem_response(status, meta, &detail, challenge),
        };
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        let retry_after = self
            .retry_after
            .or((status == StatusCode::SERVICE_UNAVAILABLE).then_some(UNAVAILABLE_RETRY_SECS));
        if let Some(secs) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl From<OAuthError> for WebError {
    /// An issuer failure on a page: 503 when a store is down, else 500.
    fn from(err: OAuthError) -> Self {
        let unavailable = err.code == ErrorCode::TemporarilyUnavailable;
        let cause = err.internal.clone().unwrap_or_else(|| err.to_string());
        Self::internal(unavailable, cause)
    }
}

impl From<lanyard_core::StoreError> for WebError {
    fn from(e: lanyard_core::StoreError) -> Self {
        let unavailable = matches!(e, lanyard_core::StoreError::Unavailable(_));
        Self::internal(unavailable, e.to_string())
    }
}

impl From<SignInError> for WebError {
    fn from(e: SignInError) -> Self {
        match e {
            SignInError::FlowGone => Self::expired_flow(),
            // S40: nothing about why (which check failed is for the logs of the step).
            SignInError::UpstreamState => Self::bad_request(
                "This sign-in can't be finished",
                "The answer from your organization's sign-in does not match a sign-in started in this browser, or it was already used. Nothing was changed. Start again.",
            )
            .with_way_on(WayOn::StartAgain),
            SignInError::Mail(cause) => Self::page(
                StatusCode::SERVICE_UNAVAILABLE,
                "We could not send the email",
                "Sending your code failed on our side. Try again in a few minutes.",
            )
            .with_internal(cause),
            SignInError::Unavailable(cause) => Self::internal(true, cause),
            SignInError::Busy { retry_after_secs } => Self::busy(retry_after_secs),
            other => Self::internal(false, other.to_string()),
        }
    }
}

/// The MFA service's infrastructure failures. Its rule outcomes (wrong code, locked, ...) are
/// answered by the pages that asked, with their own words.
impl From<lanyard_mfa::MfaError> for WebError {
    fn from(e: lanyard_mfa::MfaError) -> Self {
        SignInError::from(e).into()
    }
}

/// The identity service's refusals and failures (its other rule outcomes are answered by the
/// pages that asked).
impl From<lanyard_identity::IdentityError> for WebError {
    fn from(e: lanyard_identity::IdentityError) -> Self {
        use lanyard_identity::IdentityError;
        match e {
            IdentityError::NotFound => Self::not_found(),
            IdentityError::AccountDisabled => Self::page(
                StatusCode::FORBIDDEN,
                "This account is disabled",
                "Nothing can be changed on a disabled account.",
            ),
            IdentityError::Forbidden => Self::page(
                StatusCode::FORBIDDEN,
                "You can't do this",
                "Only an administrator of the organization can change its settings.",
            ),
            IdentityError::AuthenticatorRequired => Self::page(
                StatusCode::FORBIDDEN,
                "Set up an authenticator app first",
                "Your organization requires an authenticator app. Sign in again to set one up.",
            ),
            IdentityError::SsoRequired => Self::page(
                StatusCode::FORBIDDEN,
                "Sign in with your organization first",
                "Your organization requires its own sign-in. Sign out, then sign in again with your organization to do this.",
            ),
            other => SignInError::from(other).into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::response::IntoResponse;

    use super::*;

    #[test]
    fn busy_is_a_503_page_with_the_wait_in_retry_after_and_in_words() {
        for (secs, header, words) in [(7, "7", "7 seconds"), (0, "1", "1 second")] {
            let response = WebError::busy(secs).into_response();
            assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(response.headers()[header::RETRY_AFTER], header);
            let Body::Page(content) = &WebError::busy(secs).body else {
                panic!("busy is a page");
            };
            assert!(content.message.contains(words), "{}", content.message);
        }
    }
}
