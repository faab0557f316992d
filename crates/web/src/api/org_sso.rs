//! The organization admin API for federation (G1, G4): an admin claims the organization's
//! email domains and proves them with a DNS TXT record, and sets its OpenID Connect
//! connection. The same rules as the policy (`api::orgs`): reading needs a session; every
//! change needs a fresh session (B8, RFC 9470 challenge otherwise) and the CSRF token in
//! `x-csrf-token`; anyone who is not an admin of the organization gets 403 (audited).
//!
//! The operator's word instead of DNS (`lanyard org verify-domain --override-dns`) is not
//! offered here. The client secret is write-only: it is sealed by the federation service and
//! never shown again. The federation service audits every change, with the admin's account
//! id as the actor.

use std::borrow::Cow;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post, put};
use axum_extra::extract::CookieJar;
use lanyard_core::model::{AcrMapping, ClaimMapping, GroupRole, OrgDomain, OrgRole, Upstream};
use lanyard_core::{AccountId, Origin, Secret, StoreError, Timestamp};
use lanyard_federation::domains::{normalize_domain, record_name};
use lanyard_federation::{
    DEFAULT_SCOPES, DomainCheck, FederationError, FederationService, OidcSettings, SsoConnection,
};
use lanyard_identity::IdentityError;
use lanyard_identity::orgs::Actor;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};

use crate::error::WebError;
use crate::kit::body::JsonBody;
use crate::kit::guard::{fresh, signed_in};
use crate::kit::{Caller, RequestOrigin, check_api_csrf, no_store, paths};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(paths::ORG_DOMAINS, get(domains_get).post(domains_post))
        .route(paths::ORG_DOMAIN_VERIFY, post(domain_verify))
        .route(paths::ORG_SSO, get(sso_get).put(sso_put))
        .route(paths::ORG_SSO_ENABLED, put(sso_enabled_put))
}

// ---- errors ----

fn api_error(
    status: StatusCode,
    error: &'static str,
    description: impl Into<Cow<'static, str>>,
) -> WebError {
    WebError::api(status, error, description)
}

/// Every federation error these endpoints can meet, as the API answers it.
fn federation_error(e: FederationError) -> WebError {
    match e {
        FederationError::UnknownOrg(_) => {
            api_error(StatusCode::NOT_FOUND, "not_found", "no such organization")
        }
        FederationError::UnknownDomain(_) => api_error(
            StatusCode::NOT_FOUND,
            "unknown_domain",
            "the organization has not claimed this domain",
        ),
        FederationError::InvalidDomain(_) => api_error(
            StatusCode::BAD_REQUEST,
            "invalid_domain",
            "not a domain name that can be verified (a name like corp.example: no address, \
             wildcard, port or path)",
        ),
        FederationError::DomainTaken(_) => api_error(
            StatusCode::CONFLICT,
            "domain_taken",
            "this domain belongs to an organization already",
        ),
        FederationError::NoConnection => api_error(
            StatusCode::NOT_FOUND,
            "no_connection",
            "the organization has no single sign-on connection",
        ),
        FederationError::ConnectionDisabled => api_error(
            StatusCode::CONFLICT,
            "connection_disabled",
            "the single sign-on connection is turned off",
        ),
        // The reason names the setting and the rule, never the value.
        FederationError::InvalidSetting(why) => {
            api_error(StatusCode::BAD_REQUEST, "invalid_setting", why)
        }
        FederationError::Unavailable(cause) => api_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "DNS could not be asked right now; try again in a few minutes",
        )
        .with_internal(cause),
        FederationError::Store(StoreError::Unavailable(cause)) => api_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "try again in a few minutes",
        )
        .with_internal(cause),
        other @ (FederationError::Refused { .. }
        | FederationError::InvalidResponse(_)
        | FederationError::Store(_)
        | FederationError::Crypto(_)) => api_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "the change could not be made",
        )
        .with_internal(other.to_string()),
    }
}

/// The admin gate of every endpoint: 404 for an unknown organization, 403 (audited as
/// `org.admin_refused` by the organization service) for anyone who is not its admin.
async fn authorize_admin(
    state: &AppState,
    slug: &str,
    account: AccountId,
    origin: &Origin,
) -> Result<(), WebError> {
    match state
        .orgs
        .authorize_admin(slug, Actor::Account(account), origin)
        .await
    {
        Ok(_) => Ok(()),
        Err(IdentityError::Forbidden) => Err(api_error(
            StatusCode::FORBIDDEN,
            "forbidden",
            "only an admin of the organization may do this",
        )),
        Err(IdentityError::NotFound) => Err(api_error(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such organization",
        )),
        Err(other) => Err(WebError::from(other)),
    }
}

/// A signed-in admin of the organization: the origin names them as the actor.
async fn admin_reading(
    state: &AppState,
    jar: &CookieJar,
    slug: &str,
    origin: Origin,
) -> Result<Origin, WebError> {
    let session = signed_in(state, jar, Caller::Api, paths::ACCOUNT).await?;
    let account = session.auth.account_id;
    authorize_admin(state, slug, account, &origin).await?;
    Ok(as_actor(origin, account))
}

/// An admin of the organization with a fresh session and the CSRF header. A non-admin is
/// refused before the step-up challenge: stepping up first tells them nothing more.
async fn admin_changing(
    state: &AppState,
    jar: &CookieJar,
    headers: &HeaderMap,
    slug: &str,
    origin: Origin,
) -> Result<Origin, WebError> {
    check_api_csrf(state, jar, headers)?;
    let session = signed_in(state, jar, Caller::Api, paths::ACCOUNT).await?;
    let account = session.auth.account_id;
    authorize_admin(state, slug, account, &origin).await?;
    fresh(state, jar, Caller::Api, &origin, paths::ACCOUNT).await?;
    Ok(as_actor(origin, account))
}

fn as_actor(origin: Origin, account: AccountId) -> Origin {
    Origin {
        actor: Some(account.to_string()),
        ..origin
    }
}

/// The body as `T`; what was wrong is not echoed (a value could be the secret).
fn parse<T: DeserializeOwned>(body: &[u8], shape: &'static str) -> Result<T, WebError> {
    serde_json::from_slice(body).map_err(|_| {
        api_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            format!("the body must be a JSON object {shape}"),
        )
    })
}

fn federation(state: &AppState) -> &FederationService {
    state.signin.federation()
}

// ---- domains ----

#[derive(Debug, Serialize)]
struct RecordJson {
    name: String,
    #[serde(rename = "type")]
    kind: &'static str,
    value: String,
}

impl RecordJson {
    fn txt(name: String, value: String) -> Self {
        Self {
            name,
            kind: "TXT",
            value,
        }
    }
}

#[derive(Debug, Serialize)]
struct DomainJson {
    domain: String,
    verified: bool,
    /// `dns` or `operator`.
    verified_by: Option<&'static str>,
    /// Seconds since the epoch.
    verified_at: Option<i64>,
    /// What to publish, while the domain is not verified.
    record: Option<RecordJson>,
}

impl DomainJson {
    fn of(d: OrgDomain) -> Self {
        let record = d
            .verified
            .is_none()
            .then(|| RecordJson::txt(record_name(&d.domain), d.verification_token));
        Self {
            verified: d.verified.is_some(),
            verified_by: d.verified.map(|v| v.proof.as_str()),
            verified_at: d.verified.map(|v| Timestamp::seconds(v.at)),
            record,
            domain: d.domain,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DomainInput {
    domain: String,
}

async fn domains_get(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    Path(slug): Path<String>,
    jar: CookieJar,
) -> Result<Response, WebError> {
    admin_reading(&state, &jar, &slug, origin).await?;
    let domains = federation(&state)
        .domains(&slug)
        .await
        .map_err(federation_error)?;
    let body: Vec<DomainJson> = domains.into_iter().map(DomainJson::of).collect();
    Ok(no_store(Json(body).into_response()))
}

async fn domains_post(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    Path(slug): Path<String>,
    headers: HeaderMap,
    jar: CookieJar,
    JsonBody(body): JsonBody,
) -> Result<Response, WebError> {
    let origin = admin_changing(&state, &jar, &headers, &slug, origin).await?;
    let input: DomainInput = parse(&body, "{\"domain\": \"corp.example\"}")?;
    let record = federation(&state)
        .add_domain(&slug, &input.domain, &origin)
        .await
        .map_err(federation_error)?;
    Ok(no_store(
        (StatusCode::CREATED, Json(DomainJson::of(record))).into_response(),
    ))
}

#[derive(Debug, Serialize)]
struct NotVerifiedJson {
    error: &'static str,
    error_description: String,
    domain: String,
    verified: bool,
    record: RecordJson,
}

async fn domain_verify(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    Path((slug, domain)): Path<(String, String)>,
    headers: HeaderMap,
    jar: CookieJar,
) -> Result<Response, WebError> {
    let origin = admin_changing(&state, &jar, &headers, &slug, origin).await?;
    let check = federation(&state)
        .verify_domain(&slug, &domain, &origin)
        .await
        .map_err(federation_error)?;
    if check == DomainCheck::Verified {
        // G4: a new domain under a requirement brings its people's PATs under it.
        state.signin.enforce_sso_requirement(&slug, &origin).await?;
    }
    // `verify_domain` accepted the name, so it has a canonical form.
    let domain = normalize_domain(&domain).map_err(federation_error)?;
    let response = match check {
        DomainCheck::Verified => {
            Json(serde_json::json!({ "domain": domain, "verified": true })).into_response()
        }
        DomainCheck::NotFound { name, token } => {
            let body = NotVerifiedJson {
                error: "not_verified",
                error_description: format!(
                    "no TXT record {name} with the value to publish was found; DNS changes \
                     can take a while to spread"
                ),
                domain,
                verified: false,
                record: RecordJson::txt(name, token),
            };
            (StatusCode::CONFLICT, Json(body)).into_response()
        }
    };
    Ok(no_store(response))
}

// ---- the connection ----

#[derive(Debug, Serialize)]
struct ClaimsJson {
    email: String,
    name: String,
    groups: Option<String>,
    admin_groups: Vec<String>,
    acr: Vec<AcrMapping>,
}

/// The connection as an admin sees it: never the client secret, sealed or not.
#[derive(Debug, Serialize)]
struct SsoJson {
    protocol: &'static str,
    issuer: String,
    client_id: String,
    scopes: Vec<String>,
    claims: ClaimsJson,
    require_sso: bool,
    end_upstream_session: bool,
    enabled: bool,
    /// What to register at the identity provider.
    redirect_uri: String,
    backchannel_logout_uri: String,
}

impl SsoJson {
    fn of(federation: &FederationService, slug: &str, sso: SsoConnection) -> Self {
        let connection = sso.connection;
        let Upstream::Oidc(oidc) = connection.upstream;
        let claims = oidc.claims;
        Self {
            protocol: "oidc",
            issuer: oidc.issuer,
            client_id: oidc.client_id,
            scopes: oidc.scopes,
            claims: ClaimsJson {
                email: claims.email,
                name: claims.name,
                groups: claims.groups,
                admin_groups: claims
                    .roles
                    .into_iter()
                    .filter(|r| r.role == OrgRole::Admin)
                    .map(|r| r.group)
                    .collect(),
                acr: claims.acr,
            },
            require_sso: connection.require_sso,
            end_upstream_session: connection.end_upstream_session,
            enabled: connection.enabled,
            redirect_uri: sso.callback.to_string(),
            backchannel_logout_uri: federation.backchannel_logout_url(slug).to_string(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AcrInput {
    upstream: String,
    ours: String,
}

/// `PUT /orgs/{slug}/sso`. Its `Debug` shows `Secret(***)` for the secret.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SsoInput {
    issuer: String,
    client_id: String,
    #[serde(deserialize_with = "secret")]
    client_secret: Secret,
    /// Absent: `email profile`.
    #[serde(default)]
    scopes: Option<Vec<String>>,
    #[serde(default)]
    email_claim: Option<String>,
    #[serde(default)]
    name_claim: Option<String>,
    #[serde(default)]
    groups_claim: Option<String>,
    #[serde(default)]
    admin_groups: Vec<String>,
    #[serde(default)]
    acr: Vec<AcrInput>,
    require_sso: bool,
    end_upstream_session: bool,
}

const SSO_SHAPE: &str = "{\"issuer\", \"client_id\", \"client_secret\", \"scopes\"?, \
    \"email_claim\"?, \"name_claim\"?, \"groups_claim\"?, \"admin_groups\"?, \
    \"acr\"?: [{\"upstream\", \"ours\"}], \"require_sso\", \"end_upstream_session\"}";

fn secret<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Secret, D::Error> {
    String::deserialize(deserializer).map(Secret::new)
}

impl SsoInput {
    fn settings(self) -> OidcSettings {
        let defaults = ClaimMapping::default();
        OidcSettings {
            issuer: self.issuer,
            client_id: self.client_id,
            client_secret: self.client_secret,
            scopes: self
                .scopes
                .unwrap_or_else(|| DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect()),
            claims: ClaimMapping {
                email: self.email_claim.unwrap_or(defaults.email),
                name: self.name_claim.unwrap_or(defaults.name),
                groups: self.groups_claim,
                roles: self
                    .admin_groups
                    .into_iter()
                    .map(|group| GroupRole {
                        group,
                        role: OrgRole::Admin,
                    })
                    .collect(),
                acr: self
                    .acr
                    .into_iter()
                    .map(|a| AcrMapping {
                        upstream: a.upstream,
                        ours: a.ours,
                    })
                    .collect(),
            },
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EnabledInput {
    enabled: bool,
}

async fn current(state: &AppState, slug: &str) -> Result<Response, WebError> {
    let federation = federation(state);
    let sso = federation
        .connection(slug)
        .await
        .map_err(federation_error)?
        .ok_or_else(|| federation_error(FederationError::NoConnection))?;
    Ok(no_store(
        Json(SsoJson::of(federation, slug, sso)).into_response(),
    ))
}

async fn sso_get(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    Path(slug): Path<String>,
    jar: CookieJar,
) -> Result<Response, WebError> {
    admin_reading(&state, &jar, &slug, origin).await?;
    current(&state, &slug).await
}

async fn sso_put(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    Path(slug): Path<String>,
    headers: HeaderMap,
    jar: CookieJar,
    JsonBody(body): JsonBody,
) -> Result<Response, WebError> {
    let origin = admin_changing(&state, &jar, &headers, &slug, origin).await?;
    let input: SsoInput = parse(&body, SSO_SHAPE)?;
    let (require_sso, end_upstream_session) = (input.require_sso, input.end_upstream_session);
    let federation = federation(&state);
    let sso = federation
        .set_oidc(
            &slug,
            input.settings(),
            require_sso,
            end_upstream_session,
            &origin,
        )
        .await
        .map_err(federation_error)?;
    // G4: PATs are used without a sign-in; the people now covered make new ones from a
    // session their organization signed in (docs/federation.md).
    state.signin.enforce_sso_requirement(&slug, &origin).await?;
    Ok(no_store(
        Json(SsoJson::of(federation, &slug, sso)).into_response(),
    ))
}

async fn sso_enabled_put(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    Path(slug): Path<String>,
    headers: HeaderMap,
    jar: CookieJar,
    JsonBody(body): JsonBody,
) -> Result<Response, WebError> {
    let origin = admin_changing(&state, &jar, &headers, &slug, origin).await?;
    let input: EnabledInput = parse(&body, "{\"enabled\": true|false}")?;
    federation(&state)
        .set_enabled(&slug, input.enabled, &origin)
        .await
        .map_err(federation_error)?;
    state.signin.enforce_sso_requirement(&slug, &origin).await?;
    current(&state, &slug).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(e: FederationError) -> StatusCode {
        federation_error(e).into_response().status()
    }

    #[test]
    fn federation_errors_are_answered_in_one_place() {
        for (e, expected) in [
            (FederationError::UnknownOrg("x".into()), 404),
            (FederationError::UnknownDomain("x".into()), 404),
            (FederationError::NoConnection, 404),
            (FederationError::InvalidDomain("x".into()), 400),
            (
                FederationError::InvalidSetting("issuer: must be https".into()),
                400,
            ),
            (FederationError::DomainTaken("x".into()), 409),
            (FederationError::Unavailable("DNS: timed out".into()), 503),
            (
                FederationError::Store(StoreError::Unavailable("down".into())),
                503,
            ),
            (FederationError::Store(StoreError::Other("x".into())), 500),
        ] {
            let what = e.to_string();
            assert_eq!(status(e).as_u16(), expected, "{what}");
        }
    }

    #[test]
    fn the_input_never_prints_the_secret() {
        let body = br#"{"issuer": "https://idp.example", "client_id": "c",
            "client_secret": "hunter2-secret", "require_sso": true,
            "end_upstream_session": false}"#;
        let input: SsoInput = parse(body, SSO_SHAPE).unwrap();
        assert!(!format!("{input:?}").contains("hunter2-secret"));
        let settings = input.settings();
        assert_eq!(settings.client_secret.expose(), "hunter2-secret");
        assert_eq!(settings.scopes, ["email", "profile"]);
        assert!(!format!("{settings:?}").contains("hunter2-secret"));
    }
}
