//! Personal access tokens on the account pages and the account API (E1, E2, S24, S27).
//!
//! Creating one is a sensitive action (B8): the session must be fresh. Pages post forms with
//! the CSRF token; API callers send JSON with the token in `x-csrf-token`. The plaintext is
//! in exactly one response: the API's 201, or the page's one-time page (the form's POST
//! keeps it sealed for this session and redirects there, so a reload makes no second token:
//! issue 12 item 6); listings show `prefix…last4`. Revoking from the page asks first.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use axum_extra::extract::CookieJar;
use lanyard_core::Timestamp;
use lanyard_core::model::{Pat, PatId, Site, SiteUser};
use lanyard_identity::IdentityError;
use lanyard_identity::pats::{Expiry, PatRequest};
use lanyard_signin::{Session, Showing, ShownId, ShownKind};
use serde::{Deserialize, Serialize};

use crate::error::WebError;
use crate::kit::body::LimitedBody;
use crate::kit::extract::{SignedIn, ToPats};
use crate::kit::guard::{fresh, signed_in};
use crate::kit::notice::{self, Notice};
use crate::kit::params::{Form, Params, Query};
use crate::kit::{
    Caller, RequestOrigin, check_api_csrf, check_csrf, cookies, csrf_token, no_store, paths,
    see_other, theme, times_for,
};
use crate::state::AppState;
use crate::ui::account_pages::{ConfirmPage, ShownOncePage};
use crate::ui::pat_pages::{PatCreatedPage, PatView, PatsPage};
use crate::ui::times::Times;

use super::pat_form::{field_errors, lifetimes, scope_groups, site_choices};
use crate::ui::{self, FieldError};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(paths::ACCOUNT_PATS, get(pats_get).post(pats_post))
        .route(paths::ACCOUNT_PAT_SHOWN, get(pat_shown_get))
        .route(paths::ACCOUNT_PAT, get(pat_get).delete(pat_delete))
        .route(
            paths::ACCOUNT_PAT_REVOKE,
            get(pat_revoke_get).post(pat_revoke_post),
        )
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
    /// The site user the token is tied to (E2): its exchanges name that site user.
    #[serde(skip_serializing_if = "Option::is_none")]
    site_user: Option<String>,
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
            site_user: pat.site_user.map(|u| u.to_string()),
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
    /// The slug of the site whose user (linked to this account) the token is for (E2).
    #[serde(default)]
    site: Option<String>,
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
        IdentityError::SsoRequired => api_error(
            StatusCode::FORBIDDEN,
            "sso_required",
            "your organization requires its own sign-in: sign in with it to create tokens",
        ),
        other => WebError::from(other),
    }
}

async fn pats_get(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    jar: CookieJar,
    // Parsed for its strictness only: the page reads no parameter.
    Query(_params): Query,
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
    let notice = notice::take(&state, &jar).await?;
    let times = times_for(&state, &session).await?;
    let sites = site_users(&state, &session).await?;
    pats_page(
        &state,
        jar,
        (&pats, &times, &sites),
        notice,
        Vec::new(),
        &Params::default(),
    )
}

/// The site users the account's tokens may be for (E2).
async fn site_users(
    state: &AppState,
    session: &Session,
) -> Result<Vec<(Site, SiteUser)>, WebError> {
    let account = state.accounts.get(session.auth.account_id).await?;
    Ok(state.pats.site_choices(&account).await?)
}

fn pats_page(
    state: &AppState,
    jar: CookieJar,
    (pats, times, sites): (&[Pat], &Times, &[(Site, SiteUser)]),
    notice: Option<String>,
    errors: Vec<FieldError>,
    form: &Params,
) -> Result<Response, WebError> {
    let (jar, csrf) = csrf_token(state, jar);
    let settings = state.pats.settings();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let page = PatsPage {
        theme: theme(state),
        action: paths::ACCOUNT_PATS.to_owned(),
        csrf,
        hidden: Vec::new(),
        pats: pats
            .iter()
            .map(|p| PatView::of(p, times).with_site(p, sites))
            .collect(),
        site_choices: site_choices(sites, form),
        scope_groups: scope_groups(&state.pats.resources().0, form),
        name: form.get("name").unwrap_or("").to_owned(),
        lifetimes: lifetimes(
            settings.default_lifetime_days,
            settings.max_lifetime_days,
            settings.allow_no_expiry,
            times,
            form.get("expires"),
        ),
        notice,
        errors,
    };
    Ok(no_store(
        (jar, ui::render_with_status(status, page)).into_response(),
    ))
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
    check_csrf(&state, &jar, &form)?;
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
        site: form
            .get("site")
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
    };
    // Every field's problem at once, not one per try.
    let problems = state.pats.problems(&request);
    if !problems.is_empty() {
        let errors = field_errors(problems.iter().map(|(field, _)| *field));
        return form_error(&state, jar, &session, errors, &form).await;
    }
    match create(&state, &session, request, &origin).await {
        Ok((pat, token)) => {
            let id = state
                .signin
                .handoffs()
                .keep(cookies::session(&jar), ShownKind::Pat, &pat.name, &token)
                .await?;
            Ok(see_other(
                &paths::ACCOUNT_PAT_SHOWN.replace("{id}", id.as_str()),
            ))
        }
        Err(IdentityError::InvalidPat(field, _)) => {
            let errors = field_errors([field]);
            form_error(&state, jar, &session, errors, &form).await
        }
        Err(IdentityError::TooManyPats(max)) => {
            let error = FieldError::new(
                "name",
                format!("You have {max} tokens, the most allowed. Revoke one first."),
            );
            form_error(&state, jar, &session, vec![error], &form).await
        }
        Err(e) => Err(WebError::from(e)),
    }
}

/// The new token's one-time page: the token the first time; a reload, Back or another tab
/// only says what it is listed as. Nothing here creates a token.
async fn pat_shown_get(
    State(state): State<AppState>,
    SignedIn { jar, .. }: SignedIn<ToPats>,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let showing = match ShownId::parse(&id) {
        Some(id) => {
            state
                .signin
                .handoffs()
                .show(cookies::session(&jar), ShownKind::Pat, &id)
                .await?
        }
        None => None,
    };
    let page = match showing {
        Some(Showing::Secret { label, secret, .. }) => {
            let page = PatCreatedPage {
                theme: theme(&state),
                name: label,
                token: secret.expose().to_owned(),
                back: paths::ACCOUNT_PATS.to_owned(),
            };
            return Ok(no_store(ui::render(page)));
        }
        Some(Showing::ShownBefore { label }) => ShownOncePage {
            theme: theme(&state),
            title: "This token was shown once".to_owned(),
            paragraphs: vec![
                format!(
                    "For your safety a new token is shown only once. It is listed as \
                     \u{2018}{label}\u{2019} on your tokens page."
                ),
                "If you did not copy it, revoke it there and create a new one.".to_owned(),
            ],
            next: None,
            back_href: paths::ACCOUNT_PATS.to_owned(),
            back_text: "Back to your tokens".to_owned(),
        },
        None => {
            let page = ShownOncePage {
                theme: theme(&state),
                title: "There is no token to show here".to_owned(),
                paragraphs: vec![
                    "A new token is shown once, for a few minutes, in the browser that created \
                     it."
                    .to_owned(),
                ],
                next: None,
                back_href: paths::ACCOUNT_PATS.to_owned(),
                back_text: "Back to your tokens".to_owned(),
            };
            return Ok(no_store(ui::render_with_status(
                StatusCode::NOT_FOUND,
                page,
            )));
        }
    };
    Ok(no_store(ui::render(page)))
}

/// The list and the create form again, with what was typed and what to fix.
async fn form_error(
    state: &AppState,
    jar: CookieJar,
    session: &Session,
    errors: Vec<FieldError>,
    form: &Params,
) -> Result<Response, WebError> {
    let pats = state
        .pats
        .list(session.auth.account_id)
        .await
        .map_err(identity_error)?;
    let times = times_for(state, session).await?;
    let sites = site_users(state, session).await?;
    pats_page(state, jar, (&pats, &times, &sites), None, errors, form)
}

async fn create(
    state: &AppState,
    session: &Session,
    request: PatRequest,
    origin: &lanyard_core::Origin,
) -> Result<(Pat, String), IdentityError> {
    let account = state.accounts.get(session.auth.account_id).await?;
    let (pat, token) = state
        .pats
        .create_in_session(&account, request, &session.auth.amr, origin)
        .await?;
    Ok((pat, token.expose().to_owned()))
}

async fn create_api(
    state: &AppState,
    origin: &lanyard_core::Origin,
    headers: &HeaderMap,
    jar: CookieJar,
    body: &[u8],
) -> Result<Response, WebError> {
    check_api_csrf(state, &jar, headers)?;
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
        site: input.site,
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
    check_api_csrf(&state, &jar, &headers)?;
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

/// The token of this account with `id`, for its revoke pages; anything else is a 404 page.
async fn own_pat(state: &AppState, session: &Session, id: &str) -> Result<Pat, WebError> {
    let missing = || {
        WebError::page(
            StatusCode::NOT_FOUND,
            "That token is not in your list",
            "It may have been revoked already. Go back to your tokens.",
        )
    };
    let id = PatId::parse(id).ok_or_else(missing)?;
    match state.pats.get(Some(session.auth.account_id), id).await {
        Ok(pat) => Ok(pat),
        Err(IdentityError::NotFound) => Err(missing()),
        Err(e) => Err(WebError::from(e)),
    }
}

/// "Revoke 'laptop'?": what stops working, a button and Cancel (issue 12 item 8).
async fn pat_revoke_get(
    State(state): State<AppState>,
    SignedIn { session, jar, .. }: SignedIn<ToPats>,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let pat = own_pat(&state, &session, &id).await?;
    if pat.revoked_at.is_some() {
        notice::leave(&state, &jar, Notice::TokenAlreadyRevoked).await?;
        return Ok(see_other(paths::ACCOUNT_PATS));
    }
    let (jar, csrf) = csrf_token(&state, jar);
    let page = ConfirmPage {
        theme: theme(&state),
        title: format!("Revoke \u{2018}{}\u{2019}?", pat.name),
        consequences: vec![
            "Tools and scripts that use this token will no longer be able to sign in. Tokens \
             they already got from it stop working within a few minutes."
                .to_owned(),
            "You can not undo this. To give a tool access again, create a new token.".to_owned(),
        ],
        action: paths::ACCOUNT_PAT_REVOKE.replace("{id}", &pat.id.to_string()),
        csrf,
        button: "Revoke this token".to_owned(),
        cancel_href: paths::ACCOUNT_PATS.to_owned(),
    };
    Ok((jar, no_store(ui::render(page))).into_response())
}

/// Revoking needs a session but not a fresh one: it only takes access away. A replay finds
/// the token revoked already and says so; nothing else changes.
async fn pat_revoke_post(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    method: Method,
    headers: HeaderMap,
    jar: CookieJar,
    Path(id): Path<String>,
    Form(form): Form,
) -> Result<Response, WebError> {
    check_csrf(&state, &jar, &form)?;
    let caller = Caller::of(&method, &headers);
    let session = signed_in(&state, &jar, caller, paths::ACCOUNT_PATS).await?;
    let pat = own_pat(&state, &session, &id).await?;
    let revoked = state
        .pats
        .revoke(Some(session.auth.account_id), pat.id, &origin)
        .await?;
    let done = if revoked {
        Notice::TokenRevoked { name: pat.name }
    } else {
        Notice::TokenAlreadyRevoked
    };
    notice::leave(&state, &jar, done).await?;
    Ok(see_other(paths::ACCOUNT_PATS))
}
