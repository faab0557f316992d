//! The device authorization grant over HTTP (RFC 8628): the device authorization endpoint
//! (§3.1, authenticated like the token endpoint, `no-store` JSON) and the pages where a
//! signed-in person enters the user code and allows or denies the device (§3.3).
//! The rules, including the limit on codes entered, are the issuer's (`issuer::device`).
//!
//! A site user's principal (the legacy site login) may use these pages for its own site's
//! clients only: the session is read for any signed-in browser, and once the code names its
//! client, the session must count for that client (`SignInService::site_access` for a site's
//! client; a person for any other) before the confirmation is shown.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum_extra::extract::CookieJar;
use lanyard_issuer::device::{DeviceDecisionOutcome, TRIES_WINDOW_SECS, UserCode, UserCodeEntry};
use lanyard_issuer::endpoints;

use crate::error::WebError;
use crate::kit::extract::{CsrfForm, ReturnTo, ToDevice};
use crate::kit::guard::signed_in_for;
use crate::kit::params::Query;
use crate::kit::{Caller, cookies, csrf_token, no_store, paths, theme};
use crate::state::AppState;
use crate::ui::device_pages::{DeviceCodePage, DeviceConfirmPage, DeviceDonePage};
use crate::ui::times::Times;
use crate::ui::{self, ErrorPage, FieldError, PageLink, describe_scope};
use lanyard_signin::{Session, SessionFor, SiteAccess};

/// Where the confirmation page's Allow / Deny form posts.
const DEVICE_CONFIRM: &str = "/device/confirm";
/// What a person may have typed and still see again in the field after an error.
const MAX_ECHO_LEN: usize = 32;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(endpoints::DEVICE, get(device_get).post(device_post))
        .route(DEVICE_CONFIRM, post(device_confirm_post))
}

/// The code page, prefilled from the device's link (`verification_uri_complete`) when that
/// carries a well-formed code. Signing in comes first and returns here.
async fn device_get(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    jar: CookieJar,
    Query(params): Query,
) -> Result<Response, WebError> {
    let prefill = params
        .get("user_code")
        .and_then(UserCode::parse)
        .map(|code| code.display());
    let return_to = match &prefill {
        Some(code) => format!("{}?user_code={code}", endpoints::DEVICE),
        None => endpoints::DEVICE.to_owned(),
    };
    let caller = Caller::of(&method, &headers);
    let session = signed_in_for(&state, &jar, caller, &return_to, SessionFor::Device).await?;
    let account = state.accounts.get(session.auth.account_id).await?;
    Ok(code_page(
        &state,
        jar,
        &account.email,
        prefill.unwrap_or_default(),
        None,
    ))
}

/// The code page (400 when it carries an error).
fn code_page(
    state: &AppState,
    jar: CookieJar,
    account_email: &str,
    user_code: String,
    error: Option<FieldError>,
) -> Response {
    let (jar, csrf) = csrf_token(state, jar);
    let page = DeviceCodePage {
        theme: theme(state),
        action: endpoints::DEVICE.to_owned(),
        csrf,
        hidden: Vec::new(),
        user_code,
        error,
        account_email: account_email.to_owned(),
        sign_out_href: endpoints::LOGOUT.to_owned(),
    };
    let status = ui::status_for(page.error.as_ref());
    (jar, no_store(ui::render_with_status(status, page))).into_response()
}

/// A form of the device pages: its CSRF token, then a session (a person's, or a site user's
/// principal, checked against the code's client later).
async fn device_form(state: &AppState, f: &CsrfForm) -> Result<Session, WebError> {
    signed_in_for(state, &f.jar, f.caller, ToDevice::PATH, SessionFor::Device).await
}

async fn device_post(State(state): State<AppState>, f: CsrfForm) -> Result<Response, WebError> {
    let session = device_form(&state, &f).await?;
    let CsrfForm {
        form, jar, origin, ..
    } = f;
    let binding = binding(&state, &jar)?;
    let account = state.accounts.get(session.auth.account_id).await?;
    let times = Times::for_account(&account, state.clock.now());
    let typed = form.get("user_code").unwrap_or("");
    let entry = state
        .issuer
        .enter_user_code(typed, &binding, &origin)
        .await
        .map_err(WebError::from)?;
    let retry = |message: &str, echo: String| {
        let error = FieldError::new("user_code", message);
        code_page(&state, jar.clone(), &account.email, echo, Some(error))
    };
    match entry {
        UserCodeEntry::Malformed => {
            let echo = if typed.len() <= MAX_ECHO_LEN {
                typed.to_owned()
            } else {
                String::new()
            };
            Ok(retry(
                "Enter the 8 letters shown on your device, like BCDF-GHJK",
                echo,
            ))
        }
        UserCodeEntry::Unknown => Ok(retry(
            "That code did not work. Check the code on your device and try again, or start \
             again on the device if the code has expired.",
            UserCode::parse(typed)
                .map(|c| c.display())
                .unwrap_or_default(),
        )),
        UserCodeEntry::TooManyTries => Err(too_many_tries_page()),
        UserCodeEntry::Found(prompt) => {
            if let Some(refusal) = refuse_client(
                &state,
                (&jar, &origin),
                &session,
                &prompt.client_id,
                &prompt.user_code,
            )
            .await?
            {
                return Ok(refusal);
            }
            let (jar, csrf) = csrf_token(&state, jar);
            let page = DeviceConfirmPage {
                theme: theme(&state),
                action: DEVICE_CONFIRM.to_owned(),
                csrf,
                hidden: vec![("confirm".to_owned(), prompt.confirm.expose().to_owned())],
                client_name: prompt.client_name,
                user_code: prompt.user_code,
                scopes: prompt
                    .scopes
                    .iter()
                    .map(String::as_str)
                    .map(describe_scope)
                    .collect(),
                expires_text: times.moment(prompt.expires_at),
                account_email: account.email.clone(),
                sign_out_href: endpoints::LOGOUT.to_owned(),
            };
            Ok((jar, no_store(ui::render(page))).into_response())
        }
    }
}

async fn device_confirm_post(
    State(state): State<AppState>,
    f: CsrfForm,
) -> Result<Response, WebError> {
    // The confirmation token is bound to the session that entered the code, which was
    // checked against the code's client then.
    let session = device_form(&state, &f).await?;
    let CsrfForm {
        form, jar, origin, ..
    } = f;
    let binding = binding(&state, &jar)?;
    let approve = match form.get("decision") {
        Some("approve") => true,
        Some("deny") => false,
        _ => {
            return Err(WebError::bad_request(
                "Choose an answer",
                "Go back and choose whether to allow or deny the device.",
            ));
        }
    };
    let outcome = state
        .issuer
        .decide_device(
            form.get("confirm").unwrap_or(""),
            &binding,
            &session.auth,
            approve,
            &origin,
        )
        .await
        .map_err(WebError::from)?;
    let (approved, client_name) = match outcome {
        DeviceDecisionOutcome::Approved { client_name } => (true, client_name),
        DeviceDecisionOutcome::Denied { client_name } => (false, client_name),
        DeviceDecisionOutcome::Gone => return Err(gone()),
    };
    Ok(no_store(ui::render(DeviceDonePage {
        theme: theme(&state),
        approved,
        client_name,
    })))
}

/// What ties a device request to this browser's session (S37: another session can not
/// answer it).
fn binding(state: &AppState, jar: &CookieJar) -> Result<String, WebError> {
    state
        .signin
        .sessions()
        .binding(cookies::session(jar))
        .ok_or_else(gone)
}

/// The request expired, was already answered, or belongs to another browser session.
fn gone() -> WebError {
    WebError::bad_request(
        "This code no longer works",
        "It expired or was already used. Start again on your device to get a new code.",
    )
}

/// 429: this browser or network entered too many codes (RFC 8628 §5.1). Even a right code
/// is refused until the window has passed.
fn too_many_tries_page() -> WebError {
    WebError::too_many(
        "Too many tries",
        "You entered too many codes. Wait 15 minutes, then try again with the code your \
         device shows."
            .to_owned(),
        TRIES_WINDOW_SECS,
    )
}

/// The principal boundary on the device page: a site's client only for a session that counts
/// for that site, any other client only for a person. `Some` is the 403 page that says how to
/// sign in instead (nothing was decided).
async fn refuse_client(
    state: &AppState,
    (jar, origin): (&CookieJar, &lanyard_core::Origin),
    session: &Session,
    client_id: &str,
    user_code: &str,
) -> Result<Option<Response>, WebError> {
    let product = state.settings.product_name.clone();
    let site = state.signin.site_for_client(client_id).await?;
    let refusal = match site {
        None if session.site.is_none() => return Ok(None),
        None => ErrorPage {
            theme: theme(state),
            title: "Sign in with another account".to_owned(),
            message: format!(
                "This device's app is not part of the site you signed in to. Sign out, then \
                 sign in with your {product} account to approve it."
            ),
            next: Some(PageLink::new(endpoints::LOGOUT, "Sign out")),
        },
        Some(site) => {
            let cookie = cookies::session(jar);
            match state.signin.site_access(cookie, &site, origin).await? {
                SiteAccess::Granted { .. } => return Ok(None),
                SiteAccess::SignIn | SiteAccess::NoAccess { .. } => {
                    let back = format!("{}?user_code={user_code}", endpoints::DEVICE);
                    let href = if site.state.allows_legacy_login() {
                        format!(
                            "{}?return_to={}",
                            paths::for_site(paths::SITE_LOGIN, &site.slug),
                            form_urlencoded::byte_serialize(back.as_bytes()).collect::<String>()
                        )
                    } else {
                        endpoints::LOGOUT.to_owned()
                    };
                    let text = if site.state.allows_legacy_login() {
                        format!("Sign in to {}", site.name)
                    } else {
                        "Sign out".to_owned()
                    };
                    ErrorPage {
                        theme: theme(state),
                        title: format!("Sign in to {} to approve this device", site.name),
                        message: format!(
                            "This device's app belongs to {}, and the account you are signed \
                             in with is not one of its users.",
                            site.name
                        ),
                        next: Some(PageLink::new(href, text)),
                    }
                }
            }
        }
    };
    Ok(Some(no_store(ui::render_with_status(
        axum::http::StatusCode::FORBIDDEN,
        refusal,
    ))))
}
