//! The organization admin API (S54): an admin reads and changes the organization's sign-in
//! policy. Reading needs a session; changing it is a sensitive action (B8: fresh session,
//! RFC 9470 challenge otherwise) with the CSRF token in `x-csrf-token`. Anyone who is not an
//! admin of the organization gets 403.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use axum_extra::extract::CookieJar;
use lanyard_core::Timestamp;
use lanyard_core::model::Organization;
use lanyard_identity::IdentityError;
use lanyard_identity::orgs::Actor;
use serde::{Deserialize, Serialize};

use crate::error::WebError;
use crate::kit::body::JsonBody;
use crate::kit::guard::{fresh, signed_in};
use crate::kit::{Caller, RequestOrigin, check_api_csrf, no_store, paths};
use crate::state::AppState;

fn api_error(status: StatusCode, error: &'static str, description: &'static str) -> WebError {
    WebError::api(status, error, description)
}

pub fn routes() -> Router<AppState> {
    Router::new().route(paths::ORG_POLICY, get(policy_get).put(policy_put))
}

#[derive(Debug, Serialize)]
struct PolicyJson {
    org: String,
    name: String,
    authenticator_required: bool,
    /// When the requirement was turned on (seconds since the epoch).
    authenticator_required_since: Option<i64>,
}

impl PolicyJson {
    fn of(org: &Organization) -> Self {
        Self {
            org: org.slug.clone(),
            name: org.name.clone(),
            authenticator_required: org.authenticator_required_since.is_some(),
            authenticator_required_since: org.authenticator_required_since.map(Timestamp::seconds),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyInput {
    authenticator_required: bool,
}

#[derive(Debug, Serialize)]
struct ChangedJson {
    #[serde(flatten)]
    policy: PolicyJson,
    changed: bool,
    members_with_pats_revoked: u64,
}

fn identity_error(e: IdentityError) -> WebError {
    match e {
        IdentityError::Forbidden => api_error(
            StatusCode::FORBIDDEN,
            "forbidden",
            "only an admin of the organization may do this",
        ),
        IdentityError::NotFound => {
            api_error(StatusCode::NOT_FOUND, "not_found", "no such organization")
        }
        other => WebError::from(other),
    }
}

async fn policy_get(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    Path(slug): Path<String>,
    jar: CookieJar,
) -> Result<Response, WebError> {
    let session = signed_in(&state, &jar, Caller::Api, paths::ACCOUNT).await?;
    let org = state
        .orgs
        .authorize_admin(&slug, Actor::Account(session.auth.account_id), &origin)
        .await
        .map_err(identity_error)?;
    Ok(no_store(Json(PolicyJson::of(&org)).into_response()))
}

async fn policy_put(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    Path(slug): Path<String>,
    headers: HeaderMap,
    jar: CookieJar,
    JsonBody(body): JsonBody,
) -> Result<Response, WebError> {
    check_api_csrf(&state, &jar, &headers)?;
    let session = signed_in(&state, &jar, Caller::Api, paths::ACCOUNT).await?;
    let actor = Actor::Account(session.auth.account_id);
    // A non-admin learns nothing more by stepping up first: refused before the challenge.
    state
        .orgs
        .authorize_admin(&slug, actor, &origin)
        .await
        .map_err(identity_error)?;
    fresh(&state, &jar, Caller::Api, &origin, paths::ACCOUNT).await?;
    let input: PolicyInput = serde_json::from_slice(&body).map_err(|_| {
        api_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the body must be a JSON object {\"authenticator_required\": true|false}",
        )
    })?;
    let change = state
        .orgs
        .set_authenticator_required(&slug, actor, input.authenticator_required, &origin)
        .await
        .map_err(identity_error)?;
    let body = ChangedJson {
        policy: PolicyJson::of(&change.org),
        changed: change.changed,
        members_with_pats_revoked: change.members_with_pats_revoked,
    };
    Ok(no_store(Json(body).into_response()))
}
