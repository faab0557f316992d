//! The relying party towards one upstream OpenID Provider (G2), on the `openidconnect`
//! crate: discovery (cached), the authorization request with state, nonce and PKCE S256,
//! the code exchange, and the ID token's validation — issuer, audience, `azp`, signature
//! (asymmetric algorithms only), expiry against our clock, nonce. An unknown `kid` refetches
//! the key set at most once per `kid` per [`RpSettings::jwks_refetch_interval`] (R12).
//!
//! Each connection has its own HTTP client with its own timeouts (R12: one slow IdP holds
//! only its own sign-ins), which follows no redirects and fetches only the configured
//! issuer's discovery document and the URLs it names: nothing in a token's header is ever
//! fetched (S20).

mod claims;
mod keys;
mod metadata;

use std::sync::Arc;
use std::time::Duration;

use lanyard_core::model::{OidcUpstream, OrgId};
use lanyard_core::rng::random_token;
use lanyard_core::{Clock, Rng, Secret, Timestamp};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreIdToken, CoreJwsSigningAlgorithm, CoreTokenResponse,
};
use openidconnect::{
    AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken, IssuerUrl,
    Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, SignatureVerificationError,
    TokenResponse,
};
use tokio::sync::Mutex;

pub use claims::UpstreamIdentity;
pub use metadata::UpstreamMetadata;

use crate::FederationError;
use keys::RefetchLimiter;

/// How the relying party talks to upstreams.
#[derive(Debug, Clone)]
pub struct RpSettings {
    /// The whole of one request to the upstream (discovery, JWKS, token).
    pub request_timeout: Duration,
    pub connect_timeout: Duration,
    /// How long a discovery document (and its key set) is used before it is fetched again.
    pub metadata_ttl: Duration,
    /// An unknown `kid` refetches the key set at most this often, per `kid`.
    pub jwks_refetch_interval: Duration,
    /// Clock skew tolerated on the ID token's `exp`/`iat`.
    pub leeway_secs: i64,
}

impl Default for RpSettings {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(3),
            metadata_ttl: Duration::from_secs(3600),
            jwks_refetch_interval: Duration::from_secs(60),
            leeway_secs: 60,
        }
    }
}

/// The start of an upstream sign-in: where to send the browser, and what the callback must
/// match (kept by the caller, never shown).
#[derive(Debug)]
pub struct AuthStart {
    pub url: url::Url,
    pub state: Secret,
    pub nonce: Secret,
    pub pkce_verifier: Secret,
}

/// What the callback brought back, and what the start kept.
#[derive(Debug)]
pub struct Callback<'a> {
    pub code: &'a str,
    /// The `iss` parameter (RFC 9207), when the upstream sent one.
    pub iss: Option<&'a str>,
    pub nonce: &'a str,
    pub pkce_verifier: &'a str,
}

/// What a finished upstream sign-in established.
#[derive(Debug)]
pub struct Finished {
    pub identity: UpstreamIdentity,
    /// The ID token, kept for `id_token_hint` at the upstream's logout.
    pub id_token: String,
}

struct Cached {
    metadata: UpstreamMetadata,
    fetched_at: Timestamp,
}

pub struct OidcRp {
    org: OrgId,
    config: OidcUpstream,
    secret: Secret,
    redirect: RedirectUrl,
    http: reqwest::Client,
    settings: RpSettings,
    clock: Arc<dyn Clock>,
    cached: Mutex<Option<Cached>>,
    refetches: RefetchLimiter,
}

impl OidcRp {
    pub fn new(
        org: OrgId,
        config: OidcUpstream,
        secret: Secret,
        redirect: url::Url,
        settings: RpSettings,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, FederationError> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.request_timeout)
            .build()
            .map_err(|e| FederationError::InvalidSetting(format!("HTTP client: {e}")))?;
        Ok(Self {
            org,
            config,
            secret,
            redirect: RedirectUrl::from_url(redirect),
            http,
            refetches: RefetchLimiter::new(settings.jwks_refetch_interval),
            settings,
            clock,
            cached: Mutex::new(None),
        })
    }

    pub fn org(&self) -> OrgId {
        self.org
    }

    pub fn config(&self) -> &OidcUpstream {
        &self.config
    }

    /// The discovery document and key set, fetched when missing or older than the TTL.
    async fn metadata(&self) -> Result<UpstreamMetadata, FederationError> {
        let mut cached = self.cached.lock().await;
        let now = self.clock.now();
        let ttl = self.settings.metadata_ttl.as_secs() as i64;
        if let Some(c) = cached.as_ref()
            && now.seconds() - c.fetched_at.seconds() < ttl
        {
            return Ok(c.metadata.clone());
        }
        let issuer = IssuerUrl::new(self.config.issuer.clone())
            .map_err(|e| FederationError::InvalidSetting(format!("issuer: {e}")))?;
        let metadata = UpstreamMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|e| FederationError::Unavailable(format!("discovery: {e}")))?;
        *cached = Some(Cached {
            metadata: metadata.clone(),
            fetched_at: now,
        });
        Ok(metadata)
    }

    /// Fetches the key set again for an unknown `kid`, if that `kid` was not refetched
    /// within the interval; true when the cached key set changed.
    async fn refetch_keys(&self, kid: &str) -> Result<bool, FederationError> {
        if !self.refetches.allow(kid, self.clock.now()) {
            return Ok(false);
        }
        let mut cached = self.cached.lock().await;
        let Some(c) = cached.as_mut() else {
            return Ok(false);
        };
        let jwks = openidconnect::JsonWebKeySet::fetch_async(c.metadata.jwks_uri(), &self.http)
            .await
            .map_err(|e| FederationError::Unavailable(format!("key set: {e}")))?;
        c.metadata = c.metadata.clone().set_jwks(jwks);
        Ok(true)
    }

    fn client(&self, metadata: UpstreamMetadata) -> OidcClient {
        CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(self.config.client_id.clone()),
            Some(ClientSecret::new(self.secret.expose().to_owned())),
        )
        .set_redirect_uri(self.redirect.clone())
    }

    /// The authorization request: code flow, S256 PKCE, a new state and nonce.
    pub async fn start(&self, rng: &dyn Rng) -> Result<AuthStart, FederationError> {
        let metadata = self.metadata().await?;
        let client = self.client(metadata);
        let state = random_token(rng, 32);
        let nonce = random_token(rng, 32);
        let verifier = random_token(rng, 32);
        let challenge =
            PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(verifier.clone()));
        let (state_for_url, nonce_for_url) = (state.clone(), nonce.clone());
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                move || CsrfToken::new(state_for_url),
                move || Nonce::new(nonce_for_url),
            )
            .set_pkce_challenge(challenge);
        for scope in &self.config.scopes {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, _, _) = request.url();
        Ok(AuthStart {
            url,
            state: Secret::new(state),
            nonce: Secret::new(nonce),
            pkce_verifier: Secret::new(verifier),
        })
    }

    /// The callback: the `iss` parameter, the code exchange and the ID token's validation.
    pub async fn finish(&self, callback: &Callback<'_>) -> Result<Finished, FederationError> {
        let metadata = self.metadata().await?;
        // RFC 9207: a mix-up attacker's upstream names itself, or says nothing where the
        // real one always speaks.
        match callback.iss {
            Some(iss) if iss != self.config.issuer => {
                return Err(invalid("the iss parameter names another issuer"));
            }
            None if metadata
                .additional_metadata()
                .authorization_response_iss_parameter_supported
                == Some(true) =>
            {
                return Err(invalid("the iss parameter is missing"));
            }
            _ => {}
        }
        let client = self.client(metadata);
        let response: CoreTokenResponse = client
            .exchange_code(AuthorizationCode::new(callback.code.to_owned()))
            .map_err(|e| FederationError::InvalidSetting(format!("token endpoint: {e}")))?
            .set_pkce_verifier(PkceCodeVerifier::new(callback.pkce_verifier.to_owned()))
            .request_async(&self.http)
            .await
            .map_err(token_error)?;
        let id_token = response
            .id_token()
            .ok_or_else(|| invalid("no ID token in the token response"))?
            .clone();
        let nonce = Nonce::new(callback.nonce.to_owned());
        let subject = match self.verify(&client, &id_token, &nonce) {
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            )) => {
                let kid =
                    lanyard_crypto::jws::unverified_kid(&id_token.to_string()).unwrap_or_default();
                if !self.refetch_keys(&kid).await? {
                    return Err(invalid("signed with a key the upstream does not publish"));
                }
                let client = self.client(self.metadata().await?);
                self.verify(&client, &id_token, &nonce)
            }
            other => other,
        }
        .map_err(|e| invalid(&format!("ID token: {e}")))?;
        let raw = id_token.to_string();
        let payload = claims::payload_object(&raw)?;
        // openidconnect leaves `azp` to the caller (its step 5 is commented out): present,
        // it must be us.
        if let Some(azp) = payload.get("azp")
            && azp.as_str() != Some(self.config.client_id.as_str())
        {
            return Err(invalid("ID token: azp names another client"));
        }
        let identity =
            claims::identity_from(&self.config.issuer, &subject, &payload, &self.config.claims);
        Ok(Finished {
            identity,
            id_token: raw,
        })
    }

    fn verify(
        &self,
        client: &OidcClient,
        id_token: &CoreIdToken,
        nonce: &Nonce,
    ) -> Result<String, ClaimsVerificationError> {
        let clock = self.clock.clone();
        let leeway = self.settings.leeway_secs;
        let verifier = client
            .id_token_verifier()
            .set_allowed_algs(ASYMMETRIC_ALGS.iter().cloned())
            // openidconnect compares `exp` with no tolerance: our clock, held back by the
            // leeway, gives the upstream's clock that much slack.
            .set_time_fn(move || {
                chrono::DateTime::from_timestamp(clock.now().seconds() - leeway, 0)
                    .unwrap_or_default()
            });
        let claims = id_token.claims(&verifier, nonce)?;
        Ok(claims.subject().as_str().to_owned())
    }

    /// Where to send the browser to end the upstream session too (RP-Initiated Logout
    /// 1.0 §2), coming back to `post_logout_redirect` with `state`; `None` when the upstream
    /// has no `end_session_endpoint`.
    pub async fn end_session_url(
        &self,
        post_logout_redirect: &url::Url,
        state: &str,
    ) -> Result<Option<url::Url>, FederationError> {
        let metadata = self.metadata().await?;
        let Some(mut url) = metadata.additional_metadata().end_session_endpoint.clone() else {
            return Ok(None);
        };
        url.query_pairs_mut()
            .append_pair("client_id", &self.config.client_id)
            .append_pair("post_logout_redirect_uri", post_logout_redirect.as_str())
            .append_pair("state", state);
        Ok(Some(url))
    }

    /// The upstream's key set as JSON, for verifying its logout tokens; refetched once for
    /// an unknown `kid` under the same limit as ID tokens.
    pub async fn key_set(
        &self,
        refetch_for: Option<&str>,
    ) -> Result<serde_json::Value, FederationError> {
        // Loaded (and cached) first, so a refetch has a key set to replace.
        let mut metadata = self.metadata().await?;
        if let Some(kid) = refetch_for
            && self.refetch_keys(kid).await?
        {
            metadata = self.metadata().await?;
        }
        serde_json::to_value(metadata.jwks())
            .map_err(|e| FederationError::InvalidResponse(format!("key set: {e}")))
    }
}

type OidcClient = CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

/// The algorithms an upstream may sign ID tokens with: never `none` or a MAC keyed with our
/// client secret (S40: an HS256 token from an RS256 IdP).
const ASYMMETRIC_ALGS: &[CoreJwsSigningAlgorithm] = &[
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
    CoreJwsSigningAlgorithm::RsaSsaPssSha256,
    CoreJwsSigningAlgorithm::RsaSsaPssSha384,
    CoreJwsSigningAlgorithm::RsaSsaPssSha512,
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::EcdsaP384Sha384,
    CoreJwsSigningAlgorithm::EdDsa,
];

fn invalid(why: &str) -> FederationError {
    FederationError::InvalidResponse(why.to_owned())
}

/// A failed code exchange: the upstream's error answer is a refusal, anything else (no
/// answer, a timeout, a 5xx) means it is unavailable.
fn token_error<RE: std::error::Error + 'static>(
    e: openidconnect::RequestTokenError<
        RE,
        openidconnect::StandardErrorResponse<openidconnect::core::CoreErrorResponseType>,
    >,
) -> FederationError {
    match e {
        openidconnect::RequestTokenError::ServerResponse(r) => FederationError::Refused {
            code: r.error().to_string(),
        },
        openidconnect::RequestTokenError::Parse(_, _) => {
            invalid("the token response could not be read")
        }
        other => FederationError::Unavailable(format!("token endpoint: {other}")),
    }
}
