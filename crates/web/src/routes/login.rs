//! The sign-in pages (one question per page: email, then password) and the consent page.
//!
//! A correct password hands over to the second step (`routes::second_step`).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum_extra::extract::CookieJar;
use lanyard_core::Secret;
use lanyard_identity::IdentityError;
use lanyard_issuer::endpoints;
use lanyard_mfa::PasswordGate;

use crate::error::PageError;
use crate::origin::RequestOrigin;
use crate::params::{Form, Params, Query};
use crate::routes::authorize::{proceed, redirect};
use crate::routes::second_step;
use crate::session::{Flow, current_session, load_flow, save_flow};
use crate::state::AppState;
use crate::ui::csrf::{self, CSRF_FIELD, CsrfConfig};
use crate::ui::{
    self, ConsentPage, FieldError, ScopeView, SignInEmailPage, SignInPasswordPage, Theme,
};

/// Longest password we hash; longer input is refused before argon2 runs (S51).
pub(crate) const MAX_PASSWORD_LEN: usize = 1024;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(endpoints::LOGIN, get(login_get).post(login_post))
        .route(
            endpoints::LOGIN_PASSWORD,
            get(password_get).post(password_post),
        )
        .route(endpoints::CONSENT, post(consent_post))
}

pub(crate) fn theme(state: &AppState) -> Theme {
    Theme::new(state.settings.product_name.clone())
}

pub(crate) fn csrf_token(
    state: &AppState,
    jar: CookieJar,
) -> Result<(CookieJar, String), PageError> {
    Ok(csrf::ensure_token(
        jar,
        CsrfConfig {
            secure_cookies: state.settings.secure_cookies,
        },
        &*state.rng,
    ))
}

pub(crate) fn check_csrf(jar: &CookieJar, form: &Params) -> Result<(), PageError> {
    if csrf::verify(jar, form.get(CSRF_FIELD).unwrap_or("")) {
        Ok(())
    } else {
        Err(PageError::new(
            StatusCode::FORBIDDEN,
            "This form has expired",
            "For your security the form could not be sent. Go back, reload the page and try again.",
        ))
    }
}

async fn flow_from(state: &AppState, params: &Params) -> Result<(String, Flow), PageError> {
    let id = params.get("flow").unwrap_or("").to_owned();
    let flow = load_flow(state, &id)
        .await?
        .ok_or_else(PageError::expired_flow)?;
    Ok((id, flow))
}

/// Which sign-in question a page asks.
#[derive(Clone, Copy)]
enum Step {
    Email,
    Password,
}

/// Renders a sign-in step with a CSRF token; 400 when it carries an error.
fn sign_in_page(
    state: &AppState,
    jar: CookieJar,
    step: Step,
    flow_id: &str,
    email: &str,
    error: Option<FieldError>,
) -> Result<Response, PageError> {
    let (jar, csrf) = csrf_token(state, jar)?;
    let status = ui::status_for(error.as_ref());
    let hidden = vec![("flow".to_owned(), flow_id.to_owned())];
    let page = match step {
        Step::Email => ui::render_with_status(
            status,
            SignInEmailPage {
                theme: theme(state),
                action: endpoints::LOGIN.to_owned(),
                csrf,
                hidden,
                email: email.to_owned(),
                error,
            },
        ),
        Step::Password => ui::render_with_status(
            status,
            SignInPasswordPage {
                theme: theme(state),
                action: endpoints::LOGIN_PASSWORD.to_owned(),
                csrf,
                hidden,
                email: email.to_owned(),
                change_email_href: format!("{}?flow={flow_id}", endpoints::LOGIN),
                error,
            },
        ),
    };
    Ok((jar, page).into_response())
}

async fn login_get(
    State(state): State<AppState>,
    jar: CookieJar,
    Query(params): Query,
) -> Result<Response, PageError> {
    let (id, flow) = flow_from(&state, &params).await?;
    let email = flow.email.clone().unwrap_or_default();
    sign_in_page(&state, jar, Step::Email, &id, &email, None)
}

async fn login_post(
    State(state): State<AppState>,
    jar: CookieJar,
    Form(form): Form,
) -> Result<Response, PageError> {
    check_csrf(&jar, &form)?;
    let (id, mut flow) = flow_from(&state, &form).await?;
    let email = form.get("email").unwrap_or("").trim().to_owned();
    if lanyard_identity::normalize_email(&email).is_err() {
        let error = FieldError::new("email", "Enter your email address, like name@example.com");
        return sign_in_page(&state, jar, Step::Email, &id, &email, Some(error));
    }
    flow.email = Some(email);
    save_flow(&state, Some(&id), &flow).await?;
    Ok(redirect(
        &format!("{}?flow={id}", endpoints::LOGIN_PASSWORD),
        StatusCode::SEE_OTHER,
    ))
}

async fn password_get(
    State(state): State<AppState>,
    jar: CookieJar,
    Query(params): Query,
) -> Result<Response, PageError> {
    let (id, flow) = flow_from(&state, &params).await?;
    let Some(email) = flow.email else {
        return Ok(redirect(
            &format!("{}?flow={id}", endpoints::LOGIN),
            StatusCode::SEE_OTHER,
        ));
    };
    sign_in_page(&state, jar, Step::Password, &id, &email, None)
}

async fn password_post(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    jar: CookieJar,
    Form(form): Form,
) -> Result<Response, PageError> {
    check_csrf(&jar, &form)?;
    let (id, flow) = flow_from(&state, &form).await?;
    let Some(email) = flow.email.clone() else {
        return Ok(redirect(
            &format!("{}?flow={id}", endpoints::LOGIN),
            StatusCode::SEE_OTHER,
        ));
    };
    let password = form.get("password").unwrap_or("");
    let wrong = |message: &str| FieldError::new("password", message);
    if password.is_empty() || password.len() > MAX_PASSWORD_LEN {
        let error = wrong("Enter your password");
        return sign_in_page(&state, jar, Step::Password, &id, &email, Some(error));
    }
    if let Some(wait) = state.mfa.address_throttled(&origin).await? {
        return Ok(second_step::throttled_page(&state, wait));
    }
    // Looked up before the password check so the account's lock applies; the password is
    // checked even when locked, so a locked account costs the same time as any other (S53f).
    let named = state.accounts.find_by_email(&email).await.ok().flatten();
    let gate = state
        .mfa
        .password_attempt(named.as_ref(), crate::device_cookie::read(&state, &jar))
        .await?;
    let outcome = state
        .accounts
        .authenticate_password(&email, Secret::new(password), &origin)
        .await;
    let right = outcome.is_ok();
    if right || matches!(outcome, Err(IdentityError::InvalidCredentials)) {
        state
            .mfa
            .password_checked(named.as_ref(), gate, right, &origin)
            .await?;
    }
    let outcome = match outcome {
        Ok(_) if gate == PasswordGate::Locked => Err(IdentityError::InvalidCredentials),
        other => other,
    };
    match outcome {
        Ok(account) => second_step::begin(&state, jar, &origin, &id, flow, &account, None).await,
        Err(IdentityError::InvalidCredentials) => {
            let error =
                wrong("The email address or password is not right. Check them and try again.");
            sign_in_page(&state, jar, Step::Password, &id, &email, Some(error))
        }
        Err(e) => Err(PageError {
            internal: Some(e.to_string()),
            ..PageError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "Sign-in is unavailable",
                "Something went wrong on our side. Try again in a few minutes.",
            )
        }),
    }
}

pub(crate) async fn consent_page(
    state: &AppState,
    jar: CookieJar,
    flow_id: &str,
    flow: &Flow,
) -> Result<Response, PageError> {
    let request = flow.request.as_ref().ok_or_else(PageError::expired_flow)?;
    let client = state
        .issuer
        .clients()
        .find(&request.client_id)
        .await
        .map_err(|e| PageError::from_oauth(e.into()))?
        .ok_or_else(PageError::expired_flow)?;
    let (jar, csrf) = csrf_token(state, jar)?;
    let scopes = request.scope.iter().filter_map(describe_scope).collect();
    let page = ConsentPage {
        theme: theme(state),
        action: endpoints::CONSENT.to_owned(),
        csrf,
        hidden: vec![("flow".to_owned(), flow_id.to_owned())],
        client_name: client.name.clone(),
        scopes,
    };
    Ok((jar, ui::render(page)).into_response())
}

pub(crate) fn describe_scope(scope: &str) -> Option<ScopeView> {
    let description = match scope {
        "openid" => "Know who you are when you sign in",
        "profile" => "See your name",
        "email" => "See your email address",
        "offline_access" => "Stay connected when you are not using it",
        _ => "Use a part of your account it asked for",
    };
    Some(ScopeView::new(scope, description))
}

async fn consent_post(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    jar: CookieJar,
    Form(form): Form,
) -> Result<Response, PageError> {
    check_csrf(&jar, &form)?;
    let (id, mut flow) = flow_from(&state, &form).await?;
    let Some(mut request) = flow.request.take() else {
        return Err(PageError::expired_flow());
    };
    let Some(session) = current_session(&state, &jar).await? else {
        return Ok(redirect(
            &format!("{}?flow={id}", endpoints::LOGIN),
            StatusCode::SEE_OTHER,
        ));
    };
    match form.get("decision") {
        Some("allow") => {
            state
                .issuer
                .grant_consent(&request, &session, &origin)
                .await?;
            // `prompt=consent` is now satisfied for this flow.
            request.prompt.consent = false;
            flow.request = Some(request);
            proceed(&state, jar, &origin, Some(&id), flow, StatusCode::SEE_OTHER).await
        }
        Some("deny") => {
            crate::session::finish_flow(&state, &id).await?;
            Ok(redirect(
                &state.issuer.deny(&request),
                StatusCode::SEE_OTHER,
            ))
        }
        _ => Err(PageError::bad_request(
            "Choose an answer",
            "Go back and choose whether to allow or deny the app.",
        )),
    }
}
