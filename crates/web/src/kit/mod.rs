//! What every route uses: responses (redirect, `no-store`, the theme), the CSRF token, the
//! cookies, strict parameter parsing, the caller's origin, the page paths, and the extractors
//! that open a handler (signed-in session, fresh session, CSRF-checked form). Routes import
//! from here, never from each other.

pub mod admin;
pub mod authenticated;
pub mod bearer;
pub mod body;
pub mod caller;
pub mod client_credentials;
pub mod cookies;
pub mod csrf;
pub mod download;
pub mod extract;
pub mod guard;
pub mod notice;
pub mod origin;
pub mod params;
pub mod paths;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use lanyard_signin::FlowId;

use crate::error::WebError;
use crate::kit::params::Params;
use crate::state::AppState;
use crate::ui::Theme;

pub use caller::Caller;
pub use origin::RequestOrigin;
pub use params::{Form, Query};

/// A JSON request body larger than this is refused before it is read (`kit::body`).
pub const MAX_JSON_BODY: usize = 8 * 1024;

/// A redirect; a location that is not a valid header value is an error page, never a panic.
pub fn redirect(location: &str, status: StatusCode) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => {
            let mut response = status.into_response();
            response.headers_mut().insert(header::LOCATION, value);
            response
        }
        Err(_) => WebError::bad_request(
            "The app's request can not be completed",
            "The address to return to is not valid. Go back to the app and try again.",
        )
        .into_response(),
    }
}

/// 303 to a page (after a form post).
pub fn see_other(location: &str) -> Response {
    redirect(location, StatusCode::SEE_OTHER)
}

/// 303 to the security page with a notice of what was `done`.
pub fn to_security(done: &str) -> Response {
    see_other(&format!("{}?done={done}", paths::ACCOUNT_SECURITY))
}

/// 303 to a sign-in page of a flow.
pub fn to_flow_page(path: &str, flow: &FlowId) -> Response {
    see_other(&format!("{path}?flow={}", flow.as_str()))
}

/// Pages that show a secret (a code, a key) are never cached.
pub fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The times of a signed-in person's page, in the account's time zone (`ui::times`).
pub async fn times_for(
    state: &AppState,
    session: &lanyard_signin::Session,
) -> Result<crate::ui::times::Times, WebError> {
    let account = state.accounts.get(session.auth.account_id).await?;
    Ok(crate::ui::times::Times::for_account(
        &account,
        state.clock.now(),
    ))
}

pub fn theme(state: &AppState) -> Theme {
    Theme::new(state.settings.product_name.clone())
}

fn csrf_config(state: &AppState) -> csrf::CsrfConfig<'_> {
    csrf::CsrfConfig {
        key: &state.settings.csrf_key,
        host_cookie: state.settings.csrf_host_cookie,
    }
}

/// The browser's CSRF token for a new form (S44), bound to its session, and the jar that
/// carries the binder's cookie.
pub fn csrf_token(state: &AppState, jar: CookieJar) -> (CookieJar, String) {
    csrf::ensure_token(jar, csrf_config(state), &*state.rng)
}

/// A posted form must carry the CSRF token of the browser's binder and session.
pub fn check_csrf(state: &AppState, jar: &CookieJar, form: &Params) -> Result<(), WebError> {
    if csrf::verify(
        jar,
        csrf_config(state),
        form.get(csrf::CSRF_FIELD).unwrap_or(""),
    ) {
        Ok(())
    } else {
        Err(WebError::bad_form())
    }
}

/// API callers prove same-origin intent with the session's CSRF token (the `csrf_token` field
/// of any of our forms) in a header.
pub fn check_api_csrf(
    state: &AppState,
    jar: &CookieJar,
    headers: &axum::http::HeaderMap,
) -> Result<(), WebError> {
    let token = headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if csrf::verify(jar, csrf_config(state), token) {
        Ok(())
    } else {
        Err(WebError::api(
            StatusCode::FORBIDDEN,
            "invalid_request",
            "missing or wrong x-csrf-token",
        ))
    }
}

/// The `flow` field or query parameter of a sign-in page.
pub fn flow_id(params: &Params) -> Result<FlowId, WebError> {
    params
        .get("flow")
        .and_then(FlowId::parse)
        .ok_or_else(WebError::expired_flow)
}

/// A page whose address held an emailed link's token: never cached, and the address never
/// sent on as a `Referer`, whatever the default becomes.
pub fn link_page(response: Response) -> Response {
    let mut response = no_store(response);
    response.headers_mut().insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}
