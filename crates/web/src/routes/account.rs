//! The account's security page (F3) and the sensitive actions on it, each behind the step-up
//! guard (B8): the authenticator app (set up, replace, turn off), the backup code (generate),
//! trusted devices (remove one, remove all), and the reconfirm page that makes a session
//! fresh. Pages post forms; `DELETE` routes serve API callers with the same rules.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum_extra::extract::CookieJar;
use lanyard_core::Secret;
use lanyard_core::model::{DeviceId, MfaMethod};
use lanyard_identity::IdentityError;
use lanyard_issuer::endpoints;
use lanyard_mfa::{MfaError, when};

use crate::error::PageError;
use crate::origin::RequestOrigin;
use crate::params::{Form, Query};
use crate::routes::authorize::redirect;
use crate::routes::login::{MAX_PASSWORD_LEN, check_csrf, csrf_token, theme};
use crate::routes::second_step;
use crate::session::{Flow, Session, end_other_sessions, load_flow, save_flow, session_binding};
use crate::state::AppState;
use crate::stepup::{
    Caller, FreshForm, ToPassword, ToSecurity, ToTotpSetup, fresh, safe_return_to, signed_in,
};
use crate::ui::mfa_pages::{
    BackupCodePage, DeviceView, PasswordChangePage, ReconfirmPage, SecurityPage, TotpSetupPage,
};
use crate::ui::{self, FieldError};

const BACKUP_SAVED: &str = "/account/backup-codes/saved";
const DEVICE_REVOKE: &str = "/account/devices/{id}/revoke";
const DEVICE: &str = "/account/devices/{id}";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(endpoints::ACCOUNT, get(account_get))
        .route(endpoints::ACCOUNT_SECURITY, get(security_get))
        .route(
            endpoints::ACCOUNT_RECONFIRM,
            get(reconfirm_get).post(reconfirm_post),
        )
        .route(
            endpoints::ACCOUNT_TOTP_SETUP,
            get(totp_setup_get).post(totp_setup_post),
        )
        .route(endpoints::ACCOUNT_TOTP_TURN_OFF, post(totp_turn_off_post))
        .route(endpoints::ACCOUNT_TOTP, delete(totp_delete))
        .route(
            endpoints::ACCOUNT_BACKUP_REGENERATE,
            post(backup_regenerate_post),
        )
        .route(BACKUP_SAVED, post(backup_saved_post))
        .route(DEVICE_REVOKE, post(device_revoke_post))
        .route(DEVICE, delete(device_delete))
        .route(
            endpoints::ACCOUNT_DEVICES_REVOKE_ALL,
            post(devices_revoke_all_post),
        )
        .route(
            endpoints::ACCOUNT_PASSWORD,
            get(password_get).post(password_post),
        )
        .route(
            endpoints::ACCOUNT_END_OTHER_SESSIONS,
            post(end_other_sessions_post),
        )
}

pub(crate) fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn to_security(done: &str) -> Response {
    redirect(
        &format!("{}?done={done}", endpoints::ACCOUNT_SECURITY),
        StatusCode::SEE_OTHER,
    )
}

/// API callers prove same-origin intent with the CSRF token in a header (double submit).
pub(crate) fn check_api_csrf(
    jar: &CookieJar,
    headers: &HeaderMap,
) -> Result<(), (StatusCode, &'static str)> {
    let token = headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if ui::csrf::verify(jar, token) {
        Ok(())
    } else {
        Err((StatusCode::FORBIDDEN, "missing or wrong x-csrf-token\n"))
    }
}

async fn account_get() -> Response {
    redirect(endpoints::ACCOUNT_SECURITY, StatusCode::SEE_OTHER)
}

fn notice(done: Option<&str>) -> Option<String> {
    let text = match done? {
        "totp-on" => {
            "Your authenticator app is turned on. We will ask for its code when you sign in. \
             If you are signed in somewhere you no longer trust, sign out everywhere else below."
        }
        "totp-off" => {
            "Your authenticator app is turned off. We will email you a code when you sign in."
        }
        "backup" => "Your new backup code is saved. The old one no longer works.",
        "device-removed" => "The device was removed. It will be asked for a code next time.",
        "devices-removed" => "All trusted devices were removed.",
        "password" => {
            "Your password is changed. You are signed out everywhere else, and apps you use will ask you to sign in again."
        }
        "sessions-ended" => "You are signed out everywhere else.",
        _ => return None,
    };
    Some(text.to_owned())
}

async fn security_get(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    jar: CookieJar,
    Query(params): Query,
) -> Result<Response, Response> {
    let caller = Caller::of(&method, &headers);
    let session = signed_in(&state, &jar, caller, endpoints::ACCOUNT_SECURITY).await?;
    security_page(&state, jar, &session, notice(params.get("done")))
        .await
        .map_err(IntoResponse::into_response)
}

async fn security_page(
    state: &AppState,
    jar: CookieJar,
    session: &Session,
    notice: Option<String>,
) -> Result<Response, PageError> {
    let account_id = session.auth.account_id;
    let account = state
        .accounts
        .get(account_id)
        .await
        .map_err(|_| PageError::expired_flow())?;
    let mfa = state.mfa.state(account_id).await?;
    let backup = state.mfa.backup_code_info(account_id).await?;
    let devices = state
        .mfa
        .trusted_devices(account_id)
        .await?
        .into_iter()
        .map(|d| DeviceView {
            label: d.label,
            trusted_until_text: when::date(d.expires_at),
            last_used_text: when::date_time(d.last_used_at),
            revoke_action: DEVICE_REVOKE.replace("{id}", &d.id.to_string()),
        })
        .collect();
    let (jar, csrf) = csrf_token(state, jar)?;
    let page = SecurityPage {
        theme: theme(state),
        csrf,
        email: account.email,
        uses_authenticator: mfa.method == MfaMethod::Totp,
        setup_href: endpoints::ACCOUNT_TOTP_SETUP.to_owned(),
        turn_off_action: endpoints::ACCOUNT_TOTP_TURN_OFF.to_owned(),
        backup_generated_text: backup.map(|b| when::date_time(b.created_at)),
        backup_action: endpoints::ACCOUNT_BACKUP_REGENERATE.to_owned(),
        devices,
        revoke_all_action: endpoints::ACCOUNT_DEVICES_REVOKE_ALL.to_owned(),
        notice,
        end_other_sessions_action: endpoints::ACCOUNT_END_OTHER_SESSIONS.to_owned(),
        sign_out_href: endpoints::LOGOUT.to_owned(),
    };
    Ok((jar, no_store(ui::render(page))).into_response())
}

/// An API change's answer: 204 when it changed something, 404 when there was nothing to
/// change (another account's device, no authenticator app).
fn api_outcome(outcome: Result<bool, MfaError>) -> Response {
    match outcome {
        Ok(true) => StatusCode::NO_CONTENT.into_response(),
        Ok(false) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => PageError::from(e).into_response(),
    }
}

// ---- Reconfirm identity (step-up) ----

async fn reconfirm_get(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    jar: CookieJar,
    Query(params): Query,
) -> Result<Response, Response> {
    let return_to = safe_return_to(params.get("return_to").unwrap_or("")).to_owned();
    let caller = Caller::of(&method, &headers);
    let session = signed_in(&state, &jar, caller, &return_to).await?;
    let result = async {
        let account = state
            .accounts
            .get(session.auth.account_id)
            .await
            .map_err(|_| PageError::expired_flow())?;
        let mut flow = Flow::for_account(return_to, Some(account.email.clone()));
        flow.bound_session = session_binding(&state, &jar);
        let id = save_flow(&state, None, &flow).await?;
        reconfirm_page(&state, jar, &id, &account.email, None)
    }
    .await;
    result.map_err(IntoResponse::into_response)
}

fn reconfirm_page(
    state: &AppState,
    jar: CookieJar,
    flow_id: &str,
    email: &str,
    error: Option<FieldError>,
) -> Result<Response, PageError> {
    let (jar, csrf) = csrf_token(state, jar)?;
    let status = ui::status_for(error.as_ref());
    let page = ReconfirmPage {
        theme: theme(state),
        action: endpoints::ACCOUNT_RECONFIRM.to_owned(),
        csrf,
        hidden: vec![("flow".to_owned(), flow_id.to_owned())],
        email: email.to_owned(),
        error,
    };
    Ok((jar, ui::render_with_status(status, page)).into_response())
}

async fn reconfirm_post(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    method: Method,
    headers: HeaderMap,
    jar: CookieJar,
    Form(form): Form,
) -> Result<Response, Response> {
    let caller = Caller::of(&method, &headers);
    let session = signed_in(&state, &jar, caller, endpoints::ACCOUNT_SECURITY).await?;
    let result = async {
        check_csrf(&jar, &form)?;
        let id = form.get("flow").unwrap_or("").to_owned();
        let flow = load_flow(&state, &id)
            .await?
            .filter(|f| {
                f.request.is_none()
                    && f.pending.is_none()
                    && f.bound_session.is_some()
                    && f.bound_session == session_binding(&state, &jar)
            })
            .ok_or_else(PageError::expired_flow)?;
        let account = state
            .accounts
            .get(session.auth.account_id)
            .await
            .map_err(|_| PageError::expired_flow())?;
        let password = form.get("password").unwrap_or("");
        if password.is_empty() || password.len() > MAX_PASSWORD_LEN {
            let error = FieldError::new("password", "Enter your password");
            return reconfirm_page(&state, jar, &id, &account.email, Some(error));
        }
        match state
            .accounts
            .authenticate_password(&account.email, Secret::new(password), &origin)
            .await
        {
            Ok(verified) if verified.id == account.id => {
                second_step::begin(
                    &state,
                    jar,
                    &origin,
                    &id,
                    flow,
                    &account,
                    Some(session.started_at),
                )
                .await
            }
            Ok(_) | Err(IdentityError::InvalidCredentials) => {
                let error = FieldError::new(
                    "password",
                    "The password is not right. Check it and try again.",
                );
                reconfirm_page(&state, jar, &id, &account.email, Some(error))
            }
            Err(e) => Err(PageError {
                internal: Some(e.to_string()),
                ..PageError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Confirming is unavailable",
                    "Something went wrong on our side. Try again in a few minutes.",
                )
            }),
        }
    }
    .await;
    result.map_err(IntoResponse::into_response)
}

// ---- Authenticator app ----

async fn totp_setup_get(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    method: Method,
    headers: HeaderMap,
    jar: CookieJar,
) -> Result<Response, Response> {
    let caller = Caller::of(&method, &headers);
    let session = fresh(&state, &jar, caller, &origin, endpoints::ACCOUNT_TOTP_SETUP).await?;
    let result = async {
        let account = state
            .accounts
            .get(session.auth.account_id)
            .await
            .map_err(|_| PageError::expired_flow())?;
        let replacing = state.mfa.has_totp(account.id).await?;
        let setup = state.mfa.start_totp_setup(&account, &origin).await?;
        totp_setup_page(&state, jar, setup, SetupFor::Account { replacing }, None)
    }
    .await;
    result.map_err(IntoResponse::into_response)
}

/// Which set-up page: the account's own (possibly replacing an app), or the one a sign-in
/// is forced through when an organization requires an app (S54).
pub(crate) enum SetupFor<'a> {
    Account { replacing: bool },
    SignIn { flow_id: &'a str },
}

pub(crate) fn totp_setup_page(
    state: &AppState,
    jar: CookieJar,
    setup: lanyard_mfa::TotpSetup,
    setup_for: SetupFor<'_>,
    error: Option<FieldError>,
) -> Result<Response, PageError> {
    let (jar, csrf) = csrf_token(state, jar)?;
    let status = ui::status_for(error.as_ref());
    let (action, hidden, replacing, required) = match setup_for {
        SetupFor::Account { replacing } => {
            (endpoints::ACCOUNT_TOTP_SETUP, Vec::new(), replacing, false)
        }
        SetupFor::SignIn { flow_id } => (
            endpoints::LOGIN_ENROLL,
            vec![("flow".to_owned(), flow_id.to_owned())],
            false,
            true,
        ),
    };
    let page = TotpSetupPage {
        theme: theme(state),
        action: action.to_owned(),
        csrf,
        hidden,
        qr_svg: setup.enrollment.qr_svg,
        secret_text: setup.enrollment.secret_text,
        replacing,
        required,
        error,
    };
    // The secret is on this page: never cached (S31).
    Ok((jar, no_store(ui::render_with_status(status, page))).into_response())
}

async fn totp_setup_post(
    State(state): State<AppState>,
    FreshForm {
        session,
        form,
        origin,
        jar,
        ..
    }: FreshForm<ToTotpSetup>,
) -> Result<Response, Response> {
    let result = async {
        let account = state
            .accounts
            .get(session.auth.account_id)
            .await
            .map_err(|_| PageError::expired_flow())?;
        let replacing = state.mfa.has_totp(account.id).await?;
        let typed = form.get("code").unwrap_or("");
        let message = match state.mfa.confirm_totp_setup(&account, typed, &origin).await {
            Ok(()) => return Ok(to_security("totp-on")),
            Err(MfaError::Malformed) => "Enter the 6-digit code from your authenticator app",
            Err(MfaError::WrongCode { .. }) => {
                "The code is not right. Check the app shows the new entry and try again."
            }
            Err(MfaError::NotAvailable) => {
                return Ok(redirect(
                    endpoints::ACCOUNT_TOTP_SETUP,
                    StatusCode::SEE_OTHER,
                ));
            }
            Err(e) => return Err(e.into()),
        };
        let Some(setup) = state.mfa.pending_setup(&account).await? else {
            return Ok(redirect(
                endpoints::ACCOUNT_TOTP_SETUP,
                StatusCode::SEE_OTHER,
            ));
        };
        totp_setup_page(
            &state,
            jar,
            setup,
            SetupFor::Account { replacing },
            Some(FieldError::new("code", message)),
        )
    }
    .await;
    result.map_err(IntoResponse::into_response)
}

async fn totp_turn_off_post(
    State(state): State<AppState>,
    FreshForm {
        session, origin, ..
    }: FreshForm<ToSecurity>,
) -> Result<Response, Response> {
    let account = state
        .accounts
        .get(session.auth.account_id)
        .await
        .map_err(|_| PageError::expired_flow().into_response())?;
    if org_requires_authenticator(&state, &account).await? {
        return Err(PageError::new(
            StatusCode::CONFLICT,
            "Your organization requires an authenticator app",
            "You can replace your authenticator app with a new one, but not turn it off.",
        )
        .into_response());
    }
    state
        .mfa
        .turn_off_totp(&account, &origin)
        .await
        .map_err(|e| PageError::from(e).into_response())?;
    Ok(to_security("totp-off"))
}

async fn totp_delete(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    jar: CookieJar,
) -> Result<Response, Response> {
    check_api_csrf(&jar, &headers).map_err(IntoResponse::into_response)?;
    let session = fresh(
        &state,
        &jar,
        Caller::Api,
        &origin,
        endpoints::ACCOUNT_SECURITY,
    )
    .await?;
    let account = state
        .accounts
        .get(session.auth.account_id)
        .await
        .map_err(|_| StatusCode::NOT_FOUND.into_response())?;
    if org_requires_authenticator(&state, &account).await? {
        return Err(crate::routes::account_pats::api_error(
            StatusCode::CONFLICT,
            "authenticator_required",
            "an organization of this account requires an authenticator app",
        ));
    }
    Ok(api_outcome(
        state.mfa.turn_off_totp(&account, &origin).await,
    ))
}

/// S54: members of an organization that requires an authenticator app may replace theirs but
/// not turn it off (that would end the policy's guarantee without a sign-in).
async fn org_requires_authenticator(
    state: &AppState,
    account: &lanyard_core::model::Account,
) -> Result<bool, Response> {
    state
        .orgs
        .policy()
        .authenticator_required(account.id)
        .await
        .map_err(|e| PageError::from(lanyard_issuer::OAuthError::from(e)).into_response())
}

// ---- Backup code ----

async fn backup_regenerate_post(
    State(state): State<AppState>,
    FreshForm {
        session,
        origin,
        jar,
        ..
    }: FreshForm<ToSecurity>,
) -> Result<Response, Response> {
    regenerated_page(&state, jar, &session, &origin, None)
        .await
        .map_err(IntoResponse::into_response)
}

async fn regenerated_page(
    state: &AppState,
    jar: CookieJar,
    session: &Session,
    origin: &lanyard_core::Origin,
    error: Option<FieldError>,
) -> Result<Response, PageError> {
    let code = state
        .mfa
        .issue_backup_code(session.auth.account_id, origin)
        .await?;
    let (jar, csrf) = csrf_token(state, jar)?;
    let status = ui::status_for(error.as_ref());
    let page = BackupCodePage {
        theme: theme(state),
        action: BACKUP_SAVED.to_owned(),
        csrf,
        hidden: Vec::new(),
        code,
        generated_text: when::date_time(state.clock.now()),
        first_time: false,
        replaced_used: false,
        error,
    };
    Ok((jar, no_store(ui::render_with_status(status, page))).into_response())
}

async fn backup_saved_post(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    method: Method,
    headers: HeaderMap,
    jar: CookieJar,
    Form(form): Form,
) -> Result<Response, Response> {
    check_csrf(&jar, &form).map_err(IntoResponse::into_response)?;
    let caller = Caller::of(&method, &headers);
    if form.get("saved") == Some("yes") {
        signed_in(&state, &jar, caller, endpoints::ACCOUNT_SECURITY).await?;
        return Ok(to_security("backup"));
    }
    // Not confirmed: the shown code can not be shown again, so a new one replaces it.
    let session = fresh(&state, &jar, caller, &origin, endpoints::ACCOUNT_SECURITY).await?;
    let error = FieldError::new(
        "saved",
        "Save this new backup code, then tick \"I saved my backup code\"",
    );
    regenerated_page(&state, jar, &session, &origin, Some(error))
        .await
        .map_err(IntoResponse::into_response)
}

// ---- Trusted devices ----

fn parse_device(id: &str) -> Option<DeviceId> {
    uuid::Uuid::parse_str(id).ok().map(DeviceId)
}

fn device_missing() -> Response {
    PageError::new(
        StatusCode::NOT_FOUND,
        "That device is not in your list",
        "It may have been removed already. Go back to your security page.",
    )
    .into_response()
}

async fn device_revoke_post(
    State(state): State<AppState>,
    Path(id): Path<String>,
    FreshForm {
        session, origin, ..
    }: FreshForm<ToSecurity>,
) -> Result<Response, Response> {
    let Some(device) = parse_device(&id) else {
        return Err(device_missing());
    };
    match state
        .mfa
        .revoke_device(session.auth.account_id, device, &origin)
        .await
    {
        Ok(true) => Ok(to_security("device-removed")),
        Ok(false) => Err(device_missing()),
        Err(e) => Err(PageError::from(e).into_response()),
    }
}

async fn device_delete(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    jar: CookieJar,
    Path(id): Path<String>,
) -> Result<Response, Response> {
    check_api_csrf(&jar, &headers).map_err(IntoResponse::into_response)?;
    let session = fresh(
        &state,
        &jar,
        Caller::Api,
        &origin,
        endpoints::ACCOUNT_SECURITY,
    )
    .await?;
    let Some(device) = parse_device(&id) else {
        return Ok(StatusCode::NOT_FOUND.into_response());
    };
    Ok(api_outcome(
        state
            .mfa
            .revoke_device(session.auth.account_id, device, &origin)
            .await,
    ))
}

async fn devices_revoke_all_post(
    State(state): State<AppState>,
    FreshForm {
        session, origin, ..
    }: FreshForm<ToSecurity>,
) -> Result<Response, Response> {
    state
        .mfa
        .revoke_all_devices(session.auth.account_id, &origin)
        .await
        .map_err(|e| PageError::from(e).into_response())?;
    Ok(to_security("devices-removed"))
}

// ---- Password ----

/// The policy's minimum, for the page's hint (the hasher enforces it).
const MIN_PASSWORD_CHARS: usize = 8;

async fn password_get(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    method: Method,
    headers: HeaderMap,
    jar: CookieJar,
) -> Result<Response, Response> {
    let caller = Caller::of(&method, &headers);
    let session = fresh(&state, &jar, caller, &origin, endpoints::ACCOUNT_PASSWORD).await?;
    password_page(&state, jar, &session, None)
        .await
        .map_err(IntoResponse::into_response)
}

async fn password_page(
    state: &AppState,
    jar: CookieJar,
    session: &Session,
    error: Option<FieldError>,
) -> Result<Response, PageError> {
    let account = state
        .accounts
        .get(session.auth.account_id)
        .await
        .map_err(|_| PageError::expired_flow())?;
    let (jar, csrf) = csrf_token(state, jar)?;
    let status = ui::status_for(error.as_ref());
    let page = PasswordChangePage {
        theme: theme(state),
        action: endpoints::ACCOUNT_PASSWORD.to_owned(),
        csrf,
        hidden: Vec::new(),
        email: account.email,
        min_len: MIN_PASSWORD_CHARS,
        error,
    };
    Ok((jar, ui::render_with_status(status, page)).into_response())
}

async fn password_post(
    State(state): State<AppState>,
    FreshForm {
        session,
        form,
        origin,
        jar,
        ..
    }: FreshForm<ToPassword>,
) -> Result<Response, Response> {
    // The hasher's policy refuses short and oversized passwords before argon2 runs.
    let new_password = form.get("new_password").unwrap_or("");
    let account_id = session.auth.account_id;
    match state
        .accounts
        .change_password(account_id, Secret::new(new_password), &origin)
        .await
    {
        Ok(_) => {}
        Err(IdentityError::WeakPassword(_)) => {
            let error = FieldError::new(
                "new_password",
                format!(
                    "Enter a password of at least {MIN_PASSWORD_CHARS} characters (and at most \
                     {MAX_PASSWORD_LEN} bytes)"
                ),
            );
            return password_page(&state, jar, &session, Some(error))
                .await
                .map_err(IntoResponse::into_response);
        }
        Err(e) => {
            return Err(PageError {
                internal: Some(e.to_string()),
                ..PageError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Your password was not changed",
                    "Something went wrong on our side. Try again in a few minutes.",
                )
            }
            .into_response());
        }
    }
    // A new password distrusts every device (S36) and ends every other session.
    state
        .mfa
        .revoke_all_devices(account_id, &origin)
        .await
        .map_err(|e| PageError::from(e).into_response())?;
    end_other_sessions(&state, &jar)
        .await
        .map_err(|e| PageError::from(e).into_response())?;
    Ok(to_security("password"))
}

// ---- Sessions ----

/// "Sign out everywhere else": protective, so a signed-in session is enough (no step-up).
async fn end_other_sessions_post(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    method: Method,
    headers: HeaderMap,
    jar: CookieJar,
    Form(form): Form,
) -> Result<Response, Response> {
    check_csrf(&jar, &form).map_err(IntoResponse::into_response)?;
    let caller = Caller::of(&method, &headers);
    let session = signed_in(&state, &jar, caller, endpoints::ACCOUNT_SECURITY).await?;
    end_other_sessions(&state, &jar)
        .await
        .map_err(|e| PageError::from(e).into_response())?;
    let event =
        lanyard_core::model::AuditEvent::new(state.clock.now(), "session.ended_others", "success")
            .subject(session.auth.account_id.to_string());
    state.audit.record(event, &origin).await;
    Ok(to_security("sessions-ended"))
}
