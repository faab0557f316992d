//! [`FederationService`]: the organization's domains and connection, home-realm discovery,
//! and what an upstream identity signs in to.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use lanyard_core::locks::lock;
use lanyard_core::model::{
    Account, AccountKind, AccountStatus, AuditEvent, Connection, FederatedIdentity, Membership,
    NewAccount, OrgId, Organization, Upstream,
};
use lanyard_core::ports::{AccountRepo, FederationRepo, OrgRepo};
use lanyard_core::{AccountId, Auditor, Clock, Origin, Rng};
use lanyard_crypto::Kek;

use crate::connections::open_secret;
use crate::domains::{self, TxtLookup};
use crate::linking::{self, LinkDecision, LinkFacts};
use crate::oidc::{OidcRp, RpSettings, UpstreamIdentity};
use crate::{FederationError, OidcSettings};

mod org_domains;
mod requirement;
pub use requirement::SsoByDomain;

#[derive(Debug, Clone)]
pub struct FederationSettings {
    /// Our public base URL: callbacks are `<base>/federation/<org>/callback`.
    pub public_base: url::Url,
    /// Lets an issuer be `http://` on a loopback address (the test IdP; never production).
    pub allow_http_loopback: bool,
    pub rp: RpSettings,
}

pub struct FederationDeps {
    pub repo: Arc<dyn FederationRepo>,
    pub orgs: Arc<dyn OrgRepo>,
    pub accounts: Arc<dyn AccountRepo>,
    pub kek: Arc<Kek>,
    pub clock: Arc<dyn Clock>,
    pub rng: Arc<dyn Rng>,
    pub dns: Arc<dyn TxtLookup>,
    pub auditor: Auditor,
}

/// Where an email's sign-in goes (home-realm discovery, F1).
#[derive(Debug, Clone)]
pub enum Realm {
    /// Our own password.
    Password,
    /// The organization's upstream; `required` when the password is refused for it (G4).
    Sso { org: Organization, required: bool },
}

/// The result of checking a domain's TXT record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomainCheck {
    /// Verified now or before.
    Verified,
    /// The record is not there (yet): what to publish, and where.
    NotFound { name: String, token: String },
}

/// A connection as shown to an operator or admin: never the secret.
#[derive(Debug, Clone)]
pub struct SsoConnection {
    pub connection: Connection,
    pub callback: url::Url,
}

pub struct FederationService {
    deps: FederationDeps,
    settings: FederationSettings,
    /// One relying party per organization, rebuilt when its upstream's settings change.
    rps: Mutex<HashMap<OrgId, (Upstream, Arc<OidcRp>)>>,
}

impl FederationService {
    pub fn new(deps: FederationDeps, settings: FederationSettings) -> Self {
        Self {
            deps,
            settings,
            rps: Mutex::new(HashMap::new()),
        }
    }

    async fn org(&self, slug: &str) -> Result<Organization, FederationError> {
        self.deps
            .orgs
            .org_by_slug(slug)
            .await?
            .ok_or_else(|| FederationError::UnknownOrg(slug.to_owned()))
    }

    async fn audit(&self, kind: &str, subject: String, reason: Option<&str>, origin: &Origin) {
        let mut event = AuditEvent::new(self.deps.clock.now(), kind, "success").subject(subject);
        if let Some(reason) = reason {
            event = event.reason(reason);
        }
        self.deps.auditor.record(event, origin).await;
    }

    /// Sets the organization's upstream (replacing one it had).
    pub async fn set_oidc(
        &self,
        slug: &str,
        settings: OidcSettings,
        require_sso: bool,
        end_upstream_session: bool,
        origin: &Origin,
    ) -> Result<SsoConnection, FederationError> {
        let org = self.org(slug).await?;
        let upstream =
            settings.into_upstream(org.id, &self.deps.kek, self.settings.allow_http_loopback)?;
        let connection = Connection {
            org_id: org.id,
            upstream,
            require_sso,
            end_upstream_session,
            enabled: true,
            updated_at: self.deps.clock.now(),
        };
        self.deps.repo.put_connection(&connection).await?;
        let reason = if require_sso { "required" } else { "optional" };
        self.audit("org.sso_set", slug.to_owned(), Some(reason), origin)
            .await;
        Ok(SsoConnection {
            callback: self.callback_url(slug),
            connection,
        })
    }

    /// Turns the connection on or off (a disabled one signs nobody in, S39).
    pub async fn set_enabled(
        &self,
        slug: &str,
        enabled: bool,
        origin: &Origin,
    ) -> Result<(), FederationError> {
        let org = self.org(slug).await?;
        let mut connection = self
            .deps
            .repo
            .connection(org.id)
            .await?
            .ok_or(FederationError::NoConnection)?;
        connection.enabled = enabled;
        connection.updated_at = self.deps.clock.now();
        self.deps.repo.put_connection(&connection).await?;
        let reason = if enabled { "enabled" } else { "disabled" };
        self.audit("org.sso_set", slug.to_owned(), Some(reason), origin)
            .await;
        Ok(())
    }

    pub async fn connection(&self, slug: &str) -> Result<Option<SsoConnection>, FederationError> {
        let org = self.org(slug).await?;
        Ok(self
            .deps
            .repo
            .connection(org.id)
            .await?
            .map(|connection| SsoConnection {
                connection,
                callback: self.callback_url(slug),
            }))
    }

    /// `<base>/federation/<slug>/callback`: the redirect URI to register at the upstream.
    pub fn callback_url(&self, slug: &str) -> url::Url {
        self.federation_url(slug, "callback")
    }

    /// `<base>/federation/<slug>/backchannel-logout`: where the upstream posts logout tokens.
    pub fn backchannel_logout_url(&self, slug: &str) -> url::Url {
        self.federation_url(slug, "backchannel-logout")
    }

    /// `<base>/federation/<slug>/logged-out`: where the upstream's end-session endpoint
    /// sends the browser back (its post-logout redirect URI).
    pub fn logged_out_url(&self, slug: &str) -> url::Url {
        self.federation_url(slug, "logged-out")
    }

    fn federation_url(&self, slug: &str, leaf: &str) -> url::Url {
        let mut url = self.settings.public_base.clone();
        url.set_query(None);
        url.set_fragment(None);
        let path = format!(
            "{}/federation/{slug}/{leaf}",
            url.path().trim_end_matches('/')
        );
        url.set_path(&path);
        url
    }

    /// Home-realm discovery: an email of a verified domain whose organization has an
    /// enabled connection goes to that organization's upstream.
    pub async fn realm(&self, email: &str) -> Result<Realm, FederationError> {
        let Some(domain) = domains::email_domain(email) else {
            return Ok(Realm::Password);
        };
        let Some(record) = self.deps.repo.find_domain(&domain).await? else {
            return Ok(Realm::Password);
        };
        if record.verified.is_none() {
            return Ok(Realm::Password);
        }
        let Some(connection) = self.deps.repo.connection(record.org_id).await? else {
            return Ok(Realm::Password);
        };
        if !connection.enabled {
            return Ok(Realm::Password);
        }
        let Some(org) = self.deps.orgs.org_by_id(record.org_id).await? else {
            return Ok(Realm::Password);
        };
        Ok(Realm::Sso {
            org,
            required: connection.require_sso,
        })
    }

    /// G4: the organization whose SSO requirement covers this email, if any.
    pub async fn sso_required_for(&self, email: &str) -> Result<Option<OrgId>, FederationError> {
        let Some(domain) = domains::email_domain(email) else {
            return Ok(None);
        };
        Ok(self.deps.repo.sso_required_for_domain(&domain).await?)
    }

    /// The people G4 covers in this organization now: the accounts in its verified domains,
    /// when its enabled connection requires its own sign-in; none otherwise.
    pub async fn accounts_covered(&self, slug: &str) -> Result<Vec<AccountId>, FederationError> {
        let org = self.org(slug).await?;
        let Some(connection) = self.deps.repo.connection(org.id).await? else {
            return Ok(Vec::new());
        };
        if !connection.require_sso || !connection.enabled {
            return Ok(Vec::new());
        }
        let mut covered = Vec::new();
        for domain in self.deps.repo.domains_of(org.id).await? {
            if domain.verified.is_some() {
                covered.extend(self.deps.repo.accounts_in_domain(&domain.domain).await?);
            }
        }
        Ok(covered)
    }

    /// The organization's relying party, when its connection is enabled.
    pub async fn relying_party(
        &self,
        slug: &str,
    ) -> Result<(Organization, Arc<OidcRp>), FederationError> {
        let org = self.org(slug).await?;
        let connection = self
            .deps
            .repo
            .connection(org.id)
            .await?
            .ok_or(FederationError::NoConnection)?;
        if !connection.enabled {
            return Err(FederationError::ConnectionDisabled);
        }
        if let Some((upstream, rp)) = lock(&self.rps).get(&org.id)
            && *upstream == connection.upstream
        {
            return Ok((org, rp.clone()));
        }
        let upstream = connection.upstream;
        let Upstream::Oidc(oidc) = upstream.clone();
        let secret = open_secret(org.id, &oidc, &self.deps.kek)?;
        let rp = Arc::new(OidcRp::new(
            org.id,
            oidc,
            secret,
            self.callback_url(&org.slug),
            self.settings.rp.clone(),
            self.deps.clock.clone(),
        )?);
        lock(&self.rps).insert(org.id, (upstream, rp.clone()));
        Ok((org, rp))
    }

    /// The relying party of the organization whose session asks for the upstream's
    /// sign-out too (`end_upstream_session`), with the organization's slug.
    pub async fn relying_party_of(
        &self,
        org: OrgId,
    ) -> Result<Option<(String, Arc<OidcRp>)>, FederationError> {
        let Some(connection) = self.deps.repo.connection(org).await? else {
            return Ok(None);
        };
        if !connection.end_upstream_session || !connection.enabled {
            return Ok(None);
        }
        let Some(found) = self.deps.orgs.org_by_id(org).await? else {
            return Ok(None);
        };
        let (org, rp) = self.relying_party(&found.slug).await?;
        Ok(Some((org.slug, rp)))
    }

    /// What this upstream identity signs in to (the rule of [`linking`]). `email` is the
    /// asserted email in canonical (lower-case) form.
    pub async fn decide(
        &self,
        org: OrgId,
        identity: &UpstreamIdentity,
        email: Option<&str>,
    ) -> Result<LinkDecision, FederationError> {
        let linked = self
            .deps
            .repo
            .find_federated(&identity.issuer, &identity.subject)
            .await?;
        let (domain_owner, account) = match email {
            Some(email) => {
                let owner = match domains::email_domain(email) {
                    Some(domain) => self
                        .deps
                        .repo
                        .find_domain(&domain)
                        .await?
                        .filter(|d| d.verified.is_some())
                        .map(|d| d.org_id),
                    None => None,
                };
                let account = self.deps.accounts.find_account_by_email(email).await?;
                (owner, account)
            }
            None => (None, None),
        };
        Ok(linking::decide(&LinkFacts {
            linked: linked.as_ref(),
            org,
            email,
            email_verified: identity.email_verified,
            domain_owner,
            account: account.as_ref(),
        }))
    }

    fn identity_record(
        &self,
        org: OrgId,
        identity: &UpstreamIdentity,
        account: AccountId,
    ) -> FederatedIdentity {
        let now = self.deps.clock.now();
        FederatedIdentity {
            issuer: identity.issuer.clone(),
            subject: identity.subject.clone(),
            account_id: account,
            org_id: org,
            email: identity.email.clone(),
            linked_at: now,
            last_sign_in: now,
        }
    }

    fn membership(
        &self,
        org: OrgId,
        identity: &UpstreamIdentity,
        account: AccountId,
        mapping: &lanyard_core::model::ClaimMapping,
    ) -> Membership {
        Membership {
            org_id: org,
            account_id: account,
            role: identity.role(mapping),
            joined_at: self.deps.clock.now(),
        }
    }

    /// Just-in-time provisioning: a new account (no password), linked, a member.
    pub async fn provision(
        &self,
        rp: &OidcRp,
        identity: &UpstreamIdentity,
        email: &str,
        origin: &Origin,
    ) -> Result<Account, FederationError> {
        let org = rp.org();
        let placeholder = AccountId(uuid::Uuid::nil());
        let account = self
            .deps
            .repo
            .provision_federated(
                NewAccount {
                    email: identity.email.clone().unwrap_or_else(|| email.to_owned()),
                    email_normalized: email.to_owned(),
                    email_verified: identity.email_verified,
                    name: identity.name.clone().unwrap_or_default(),
                    password_hash: None,
                    status: AccountStatus::Active,
                    kind: AccountKind::Person,
                },
                &self.identity_record(org, identity, placeholder),
                &self.membership(org, identity, placeholder, &rp.config().claims),
                self.deps.clock.now(),
            )
            .await?;
        self.audit(
            "federation.provisioned",
            account.id.to_string(),
            None,
            origin,
        )
        .await;
        Ok(account)
    }

    /// Links the identity to an existing account (every linking condition held, or the
    /// person proved the account).
    pub async fn link(
        &self,
        rp: &OidcRp,
        identity: &UpstreamIdentity,
        account: AccountId,
        how: &str,
        origin: &Origin,
    ) -> Result<(), FederationError> {
        let org = rp.org();
        self.deps
            .repo
            .link_federated(
                &self.identity_record(org, identity, account),
                &self.membership(org, identity, account, &rp.config().claims),
            )
            .await?;
        self.audit("federation.linked", account.to_string(), Some(how), origin)
            .await;
        Ok(())
    }

    /// Records a sign-in through a linked identity.
    pub async fn touch(&self, identity: &UpstreamIdentity) -> Result<(), FederationError> {
        self.deps
            .repo
            .touch_federated(
                &identity.issuer,
                &identity.subject,
                identity.email.as_deref(),
                self.deps.clock.now(),
            )
            .await?;
        Ok(())
    }

    /// The account linked under this issuer and subject.
    pub async fn linked_account(
        &self,
        issuer: &str,
        subject: &str,
    ) -> Result<Option<AccountId>, FederationError> {
        Ok(self
            .deps
            .repo
            .find_federated(issuer, subject)
            .await?
            .map(|f| f.account_id))
    }

    pub fn auditor(&self) -> &Auditor {
        &self.deps.auditor
    }
}
