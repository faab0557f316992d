//! `/admin/api/v1/accounts`: search, read, create, disable, enable, unlock, end sessions —
//! the same services as `lanyard user` (`AccountService`, `SignInService::disable_account`,
//! `MfaService::unlock`) and the admin service's search and enable.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use lanyard_core::model::{Account, AccountStatus, AuditEvent};
use lanyard_core::ports::AccountFilter;
use lanyard_core::{AccountId, Secret};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::WebError;
use crate::kit::admin::{
    AdminCaller, AdminJson, AdminQuery, Page, Problem, Tagged, etag_of, require_if_match,
};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(accounts_get_list, accounts_post))
        .routes(routes!(account_get))
        .routes(routes!(account_disable_post))
        .routes(routes!(account_enable_post))
        .routes(routes!(account_unlock_post))
        .routes(routes!(account_sessions_delete))
}

/// A person's account (never its password hash).
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountView {
    pub id: String,
    pub email: String,
    pub email_verified: bool,
    pub name: String,
    /// `invited`, `active` or `disabled`.
    pub status: String,
    /// Seconds since 1970 (UTC).
    pub created_at: i64,
    pub updated_at: i64,
}

impl From<&Account> for AccountView {
    fn from(a: &Account) -> Self {
        Self {
            id: a.id.to_string(),
            email: a.email.clone(),
            email_verified: a.email_verified,
            name: a.name.clone(),
            status: a.status.as_str().to_owned(),
            created_at: a.created_at.seconds(),
            updated_at: a.updated_at.seconds(),
        }
    }
}

/// An account to create (active, with a password the password policy accepts).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAccountBody {
    pub email: String,
    pub name: String,
    /// Never stored or shown: only its argon2id hash is kept.
    #[schema(format = Password)]
    pub password: String,
}

/// People by id (creation order), filtered by email prefix and status.
#[utoipa::path(get, path = "/accounts", tag = "accounts",
    params(
        ("email_prefix" = Option<String>, Query, description = "Emails starting with this text (matched literally, case-insensitively)"),
        ("status" = Option<String>, Query, description = "`invited`, `active` or `disabled`"),
        ("limit" = Option<u64>, Query, minimum = 1, maximum = 200, description = "Rows per page (default 50)"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, body = Page<AccountView>),
        (status = 400, body = super::ProblemDoc, content_type = "application/problem+json"),
        (status = 401, body = super::ProblemDoc, content_type = "application/problem+json"),
        (status = 403, body = super::ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["lanyard:admin"])))]
pub async fn accounts_get_list(
    State(state): State<AppState>,
    _caller: AdminCaller,
    query: AdminQuery,
) -> Result<Json<Page<AccountView>>, WebError> {
    query.only(&["email_prefix", "status", "limit", "cursor"])?;
    let limit = query.limit()?;
    let status = match query.get("status") {
        Some(text) => Some(
            AccountStatus::parse(text)
                .ok_or_else(|| Problem::invalid("status must be invited, active or disabled"))?,
        ),
        None => None,
    };
    let email_prefix = query.text("email_prefix", 254)?;
    let cursors = &state.admin.cursors;
    let after = match query.get("cursor") {
        Some(text) => Some(
            cursors
                .open_account(text)
                .ok_or_else(|| Problem::invalid("cursor is not valid"))?,
        ),
        None => None,
    };
    let found = state
        .admin
        .admins
        .search(AccountFilter {
            email_prefix,
            status,
            after,
            limit,
        })
        .await
        .map_err(Problem::from)?;
    let next_cursor = (found.len() as u64 == limit)
        .then(|| found.last().map(|a| cursors.account_after(a.id)))
        .flatten();
    Ok(Json(Page {
        items: found.iter().map(AccountView::from).collect(),
        next_cursor,
    }))
}

/// Creates an active account.
#[utoipa::path(post, path = "/accounts", tag = "accounts", request_body = NewAccountBody,
    responses(
        (status = 201, body = AccountView, headers(("ETag" = String, description = "The account's entity tag"))),
        (status = 400, body = super::ProblemDoc, content_type = "application/problem+json"),
        (status = 401, body = super::ProblemDoc, content_type = "application/problem+json"),
        (status = 403, body = super::ProblemDoc, content_type = "application/problem+json"),
        (status = 409, body = super::ProblemDoc, content_type = "application/problem+json"),
        (status = 413, body = super::ProblemDoc, content_type = "application/problem+json"),
        (status = 415, body = super::ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["lanyard:admin"])))]
pub async fn accounts_post(
    State(state): State<AppState>,
    caller: AdminCaller,
    AdminJson(body): AdminJson<NewAccountBody>,
) -> Result<Tagged<AccountView>, WebError> {
    let account = state
        .accounts
        .create_account(
            &body.email,
            &body.name,
            Secret::new(body.password),
            &caller.origin,
        )
        .await
        .map_err(Problem::from)?;
    Ok(Tagged::created(AccountView::from(&account)))
}

fn account_id(text: &str) -> Result<AccountId, Problem> {
    uuid::Uuid::parse_str(text)
        .map(AccountId)
        .map_err(|_| Problem::NotFound)
}

/// A person's account (a site user's principal is not an account here).
pub(super) async fn person(state: &AppState, id: &str) -> Result<Account, Problem> {
    let account = state.accounts.get(account_id(id)?).await?;
    if account.kind != lanyard_core::model::AccountKind::Person {
        return Err(Problem::NotFound);
    }
    Ok(account)
}

/// One account, with its `ETag`.
#[utoipa::path(get, path = "/accounts/{id}", tag = "accounts",
    params(("id" = String, Path, description = "The account id")),
    responses(
        (status = 200, body = AccountView, headers(("ETag" = String, description = "The account's entity tag"))),
        (status = 401, body = super::ProblemDoc, content_type = "application/problem+json"),
        (status = 403, body = super::ProblemDoc, content_type = "application/problem+json"),
        (status = 404, body = super::ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["lanyard:admin"])))]
pub async fn account_get(
    State(state): State<AppState>,
    _caller: AdminCaller,
    Path(id): Path<String>,
) -> Result<Tagged<AccountView>, WebError> {
    Ok(Tagged::ok(AccountView::from(&person(&state, &id).await?)))
}

/// Disables the account: its grants and PATs are revoked and its sessions end. Needs
/// `If-Match`.
#[utoipa::path(post, path = "/accounts/{id}/disable", tag = "accounts",
    params(
        ("id" = String, Path, description = "The account id"),
        ("If-Match" = String, Header, description = "The ETag of the account as last read"),
    ),
    responses(
        (status = 200, body = AccountView, headers(("ETag" = String, description = "The account's new entity tag"))),
        (status = 401, body = super::ProblemDoc, content_type = "application/problem+json"),
        (status = 403, body = super::ProblemDoc, content_type = "application/problem+json"),
        (status = 404, body = super::ProblemDoc, content_type = "application/problem+json"),
        (status = 412, body = super::ProblemDoc, content_type = "application/problem+json"),
        (status = 428, body = super::ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["lanyard:admin"])))]
pub async fn account_disable_post(
    State(state): State<AppState>,
    caller: AdminCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Tagged<AccountView>, WebError> {
    let account = person(&state, &id).await?;
    require_if_match(&headers, &etag_of(&AccountView::from(&account)))?;
    // Ends every session too, and queues their back-channel logouts, as the CLI does.
    let account = state
        .signin
        .disable_account(&account.email, &caller.origin)
        .await
        .map_err(Problem::from)?;
    let account = state
        .accounts
        .get(account.id)
        .await
        .map_err(Problem::from)?;
    Ok(Tagged::ok(AccountView::from(&account)))
}

/// Enables a disabled account (its revoked grants and PATs stay revoked). Needs `If-Match`.
#[utoipa::path(post, path = "/accounts/{id}/enable", tag = "accounts",
    params(
        ("id" = String, Path, description = "The account id"),
        ("If-Match" = String, Header, description = "The ETag of the account as last read"),
    ),
    responses(
        (status = 200, body = AccountView, headers(("ETag" = String, description = "The account's new entity tag"))),
        (status = 401, body = super::ProblemDoc, content_type = "application/problem+json"),
        (status = 403, body = super::ProblemDoc, content_type = "application/problem+json"),
        (status = 404, body = super::ProblemDoc, content_type = "application/problem+json"),
        (status = 412, body = super::ProblemDoc, content_type = "application/problem+json"),
        (status = 428, body = super::ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["lanyard:admin"])))]
pub async fn account_enable_post(
    State(state): State<AppState>,
    caller: AdminCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Tagged<AccountView>, WebError> {
    let account = person(&state, &id).await?;
    require_if_match(&headers, &etag_of(&AccountView::from(&account)))?;
    let account = state
        .admin
        .admins
        .enable(account.id, &caller.origin)
        .await
        .map_err(Problem::from)?;
    Ok(Tagged::ok(AccountView::from(&account)))
}

/// Lifts the account's password and code lockouts.
#[utoipa::path(post, path = "/accounts/{id}/unlock", tag = "accounts",
    params(("id" = String, Path, description = "The account id")),
    responses(
        (status = 204, description = "Unlocked"),
        (status = 401, body = super::ProblemDoc, content_type = "application/problem+json"),
        (status = 403, body = super::ProblemDoc, content_type = "application/problem+json"),
        (status = 404, body = super::ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["lanyard:admin"])))]
pub async fn account_unlock_post(
    State(state): State<AppState>,
    caller: AdminCaller,
    Path(id): Path<String>,
) -> Result<StatusCode, WebError> {
    let account = person(&state, &id).await?;
    state
        .mfa
        .unlock(account.id, &caller.origin)
        .await
        .map_err(Problem::from)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Ends every session of the account (with back-channel logouts).
#[utoipa::path(delete, path = "/accounts/{id}/sessions", tag = "accounts",
    params(("id" = String, Path, description = "The account id")),
    responses(
        (status = 204, description = "Every session ended"),
        (status = 401, body = super::ProblemDoc, content_type = "application/problem+json"),
        (status = 403, body = super::ProblemDoc, content_type = "application/problem+json"),
        (status = 404, body = super::ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["lanyard:admin"])))]
pub async fn account_sessions_delete(
    State(state): State<AppState>,
    caller: AdminCaller,
    Path(id): Path<String>,
) -> Result<StatusCode, WebError> {
    let account = person(&state, &id).await?;
    state
        .signin
        .sessions()
        .end_all(account.id, &caller.origin)
        .await
        .map_err(Problem::from)?;
    let event = AuditEvent::new(state.clock.now(), "session.ended_all", "success")
        .subject(account.id.to_string());
    state.audit.record(event, &caller.origin).await;
    Ok(StatusCode::NO_CONTENT)
}
