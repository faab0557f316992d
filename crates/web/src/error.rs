//! The one place where errors become HTTP responses.
//!
//! - token, introspection and revocation endpoints: RFC 6749 §5.2 JSON, `no-store`, 401 with
//!   `WWW-Authenticate` for client authentication failures;
//! - bearer-protected resources: RFC 6750 §3 `WWW-Authenticate: Bearer error=...`;
//! - pages: an error page, never a redirect;
//! - internal causes are logged once here and never sent.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use lanyard_issuer::{ErrorCode, OAuthError};
use serde::Serialize;

#[derive(Serialize)]
struct ErrorBody {
    error: &'static str,
    error_description: &'static str,
}

fn error_json(status: StatusCode, err: &OAuthError) -> Response {
    let body = ErrorBody {
        error: err.code.as_str(),
        error_description: err.description,
    };
    (status, Json(body)).into_response()
}

fn log_internal(err: &OAuthError) {
    if let Some(internal) = &err.internal {
        match err.code {
            ErrorCode::TemporarilyUnavailable => {
                tracing::warn!(cause = %internal, "store unavailable")
            }
            _ => tracing::error!(cause = %internal, "request failed"),
        }
    }
}

/// An error of the token, introspection or revocation endpoint.
#[derive(Debug)]
pub struct TokenError(pub OAuthError);

impl From<OAuthError> for TokenError {
    fn from(e: OAuthError) -> Self {
        Self(e)
    }
}

impl IntoResponse for TokenError {
    fn into_response(self) -> Response {
        let err = self.0;
        log_internal(&err);
        let status = match err.code {
            _ if err.retry_after.is_some() => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::InvalidClient => StatusCode::UNAUTHORIZED,
            ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            // RFC 8628 §3.5: the polling answers are ordinary token-endpoint errors.
            ErrorCode::AuthorizationPending | ErrorCode::SlowDown | ErrorCode::ExpiredToken => {
                StatusCode::BAD_REQUEST
            }
            _ => StatusCode::BAD_REQUEST,
        };
        let mut response = error_json(status, &err);
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        if err.code == ErrorCode::InvalidClient {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"lanyard\""),
            );
        }
        if let Some(secs) = err.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        } else if err.code == ErrorCode::TemporarilyUnavailable {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        response
    }
}

/// An error of a bearer-token protected resource (RFC 6750 §3.1).
#[derive(Debug)]
pub struct BearerError(pub OAuthError);

impl IntoResponse for BearerError {
    fn into_response(self) -> Response {
        let err = self.0;
        log_internal(&err);
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
        let mut response = error_json(status, &err);
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(challenge),
        );
        if err.code == ErrorCode::TemporarilyUnavailable {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        response
    }
}

/// What an error page says, carried on its response for re-rendering with the theme.
#[derive(Debug, Clone, Copy)]
pub struct ErrorPageContent {
    pub title: &'static str,
    pub message: &'static str,
}

/// An error shown to a person as a page. Never a redirect.
#[derive(Debug)]
pub struct PageError {
    pub status: StatusCode,
    pub title: &'static str,
    pub message: &'static str,
    pub internal: Option<String>,
}

impl PageError {
    pub fn new(status: StatusCode, title: &'static str, message: &'static str) -> Self {
        Self {
            status,
            title,
            message,
            internal: None,
        }
    }

    pub fn bad_request(title: &'static str, message: &'static str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, title, message)
    }

    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "Page not found",
            "There is nothing here. Check the address, or go back to your account.",
        )
    }

    pub fn expired_flow() -> Self {
        Self::bad_request(
            "Your sign-in has expired",
            "It took too long or the link was already used. Go back to the app and start again.",
        )
    }

    pub fn from_oauth(err: OAuthError) -> Self {
        let status = match err.code {
            ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Self {
            internal: err.internal.clone().or_else(|| Some(err.to_string())),
            ..Self::new(
                status,
                "Something went wrong",
                "We could not finish this step. Try again in a few minutes.",
            )
        }
    }
}

/// The MFA service's infrastructure failures as pages. Its rule outcomes (wrong code, locked,
/// ...) are answered by the pages that asked, with their own words.
impl From<lanyard_mfa::MfaError> for PageError {
    fn from(e: lanyard_mfa::MfaError) -> Self {
        use lanyard_mfa::MfaError;
        match e {
            MfaError::Store(store) => Self::from_oauth(store.into()),
            MfaError::Mail(mail) => Self {
                internal: Some(mail.to_string()),
                ..Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "We could not send the email",
                    "Sending your code failed on our side. Try again in a few minutes.",
                )
            },
            MfaError::ChallengeGone | MfaError::TooManyTries => Self::expired_flow(),
            other => Self {
                internal: Some(other.to_string()),
                ..Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "We could not finish this step. Try again in a few minutes.",
                )
            },
        }
    }
}

/// The identity service's infrastructure failures as pages (its rule outcomes are answered
/// by the pages that asked).
impl From<lanyard_identity::IdentityError> for PageError {
    fn from(e: lanyard_identity::IdentityError) -> Self {
        use lanyard_identity::IdentityError;
        match e {
            IdentityError::Store(store) => Self::from_oauth(store.into()),
            IdentityError::NotFound => Self::not_found(),
            IdentityError::Forbidden => Self::new(
                StatusCode::FORBIDDEN,
                "You can't do this",
                "Only an administrator of the organization can change its settings.",
            ),
            IdentityError::AuthenticatorRequired => Self::new(
                StatusCode::FORBIDDEN,
                "Set up an authenticator app first",
                "Your organization requires an authenticator app. Sign in again to set one up.",
            ),
            other => Self {
                internal: Some(other.to_string()),
                ..Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "We could not finish this step. Try again in a few minutes.",
                )
            },
        }
    }
}

impl From<OAuthError> for PageError {
    fn from(e: OAuthError) -> Self {
        Self::from_oauth(e)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        if let Some(internal) = &self.internal {
            tracing::error!(cause = %internal, "page request failed");
        }
        let page = crate::ui::ErrorPage {
            theme: crate::ui::Theme::default(),
            title: self.title.to_owned(),
            message: self.message.to_owned(),
        };
        let mut response = page.respond(self.status);
        // The error is raised where the configured product name is out of reach; the
        // `edge` middleware renders the page again with it.
        response.extensions_mut().insert(ErrorPageContent {
            title: self.title,
            message: self.message,
        });
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        response
    }
}
