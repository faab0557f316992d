//! Setting up an authenticator app in the middle of a sign-in, when an organization of the
//! account requires one and it has none (S54). The password and the second step have passed;
//! there is no session and no authorization code until the app is confirmed, and then the
//! sign-in ends as usual (`second_step::finish`).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum_extra::extract::CookieJar;
use lanyard_core::model::Account;
use lanyard_issuer::endpoints;
use lanyard_mfa::{MfaError, TotpSetup};

use crate::error::PageError;
use crate::origin::RequestOrigin;
use crate::params::{Form, Params, Query};
use crate::routes::login::{check_csrf, csrf_token, theme};
use crate::routes::second_step::{enrollment_due, finish, no_store, open_flow};
use crate::state::AppState;
use crate::ui::mfa_pages::TotpSetupPage;
use crate::ui::{self, FieldError};

pub fn routes() -> Router<AppState> {
    Router::new().route(endpoints::LOGIN_ENROLL, get(enroll_get).post(enroll_post))
}

/// The flow's account, when the flow is at this step: second step passed, backup code
/// acknowledged, a sign-in (not a step-up) and the policy still waiting for an app.
async fn enrolling_account(
    state: &AppState,
    params: &Params,
) -> Result<(String, crate::session::Flow, Account), PageError> {
    let (id, flow, pending) = open_flow(state, params).await?;
    if pending.passed.is_none()
        || pending.step_up
        || pending.backup_code_unacknowledged
        || !enrollment_due(state, pending.account_id).await?
    {
        return Err(PageError::expired_flow());
    }
    let account = state
        .accounts
        .get(pending.account_id)
        .await
        .map_err(|_| PageError::expired_flow())?;
    Ok((id, flow, account))
}

fn page(
    state: &AppState,
    jar: CookieJar,
    flow_id: &str,
    setup: TotpSetup,
    error: Option<FieldError>,
) -> Result<Response, PageError> {
    let (jar, csrf) = csrf_token(state, jar)?;
    let status = ui::status_for(error.as_ref());
    let body = TotpSetupPage {
        theme: theme(state),
        action: endpoints::LOGIN_ENROLL.to_owned(),
        csrf,
        hidden: vec![("flow".to_owned(), flow_id.to_owned())],
        qr_svg: setup.enrollment.qr_svg,
        secret_text: setup.enrollment.secret_text,
        replacing: false,
        required: true,
        error,
    };
    // The secret is on this page: never cached (S31).
    let mut response = ui::render_with_status(status, body);
    no_store(&mut response);
    Ok((jar, response).into_response())
}

async fn enroll_get(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    jar: CookieJar,
    Query(params): Query,
) -> Result<Response, PageError> {
    let (id, _, account) = enrolling_account(&state, &params).await?;
    // Reloading the page keeps the secret already shown (it may be scanned already).
    let setup = match state.mfa.pending_setup(&account).await? {
        Some(setup) => setup,
        None => state.mfa.start_totp_setup(&account, &origin).await?,
    };
    page(&state, jar, &id, setup, None)
}

async fn enroll_post(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    jar: CookieJar,
    Form(form): Form,
) -> Result<Response, PageError> {
    check_csrf(&jar, &form)?;
    let (id, flow, account) = enrolling_account(&state, &form).await?;
    let typed = form.get("code").unwrap_or("");
    let message = match state.mfa.confirm_totp_setup(&account, typed, &origin).await {
        Ok(()) => return finish(&state, jar, &id, flow).await,
        Err(MfaError::Malformed) => "Enter the 6-digit code from your authenticator app",
        Err(MfaError::WrongCode { .. }) => {
            "The code is not right. Check the app shows the new entry and try again."
        }
        Err(MfaError::NotAvailable) => {
            return Ok(crate::routes::authorize::redirect(
                &format!("{}?flow={id}", endpoints::LOGIN_ENROLL),
                StatusCode::SEE_OTHER,
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let Some(setup) = state.mfa.pending_setup(&account).await? else {
        return Err(PageError::expired_flow());
    };
    page(
        &state,
        jar,
        &id,
        setup,
        Some(FieldError::new("code", message)),
    )
}
