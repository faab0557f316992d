//! `/admin/api/v1/keys`: the signing keys' public facts, rotation and retirement — the same
//! `KeyService` as `lanyard keys`, which audits `key.rotated` / `key.retired`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use lanyard_core::model::SigningAlg;
use lanyard_issuer::keys::KeyInfo;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::WebError;
use crate::kit::admin::{AdminCaller, AdminQuery, Problem};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(keys_get))
        .routes(routes!(keys_rotate_post))
        .routes(routes!(key_retire_post))
}

/// A signing key's public facts; its private half never leaves the store.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyView {
    pub kid: String,
    /// `RS256`, `ES256` or `EdDSA`.
    pub alg: String,
    /// Seconds since 1970 (UTC): published, signing from, retired at, removed after.
    pub created_at: i64,
    pub active_from: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retired_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remove_after: Option<i64>,
    /// The public JWK (RFC 7517).
    #[schema(value_type = Object)]
    pub public_jwk: serde_json::Value,
}

impl From<&KeyInfo> for KeyView {
    fn from(k: &KeyInfo) -> Self {
        Self {
            kid: k.kid.clone(),
            alg: k.alg.as_str().to_owned(),
            created_at: k.created_at.seconds(),
            active_from: k.active_from.seconds(),
            retired_at: k.retired_at.map(|t| t.seconds()),
            remove_after: k.remove_after.map(|t| t.seconds()),
            public_jwk: serde_json::from_str(&k.public_jwk).unwrap_or_default(),
        }
    }
}

/// The list of keys.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyList {
    pub items: Vec<KeyView>,
}

/// Every stored signing key, oldest first.
#[utoipa::path(get, path = "/keys", tag = "keys",
    responses(
        (status = 200, body = KeyList),
        (status = 401, body = super::ProblemDoc, content_type = "application/problem+json"),
        (status = 403, body = super::ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["lanyard:admin"])))]
pub async fn keys_get(
    State(state): State<AppState>,
    _caller: AdminCaller,
) -> Result<Json<KeyList>, WebError> {
    let keys = state.admin.keys.list().await.map_err(Problem::from)?;
    Ok(Json(KeyList {
        items: keys.iter().map(KeyView::from).collect(),
    }))
}

/// Publishes a successor for one algorithm (`alg`) or all; it signs after the propagation
/// delay, when its predecessors retire.
#[utoipa::path(post, path = "/keys/rotate", tag = "keys",
    params(("alg" = Option<String>, Query, description = "`RS256`, `ES256` or `EdDSA`; every algorithm when absent")),
    responses(
        (status = 201, body = KeyList),
        (status = 400, body = super::ProblemDoc, content_type = "application/problem+json"),
        (status = 401, body = super::ProblemDoc, content_type = "application/problem+json"),
        (status = 403, body = super::ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["lanyard:admin"])))]
pub async fn keys_rotate_post(
    State(state): State<AppState>,
    caller: AdminCaller,
    query: AdminQuery,
) -> Result<(StatusCode, Json<KeyList>), WebError> {
    query.only(&["alg"])?;
    let alg = match query.get("alg") {
        Some(text) => Some(
            SigningAlg::parse(text)
                .ok_or_else(|| Problem::invalid("alg must be RS256, ES256 or EdDSA"))?,
        ),
        None => None,
    };
    let created = state
        .admin
        .keys
        .rotate(alg, &caller.origin)
        .await
        .map_err(Problem::from)?;
    Ok((
        StatusCode::CREATED,
        Json(KeyList {
            items: created.iter().map(KeyView::from).collect(),
        }),
    ))
}

/// Removes a key at once (a compromised key): it leaves the JWKS and the tokens it signed
/// stop verifying; an algorithm left without a key gets a new one that signs at once.
#[utoipa::path(post, path = "/keys/{kid}/retire", tag = "keys",
    params(("kid" = String, Path, description = "The key id")),
    responses(
        (status = 204, description = "Retired"),
        (status = 401, body = super::ProblemDoc, content_type = "application/problem+json"),
        (status = 403, body = super::ProblemDoc, content_type = "application/problem+json"),
        (status = 404, body = super::ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["lanyard:admin"])))]
pub async fn key_retire_post(
    State(state): State<AppState>,
    caller: AdminCaller,
    Path(kid): Path<String>,
) -> Result<StatusCode, WebError> {
    if kid.len() > 128 {
        return Err(Problem::NotFound.into());
    }
    let removed = state
        .admin
        .keys
        .retire(&kid, &caller.origin)
        .await
        .map_err(Problem::from)?;
    if removed {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(Problem::NotFound.into())
    }
}
