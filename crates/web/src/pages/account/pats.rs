//! Personal access tokens on the account pages and the account API (E1, E2, S24, S27).
//!
//! Creating one is a sensitive action (B8): the session must be fresh. Pages post forms with
//! the CSRF token; API callers send JSON with the token in `x-csrf-token`. The plaintext is
//! in exactly one response (201, `no-store`); listings show `prefix…last4`.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use axum_extra::extract::CookieJar;
use lanyard_core::Timestamp;
use lanyard_core::model::{Pat, PatId};
use lanyard_identity::IdentityError;
use lanyard_identity::pats::{Expiry, PatField, PatRequest};
use serde::{Deserialize, Serialize};

use lanyard_signin::Session;

use crate::error::WebError;
use crate::kit::body::LimitedBody;
use crate::kit::guard::{fresh, signed_in};
use crate::kit::params::{Form, Params, Query};
use crate::kit::{
    Caller, RequestOrigin, check_api_csrf, check_csrf, csrf_token, no_store, paths, see_other,
    theme, times_for,
};
use crate::state::AppState;
use crate::ui::pat_pages::{PatCreatedPage, PatView, PatsPage, ScopeChoice};
use crate::ui::times::Times;
use crate::ui::{self, FieldError};

const PAT: &str = "/account/pats/{id}";
const PAT_REVOKE: &str = "/account/pats/{id}/revoke";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(paths::ACCOUNT_PATS, get(pats_get).post(pats_post))
        .route(PAT, get(pat_get).delete(pat_delete))
        .route(PAT_REVOKE, post(pat_revoke_post))
}

/// A PAT as listings show it: never the token.
#[derive(Debug, Serialize)]
struct PatJson {
    id: String,
    name: String,
    display: String,
    scopes: Vec<String>,
    audiences: Vec<String>,
    created_at: i64,
    last_used_at: Option<i64>,
    expires_at: Option<i64>,
    expired: bool,
}

impl PatJson {
    fn of(pat: &Pat, now: Timestamp) -> Self {
        Self {
            id: pat.id.to_string(),
            name: pat.name.clone(),
            display: pat.display.clone(),
            scopes: pat.scopes.clone(),
            audiences: pat.audiences.clone(),
            created_at: pat.created_at.seconds(),
            last_used_at: pat.last_used_at.map(Timestamp::seconds),
            expires_at: pat.expires_at.map(Timestamp::seconds),
            expired: !pat.is_live(now),
        }
    }
}

#[derive(Debug, Serialize)]
struct CreatedJson {
    #[serde(flatten)]
    pat: PatJson,
    /// The only time the token is shown.
    token: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateJson {
    name: String,
    scopes: Vec<String>,
    #[serde(default)]
    audiences: Vec<String>,
    /// Days; absent: the default. `null` with `no_expiry: true` for no expiry.
    #[serde(default)]
    expires_in_days: Option<i64>,
    #[serde(default)]
    no_expiry: bool,
}

fn api_error(status: StatusCode, error: &'static str, description: &'static str) -> WebError {
    WebError::api(status, error, description)
}

fn identity_error(e: IdentityError) -> WebError {
    match e {
        IdentityError::InvalidPat(_, why) => {
            api_error(StatusCode::BAD_REQUEST, "invalid_request", why)
        }
        IdentityError::TooManyPats(_) => api_error(
            StatusCode::CONFLICT,
            "too_many_tokens",
            "revoke a token before creating another",
        ),
        IdentityError::NotFound => api_error(StatusCode::NOT_FOUND, "not_found", "no such token"),
        other => WebError::from(other),
    }
}

async fn pats_get(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    jar: CookieJar,
    Query(params): Query,
) -> Result<Response, WebError> {
    let caller = Caller::of(&method, &headers);
    let session = signed_in(&state, &jar, caller, paths::ACCOUNT_PATS).await?;
    let pats = state
        .pats
        .list(session.auth.account_id)
        .await
        .map_err(identity_error)?;
    let now = state.clock.now();
    if caller == Caller::Api {
        let list: Vec<PatJson> = pats.iter().map(|p| PatJson::of(p, now)).collect();
        return Ok(no_store(Json(list).into_response()));
    }
    let notice = match params.get("done") {
        Some("revoked") => Some("The token is revoked. Tools using it can no longer sign in."),
        _ => None,
    };
    let times = times_for(&state, &session).await?;
    pats_page(
        &state,
        jar,
        (&pats, &times),
        notice,
        None,
        &Params::default(),
    )
}

fn pats_page(
    state: &AppState,
    jar: CookieJar,
    (pats, times): (&[Pat], &Times),
    notice: Option<&str>,
    error: Option<FieldError>,
    form: &Params,
) -> Result<Response, WebError> {
    let (jar, csrf) = csrf_token(state, jar);
    let settings = state.pats.settings();
    let mut scopes: Vec<ScopeChoice> = Vec::new();
    for resource in &state.pats.resources().0 {
        for scope in &resource.scopes {
            if scopes.iter().all(|s| &s.value != scope) {
                let index = scopes.len();
                let field = format!("scope_{index}");
                let checked = form.get(&field) == Some(scope.as_str());
                scopes.push(ScopeChoice {
                    field,
                    value: scope.clone(),
                    checked,
                });
            }
        }
    }
    let status = ui::status_for(error.as_ref());
    let page = PatsPage {
        theme: theme(state),
        action: paths::ACCOUNT_PATS.to_owned(),
        csrf,
        hidden: Vec::new(),
        pats: pats.iter().map(|p| PatView::of(p, times)).collect(),
        scopes,
        name: form.get("name").unwrap_or("").to_owned(),
        lifetimes: lifetimes(settings.default_lifetime_days, settings.max_lifetime_days),
        allow_no_expiry: settings.allow_no_expiry,
        notice: notice.map(str::to_owned),
        error,
    };
    Ok(no_store(
        (jar, ui::render_with_status(status, page)).into_response(),
    ))
}

/// The expiry choices: common lifetimes up to the maximum, the default first.
fn lifetimes(default: i64, max: i64) -> Vec<i64> {
    let mut days: Vec<i64> = [7, 30, 60, 90, 180, 366]
        .into_iter()
        .filter(|d| *d <= max && *d != default)
        .collect();
    days.insert(0, default);
    days
}

async fn pats_post(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    method: Method,
    headers: HeaderMap,
    jar: CookieJar,
    LimitedBody { bytes: body, json }: LimitedBody,
) -> Result<Response, WebError> {
    if json {
        return create_api(&state, &origin, &headers, jar, &body).await;
    }
    let form = Params::parse(&body).map_err(|_| {
        WebError::page(
            StatusCode::BAD_REQUEST,
            "The form could not be read",
            "Go back and try again.",
        )
    })?;
    check_csrf(&jar, &form)?;
    let caller = Caller::of(&method, &headers);
    let session = fresh(&state, &jar, caller, &origin, paths::ACCOUNT_PATS).await?;
    let scopes = form
        .0
        .iter()
        .filter(|(k, _)| k.starts_with("scope_"))
        .map(|(_, v)| v.clone())
        .collect();
    let expiry = match form.get("expires") {
        Some("never") => Expiry::Never,
        Some(days) => days.parse().map(Expiry::Days).unwrap_or(Expiry::Days(0)),
        None => Expiry::Default,
    };
    let request = PatRequest {
        name: form.get("name").unwrap_or("").to_owned(),
        scopes,
        audiences: Vec::new(),
        expiry,
        site: None,
    };
    match create(&state, &session, request, &origin).await {
        Ok((pat, token)) => {
            let page = PatCreatedPage {
                theme: theme(&state),
                name: pat.name,
                token,
                back: paths::ACCOUNT_PATS.to_owned(),
            };
            Ok(no_store(ui::render(page)))
        }
        Err(IdentityError::InvalidPat(field, _)) => {
            let error = field_error(field);
            form_error(&state, jar, &session, error, &form).await
        }
        Err(IdentityError::TooManyPats(max)) => {
            let error = FieldError::new(
                "name",
                format!("You have {max} tokens, the most allowed. Revoke one first."),
            );
            form_error(&state, jar, &session, error, &form).await
        }
        Err(e) => Err(WebError::from(e)),
    }
}

/// The list and the create form again, with what was typed and what to fix.
async fn form_error(
    state: &AppState,
    jar: CookieJar,
    session: &Session,
    error: FieldError,
    form: &Params,
) -> Result<Response, WebError> {
    let pats = state
        .pats
        .list(session.auth.account_id)
        .await
        .map_err(identity_error)?;
    let times = times_for(state, session).await?;
    pats_page(state, jar, (&pats, &times), None, Some(error), form)
}

/// Where the page shows a refusal, in the page's words. The form has no audience or site
/// fields, so those can only come from a tampered form: shown at the name.
fn field_error(field: PatField) -> FieldError {
    match field {
        PatField::Scopes => FieldError::new("scope_0", "Choose at least one scope"),
        PatField::Expiry => FieldError::new("expires", "Choose when the token expires"),
        PatField::Name => FieldError::new("name", "Enter a name of up to 100 characters"),
        PatField::Audiences | PatField::Site => FieldError::new(
            "name",
            "The form was changed; reload the page and try again",
        ),
    }
}

async fn create(
    state: &AppState,
    session: &Session,
    request: PatRequest,
    origin: &lanyard_core::Origin,
) -> Result<(Pat, String), IdentityError> {
    let account = state.accounts.get(session.auth.account_id).await?;
    let (pat, token) = state.pats.create(&account, request, origin).await?;
    Ok((pat, token.expose().to_owned()))
}

async fn create_api(
    state: &AppState,
    origin: &lanyard_core::Origin,
    headers: &HeaderMap,
    jar: CookieJar,
    body: &[u8],
) -> Result<Response, WebError> {
    check_api_csrf(&jar, headers)?;
    let session = fresh(state, &jar, Caller::Api, origin, paths::ACCOUNT_PATS).await?;
    let input: CreateJson = serde_json::from_slice(body).map_err(|_| {
        api_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the body must be a JSON object with name, scopes and optionally expires_in_days",
        )
    })?;
    let expiry = match (input.expires_in_days, input.no_expiry) {
        (None, true) => Expiry::Never,
        (Some(_), true) => {
            return Err(api_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "expires_in_days and no_expiry exclude each other",
            ));
        }
        (Some(days), false) => Expiry::Days(days),
        (None, false) => Expiry::Default,
    };
    let request = PatRequest {
        name: input.name,
        scopes: input.scopes,
        audiences: input.audiences,
        expiry,
        site: None,
    };
    let (pat, token) = create(state, &session, request, origin)
        .await
        .map_err(identity_error)?;
    let created = CreatedJson {
        pat: PatJson::of(&pat, state.clock.now()),
        token,
    };
    Ok(no_store(
        (StatusCode::CREATED, Json(created)).into_response(),
    ))
}

/// API only: the page lists every token on `/account/pats`.
async fn pat_get(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let session = signed_in(&state, &jar, Caller::Api, paths::ACCOUNT_PATS).await?;
    let id = PatId::parse(&id)
        .ok_or_else(|| api_error(StatusCode::NOT_FOUND, "not_found", "no such token"))?;
    let pat = state
        .pats
        .get(Some(session.auth.account_id), id)
        .await
        .map_err(identity_error)?;
    Ok(no_store(
        Json(PatJson::of(&pat, state.clock.now())).into_response(),
    ))
}

async fn pat_delete(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    jar: CookieJar,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    check_api_csrf(&jar, &headers)?;
    let session = signed_in(&state, &jar, Caller::Api, paths::ACCOUNT_PATS).await?;
    let id = PatId::parse(&id)
        .ok_or_else(|| api_error(StatusCode::NOT_FOUND, "not_found", "no such token"))?;
    state
        .pats
        .revoke(Some(session.auth.account_id), id, &origin)
        .await
        .map_err(identity_error)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Revoking needs a session but not a fresh one: it only takes access away.
async fn pat_revoke_post(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    method: Method,
    headers: HeaderMap,
    jar: CookieJar,
    Path(id): Path<String>,
    Form(form): Form,
) -> Result<Response, WebError> {
    check_csrf(&jar, &form)?;
    let caller = Caller::of(&method, &headers);
    let session = signed_in(&state, &jar, caller, paths::ACCOUNT_PATS).await?;
    let id = PatId::parse(&id).ok_or_else(WebError::not_found)?;
    match state
        .pats
        .revoke(Some(session.auth.account_id), id, &origin)
        .await
    {
        Ok(_) | Err(IdentityError::NotFound) => {
            Ok(see_other(&format!("{}?done=revoked", paths::ACCOUNT_PATS)))
        }
        Err(e) => Err(WebError::from(e)),
    }
}
