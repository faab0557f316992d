//! The guard in front of account pages and sensitive actions (B8, S37).
//!
//! [`signed_in`] wants a session; [`fresh`] also wants this session to have seen a password
//! plus a second step within the window. A browser that fails is sent to sign in or to the
//! reconfirm page and comes back; an API caller (a `DELETE`, or `Accept: application/json`)
//! gets RFC 9470's `insufficient_user_authentication` challenge. Either way nothing changes
//! and the refusal is audited.

use std::marker::PhantomData;

use axum::Json;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use lanyard_core::Origin;
use lanyard_core::model::AuditEvent;
use lanyard_issuer::endpoints;
use lanyard_mfa::stepup::is_fresh;
use serde::Serialize;

use crate::error::PageError;
use crate::origin::RequestOrigin;
use crate::params::{Form, Params};
use crate::routes::authorize::redirect;
use crate::routes::login::check_csrf;
use crate::session::{Flow, Session, current, save_flow};
use crate::state::AppState;

/// Who is calling: decides between a redirect and a JSON challenge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    Browser,
    Api,
}

impl Caller {
    pub fn of(method: &Method, headers: &HeaderMap) -> Caller {
        let wants_json = headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("application/json"));
        if wants_json || method == Method::DELETE {
            Caller::Api
        } else {
            Caller::Browser
        }
    }
}

#[derive(Serialize)]
struct ApiError<'a> {
    error: &'a str,
    error_description: &'a str,
}

fn api_error(status: StatusCode, challenge: String, error: &str, description: &str) -> Response {
    let mut response = (
        status,
        Json(ApiError {
            error,
            error_description: description,
        }),
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Only paths of the account pages and the device page may be returned to.
pub fn safe_return_to(path: &str) -> &str {
    let device = path == endpoints::DEVICE
        || path
            .strip_prefix(endpoints::DEVICE)
            .is_some_and(|rest| rest.starts_with('?'));
    let ok = (path.starts_with("/account") || device)
        && !path.contains("//")
        && !path.contains('\\')
        && path.bytes().all(|b| b.is_ascii_graphic());
    if ok {
        path
    } else {
        endpoints::ACCOUNT_SECURITY
    }
}

/// The session, or the way to get one.
pub async fn signed_in(
    state: &AppState,
    jar: &CookieJar,
    caller: Caller,
    return_to: &str,
) -> Result<Session, Response> {
    match current(state, jar).await {
        Ok(Some(session)) => Ok(session),
        Ok(None) => Err(match caller {
            Caller::Api => api_error(
                StatusCode::UNAUTHORIZED,
                "Bearer realm=\"lanyard\", error=\"invalid_token\"".to_owned(),
                "invalid_token",
                "sign in first",
            ),
            Caller::Browser => {
                let flow = Flow::for_account(safe_return_to(return_to).to_owned(), None);
                match save_flow(state, None, &flow).await {
                    Ok(id) => redirect(
                        &format!("{}?flow={id}", endpoints::LOGIN),
                        StatusCode::SEE_OTHER,
                    ),
                    Err(e) => PageError::from(e).into_response(),
                }
            }
        }),
        Err(e) => Err(PageError::from(e).into_response()),
    }
}

/// The session, if it reconfirmed identity within the step-up window.
pub async fn fresh(
    state: &AppState,
    jar: &CookieJar,
    caller: Caller,
    origin: &Origin,
    return_to: &str,
) -> Result<Session, Response> {
    let session = signed_in(state, jar, caller, return_to).await?;
    let window = state.mfa.settings().step_up_window_secs;
    if is_fresh(session.verified_at, state.clock.now(), window) {
        return Ok(session);
    }
    let event = AuditEvent::new(state.clock.now(), "stepup.required", "failure")
        .subject(session.auth.account_id.to_string())
        .reason(safe_return_to(return_to));
    state.audit.record(event, origin).await;
    Err(match caller {
        Caller::Api => api_error(
            StatusCode::UNAUTHORIZED,
            format!(
                "Bearer realm=\"lanyard\", error=\"insufficient_user_authentication\", \
                 error_description=\"a fresh sign-in with a second step is required\", \
                 max_age={window}"
            ),
            "insufficient_user_authentication",
            "a fresh sign-in with a second step is required",
        ),
        Caller::Browser => redirect(
            &format!(
                "{}?return_to={}",
                endpoints::ACCOUNT_RECONFIRM,
                form_urlencoded::byte_serialize(safe_return_to(return_to).as_bytes())
                    .collect::<String>()
            ),
            StatusCode::SEE_OTHER,
        ),
    })
}

/// A sensitive form post: the CSRF token first, then a fresh session (or the way to one).
pub async fn fresh_form(
    state: &AppState,
    jar: &CookieJar,
    (method, headers): (&Method, &HeaderMap),
    origin: &Origin,
    form: &Params,
    return_to: &str,
) -> Result<Session, Response> {
    check_csrf(jar, form).map_err(IntoResponse::into_response)?;
    fresh(state, jar, Caller::of(method, headers), origin, return_to).await
}

/// The page a browser comes back to after reconfirming for a refused [`FreshForm`].
pub trait ReturnTo {
    const PATH: &'static str;
}

pub struct ToSecurity;
pub struct ToTotpSetup;
pub struct ToPassword;

impl ReturnTo for ToSecurity {
    const PATH: &'static str = endpoints::ACCOUNT_SECURITY;
}

impl ReturnTo for ToTotpSetup {
    const PATH: &'static str = endpoints::ACCOUNT_TOTP_SETUP;
}

impl ReturnTo for ToPassword {
    const PATH: &'static str = endpoints::ACCOUNT_PASSWORD;
}

/// The extractor of a sensitive form post ([`fresh_form`]): the handler runs only with a
/// valid CSRF token and a fresh session; otherwise the answer is the refusal or the way to
/// reconfirm and come back to `R::PATH`.
pub struct FreshForm<R> {
    pub session: Session,
    pub form: Params,
    pub origin: Origin,
    pub jar: CookieJar,
    pub return_to: PhantomData<R>,
}

impl<R: ReturnTo> FromRequest<AppState> for FreshForm<R> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let RequestOrigin(origin) = match RequestOrigin::from_request_parts(&mut parts, state).await
        {
            Ok(origin) => origin,
            Err(never) => match never {},
        };
        let jar = CookieJar::from_headers(&parts.headers);
        let (method, headers) = (parts.method.clone(), parts.headers.clone());
        let Form(form) = Form::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        let session = fresh_form(state, &jar, (&method, &headers), &origin, &form, R::PATH).await?;
        Ok(FreshForm {
            session,
            form,
            origin,
            jar,
            return_to: PhantomData,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::safe_return_to;

    #[test]
    fn only_account_pages_and_the_device_page_are_returned_to() {
        for ok in [
            "/account/security",
            "/device",
            "/device?user_code=BCDF-GHJK",
        ] {
            assert_eq!(safe_return_to(ok), ok);
        }
        for bad in [
            "/devices",
            "/device/confirm",
            "/device#x",
            "/device?x=//evil.example",
            "//evil.example/device",
            "https://evil.example/device",
            "/device?x=a b",
            "/token",
        ] {
            assert_eq!(safe_return_to(bad), "/account/security", "{bad}");
        }
    }
}
