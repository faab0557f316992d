//! The authorization endpoint's rules (RFC 6749 §4.1.1, OIDC Core §3.1.2.1, RFC 7636,
//! RFC 9207). Parsing decides first whether errors may be redirected at all: until the
//! client and its redirect URI are known, every error is shown as a page (RFC 6749 §4.1.2.1).

use std::sync::Arc;

use lanyard_core::model::authenticated::acr;
use lanyard_core::model::{AuditEvent, Authenticated, Client, GrantType};
use lanyard_core::{Origin, Timestamp};
use serde::{Deserialize, Serialize};

use crate::error::{ErrorCode, OAuthError};
use crate::issuer::Issuer;
use crate::pkce;
use crate::redirect_uri::matches_registered;
use crate::scope::{OPENID, Scopes};

const MAX_PARAM_LEN: usize = 1024;

/// An authorization request that passed validation; kept in the sign-in flow's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthorizationRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: Scopes,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub prompt: Prompt,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    pub acr_values: Vec<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prompt {
    pub none: bool,
    pub login: bool,
    pub consent: bool,
}

/// Why an authorization request can not proceed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeRejection {
    /// The client or redirect URI can not be trusted: show a page, never redirect
    /// (RFC 6749 §4.1.2.1). The web layer words it.
    Untrusted(Untrusted),
    /// Send the error to the client's registered redirect URI.
    Redirect(String),
}

/// What the browser should see next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    SignIn,
    /// Signed in, but below the `acr_values` the app asked for: ask only for a stronger
    /// second step (authenticator app or backup code), not the password again.
    RaiseAssurance,
    Consent,
    /// Redirect to the client: a code, or an error the client must handle.
    Redirect(String),
}

/// Why a request could not be tied to a client and a registered redirect URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Untrusted {
    MissingClientId,
    UnknownClient,
    /// The client registry could not be read (a store outage, not the app's fault).
    ClientLookupFailed,
    RedirectUriNotRegistered,
    MissingRedirectUri,
    /// S04: a response mode other than `query`.
    ResponseModeNotSupported,
}

fn page(why: Untrusted) -> AuthorizeRejection {
    AuthorizeRejection::Untrusted(why)
}

impl Issuer {
    /// Validates the request parameters (already de-duplicated and UTF-8 checked).
    pub async fn validate_authorization(
        &self,
        params: &[(String, String)],
        origin: &Origin,
    ) -> Result<(AuthorizationRequest, Arc<Client>), AuthorizeRejection> {
        let get = |name: &str| {
            params
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let client_id = get("client_id").ok_or(page(Untrusted::MissingClientId))?;
        let client = match self.clients.find(client_id).await {
            Ok(Some(client)) => client,
            Ok(None) => {
                return Err(page(Untrusted::UnknownClient));
            }
            Err(_) => {
                return Err(page(Untrusted::ClientLookupFailed));
            }
        };
        let redirect_uri = match get("redirect_uri") {
            Some(presented) => {
                match matches_registered(&client.redirect_uris, presented, client.is_public()) {
                    // A loopback match keeps the port the native app is listening on.
                    Some(_) => presented.to_owned(),
                    None => {
                        self.record(
                            AuditEvent::new(
                                self.clock.now(),
                                "authz.redirect_uri_mismatch",
                                "failure",
                            )
                            .client(client.id.as_str()),
                            origin,
                        )
                        .await;
                        return Err(page(Untrusted::RedirectUriNotRegistered));
                    }
                }
            }
            None if client.redirect_uris.len() == 1 => client.redirect_uris[0].clone(),
            None => {
                return Err(page(Untrusted::MissingRedirectUri));
            }
        };
        let state = get("state").map(str::to_owned);
        let fail = |code: ErrorCode, description: &'static str| {
            AuthorizeRejection::Redirect(self.error_redirect(
                &redirect_uri,
                code,
                description,
                state.as_deref(),
            ))
        };
        if state.as_ref().is_some_and(|s| s.len() > MAX_PARAM_LEN) {
            return Err(fail(ErrorCode::InvalidRequest, "state is too long"));
        }
        if get("request").is_some() {
            return Err(fail(
                ErrorCode::RequestNotSupported,
                "request objects are not supported",
            ));
        }
        if get("request_uri").is_some() {
            return Err(fail(
                ErrorCode::RequestUriNotSupported,
                "request_uri is not supported",
            ));
        }
        match get("response_type") {
            Some("code") => {}
            Some(_) => {
                return Err(fail(
                    ErrorCode::UnsupportedResponseType,
                    "only response_type=code is supported",
                ));
            }
            None => return Err(fail(ErrorCode::InvalidRequest, "response_type is required")),
        }
        // S04: an unsupported response mode (fragment, form_post, JARM's *.jwt) gets a page, not a
        // redirect: building any response in a mode the client did not register is how
        // response-mode confusion turns into leaked or smuggled parameters.
        if get("response_mode").is_some_and(|m| m != "query") {
            return Err(page(Untrusted::ResponseModeNotSupported));
        }
        if !client.allows_grant(GrantType::AuthorizationCode) {
            return Err(fail(
                ErrorCode::UnauthorizedClient,
                "the client may not use the authorization code grant",
            ));
        }
        let scope = Scopes::parse(get("scope").unwrap_or(""))
            .ok_or_else(|| fail(ErrorCode::InvalidScope, "malformed scope"))?;
        if !self.scope_allowed(&client, &scope) {
            return Err(fail(
                ErrorCode::InvalidScope,
                "a requested scope is not available to this client",
            ));
        }
        let code_challenge = match (get("code_challenge"), get("code_challenge_method")) {
            (Some(challenge), Some("S256")) if pkce::is_valid_s256_challenge(challenge) => {
                Some(challenge.to_owned())
            }
            (Some(_), Some("S256")) => {
                return Err(fail(
                    ErrorCode::InvalidRequest,
                    "code_challenge must be 43 base64url characters",
                ));
            }
            // An absent method means `plain` (RFC 7636 §4.3), which we refuse.
            (Some(_), _) => {
                return Err(fail(
                    ErrorCode::InvalidRequest,
                    "code_challenge_method must be S256",
                ));
            }
            (None, Some(_)) => {
                return Err(fail(
                    ErrorCode::InvalidRequest,
                    "code_challenge_method without code_challenge",
                ));
            }
            (None, None) if client.is_public() => {
                return Err(fail(
                    ErrorCode::InvalidRequest,
                    "PKCE (S256) is required for public clients",
                ));
            }
            (None, None) => None,
        };
        let nonce = get("nonce").map(str::to_owned);
        if nonce
            .as_ref()
            .is_some_and(|n| n.is_empty() || n.len() > MAX_PARAM_LEN)
        {
            return Err(fail(
                ErrorCode::InvalidRequest,
                "nonce is empty or too long",
            ));
        }
        let prompt = parse_prompt(get("prompt"))
            .ok_or_else(|| fail(ErrorCode::InvalidRequest, "invalid prompt"))?;
        let max_age = match get("max_age") {
            None => None,
            Some(v) => Some(v.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
                fail(
                    ErrorCode::InvalidRequest,
                    "max_age must be a non-negative integer",
                )
            })?),
        };
        let login_hint = get("login_hint")
            .filter(|h| h.len() <= 254)
            .map(str::to_owned);
        let acr_values = get("acr_values")
            .map(|v| {
                v.split(' ')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let request = AuthorizationRequest {
            client_id: client.id.as_str().to_owned(),
            redirect_uri,
            scope,
            state,
            nonce,
            code_challenge,
            prompt,
            max_age,
            login_hint,
            acr_values,
        };
        Ok((request, client))
    }

    /// Requested scopes within the client's allowed list (or, without one, the server's).
    pub(crate) fn scope_allowed(&self, client: &Client, scope: &Scopes) -> bool {
        let allowed = if client.allowed_scopes.is_empty() {
            &self.settings.scopes_supported
        } else {
            &client.allowed_scopes
        };
        scope.is_subset_of_list(allowed)
    }

    /// Decides the next step for a validated request. `signed_in_now` is true when the
    /// session was created during this very flow (so `prompt=login`/`max_age` are met).
    pub async fn next_step(
        &self,
        request: &AuthorizationRequest,
        session: Option<&Authenticated>,
        sid: Option<&str>,
        signed_in_now: bool,
        origin: &Origin,
    ) -> Result<Next, OAuthError> {
        let now = self.clock.now();
        let needs_sign_in = match session {
            None => true,
            Some(auth) => !signed_in_now && reauthentication_required(request, auth, now),
        };
        if needs_sign_in {
            return Ok(if request.prompt.none {
                Next::Redirect(self.error_for(
                    request,
                    ErrorCode::LoginRequired,
                    "the user must sign in",
                ))
            } else {
                Next::SignIn
            });
        }
        let Some(auth) = session else {
            return Ok(Next::SignIn);
        };
        let has = acr::level(&auth.acr).unwrap_or(0);
        if acr::required(&request.acr_values).is_some_and(|needed| has < needed) {
            return Ok(if request.prompt.none {
                Next::Redirect(self.error_for(
                    request,
                    ErrorCode::InteractionRequired,
                    "a stronger sign-in is required",
                ))
            } else {
                Next::RaiseAssurance
            });
        }
        let Some(client) = self.clients.find(&request.client_id).await? else {
            return Ok(Next::Redirect(self.error_for(
                request,
                ErrorCode::AccessDenied,
                "the client no longer exists",
            )));
        };
        if !client.first_party
            && (request.prompt.consent || !self.has_consent(request, auth).await?)
        {
            return Ok(if request.prompt.none {
                Next::Redirect(self.error_for(
                    request,
                    ErrorCode::ConsentRequired,
                    "the user must consent",
                ))
            } else {
                Next::Consent
            });
        }
        match self.issue_code(request, auth, sid, origin).await? {
            Some(redirect) => Ok(Next::Redirect(redirect)),
            None => Ok(Next::SignIn),
        }
    }

    async fn has_consent(
        &self,
        request: &AuthorizationRequest,
        auth: &Authenticated,
    ) -> Result<bool, OAuthError> {
        let Some(client_id) = lanyard_core::ClientId::parse(&request.client_id) else {
            return Ok(false);
        };
        let consent = self
            .consents
            .find_consent(auth.account_id, &client_id)
            .await?;
        Ok(consent.is_some_and(|c| request.scope.is_subset_of_list(&c.scopes)))
    }

    /// Remembers the user's consent to this client for these scopes.
    pub async fn grant_consent(
        &self,
        request: &AuthorizationRequest,
        auth: &Authenticated,
        origin: &Origin,
    ) -> Result<(), OAuthError> {
        let Some(client_id) = lanyard_core::ClientId::parse(&request.client_id) else {
            return Err(OAuthError::invalid_request("unknown client"));
        };
        let now = self.clock.now();
        let mut scopes = request.scope.to_vec();
        if let Some(previous) = self
            .consents
            .find_consent(auth.account_id, &client_id)
            .await?
        {
            scopes.extend(previous.scopes);
            scopes.sort();
            scopes.dedup();
        }
        self.consents
            .upsert_consent(&lanyard_core::model::Consent {
                account_id: auth.account_id,
                client_id,
                scopes,
                granted_at: now,
            })
            .await?;
        self.record(
            AuditEvent::new(now, "consent.granted", "success")
                .subject(auth.account_id.to_string())
                .client(request.client_id.clone()),
            origin,
        )
        .await;
        Ok(())
    }

    /// The redirect for a user who declined (RFC 6749 §4.1.2.1 `access_denied`).
    pub fn deny(&self, request: &AuthorizationRequest) -> String {
        self.error_for(request, ErrorCode::AccessDenied, "the user declined")
    }

    fn error_for(
        &self,
        request: &AuthorizationRequest,
        code: ErrorCode,
        description: &'static str,
    ) -> String {
        self.error_redirect(
            &request.redirect_uri,
            code,
            description,
            request.state.as_deref(),
        )
    }

    /// Appends the error, state and `iss` (RFC 9207) to a redirect URI we have validated.
    pub(crate) fn error_redirect(
        &self,
        redirect_uri: &str,
        code: ErrorCode,
        description: &'static str,
        state: Option<&str>,
    ) -> String {
        let mut pairs = vec![("error", code.as_str()), ("error_description", description)];
        if let Some(state) = state {
            pairs.push(("state", state));
        }
        pairs.push(("iss", &self.settings.issuer));
        append_query(redirect_uri, &pairs)
    }
}

/// Adds parameters to the query of a registered redirect URI (which may already carry one,
/// RFC 6749 §3.1.2), each exactly once.
pub(crate) fn append_query(uri: &str, pairs: &[(&str, &str)]) -> String {
    let mut encoded = form_urlencoded_pairs(pairs);
    let separator = if uri.contains('?') { '&' } else { '?' };
    encoded.insert(0, separator);
    format!("{uri}{encoded}")
}

fn form_urlencoded_pairs(pairs: &[(&str, &str)]) -> String {
    let mut serializer = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        serializer.append_pair(k, v);
    }
    serializer.finish()
}

/// `prompt=login`, or a sign-in older than `max_age` (OIDC Core §3.1.2.1).
///
/// Times are whole seconds, so a sign-in that shows `d` seconds ago happened between `d - 1`
/// and `d + 1` seconds ago: it is accepted only while `d < max_age`, which can never let a
/// sign-in older than `max_age` through. In particular `max_age=0` always asks again, even
/// within the second of the last sign-in — the OIDC Core errata's "max_age=0 is equivalent
/// to prompt=login".
fn reauthentication_required(
    request: &AuthorizationRequest,
    auth: &Authenticated,
    now: Timestamp,
) -> bool {
    request.prompt.login
        || request
            .max_age
            .is_some_and(|max_age| now.seconds() - auth.auth_time.seconds() >= max_age)
}

fn parse_prompt(value: Option<&str>) -> Option<Prompt> {
    let mut prompt = Prompt::default();
    let Some(value) = value else {
        return Some(prompt);
    };
    for item in value.split(' ').filter(|s| !s.is_empty()) {
        match item {
            "none" => prompt.none = true,
            "login" => prompt.login = true,
            "consent" => prompt.consent = true,
            "select_account" => {}
            _ => return None,
        }
    }
    // OIDC Core §3.1.2.1: none with any other value is an error.
    if prompt.none && (prompt.login || prompt.consent) {
        return None;
    }
    Some(prompt)
}

/// True when the request asks for an ID token (`openid` scope).
pub fn wants_id_token(request: &AuthorizationRequest) -> bool {
    request.scope.contains(OPENID)
}

#[cfg(test)]
mod tests;
