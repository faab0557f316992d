//! The pages after a correct password (F1): the code (emailed, authenticator app or backup
//! code), the backup code to save, "Trust this device?", then the session. Reconfirming
//! identity before a sensitive action (B8) runs through the same pages with
//! `Pending::step_up`, and ends by marking the existing session fresh instead.
//!
//! The flow record says which step is done; each handler checks it, so a later step posted
//! directly (or replayed) finds nothing to continue (S37).

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum_extra::extract::CookieJar;
use lanyard_core::model::account::Account;
use lanyard_core::model::authenticated::acr;
use lanyard_core::model::{Authenticated, MfaMethod};
use lanyard_core::{Origin, Timestamp};
use lanyard_issuer::endpoints;
use lanyard_mfa::{Answer, ChallengeView, Factor, MfaError, Purpose, when};

use crate::device_cookie;
use crate::error::PageError;
use crate::origin::RequestOrigin;
use crate::params::{Form, Params, Query};
use crate::routes::authorize::redirect;
use crate::routes::login::{check_csrf, csrf_token, theme};
use crate::session::{Flow, Pending, load_flow, mark_verified, save_flow, start_session};
use crate::state::AppState;
use crate::ui::mfa_pages::{BackupCodePage, ChallengePage, TrustDevicePage};
use crate::ui::{self, ErrorPage, FieldError};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(endpoints::LOGIN_CODE, get(code_get).post(code_post))
        .route(endpoints::LOGIN_CODE_EMAIL, post(email_post))
        .route(endpoints::LOGIN_BACKUP_CODE, post(backup_ack_post))
        .route(endpoints::LOGIN_TRUST, post(trust_post))
}

/// The lowest assurance the flow's app accepts (`acr_values`); a sign-in is at least loa:2.
fn required_level(flow: &Flow) -> u8 {
    flow.request
        .as_ref()
        .and_then(|r| acr::required(&r.acr_values))
        .unwrap_or(2)
        .max(2)
}

fn code_href(flow_id: &str, method: &str) -> String {
    format!("{}?flow={flow_id}&method={method}", endpoints::LOGIN_CODE)
}

/// Starts the second step for an account whose password was just verified: straight to the
/// session when this browser is a trusted device (and the app asks no more than that),
/// otherwise to the code page.
pub(crate) async fn begin(
    state: &AppState,
    jar: CookieJar,
    origin: &Origin,
    flow_id: &str,
    flow: Flow,
    account: &Account,
    step_up_of: Option<Timestamp>,
) -> Result<Response, PageError> {
    let purpose = if step_up_of.is_some() {
        Purpose::StepUp
    } else if required_level(&flow) > 2 {
        // The app needs the authenticator app or the backup code: no point emailing a code.
        Purpose::RaiseAssurance
    } else {
        Purpose::SignIn
    };
    start(
        state, jar, origin, flow_id, flow, account, purpose, step_up_of,
    )
    .await
}

/// A signed-in user whose app asked for more (`acr_values`): only the stronger second step,
/// not the password again (B9).
pub(crate) async fn raise(
    state: &AppState,
    jar: CookieJar,
    origin: &Origin,
    flow_id: &str,
    flow: Flow,
    account_id: lanyard_core::AccountId,
) -> Result<Response, PageError> {
    let account = state
        .accounts
        .get(account_id)
        .await
        .map_err(|_| PageError::expired_flow())?;
    start(
        state,
        jar,
        origin,
        flow_id,
        flow,
        &account,
        Purpose::RaiseAssurance,
        None,
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn start(
    state: &AppState,
    jar: CookieJar,
    origin: &Origin,
    flow_id: &str,
    mut flow: Flow,
    account: &Account,
    purpose: Purpose,
    step_up_of: Option<Timestamp>,
) -> Result<Response, PageError> {
    let now = state.clock.now();
    let mut pending = Pending {
        account_id: account.id,
        password_at: now,
        step_up: step_up_of.is_some(),
        passed: None,
        backup_code_unacknowledged: false,
    };
    // Only a plain sign-in accepts a trusted device; step-up never does (S36), nor a sign-in
    // that must set up an authenticator app: that needs a code proven now (S54).
    if purpose == Purpose::SignIn
        && required_level(&flow) <= 2
        && !enrollment_due(state, account.id).await?
        && state
            .mfa
            .device_skips_code(account.id, device_cookie::read(state, &jar))
            .await?
    {
        pending.passed = Some(Factor::TrustedDevice);
        flow.pending = Some(pending);
        return finish(state, jar, flow_id, flow).await;
    }
    match state
        .mfa
        .begin(flow_id, account, purpose, step_up_of, origin)
        .await
    {
        Ok(_) => {}
        Err(MfaError::Locked { until }) => return Ok(locked_page(state, until)),
        Err(MfaError::TooManySends) => return Ok(too_many_sends_page(state)),
        Err(e) => return Err(e.into()),
    }
    flow.pending = Some(pending);
    save_flow(state, Some(flow_id), &flow).await?;
    Ok((
        jar,
        redirect(
            &format!("{}?flow={flow_id}", endpoints::LOGIN_CODE),
            StatusCode::SEE_OTHER,
        ),
    )
        .into_response())
}

/// The flow and its pending second step, when the step is still open.
pub(crate) async fn open_flow(
    state: &AppState,
    params: &Params,
) -> Result<(String, Flow, Pending), PageError> {
    let id = params.get("flow").unwrap_or("").to_owned();
    let flow = load_flow(state, &id)
        .await?
        .ok_or_else(PageError::expired_flow)?;
    let pending = flow.pending.clone().ok_or_else(PageError::expired_flow)?;
    Ok((id, flow, pending))
}

/// Which question the page asks: the one asked for if it is allowed, else the account's method
/// (or, when the app needs more than an emailed code, the authenticator app or backup code).
fn pick_method(asked: Option<&str>, view: &ChallengeView, min_level: u8) -> &'static str {
    let allowed = |m: &str| match m {
        "email" => min_level <= 2,
        "totp" => view.method == MfaMethod::Totp,
        "backup" => view.has_backup_code,
        _ => false,
    };
    match asked {
        Some("email") if allowed("email") => "email",
        Some("totp") if allowed("totp") => "totp",
        Some("backup") if allowed("backup") => "backup",
        _ if view.method == MfaMethod::Totp => "totp",
        _ if min_level <= 2 => "email",
        _ => "backup",
    }
}

struct CodePage<'a> {
    flow_id: &'a str,
    method: &'a str,
    /// False when the app asked for more than an emailed code gives (no email block).
    email_allowed: bool,
    notice: Option<String>,
    error: Option<FieldError>,
    status: StatusCode,
}

async fn render_code_page(
    state: &AppState,
    jar: CookieJar,
    view: &ChallengeView,
    page: CodePage<'_>,
) -> Result<Response, PageError> {
    let (jar, csrf) = csrf_token(state, jar)?;
    let now = state.clock.now();
    let account = state
        .accounts
        .get(view.account_id)
        .await
        .map_err(|e| PageError {
            internal: Some(e.to_string()),
            ..PageError::expired_flow()
        })?;
    let flow_id = page.flow_id;
    let body = ChallengePage {
        theme: theme(state),
        action: endpoints::LOGIN_CODE.to_owned(),
        csrf,
        hidden: vec![("flow".to_owned(), flow_id.to_owned())],
        method: page.method.to_owned(),
        email: account.email,
        expires_text: view
            .email_code_expires_at
            .map(|at| format!("{} ({})", when::clock_time(at), when::from_now(now, at))),
        resend_action: if page.email_allowed {
            endpoints::LOGIN_CODE_EMAIL.to_owned()
        } else {
            String::new()
        },
        resend_text: view
            .resend_at
            .filter(|at| *at > now)
            .map(|at| format!("You can ask for a new code at {}", when::clock_time(at))),
        backup_href: (page.method != "backup" && view.has_backup_code)
            .then(|| code_href(flow_id, "backup")),
        totp_href: (page.method != "totp" && view.method == MfaMethod::Totp)
            .then(|| code_href(flow_id, "totp")),
        notice: page.notice,
        step_up: view.purpose == Purpose::StepUp,
        error: page.error,
        submit_label: "Continue".to_owned(),
    };
    let mut response = ui::render_with_status(page.status, body);
    no_store(&mut response);
    Ok((jar, response).into_response())
}

fn no_store(response: &mut Response) {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

async fn code_get(
    State(state): State<AppState>,
    jar: CookieJar,
    Query(params): Query,
) -> Result<Response, PageError> {
    let (id, flow, pending) = open_flow(&state, &params).await?;
    if pending.passed.is_some() {
        return Err(PageError::expired_flow());
    }
    let view = state.mfa.view(&id).await?;
    let method = pick_method(params.get("method"), &view, required_level(&flow));
    let page = CodePage {
        flow_id: &id,
        email_allowed: required_level(&flow) <= 2,
        method,
        notice: None,
        error: None,
        status: StatusCode::OK,
    };
    render_code_page(&state, jar, &view, page).await
}

async fn email_post(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    jar: CookieJar,
    Form(form): Form,
) -> Result<Response, PageError> {
    check_csrf(&jar, &form)?;
    let (id, flow, pending) = open_flow(&state, &form).await?;
    if pending.passed.is_some() || required_level(&flow) > 2 {
        return Err(PageError::expired_flow());
    }
    let notice = match state.mfa.send_email_code(&id, &origin).await {
        Ok(_) => "We sent a new code. Only the newest code works.".to_owned(),
        Err(MfaError::ResendTooSoon { at }) => format!(
            "We sent a code a moment ago. You can ask for a new one at {}.",
            when::clock_time(at)
        ),
        Err(MfaError::TooManySends) => return Ok(too_many_sends_page(&state)),
        Err(MfaError::Locked { until }) => return Ok(locked_page(&state, until)),
        Err(e) => return Err(e.into()),
    };
    let view = state.mfa.view(&id).await?;
    let page = CodePage {
        flow_id: &id,
        email_allowed: required_level(&flow) <= 2,
        method: "email",
        notice: Some(notice),
        error: None,
        status: StatusCode::OK,
    };
    render_code_page(&state, jar, &view, page).await
}

async fn code_post(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    jar: CookieJar,
    Form(form): Form,
) -> Result<Response, PageError> {
    check_csrf(&jar, &form)?;
    let (id, mut flow, mut pending) = open_flow(&state, &form).await?;
    if pending.passed.is_some() {
        return Err(PageError::expired_flow());
    }
    let typed = form.get("code").unwrap_or("");
    let min_level = required_level(&flow);
    let (method, answer) = match form.get("method") {
        Some("totp") => ("totp", Answer::Totp(typed)),
        Some("backup") => ("backup", Answer::BackupCode(typed)),
        Some("email") if min_level <= 2 => ("email", Answer::EmailCode(typed)),
        _ => {
            return Err(PageError::bad_request(
                "Choose how to confirm it's you",
                "Go back and enter a code from your email, your authenticator app or your backup code.",
            ));
        }
    };
    let hint = if method == "backup" {
        "Enter your backup code, like ABCD-EFGH-JKMN-PQRS-TVWX-YZ01"
    } else {
        "Enter the 6-digit code"
    };
    let retry = |message: &str| {
        (
            StatusCode::BAD_REQUEST,
            Some(FieldError::new("code", message)),
        )
    };
    let (status, error) = match state.mfa.verify(&id, answer, &origin).await {
        Ok(verified) => {
            pending.passed = Some(verified.factor);
            let shown = match verified.new_backup_code {
                Some(code) => Some((code, Shown::ReplacesUsed)),
                // The first sign-in after the account was created (B4).
                None if state
                    .mfa
                    .backup_code_info(pending.account_id)
                    .await?
                    .is_none() =>
                {
                    Some((
                        state
                            .mfa
                            .issue_backup_code(pending.account_id, &origin)
                            .await?,
                        Shown::First,
                    ))
                }
                None => None,
            };
            if let Some((code, why)) = shown {
                pending.backup_code_unacknowledged = true;
                flow.pending = Some(pending);
                save_flow(&state, Some(&id), &flow).await?;
                return backup_code_page(&state, jar, &id, &code, why, None).await;
            }
            flow.pending = Some(pending);
            return after_code(&state, jar, &id, flow).await;
        }
        Err(MfaError::Malformed) => retry(hint),
        Err(MfaError::WrongCode { .. }) => retry(if method == "backup" {
            "The backup code is not right. Check it and try again."
        } else {
            "The code is not right, or it has expired. Check it and try again."
        }),
        Err(MfaError::NotAvailable) => retry("Choose another way to confirm it's you."),
        Err(MfaError::FactorTooNew) => {
            retry("Your authenticator app was set up just now. Use a code sent by email instead.")
        }
        Err(MfaError::Locked { until }) => return Ok(locked_page(&state, until)),
        Err(MfaError::TooManyTries | MfaError::ChallengeGone) => {
            flow.pending = None;
            save_flow(&state, Some(&id), &flow).await?;
            return Ok(start_again_page(&state));
        }
        Err(e) => return Err(e.into()),
    };
    let view = state.mfa.view(&id).await?;
    let page = CodePage {
        flow_id: &id,
        email_allowed: required_level(&flow) <= 2,
        method,
        notice: None,
        error,
        status,
    };
    render_code_page(&state, jar, &view, page).await
}

/// Why the backup code page shows a code.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shown {
    /// The first sign-in after the account was created.
    First,
    /// The code just used was replaced.
    ReplacesUsed,
    /// The page was left without "I saved my backup code": a new code replaced that one.
    Again,
}

async fn backup_code_page(
    state: &AppState,
    jar: CookieJar,
    flow_id: &str,
    code: &str,
    shown: Shown,
    error: Option<FieldError>,
) -> Result<Response, PageError> {
    let (jar, csrf) = csrf_token(state, jar)?;
    let page = BackupCodePage {
        theme: theme(state),
        action: endpoints::LOGIN_BACKUP_CODE.to_owned(),
        csrf,
        hidden: vec![("flow".to_owned(), flow_id.to_owned())],
        code: code.to_owned(),
        generated_text: when::date_time(state.clock.now()),
        first_time: shown == Shown::First,
        replaced_used: shown == Shown::ReplacesUsed,
        error,
    };
    let status = ui::status_for(page.error.as_ref());
    let mut response = ui::render_with_status(status, page);
    no_store(&mut response);
    Ok((jar, response).into_response())
}

async fn backup_ack_post(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    jar: CookieJar,
    Form(form): Form,
) -> Result<Response, PageError> {
    check_csrf(&jar, &form)?;
    let (id, mut flow, mut pending) = open_flow(&state, &form).await?;
    if pending.passed.is_none() || !pending.backup_code_unacknowledged {
        return Err(PageError::expired_flow());
    }
    if form.get("saved") != Some("yes") {
        // The code is shown once and never stored in clear, so it can not be shown again:
        // a new one replaces it, and there is still exactly one valid code.
        let code = state
            .mfa
            .issue_backup_code(pending.account_id, &origin)
            .await?;
        let error = FieldError::new(
            "saved",
            "Save this new backup code, then tick \"I saved my backup code\"",
        );
        return backup_code_page(&state, jar, &id, &code, Shown::Again, Some(error)).await;
    }
    pending.backup_code_unacknowledged = false;
    flow.pending = Some(pending);
    after_code(&state, jar, &id, flow).await
}

/// After the code (and the backup code page): offer to trust the browser when the code came
/// by email on a sign-in, else finish.
async fn after_code(
    state: &AppState,
    jar: CookieJar,
    flow_id: &str,
    flow: Flow,
) -> Result<Response, PageError> {
    let Some(pending) = flow.pending.as_ref() else {
        return Err(PageError::expired_flow());
    };
    // A device is not offered trust while its account must still set up an authenticator
    // app: turning one on distrusts every device anyway.
    let offer_trust = !pending.step_up
        && pending.passed == Some(Factor::EmailCode)
        && !enrollment_due(state, pending.account_id).await?;
    if !offer_trust {
        return finish(state, jar, flow_id, flow).await;
    }
    save_flow(state, Some(flow_id), &flow).await?;
    let (jar, csrf) = csrf_token(state, jar)?;
    let until = state
        .clock
        .now()
        .plus_secs(state.mfa.settings().device_trust_secs());
    let page = TrustDevicePage {
        theme: theme(state),
        action: endpoints::LOGIN_TRUST.to_owned(),
        csrf,
        hidden: vec![("flow".to_owned(), flow_id.to_owned())],
        until_text: when::date(until),
    };
    Ok((jar, ui::render(page)).into_response())
}

async fn trust_post(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    jar: CookieJar,
    Form(form): Form,
) -> Result<Response, PageError> {
    check_csrf(&jar, &form)?;
    let (id, flow, pending) = open_flow(&state, &form).await?;
    if pending.step_up
        || pending.passed != Some(Factor::EmailCode)
        || pending.backup_code_unacknowledged
    {
        return Err(PageError::expired_flow());
    }
    let jar = match form.get("trust") {
        Some("yes") => {
            let label = device_cookie::label(origin.user_agent.as_deref());
            let cookie = state
                .mfa
                .trust_device(pending.account_id, Factor::EmailCode, &label, &origin)
                .await?;
            device_cookie::set(&state, jar, cookie.token, cookie.expires_at)
        }
        Some("no") => jar,
        _ => {
            return Err(PageError::bad_request(
                "Choose an answer",
                "Go back and choose whether to trust this device.",
            ));
        }
    };
    finish(&state, jar, &id, flow).await
}

/// Whether an organization's policy (S54) requires this account to set up an authenticator
/// app before the sign-in may end.
pub(crate) async fn enrollment_due(
    state: &AppState,
    account: lanyard_core::AccountId,
) -> Result<bool, PageError> {
    Ok(state
        .orgs
        .policy()
        .enrollment_due(account)
        .await
        .map_err(lanyard_issuer::OAuthError::from)?)
}

/// The end of the second step: a new session for a sign-in, or a fresh mark on the current
/// session for a step-up; then on to the app or the account page. A sign-in whose account
/// must set up an authenticator app first goes to that page instead, with no session yet.
pub(crate) async fn finish(
    state: &AppState,
    jar: CookieJar,
    flow_id: &str,
    mut flow: Flow,
) -> Result<Response, PageError> {
    let Some(pending) = flow.pending.take() else {
        return Err(PageError::expired_flow());
    };
    let Some(factor) = pending.passed else {
        return Err(PageError::expired_flow());
    };
    if pending.backup_code_unacknowledged {
        return Err(PageError::expired_flow());
    }
    if !pending.step_up && enrollment_due(state, pending.account_id).await? {
        flow.pending = Some(pending);
        save_flow(state, Some(flow_id), &flow).await?;
        return Ok((
            jar,
            redirect(
                &format!("{}?flow={flow_id}", endpoints::LOGIN_ENROLL),
                StatusCode::SEE_OTHER,
            ),
        )
            .into_response());
    }
    let now = state.clock.now();
    let auth = Authenticated {
        account_id: pending.account_id,
        auth_time: now,
        acr: factor.acr().to_owned(),
        amr: factor.amr(),
    };
    if pending.step_up {
        let same_session = flow.bound_session.is_some()
            && flow.bound_session == crate::session::session_binding(state, &jar);
        if !same_session || !mark_verified(state, &jar, auth).await? {
            return Err(PageError::expired_flow());
        }
        crate::session::finish_flow(state, flow_id).await?;
        let to = flow
            .return_to
            .as_deref()
            .unwrap_or(endpoints::ACCOUNT_SECURITY);
        return Ok((jar, redirect(to, StatusCode::SEE_OTHER)).into_response());
    }
    let verified_at = (factor != Factor::TrustedDevice).then_some(now);
    let jar = start_session(state, jar, &auth, verified_at).await?;
    flow.signed_in = true;
    save_flow(state, Some(flow_id), &flow).await?;
    Ok((
        jar,
        redirect(
            &format!("{}?flow={flow_id}", endpoints::AUTHORIZE_CONTINUE),
            StatusCode::SEE_OTHER,
        ),
    )
        .into_response())
}

/// 429 with a concrete wait (S30, B2): even a correct code is refused until then.
pub(crate) fn locked_page(state: &AppState, until: Option<Timestamp>) -> Response {
    let now = state.clock.now();
    let (message, retry_after) = match until {
        Some(at) => (
            format!(
                "For your security, wait until {} ({}) and then try again.",
                when::clock_time(at),
                when::from_now(now, at)
            ),
            (at.seconds() - now.seconds()).max(1),
        ),
        None => (
            "For your security, confirming sign-ins for this account is locked. Contact your \
             administrator to unlock it."
                .to_owned(),
            3600,
        ),
    };
    let mut response = ErrorPage::new(theme(state), "Too many attempts", message)
        .respond(StatusCode::TOO_MANY_REQUESTS);
    if let Ok(value) = HeaderValue::from_str(&retry_after.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// 429 for an address that failed too often (S53a); it says nothing about any account.
pub(crate) fn throttled_page(state: &AppState, wait_secs: i64) -> Response {
    let mut response = ErrorPage::new(
        theme(state),
        "Too many attempts",
        "There were too many unsuccessful sign-ins from your network. Wait a few minutes and \
         try again.",
    )
    .respond(StatusCode::TOO_MANY_REQUESTS);
    if let Ok(value) = HeaderValue::from_str(&wait_secs.max(1).to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

fn too_many_sends_page(state: &AppState) -> Response {
    let mut response = ErrorPage::new(
        theme(state),
        "Too many codes sent",
        "We sent several codes in the last hour. Use the newest code you received, or try \
         again in an hour.",
    )
    .respond(StatusCode::TOO_MANY_REQUESTS);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("3600"));
    response
}

/// The challenge is over (too many wrong codes, or it expired): start again at the password.
fn start_again_page(state: &AppState) -> Response {
    ErrorPage::new(
        theme(state),
        "Start signing in again",
        "That code can no longer be used: there were too many wrong tries, or it took too \
         long. Go back and enter your password again to get a new code.",
    )
    .respond(StatusCode::TOO_MANY_REQUESTS)
}
