//! `/admin/api/v1/audit`: the audit log, newest first, filtered by account (actor or
//! subject), site, organization, kind and time, with a sealed cursor (A5).

use axum::Json;
use axum::extract::State;
use lanyard_core::Timestamp;
use lanyard_core::model::{AuditPosition, AuditQuery, AuditRecord};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::WebError;
use crate::kit::admin::{AdminCaller, AdminQuery, Page, Problem};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(audit_get))
}

/// One event. Never carries a secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditView {
    pub id: String,
    /// Seconds since 1970 (UTC).
    pub at: i64,
    /// Dotted kind, e.g. `login.failed`, `client.created`, `key.rotated`.
    pub kind: String,
    /// `success` or `failure`.
    pub outcome: String,
    /// Who acted: an account id, `client:<id>`, or `cli`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub site_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl From<&AuditRecord> for AuditView {
    fn from(r: &AuditRecord) -> Self {
        let e = &r.event;
        Self {
            id: r.id.to_string(),
            at: e.at.seconds(),
            kind: e.kind.clone(),
            outcome: e.outcome.clone(),
            actor: e.actor.clone(),
            subject: e.subject.clone(),
            client_id: e.client_id.clone(),
            site_id: e.site_id.clone(),
            org_id: e.org_id.clone(),
            ip: e.ip.clone(),
            user_agent: e.user_agent.clone(),
            reason: e.reason.clone(),
        }
    }
}

/// Longer filter values match nothing we store: refused.
const MAX_FILTER_LEN: usize = 200;

/// Audit events, newest first.
#[utoipa::path(get, path = "/audit", tag = "audit",
    params(
        ("account" = Option<String>, Query, description = "The actor or the subject is this (an account id, `client:<id>`, …)"),
        ("site" = Option<String>, Query, description = "Events concerning this site id"),
        ("org" = Option<String>, Query, description = "Events concerning this organization id"),
        ("kind" = Option<String>, Query, description = "Exactly this kind, e.g. `login.failed`"),
        ("since" = Option<i64>, Query, minimum = 0, description = "From this second on (seconds since 1970, UTC)"),
        ("until" = Option<i64>, Query, minimum = 0, description = "Before this second"),
        ("limit" = Option<u64>, Query, minimum = 1, maximum = 200, description = "Rows per page (default 50)"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, body = Page<AuditView>),
        (status = 400, body = super::ProblemDoc, content_type = "application/problem+json"),
        (status = 401, body = super::ProblemDoc, content_type = "application/problem+json"),
        (status = 403, body = super::ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["lanyard:admin"])))]
pub async fn audit_get(
    State(state): State<AppState>,
    _caller: AdminCaller,
    query: AdminQuery,
) -> Result<Json<Page<AuditView>>, WebError> {
    query.only(&[
        "account", "site", "org", "kind", "since", "until", "limit", "cursor",
    ])?;
    let text = |name: &'static str| query.text(name, MAX_FILTER_LEN);
    let cursors = &state.admin.cursors;
    let after = match query.get("cursor") {
        Some(c) => Some(
            cursors
                .open_audit(c)
                .ok_or_else(|| Problem::invalid("cursor is not valid"))?,
        ),
        None => None,
    };
    let limit = query.limit()?;
    let q = AuditQuery {
        account: text("account")?,
        site_id: text("site")?,
        org_id: text("org")?,
        kind: text("kind")?,
        since: query.seconds("since")?.map(Timestamp),
        until: query.seconds("until")?.map(Timestamp),
        after,
        limit,
    };
    let rows = state
        .admin
        .audit_log
        .query_audit(&q)
        .await
        .map_err(Problem::from)?;
    let next_cursor = (rows.len() as u64 == limit)
        .then(|| {
            rows.last().map(|r| {
                cursors.audit_after(AuditPosition {
                    at: r.event.at.seconds(),
                    id: r.id,
                })
            })
        })
        .flatten();
    Ok(Json(Page {
        items: rows.iter().map(AuditView::from).collect(),
        next_cursor,
    }))
}
