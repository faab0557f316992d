//! The admin API's refusals as RFC 9457 problem details (part of `web::error`, the one place
//! errors become responses). `type` is a `urn:lanyard:problem:<kind>` URN documented in
//! docs/admin-api.md; `detail` says what to fix and never carries an internal cause, a stored
//! value or a secret (causes are logged once, by `WebError`).

use std::borrow::Cow;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use lanyard_identity::IdentityError;
use lanyard_issuer::clients::ClientError;
use lanyard_issuer::keys::KeyError;
use serde::Serialize;

use super::{Body, WebError};

/// RFC 6750 §3: the challenge of a request without usable credentials.
const REALM: &str = "Bearer realm=\"lanyard-admin\"";

/// A problem's `type` (the URN's last part) and `title`: static, so a problem adds little
/// to every `WebError`.
#[derive(Debug)]
pub struct ProblemMeta {
    kind: &'static str,
    title: &'static str,
}

/// Every way the admin API says no.
#[derive(Debug)]
pub enum Problem {
    /// No bearer token (RFC 6750 §3.1: a challenge without an error code).
    Unauthenticated,
    /// Malformed, forged, expired, revoked, or for another audience.
    InvalidToken,
    /// A good token without the `lanyard:admin` scope.
    InsufficientScope,
    /// A good token whose account is not (or no longer) an active admin, or whose client
    /// no longer may have the scope.
    NotAdmin,
    NotFound,
    /// A parameter or body the API refuses; the text is fixed and safe to show.
    Invalid(Cow<'static, str>),
    UnsupportedMediaType,
    TooLarge,
    /// The resource exists already, or its state forbids the change.
    Conflict(Cow<'static, str>),
    /// `If-Match` names another version than the current one.
    PreconditionFailed,
    /// A change without `If-Match`.
    PreconditionRequired,
    /// Ours: the cause is logged, never sent.
    Internal {
        unavailable: bool,
        cause: String,
    },
}

impl Problem {
    pub fn invalid(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::Invalid(detail.into())
    }
}

impl From<Problem> for WebError {
    fn from(problem: Problem) -> Self {
        let (status, meta, detail, challenge): (_, &'static ProblemMeta, Cow<'static, str>, _) =
            match problem {
                Problem::Unauthenticated => (
                    StatusCode::UNAUTHORIZED,
                    &ProblemMeta {
                        kind: "unauthenticated",
                        title: "Authentication required",
                    },
                    "Send an admin API access token: Authorization: Bearer <token>.".into(),
                    Some(REALM.to_owned()),
                ),
                Problem::InvalidToken => (
                    StatusCode::UNAUTHORIZED,
                    &ProblemMeta {
                        kind: "invalid-token",
                        title: "Invalid token",
                    },
                    "The access token is malformed, expired, revoked, or not for this API.".into(),
                    Some(format!("{REALM}, error=\"invalid_token\"")),
                ),
                Problem::InsufficientScope => (
                    StatusCode::FORBIDDEN,
                    &ProblemMeta {
                        kind: "insufficient-scope",
                        title: "Insufficient scope",
                    },
                    "The access token lacks the lanyard:admin scope.".into(),
                    Some(format!(
                        "{REALM}, error=\"insufficient_scope\", scope=\"lanyard:admin\""
                    )),
                ),
                Problem::NotAdmin => (
                    StatusCode::FORBIDDEN,
                    &ProblemMeta {
                        kind: "not-admin",
                        title: "Not an administrator",
                    },
                    "The token's account or client is not allowed to administer this server."
                        .into(),
                    None,
                ),
                Problem::NotFound => (
                    StatusCode::NOT_FOUND,
                    &ProblemMeta {
                        kind: "not-found",
                        title: "Not found",
                    },
                    "There is no such resource.".into(),
                    None,
                ),
                Problem::Invalid(detail) => (
                    StatusCode::BAD_REQUEST,
                    &ProblemMeta {
                        kind: "invalid-request",
                        title: "Invalid request",
                    },
                    detail,
                    None,
                ),
                Problem::UnsupportedMediaType => (
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    &ProblemMeta {
                        kind: "unsupported-media-type",
                        title: "Unsupported media type",
                    },
                    "Send the body as application/json.".into(),
                    None,
                ),
                Problem::TooLarge => (
                    StatusCode::PAYLOAD_TOO_LARGE,
                    &ProblemMeta {
                        kind: "too-large",
                        title: "Request too large",
                    },
                    "The request body is larger than the API accepts.".into(),
                    None,
                ),
                Problem::Conflict(detail) => (
                    StatusCode::CONFLICT,
                    &ProblemMeta {
                        kind: "conflict",
                        title: "Conflict",
                    },
                    detail,
                    None,
                ),
                Problem::PreconditionFailed => (
                    StatusCode::PRECONDITION_FAILED,
                    &ProblemMeta {
                        kind: "precondition-failed",
                        title: "Precondition failed",
                    },
                    "The resource changed since you read it: read it again and retry with its new ETag.".into(),
                    None,
                ),
                Problem::PreconditionRequired => (
                    StatusCode::PRECONDITION_REQUIRED,
                    &ProblemMeta {
                        kind: "precondition-required",
                        title: "Precondition required",
                    },
                    "Send If-Match with the ETag of the resource as you last read it.".into(),
                    None,
                ),
                Problem::Internal { unavailable, cause } => {
                    let mut error = WebError::internal(unavailable, cause);
                    let meta = if unavailable {
                        &ProblemMeta {
                            kind: "unavailable",
                            title: "Service unavailable",
                        }
                    } else {
                        &ProblemMeta {
                            kind: "internal",
                            title: "Internal error",
                        }
                    };
                    error.body = Body::Problem {
                        meta,
                        detail: "The request could not be completed; try again later.".into(),
                        challenge: None,
                    };
                    return error;
                }
            };
        WebError {
            status,
            body: Body::Problem {
                meta,
                detail,
                challenge,
            },
            retry_after: None,
            internal: None,
        }
    }
}

#[derive(Serialize)]
struct ProblemBody<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    detail: &'a str,
}

pub(super) fn problem_response(
    status: StatusCode,
    meta: &ProblemMeta,
    detail: &str,
    challenge: Option<String>,
) -> Response {
    let body = ProblemBody {
        kind: format!("urn:lanyard:problem:{}", meta.kind),
        title: meta.title,
        status: status.as_u16(),
        detail,
    };
    let mut response = (status, Json(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    if let Some(value) = challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
        headers.insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

impl From<lanyard_core::StoreError> for Problem {
    fn from(e: lanyard_core::StoreError) -> Self {
        match e {
            lanyard_core::StoreError::NotFound => Self::NotFound,
            lanyard_core::StoreError::Conflict(_) => Self::Conflict("it exists already".into()),
            other => Self::Internal {
                unavailable: matches!(other, lanyard_core::StoreError::Unavailable(_)),
                cause: other.to_string(),
            },
        }
    }
}

impl From<IdentityError> for Problem {
    fn from(e: IdentityError) -> Self {
        match e {
            IdentityError::NotFound => Self::NotFound,
            IdentityError::EmailTaken => {
                Self::Conflict("an account with this email already exists".into())
            }
            IdentityError::InvalidEmail(why) => Self::invalid(format!("email: {why}")),
            IdentityError::InvalidName(why) => Self::invalid(format!("name: {why}")),
            IdentityError::PasswordRefused(refusal) => {
                Self::invalid(format!("password: {refusal}"))
            }
            IdentityError::AccountDisabled => Self::Conflict("the account is disabled".into()),
            IdentityError::Store(e) => e.into(),
            other => Self::Internal {
                unavailable: false,
                cause: other.to_string(),
            },
        }
    }
}

impl From<ClientError> for Problem {
    fn from(e: ClientError) -> Self {
        match e {
            ClientError::Duplicate => Self::Conflict("a client with this id already exists".into()),
            ClientError::Store(e) => e.into(),
            // The client's own fields, quoted back to the admin who sent them.
            other @ (ClientError::InvalidId
            | ClientError::InvalidRedirectUri { .. }
            | ClientError::InvalidBackchannelUri { .. }
            | ClientError::Invalid(_)) => Self::invalid(other.to_string()),
            other => Self::Internal {
                unavailable: false,
                cause: other.to_string(),
            },
        }
    }
}

impl From<KeyError> for Problem {
    fn from(e: KeyError) -> Self {
        match e {
            KeyError::Store(e) => e.into(),
            other => Self::Internal {
                unavailable: false,
                cause: other.to_string(),
            },
        }
    }
}

impl From<lanyard_signin::SignInError> for Problem {
    fn from(e: lanyard_signin::SignInError) -> Self {
        use lanyard_signin::SignInError;
        match e {
            SignInError::Unavailable(cause) => Self::Internal {
                unavailable: true,
                cause,
            },
            other => Self::Internal {
                unavailable: false,
                cause: other.to_string(),
            },
        }
    }
}

impl From<lanyard_mfa::MfaError> for Problem {
    fn from(e: lanyard_mfa::MfaError) -> Self {
        lanyard_signin::SignInError::from(e).into()
    }
}

impl From<lanyard_issuer::OAuthError> for Problem {
    fn from(e: lanyard_issuer::OAuthError) -> Self {
        Self::Internal {
            unavailable: e.code == lanyard_issuer::ErrorCode::TemporarilyUnavailable,
            cause: e.internal.clone().unwrap_or_else(|| e.to_string()),
        }
    }
}
