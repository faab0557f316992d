//! Sign-in through an organization's identity provider (F1, G1–G4): home-realm discovery
//! after the email, the round trip to the upstream, and what its answer signs in to. One
//! more first step into the same sequence: it ends in the same kind of session, with amr
//! `fed` and no emailed code (G2: the organization's IdP confirmed the person).
//!
//! The round trip's state (the flow, the organization, nonce and PKCE verifier) is sealed
//! in the ephemeral store under the keyed hash of the `state` value and taken once by the
//! callback (a replay finds nothing, S40). It is bound to the browser that started it by a
//! cookie whose keyed hash it keeps, and to the organization whose callback it must come
//! back to.

use lanyard_core::model::AuditEvent;
use lanyard_core::model::authenticated::acr;
use lanyard_core::model::{Authenticated, OrgId};
use lanyard_core::rng::random_token;
use lanyard_core::{AccountId, EphemeralKey, Origin};
use lanyard_federation::linking::{LinkDecision, LinkRefusal};
use lanyard_federation::oidc::{Callback, UpstreamIdentity};
use lanyard_federation::{FederationError, Realm};
use lanyard_identity::normalize_email;
use serde::{Deserialize, Serialize};

use crate::next::{Done, Next, OrgQuestion, UpstreamProblem};

mod end_session;
mod logout;
mod requirement;
use crate::{Browser, FlowId, SignInError, SignInService};
pub use logout::LogoutRefusal;

/// The amr of a session an upstream identity provider confirmed.
pub const AMR_FEDERATED: &str = "fed";

/// What the browser brought back to `/federation/<org>/callback`.
#[derive(Debug, Default, Clone, Copy)]
pub struct UpstreamAnswer<'a> {
    pub state: Option<&'a str>,
    pub code: Option<&'a str>,
    pub iss: Option<&'a str>,
    pub error: Option<&'a str>,
}

/// The round trip's state, sealed at rest.
#[derive(Serialize, Deserialize)]
struct RoundTrip {
    flow: String,
    org: OrgId,
    slug: String,
    nonce: String,
    verifier: String,
    /// Keyed hash of the browser's binding cookie.
    binder: String,
}

/// An upstream identity waiting for the person to prove the account it would link to.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingLink {
    pub org: OrgId,
    pub slug: String,
    pub account: AccountId,
    pub identity: UpstreamIdentity,
}

const ROUND_TRIP_AAD: &[u8] = b"federation-round-trip";

impl SignInService {
    /// After the email: the organization's page when the email's domain signs in there.
    pub(crate) async fn realm_question(
        &self,
        id: &FlowId,
        email: &str,
    ) -> Result<Option<Next>, SignInError> {
        match self.federation.realm(email).await.map_err(fed_error)? {
            Realm::Password => Ok(None),
            Realm::Sso { org, required } => Ok(Some(Next::AskOrganization(OrgQuestion {
                flow: id.clone(),
                email: email.to_owned(),
                org_name: org.name,
                password_allowed: !required,
                password_refused: false,
            }))),
        }
    }

    /// The organization page of an open flow (its email's realm).
    pub async fn organization_question(&self, id: &FlowId) -> Result<Next, SignInError> {
        let flow = self.flows.get(id).await?;
        let Some(email) = flow.email else {
            return self.email_question(id).await;
        };
        match self.realm_question(id, &email).await? {
            Some(next) => Ok(next),
            None => self.password_question(id).await,
        }
    }

    /// G4: the page that refuses a password for an email whose organization requires its
    /// own sign-in; `None` when the password may be checked.
    pub(crate) async fn password_refused(
        &self,
        id: &FlowId,
        email: &str,
    ) -> Result<Option<Next>, SignInError> {
        let flow = self.flows.get(id).await?;
        if flow.link.is_some() {
            // Proving an account to link it is the one password this allows.
            return Ok(None);
        }
        if self
            .federation
            .sso_required_for(email)
            .await
            .map_err(fed_error)?
            .is_none()
        {
            return Ok(None);
        }
        Ok(match self.realm_question(id, email).await? {
            Some(Next::AskOrganization(mut q)) => {
                q.password_allowed = false;
                q.password_refused = true;
                Some(Next::AskOrganization(q))
            }
            _ => None,
        })
    }

    /// "Sign in with your organization": the upstream's authorization request, and the
    /// binding cookie's value for this browser.
    pub async fn start_upstream(&self, id: &FlowId) -> Result<Next, SignInError> {
        let flow = self.flows.get(id).await?;
        let Some(email) = flow.email else {
            return self.email_question(id).await;
        };
        let Realm::Sso { org, .. } = self.federation.realm(&email).await.map_err(fed_error)? else {
            return self.password_question(id).await;
        };
        let (org, rp) = match self.federation.relying_party(&org.slug).await {
            Ok(found) => found,
            Err(e) => return Ok(upstream_failed(e)),
        };
        let start = match rp.start(&*self.rng).await {
            Ok(start) => start,
            Err(e) => return Ok(upstream_failed(e)),
        };
        let binder = random_token(&*self.rng, 32);
        let trip = RoundTrip {
            flow: id.as_str().to_owned(),
            org: org.id,
            slug: org.slug.clone(),
            nonce: start.nonce.expose().to_owned(),
            verifier: start.pkce_verifier.expose().to_owned(),
            binder: self.hasher.hash(&binder),
        };
        let sealed = self
            .kek
            .encrypt(&serde_json::to_vec(&trip)?, ROUND_TRIP_AAD)
            .map_err(|e| SignInError::Internal(e.to_string()))?;
        let key =
            EphemeralKey::FederationState(&self.hasher.hash(start.state.expose())).to_string();
        self.ephemeral.put(&key, &sealed, self.flows.ttl()).await?;
        Ok(Next::GoUpstream {
            url: start.url.to_string(),
            binder,
        })
    }

    /// The callback: the round trip's checks (S40), the upstream's answer, and what it signs
    /// in to (G3). Nothing is created unless every check passed.
    pub async fn finish_upstream(
        &self,
        slug: &str,
        answer: UpstreamAnswer<'_>,
        binder: Option<&str>,
        browser: &Browser<'_>,
    ) -> Result<Next, SignInError> {
        let trip = self.take_round_trip(slug, answer.state, binder).await?;
        let id = FlowId::parse(&trip.flow).ok_or(SignInError::UpstreamState)?;
        let mut flow = self.flows.get(&id).await?;
        if let Some(error) = answer.error {
            self.audit_failure(slug, "upstream_error", Some(error), browser.origin)
                .await;
            return Ok(Next::UpstreamFailed(UpstreamProblem::Refused));
        }
        let code = answer.code.ok_or(SignInError::UpstreamState)?;
        let (_, rp) = match self.federation.relying_party(slug).await {
            Ok(found) => found,
            Err(e) => return Ok(upstream_failed(e)),
        };
        let finished = match rp
            .finish(&Callback {
                code,
                iss: answer.iss,
                nonce: &trip.nonce,
                pkce_verifier: &trip.verifier,
            })
            .await
        {
            Ok(finished) => finished,
            Err(e) => {
                tracing::warn!(org = slug, error = %e, "upstream sign-in failed");
                let reason = match &e {
                    FederationError::Unavailable(_) => "upstream_unavailable",
                    FederationError::Refused { .. } => "upstream_refused",
                    _ => "invalid_response",
                };
                self.audit_failure(slug, reason, None, browser.origin).await;
                return Ok(upstream_failed(e));
            }
        };
        let identity = finished.identity;
        let email = identity
            .email
            .as_deref()
            .and_then(|e| normalize_email(e).ok());
        let decision = self
            .federation
            .decide(trip.org, &identity, email.as_deref())
            .await
            .map_err(fed_error)?;
        let origin = browser.origin;
        let account = match decision {
            LinkDecision::SignIn(account) => {
                self.federation.touch(&identity).await.map_err(fed_error)?;
                account
            }
            LinkDecision::Provision => {
                let email = email.ok_or(SignInError::UpstreamState)?;
                match self
                    .federation
                    .provision(&rp, &identity, &email, origin)
                    .await
                {
                    Ok(account) => account.id,
                    // The email or the identity was taken since the decision: decide again
                    // on the next try rather than guess now.
                    Err(FederationError::Store(lanyard_core::StoreError::Conflict(_))) => {
                        return Ok(Next::UpstreamFailed(UpstreamProblem::TryAgain));
                    }
                    Err(e) => return Err(fed_error(e)),
                }
            }
            LinkDecision::Link(account) => {
                self.federation
                    .link(&rp, &identity, account, "verified_email", origin)
                    .await
                    .map_err(fed_error)?;
                account
            }
            LinkDecision::ProveToLink(account) => {
                self.audit_refusal(slug, "email_not_verified", account, origin)
                    .await;
                let target = self.account_email(account).await?;
                flow.email = Some(target.clone());
                flow.link = Some(PendingLink {
                    org: trip.org,
                    slug: slug.to_owned(),
                    account,
                    identity,
                });
                self.flows.save(&id, &flow).await?;
                return Ok(Next::ProveToLink {
                    flow: id,
                    email: target,
                });
            }
            LinkDecision::Refuse(why) => {
                self.audit_failure(slug, why.as_str(), None, origin).await;
                return Ok(Next::UpstreamFailed(match why {
                    LinkRefusal::NoEmail => UpstreamProblem::NoEmail,
                    LinkRefusal::DomainNotVerified => UpstreamProblem::DomainNotAllowed,
                    LinkRefusal::AccountUnavailable => UpstreamProblem::AccountUnavailable,
                }));
            }
        };
        self.federated_session((&id, flow), slug, account, &identity, &rp, browser)
            .await
    }

    async fn take_round_trip(
        &self,
        slug: &str,
        state: Option<&str>,
        binder: Option<&str>,
    ) -> Result<RoundTrip, SignInError> {
        let state = state
            .filter(|s| crate::flow::is_handle(s))
            .ok_or(SignInError::UpstreamState)?;
        let key = EphemeralKey::FederationState(&self.hasher.hash(state)).to_string();
        let trip = self.open_round_trip(self.ephemeral.get(&key).await?)?;
        // Checked before it is spent: a callback from another browser or at another
        // organization's address can not burn the real one's round trip.
        let same_browser = binder.is_some_and(|b| self.hasher.verify(b, &trip.binder));
        if !same_browser || trip.slug != slug {
            return Err(SignInError::UpstreamState);
        }
        // Taken, not read: of the same callback twice, only one finds it.
        self.open_round_trip(self.ephemeral.take(&key).await?)
    }

    fn open_round_trip(&self, sealed: Option<Vec<u8>>) -> Result<RoundTrip, SignInError> {
        let sealed = sealed.ok_or(SignInError::UpstreamState)?;
        let plain = self
            .kek
            .decrypt(&sealed, ROUND_TRIP_AAD)
            .map_err(|_| SignInError::UpstreamState)?;
        serde_json::from_slice(&plain).map_err(|_| SignInError::UpstreamState)
    }

    async fn federated_session(
        &self,
        (id, mut flow): (&FlowId, crate::Flow),
        slug: &str,
        account: AccountId,
        identity: &UpstreamIdentity,
        rp: &lanyard_federation::oidc::OidcRp,
        browser: &Browser<'_>,
    ) -> Result<Next, SignInError> {
        let record = self.accounts.get(account).await?;
        if record.status != lanyard_core::model::AccountStatus::Active {
            self.audit_failure(slug, "account_disabled", None, browser.origin)
                .await;
            return Ok(Next::UpstreamFailed(UpstreamProblem::AccountUnavailable));
        }
        // S40: a lock from failed codes holds at every way in, this one included.
        match self.mfa.lock(account).await? {
            lanyard_mfa::Lock::Open => {}
            lanyard_mfa::Lock::Until(until) => {
                return Ok(Next::Wait(crate::Wait::Locked { until: Some(until) }));
            }
            lanyard_mfa::Lock::Hard => return Ok(Next::Wait(crate::Wait::Locked { until: None })),
        }
        let now = self.clock.now();
        let level = identity
            .mapped_acr(&rp.config().claims)
            .filter(|ours| acr::level(ours).is_some())
            .unwrap_or(acr::LOA2);
        let auth = Authenticated {
            account_id: account,
            auth_time: now,
            acr: level.to_owned(),
            amr: vec![AMR_FEDERATED.to_owned()],
        };
        let session = self
            .sessions
            .start_upstream(browser.session, &auth, rp.org(), identity, browser.origin)
            .await?;
        flow.signed_in = true;
        flow.link = None;
        self.flows.save(id, &flow).await?;
        self.audit_success(account, browser.origin).await;
        Ok(Next::Done(Done::SignedIn {
            flow: id.clone(),
            session: Box::new(session),
            trusted_device: None,
            site_codes: None,
        }))
    }

    /// After the person proved the account a pending upstream identity would link to.
    pub(crate) async fn complete_link(
        &self,
        link: &PendingLink,
        signed_in: AccountId,
        origin: &Origin,
    ) -> Result<(), SignInError> {
        if link.account != signed_in {
            return Ok(());
        }
        let (_, rp) = self
            .federation
            .relying_party(&link.slug)
            .await
            .map_err(fed_error)?;
        match self
            .federation
            .link(&rp, &link.identity, signed_in, "proved_account", origin)
            .await
        {
            // Linked meanwhile (another tab): the link exists, which is all we wanted.
            Err(FederationError::Store(lanyard_core::StoreError::Conflict(_))) => Ok(()),
            other => other.map_err(fed_error),
        }
    }

    async fn account_email(&self, account: AccountId) -> Result<String, SignInError> {
        Ok(self.accounts.get(account).await?.email)
    }

    async fn audit_failure(&self, slug: &str, reason: &str, detail: Option<&str>, origin: &Origin) {
        let mut event = AuditEvent::new(self.clock.now(), "federation.failed", "failure")
            .subject(slug.to_owned())
            .reason(reason);
        if let Some(detail) = detail {
            // The upstream's error code only (a short token), never its description.
            let code: String = detail
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                .take(40)
                .collect();
            event = event.reason(format!("{reason}:{code}"));
        }
        self.federation.auditor().record(event, origin).await;
    }

    async fn audit_refusal(&self, slug: &str, reason: &str, account: AccountId, origin: &Origin) {
        let event = AuditEvent::new(self.clock.now(), "federation.link_refused", "failure")
            .subject(account.to_string())
            .client(slug.to_owned())
            .reason(reason);
        self.federation.auditor().record(event, origin).await;
    }

    async fn audit_success(&self, account: AccountId, origin: &Origin) {
        let event = AuditEvent::new(self.clock.now(), "login.federated", "success")
            .subject(account.to_string())
            .reason(AMR_FEDERATED);
        self.federation.auditor().record(event, origin).await;
    }
}

/// A federation failure that the person is told about on a page.
fn upstream_failed(e: FederationError) -> Next {
    Next::UpstreamFailed(match e {
        FederationError::Unavailable(_) => UpstreamProblem::Unavailable,
        FederationError::Refused { .. } => UpstreamProblem::Refused,
        FederationError::NoConnection | FederationError::ConnectionDisabled => {
            UpstreamProblem::ConnectionOff
        }
        _ => UpstreamProblem::InvalidAnswer,
    })
}

fn fed_error(e: FederationError) -> SignInError {
    match e {
        FederationError::Store(store) => store.into(),
        other => SignInError::Internal(other.to_string()),
    }
}
