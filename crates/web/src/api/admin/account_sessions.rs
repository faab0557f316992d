//! `/admin/api/v1/accounts/{id}/sessions` per session, and `…/privacy`: what the account
//! pages show their owner (F3, A4), read by an admin — the signed-in browsers, ending one of
//! them, and the privacy preferences with their history. The same services as the account
//! pages (`SessionStore::list` / `end_listed`, `PrivacyService`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use lanyard_core::model::AuditEvent;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::accounts::person;
use crate::error::WebError;
use crate::kit::admin::{AdminCaller, Problem};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(account_sessions_list))
        .routes(routes!(account_session_delete))
        .routes(routes!(account_privacy_get))
}

/// One signed-in browser of the account.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    /// Names the session for `DELETE …/sessions/{handle}` (a keyed hash, never the cookie).
    pub handle: String,
    /// Seconds since 1970 (UTC).
    pub started_at: i64,
    pub last_seen: i64,
    /// The network it signed in from (IPv4 /24, IPv6 /48), never the address.
    pub network: Option<String>,
    /// "Firefox on Linux".
    pub device: String,
    pub stay_signed_in: bool,
    /// Signed in through an organization's identity provider.
    pub federated: bool,
}

/// The account's live sessions, newest first.
#[utoipa::path(get, path = "/accounts/{id}/sessions", tag = "accounts",
    params(("id" = String, Path, description = "The account id")),
    responses(
        (status = 200, body = Vec<SessionView>),
        (status = 401, body = super::ProblemDoc, content_type = "application/problem+json"),
        (status = 403, body = super::ProblemDoc, content_type = "application/problem+json"),
        (status = 404, body = super::ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["lanyard:admin"])))]
pub async fn account_sessions_list(
    State(state): State<AppState>,
    _caller: AdminCaller,
    Path(id): Path<String>,
) -> Result<Json<Vec<SessionView>>, WebError> {
    let account = person(&state, &id).await?;
    let sessions = state
        .signin
        .sessions()
        .list(account.id, None)
        .await
        .map_err(Problem::from)?;
    Ok(Json(
        sessions
            .into_iter()
            .map(|s| SessionView {
                handle: s.handle,
                started_at: s.started_at.seconds(),
                last_seen: s.last_seen.seconds(),
                network: s.ip_prefix,
                device: s.device,
                stay_signed_in: s.stay_signed_in,
                federated: s.federated,
            })
            .collect(),
    ))
}

/// Ends one session of the account (with its clients' back-channel logouts).
#[utoipa::path(delete, path = "/accounts/{id}/sessions/{handle}", tag = "accounts",
    params(
        ("id" = String, Path, description = "The account id"),
        ("handle" = String, Path, description = "The session's handle from the list"),
    ),
    responses(
        (status = 204, description = "The session ended"),
        (status = 401, body = super::ProblemDoc, content_type = "application/problem+json"),
        (status = 403, body = super::ProblemDoc, content_type = "application/problem+json"),
        (status = 404, body = super::ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["lanyard:admin"])))]
pub async fn account_session_delete(
    State(state): State<AppState>,
    caller: AdminCaller,
    Path((id, handle)): Path<(String, String)>,
) -> Result<StatusCode, WebError> {
    let account = person(&state, &id).await?;
    let well_formed = handle.len() == 64 && handle.bytes().all(|b| b.is_ascii_hexdigit());
    if !well_formed {
        return Err(Problem::NotFound.into());
    }
    let ended = state
        .signin
        .sessions()
        .end_listed(account.id, &handle, &caller.origin)
        .await
        .map_err(Problem::from)?;
    if !ended {
        return Err(Problem::NotFound.into());
    }
    let event = AuditEvent::new(state.clock.now(), "session.ended_one", "success")
        .subject(account.id.to_string());
    state.audit.record(event, &caller.origin).await;
    Ok(StatusCode::NO_CONTENT)
}

/// One privacy category as the account has it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PreferenceView {
    pub id: String,
    pub name: String,
    pub enabled: bool,
    /// Always on; cannot be turned off.
    pub required: bool,
    /// Seconds since 1970 (UTC) of the last change; absent when never changed.
    pub changed_at: Option<i64>,
}

/// One recorded change.
#[derive(Debug, Serialize, ToSchema)]
pub struct PrivacyChangeView {
    pub category: String,
    pub enabled: bool,
    pub at: i64,
    /// Who changed it: the account itself (its id) or an operator.
    pub actor: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PrivacyView {
    pub preferences: Vec<PreferenceView>,
    /// Newest first.
    pub changes: Vec<PrivacyChangeView>,
}

/// The account's privacy preferences (A4) and their recorded changes. Read only: the
/// account's owner changes them.
#[utoipa::path(get, path = "/accounts/{id}/privacy", tag = "privacy",
    params(("id" = String, Path, description = "The account id")),
    responses(
        (status = 200, body = PrivacyView),
        (status = 401, body = super::ProblemDoc, content_type = "application/problem+json"),
        (status = 403, body = super::ProblemDoc, content_type = "application/problem+json"),
        (status = 404, body = super::ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["lanyard:admin"])))]
pub async fn account_privacy_get(
    State(state): State<AppState>,
    _caller: AdminCaller,
    Path(id): Path<String>,
) -> Result<Json<PrivacyView>, WebError> {
    let account = person(&state, &id).await?;
    let preferences = state
        .privacy
        .preferences(account.id)
        .await
        .map_err(Problem::from)?;
    let history = state
        .privacy
        .history(account.id)
        .await
        .map_err(Problem::from)?;
    Ok(Json(PrivacyView {
        preferences: preferences
            .into_iter()
            .map(|p| PreferenceView {
                enabled: p.enabled,
                changed_at: p.changed_at.map(|t| t.seconds()),
                required: p.category.required,
                id: p.category.id,
                name: p.category.name,
            })
            .collect(),
        changes: history
            .into_iter()
            .map(|c| PrivacyChangeView {
                category: c.category,
                enabled: c.enabled,
                at: c.at.seconds(),
                actor: c.actor,
            })
            .collect(),
    }))
}
