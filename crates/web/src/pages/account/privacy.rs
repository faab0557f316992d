//! The privacy page (A4, F3): `GET` shows the categories and the account's changes, a form
//! `POST` saves them, and `PUT` (JSON, `x-csrf-token`) does the same for API callers, who
//! also read the state with `GET` and `Accept: application/json`. A preference, so a
//! signed-in session is enough (no step-up). An attempt to turn a required category off is
//! refused with a clear error and changes nothing, on both.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use axum_extra::extract::CookieJar;
use lanyard_identity::IdentityError;
use lanyard_identity::privacy::Preference;
use lanyard_signin::Session;
use serde::Serialize;

use crate::error::WebError;
use crate::kit::extract::{SignedInForm, ToPrivacy};
use crate::kit::guard::signed_in;
use crate::kit::params::Params;
use crate::kit::{
    Caller, Query, RequestOrigin, check_api_csrf, csrf_token, no_store, paths, see_other, theme,
};
use crate::state::AppState;
use crate::ui::privacy_pages::{ChangeView, PreferenceView, PrivacyPage};
use crate::ui::times::Times;
use crate::ui::{self, CSRF_FIELD, FieldError};

/// Where the first checkbox is, for the error summary's link.
fn first_field(state: &AppState) -> String {
    state
        .privacy
        .settings()
        .categories
        .first()
        .map_or_else(|| "privacy".to_owned(), |c| format!("privacy-{}", c.id))
}

pub async fn privacy_get(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    jar: CookieJar,
    Query(params): Query,
) -> Result<Response, WebError> {
    let caller = Caller::of(&method, &headers);
    let session = signed_in(&state, &jar, caller, paths::ACCOUNT_PRIVACY).await?;
    if caller == Caller::Api {
        return privacy_json(&state, &session).await;
    }
    let notice = (params.get("done") == Some("saved"))
        .then(|| "Your privacy settings are saved.".to_owned());
    privacy_page(&state, jar, &session, notice, None).await
}

async fn privacy_page(
    state: &AppState,
    jar: CookieJar,
    session: &Session,
    notice: Option<String>,
    error: Option<FieldError>,
) -> Result<Response, WebError> {
    let account_id = session.auth.account_id;
    let account = state.accounts.get(account_id).await?;
    let times = Times::for_account(&account, state.clock.now());
    let preferences = state.privacy.preferences(account_id).await?;
    let history = state.privacy.history(account_id).await?;
    let settings = state.privacy.settings();
    let changes = history
        .iter()
        .map(|c| ChangeView {
            when: times.date_time(c.at),
            // A category removed from the configuration since keeps its id as its name.
            name: settings
                .find(&c.category)
                .map_or_else(|| c.category.clone(), |cat| cat.name.clone()),
            state: if c.enabled { "On" } else { "Off" }.to_owned(),
        })
        .collect();
    let (jar, csrf) = csrf_token(state, jar);
    let status = ui::status_for(error.as_ref());
    let page = PrivacyPage {
        theme: theme(state),
        csrf,
        email: account.email,
        action: paths::ACCOUNT_PRIVACY.to_owned(),
        preferences: preferences.iter().map(view).collect(),
        changes,
        notice,
        error,
    };
    Ok((jar, no_store(ui::render_with_status(status, page))).into_response())
}

fn view(p: &Preference) -> PreferenceView {
    PreferenceView {
        id: p.category.id.clone(),
        name: p.category.name.clone(),
        description: p.category.description.clone(),
        enabled: p.enabled,
        required: p.category.required,
    }
}

/// What the form asks for: every optional category on when its box is ticked and off when
/// not; a field may also say `off` outright. A required category's box is disabled, so it is
/// never sent; sent as `off` it is the attempt the service refuses.
fn wanted_from_form(state: &AppState, form: &Params) -> Result<Vec<(String, bool)>, FieldError> {
    let bad = || {
        FieldError::new(
            first_field(state),
            "Something in the form was not valid. Try again.",
        )
    };
    let settings = state.privacy.settings();
    for (name, _) in &form.0 {
        if name != CSRF_FIELD && settings.find(name).is_none() {
            return Err(bad());
        }
    }
    let mut wanted = Vec::new();
    for category in &settings.categories {
        let enabled = match form.get(&category.id) {
            Some("on") => true,
            Some("off") => false,
            Some(_) => return Err(bad()),
            None if category.required => continue,
            None => false,
        };
        wanted.push((category.id.clone(), enabled));
    }
    Ok(wanted)
}

pub async fn privacy_post(
    State(state): State<AppState>,
    SignedInForm {
        session,
        form,
        jar,
        origin,
        ..
    }: SignedInForm<ToPrivacy>,
) -> Result<Response, WebError> {
    let account = session.auth.account_id;
    let wanted = match wanted_from_form(&state, &form) {
        Ok(wanted) => wanted,
        Err(error) => return privacy_page(&state, jar, &session, None, Some(error)).await,
    };
    match state
        .privacy
        .change(account, &wanted, &account.to_string(), &origin)
        .await
    {
        Ok(_) => Ok(see_other(&format!("{}?done=saved", paths::ACCOUNT_PRIVACY))),
        Err(IdentityError::PrivacyRequired(name)) => {
            let field = state
                .privacy
                .settings()
                .categories
                .iter()
                .find(|c| c.name == name)
                .map_or_else(|| first_field(&state), |c| format!("privacy-{}", c.id));
            let error = FieldError::new(
                field,
                format!("{name} is required and cannot be turned off"),
            );
            privacy_page(&state, jar, &session, None, Some(error)).await
        }
        Err(IdentityError::UnknownPrivacyCategory) => {
            let error = FieldError::new(
                first_field(&state),
                "Something in the form was not valid. Try again.",
            );
            privacy_page(&state, jar, &session, None, Some(error)).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Serialize)]
struct PreferenceJson<'a> {
    id: &'a str,
    name: &'a str,
    enabled: bool,
    required: bool,
    /// Seconds since the epoch; absent for a required category or one never changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    changed_at: Option<i64>,
}

#[derive(Serialize)]
struct ChangeJson<'a> {
    category: &'a str,
    enabled: bool,
    at: i64,
}

#[derive(Serialize)]
struct PrivacyJson<'a> {
    preferences: Vec<PreferenceJson<'a>>,
    changes: Vec<ChangeJson<'a>>,
}

async fn privacy_json(state: &AppState, session: &Session) -> Result<Response, WebError> {
    let account = session.auth.account_id;
    let preferences = state.privacy.preferences(account).await?;
    let history = state.privacy.history(account).await?;
    let body = PrivacyJson {
        preferences: preferences
            .iter()
            .map(|p| PreferenceJson {
                id: &p.category.id,
                name: &p.category.name,
                enabled: p.enabled,
                required: p.category.required,
                changed_at: p.changed_at.map(|t| t.seconds()),
            })
            .collect(),
        changes: history
            .iter()
            .map(|c| ChangeJson {
                category: &c.category,
                enabled: c.enabled,
                at: c.at.seconds(),
            })
            .collect(),
    };
    Ok(no_store(Json(body).into_response()))
}

/// `PUT` with a JSON object of category → boolean; categories left out keep their value.
pub async fn privacy_put(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    jar: CookieJar,
    body: Bytes,
) -> Result<Response, WebError> {
    check_api_csrf(&state, &jar, &headers)?;
    let session = signed_in(&state, &jar, Caller::Api, paths::ACCOUNT_PRIVACY).await?;
    let invalid = |description: &'static str| {
        WebError::api(StatusCode::BAD_REQUEST, "invalid_request", description)
    };
    let wanted: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&body)
        .map_err(|_| invalid("the body must be a JSON object of category ids to true or false"))?;
    let mut pairs = Vec::with_capacity(wanted.len());
    for (id, value) in wanted {
        let Some(enabled) = value.as_bool() else {
            return Err(invalid("each value must be true or false"));
        };
        pairs.push((id, enabled));
    }
    let account = session.auth.account_id;
    match state
        .privacy
        .change(account, &pairs, &account.to_string(), &origin)
        .await
    {
        Ok(_) => privacy_json(&state, &session).await,
        Err(IdentityError::PrivacyRequired(name)) => Err(WebError::api(
            StatusCode::CONFLICT,
            "required_category",
            format!("{name} is required and cannot be turned off; nothing was changed"),
        )),
        Err(IdentityError::UnknownPrivacyCategory) => {
            Err(invalid("an unknown privacy category; nothing was changed"))
        }
        Err(e) => Err(e.into()),
    }
}
