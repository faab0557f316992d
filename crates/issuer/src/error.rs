//! OAuth errors as the protocol names them (RFC 6749 §4.1.2.1, §5.2; RFC 6750 §3.1;
//! OIDC Core §3.1.2.6; RFC 8628 §3.5). The web crate maps them to statuses and bodies in one place.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    UnsupportedResponseType,
    InvalidScope,
    /// RFC 8707 §2: the audience or resource is not one the token may be for.
    InvalidTarget,
    AccessDenied,
    LoginRequired,
    ConsentRequired,
    InteractionRequired,
    RequestNotSupported,
    RequestUriNotSupported,
    InvalidToken,
    InsufficientScope,
    ServerError,
    TemporarilyUnavailable,
    /// RFC 8628 §3.5: the user has not decided yet; poll again after the interval.
    AuthorizationPending,
    /// RFC 8628 §3.5: polled too soon; the interval grows by 5 seconds.
    SlowDown,
    /// RFC 8628 §3.5: the device code expired; start a new device authorization.
    ExpiredToken,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::InvalidScope => "invalid_scope",
            Self::InvalidTarget => "invalid_target",
            Self::AccessDenied => "access_denied",
            Self::LoginRequired => "login_required",
            Self::ConsentRequired => "consent_required",
            Self::InteractionRequired => "interaction_required",
            Self::RequestNotSupported => "request_not_supported",
            Self::RequestUriNotSupported => "request_uri_not_supported",
            Self::InvalidToken => "invalid_token",
            Self::InsufficientScope => "insufficient_scope",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::AuthorizationPending => "authorization_pending",
            Self::SlowDown => "slow_down",
            Self::ExpiredToken => "expired_token",
        }
    }
}

/// An error the client may see. `description` is fixed text chosen by us: it never echoes
/// input or carries a secret. `internal` is logged once by the web layer and never sent.
#[derive(Debug, Clone)]
pub struct OAuthError {
    pub code: ErrorCode,
    pub description: &'static str,
    pub internal: Option<String>,
    /// Set when the caller is being throttled: the answer is 429 with `Retry-After`.
    pub retry_after: Option<u64>,
}

impl OAuthError {
    pub fn new(code: ErrorCode, description: &'static str) -> Self {
        Self {
            code,
            description,
            internal: None,
            retry_after: None,
        }
    }

    pub fn invalid_request(description: &'static str) -> Self {
        Self::new(ErrorCode::InvalidRequest, description)
    }

    pub fn invalid_grant(description: &'static str) -> Self {
        Self::new(ErrorCode::InvalidGrant, description)
    }

    pub fn invalid_client() -> Self {
        Self::new(ErrorCode::InvalidClient, "client authentication failed")
    }

    pub fn invalid_token() -> Self {
        Self::new(ErrorCode::InvalidToken, "the access token is invalid")
    }

    /// Too many failures from this caller: try again after `secs` seconds.
    pub fn throttled(secs: u64) -> Self {
        Self {
            retry_after: Some(secs.max(1)),
            ..Self::new(
                ErrorCode::InvalidRequest,
                "too many failed attempts, try again later",
            )
        }
    }

    /// Too many requests from this caller, failed or not: try again after `secs` seconds.
    pub fn too_many_requests(description: &'static str, secs: u64) -> Self {
        Self {
            retry_after: Some(secs.max(1)),
            ..Self::new(ErrorCode::InvalidRequest, description)
        }
    }

    /// A store failure: the caller should retry later (fail closed, never a false success).
    pub fn unavailable(cause: impl std::fmt::Display) -> Self {
        Self {
            code: ErrorCode::TemporarilyUnavailable,
            description: "the service is temporarily unavailable, try again shortly",
            internal: Some(cause.to_string()),
            retry_after: None,
        }
    }

    pub fn server(cause: impl std::fmt::Display) -> Self {
        Self {
            code: ErrorCode::ServerError,
            description: "internal error",
            internal: Some(cause.to_string()),
            retry_after: None,
        }
    }
}

impl From<lanyard_core::StoreError> for OAuthError {
    fn from(e: lanyard_core::StoreError) -> Self {
        match e {
            lanyard_core::StoreError::Unavailable(_) => Self::unavailable(e),
            _ => Self::server(e),
        }
    }
}

impl std::fmt::Display for OAuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.description)
    }
}

impl std::error::Error for OAuthError {}
