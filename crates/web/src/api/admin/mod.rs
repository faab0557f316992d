//! The admin REST API (issue 15, H4) under `/admin/api/v1`, and its OpenAPI 3.1 document at
//! `/admin/api/openapi.json`, generated from the handlers by `utoipa`: the router and the
//! document come from the same `routes!` calls (`utoipa-axum`), so a route cannot be served
//! without being documented. docs/admin-api.md is the reader's guide.
//!
//! Adding an area (organizations, sites, privacy): a module here with
//! `pub fn routes() -> OpenApiRouter<AppState>` whose handlers carry `#[utoipa::path]`
//! (path relative to `/admin/api/v1`, `security(("bearer" = ["lanyard:admin"]))`), take
//! [`AdminCaller`](crate::kit::admin::AdminCaller) first (authentication and the per-request
//! admin check), map service errors to [`Problem`](crate::kit::admin::Problem), and audit
//! through the services with `caller.origin`; then one `.merge(module::routes())` in
//! [`api_router`] and a tag in [`AdminDoc`]. Never a plain axum route: the flow test
//! `admin_api::openapi_*` fails on a path the document does not list.

pub mod account_sessions;
pub mod accounts;
pub mod audit;
pub mod clients;
pub mod keys;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use axum::routing::get;
use serde::Serialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

/// Where the API lives, and its document.
pub const ADMIN_API_V1: &str = "/admin/api/v1";
pub const OPENAPI_PATH: &str = "/admin/api/openapi.json";

/// RFC 9457 problem details: every refusal of the admin API
/// (`Content-Type: application/problem+json`).
#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemDoc {
    /// `urn:lanyard:problem:<kind>` (docs/admin-api.md lists them).
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Lanyard admin API",
        version = "1",
        description = "Administer a Lanyard server: clients, accounts, signing keys, the audit log. Authenticate with an access token for `<issuer>/admin/api` carrying the `lanyard:admin` scope (docs/admin-api.md)."
    ),
    modifiers(&BearerScheme),
    components(schemas(ProblemDoc)),
    tags(
        (name = "clients", description = "OAuth clients"),
        (name = "accounts", description = "People's accounts"),
        (name = "keys", description = "Signing keys"),
        (name = "audit", description = "The audit log"),
        (name = "privacy", description = "Accounts' privacy preferences (read only)"),
    )
)]
struct AdminDoc;

struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "An access token for <issuer>/admin/api with scope lanyard:admin",
                    ))
                    .build(),
            ),
        );
    }
}

/// Every admin route, documented.
pub fn api_router() -> OpenApiRouter<AppState> {
    let v1 = OpenApiRouter::new()
        .merge(clients::routes())
        .merge(accounts::routes())
        .merge(account_sessions::routes())
        .merge(keys::routes())
        .merge(audit::routes());
    OpenApiRouter::with_openapi(AdminDoc::openapi()).nest(ADMIN_API_V1, v1)
}

/// The OpenAPI document of [`api_router`].
pub fn document() -> utoipa::openapi::OpenApi {
    api_router().split_for_parts().1
}

pub fn routes() -> Router<AppState> {
    let (router, doc) = api_router().split_for_parts();
    let json: Arc<str> = doc.to_json().unwrap_or_default().into();
    router.route(
        OPENAPI_PATH,
        get(move || {
            let json = json.clone();
            async move {
                (
                    [(
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("application/json"),
                    )],
                    json.to_string(),
                )
                    .into_response()
            }
        }),
    )
}
