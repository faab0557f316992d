//! `/admin/api/v1/clients`: list, read, register (the secret shown once), delete — the same
//! `ClientService` calls as `lanyard client`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use lanyard_core::model::{Client, ClientAuthMethod, GrantType};
use lanyard_issuer::clients::NewClient;
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
        .routes(routes!(clients_get_list, clients_post))
        .routes(routes!(client_get, client_delete))
}

/// A registered client, without its secret (only its keyed hash is stored).
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientView {
    pub id: String,
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    /// RFC 7591 grant type names.
    pub grant_types: Vec<String>,
    /// `client_secret_basic`, `client_secret_post`, `private_key_jwt` or `none`.
    pub auth_method: String,
    pub first_party: bool,
    pub allowed_scopes: Vec<String>,
    pub exchange_audiences: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backchannel_logout_uri: Option<String>,
    pub backchannel_logout_session_required: bool,
    /// The site the client belongs to, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    /// Seconds since 1970 (UTC).
    pub created_at: i64,
}

impl From<&Client> for ClientView {
    fn from(c: &Client) -> Self {
        Self {
            id: c.id.to_string(),
            name: c.name.clone(),
            redirect_uris: c.redirect_uris.clone(),
            post_logout_redirect_uris: c.post_logout_redirect_uris.clone(),
            grant_types: c
                .grant_types
                .iter()
                .map(|g| g.as_str().to_owned())
                .collect(),
            auth_method: c.auth_method.as_str().to_owned(),
            first_party: c.first_party,
            allowed_scopes: c.allowed_scopes.clone(),
            exchange_audiences: c.exchange_audiences.clone(),
            backchannel_logout_uri: c.backchannel_logout_uri.clone(),
            backchannel_logout_session_required: c.backchannel_logout_session_required,
            site: c.site.map(|s| s.to_string()),
            created_at: c.created_at.seconds(),
        }
    }
}

fn default_grants() -> Vec<String> {
    vec!["authorization_code".to_owned(), "refresh_token".to_owned()]
}

fn default_auth() -> String {
    "client_secret_basic".to_owned()
}

/// A client to register. Unknown fields are refused.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewClientBody {
    /// 1-128 characters: letters, digits, `-`, `_`, `.`, `~`.
    pub id: String,
    /// Shown on consent pages; the id when absent.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// RFC 7591 grant type names; default `authorization_code`, `refresh_token`.
    #[serde(default = "default_grants")]
    pub grant_types: Vec<String>,
    /// Default `client_secret_basic`.
    #[serde(default = "default_auth")]
    pub auth_method: String,
    #[serde(default)]
    pub first_party: bool,
    #[serde(default)]
    pub allowed_scopes: Vec<String>,
    #[serde(default)]
    pub exchange_audiences: Vec<String>,
    /// The client's public keys (RFC 7517 JWK Set) for `private_key_jwt`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<serde_json::Value>,
    #[serde(default)]
    pub backchannel_logout_uri: Option<String>,
    #[serde(default)]
    pub backchannel_logout_session_required: bool,
}

/// The registered client and, for secret-based methods, its secret: shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientCreated {
    pub client: ClientView,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

/// Clients by id.
#[utoipa::path(get, path = "/clients", tag = "clients",
    params(
        ("limit" = Option<u64>, Query, minimum = 1, maximum = 200, description = "Rows per page (default 50)"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, body = Page<ClientView>),
        (status = 400, body = super::ProblemDoc, content_type = "application/problem+json"),
        (status = 401, body = super::ProblemDoc, content_type = "application/problem+json"),
        (status = 403, body = super::ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["lanyard:admin"])))]
pub async fn clients_get_list(
    State(state): State<AppState>,
    _caller: AdminCaller,
    query: AdminQuery,
) -> Result<Json<Page<ClientView>>, WebError> {
    query.only(&["limit", "cursor"])?;
    let limit = usize::try_from(query.limit()?).unwrap_or(usize::MAX);
    let cursors = &state.admin.cursors;
    let after = match query.get("cursor") {
        Some(text) => Some(
            cursors
                .open_client(text)
                .ok_or_else(|| Problem::invalid("cursor is not valid"))?,
        ),
        None => None,
    };
    let mut all = state.issuer.clients().list().await.map_err(Problem::from)?;
    all.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
    let items: Vec<ClientView> = all
        .iter()
        .filter(|c| after.as_deref().is_none_or(|after| c.id.as_str() > after))
        .take(limit)
        .map(ClientView::from)
        .collect();
    let next_cursor = (items.len() == limit)
        .then(|| items.last().map(|c| cursors.client_after(&c.id)))
        .flatten();
    Ok(Json(Page { items, next_cursor }))
}

/// Registers a client. The secret (for `client_secret_basic` / `client_secret_post`) is in
/// this answer only.
#[utoipa::path(post, path = "/clients", tag = "clients", request_body = NewClientBody,
    responses(
        (status = 201, body = ClientCreated, headers(("ETag" = String, description = "The client's entity tag"))),
        (status = 400, body = super::ProblemDoc, content_type = "application/problem+json"),
        (status = 401, body = super::ProblemDoc, content_type = "application/problem+json"),
        (status = 403, body = super::ProblemDoc, content_type = "application/problem+json"),
        (status = 409, body = super::ProblemDoc, content_type = "application/problem+json"),
        (status = 413, body = super::ProblemDoc, content_type = "application/problem+json"),
        (status = 415, body = super::ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["lanyard:admin"])))]
pub async fn clients_post(
    State(state): State<AppState>,
    caller: AdminCaller,
    AdminJson(body): AdminJson<NewClientBody>,
) -> Result<Tagged<ClientCreated>, WebError> {
    let auth_method = ClientAuthMethod::parse(&body.auth_method).ok_or_else(|| {
        Problem::invalid(
            "auth_method must be client_secret_basic, client_secret_post, private_key_jwt or none",
        )
    })?;
    let grant_types = body
        .grant_types
        .iter()
        .map(|g| GrantType::parse(g))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| Problem::invalid("grant_types holds an unknown grant type"))?;
    let new = NewClient {
        name: body.name.unwrap_or_else(|| body.id.clone()),
        id: body.id,
        redirect_uris: body.redirect_uris,
        post_logout_redirect_uris: body.post_logout_redirect_uris,
        grant_types,
        auth_method,
        jwks: body.jwks,
        first_party: body.first_party,
        allowed_scopes: body.allowed_scopes,
        exchange_audiences: body.exchange_audiences,
        backchannel_logout_uri: body.backchannel_logout_uri,
        backchannel_logout_session_required: body.backchannel_logout_session_required,
    };
    let registered = state
        .issuer
        .clients()
        .register(new, &caller.origin)
        .await
        .map_err(Problem::from)?;
    // The tag is the client's, so that a later If-Match works with what this answer told.
    let view = ClientView::from(&registered.client);
    let tag = etag_of(&view);
    let created = ClientCreated {
        client: view,
        client_secret: registered.secret.map(|s| s.expose().to_owned()),
    };
    Ok(Tagged::created(created).with_etag(tag))
}

async fn find(state: &AppState, id: &str) -> Result<ClientView, Problem> {
    let client = state.issuer.clients().find(id).await?;
    client
        .map(|c| ClientView::from(c.as_ref()))
        .ok_or(Problem::NotFound)
}

/// One client, with its `ETag`.
#[utoipa::path(get, path = "/clients/{id}", tag = "clients",
    params(("id" = String, Path, description = "The client id")),
    responses(
        (status = 200, body = ClientView, headers(("ETag" = String, description = "The client's entity tag"))),
        (status = 401, body = super::ProblemDoc, content_type = "application/problem+json"),
        (status = 403, body = super::ProblemDoc, content_type = "application/problem+json"),
        (status = 404, body = super::ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["lanyard:admin"])))]
pub async fn client_get(
    State(state): State<AppState>,
    _caller: AdminCaller,
    Path(id): Path<String>,
) -> Result<Tagged<ClientView>, WebError> {
    Ok(Tagged::ok(find(&state, &id).await?))
}

/// Deletes a client: its tokens stop working. Needs `If-Match` with the client's `ETag`.
#[utoipa::path(delete, path = "/clients/{id}", tag = "clients",
    params(
        ("id" = String, Path, description = "The client id"),
        ("If-Match" = String, Header, description = "The ETag of the client as last read"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, body = super::ProblemDoc, content_type = "application/problem+json"),
        (status = 403, body = super::ProblemDoc, content_type = "application/problem+json"),
        (status = 404, body = super::ProblemDoc, content_type = "application/problem+json"),
        (status = 412, body = super::ProblemDoc, content_type = "application/problem+json"),
        (status = 428, body = super::ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["lanyard:admin"])))]
pub async fn client_delete(
    State(state): State<AppState>,
    caller: AdminCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode, WebError> {
    let current = find(&state, &id).await?;
    require_if_match(&headers, &etag_of(&current))?;
    let deleted = state
        .issuer
        .clients()
        .delete(&id, &caller.origin)
        .await
        .map_err(Problem::from)?;
    if deleted {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(Problem::NotFound.into())
    }
}
