//! Whom a token names. For a client of no site, the account (as ever); for a site's client,
//! the site user (`sub` = site user id, plus the claims `site`, `site_login`, `site_role`),
//! whichever way they signed in — their principal with the legacy login or the identity
//! account linked to them — so a relying party sees one `sub` before and after the migration
//! (docs/migration.md). The answer comes from core's `SiteSubjects` port.

use lanyard_core::model::Client;
use lanyard_core::model::{Account, AccountKind, AuditEvent, ClientSubject, SiteSubject};
use lanyard_core::{ClientId, Origin};
use serde::{Deserialize, Serialize};

use crate::error::OAuthError;
use crate::issuer::Issuer;

/// The claim names a site's tokens add (listed in discovery's `claims_supported`).
pub const SITE_CLAIMS: [&str; 3] = ["site", "site_login", "site_role"];

/// `sub` and, for a site's client, the site user behind it.
#[derive(Debug, Clone)]
pub(crate) struct Subject {
    pub sub: String,
    pub site: Option<SiteSubject>,
}

impl Subject {
    pub fn account(account: &Account) -> Self {
        Self {
            sub: account.id.to_string(),
            site: None,
        }
    }

    pub fn claims(&self) -> SiteClaims {
        SiteClaims::of(self.site.as_ref())
    }
}

/// The site claims as they appear in access tokens, ID tokens, userinfo and introspection;
/// all absent for a client of no site.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteClaims {
    /// The site's slug.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub site: Option<String>,
    /// The site user's login, as imported.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub site_login: Option<String>,
    /// `licensed_user`, `admin` or `client_user`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub site_role: Option<String>,
}

impl SiteClaims {
    pub fn of(site: Option<&SiteSubject>) -> Self {
        match site {
            None => Self::default(),
            Some(s) => Self {
                site: Some(s.slug.clone()),
                site_login: Some(s.login.clone()),
                site_role: Some(s.role.as_str().to_owned()),
            },
        }
    }
}

/// The one refusal a grant gives for an account that may not have the client's tokens.
pub(crate) fn no_site_access() -> OAuthError {
    OAuthError::invalid_grant("the account has no access to this client's site")
}

impl Issuer {
    /// Whom tokens of `account` at `client` name; `None` when it may have none: a site's
    /// client and an account that is neither one of the site's principals nor linked to one
    /// of its users, or a site principal at a client of no site (a principal's sign-in counts
    /// for its own site only).
    pub(crate) async fn subject_of(
        &self,
        client: &ClientId,
        account: &Account,
    ) -> Result<Option<Subject>, OAuthError> {
        Ok(
            match self.site_subjects.subject_for(client, account.id).await? {
                ClientSubject::Account => account_subject(account),
                ClientSubject::SiteUser(site) => Some(Subject {
                    sub: site.site_user.to_string(),
                    site: Some(site),
                }),
                ClientSubject::NoAccess => None,
            },
        )
    }

    /// [`Self::subject_of`] for a grant: a refusal is audited and is `invalid_grant`. The
    /// client's record (from `ClientService`'s cache, which a site's creation empties on
    /// every node) says whether it is of a site: only then is `SiteSubjects` asked, so a
    /// client of no site pays no site lookup per grant.
    pub(crate) async fn grant_subject(
        &self,
        client: &Client,
        account: &Account,
        grant_type: &'static str,
        origin: &Origin,
    ) -> Result<Subject, OAuthError> {
        let subject = match client.site {
            None => account_subject(account),
            Some(_) => self.subject_of(&client.id, account).await?,
        };
        if let Some(subject) = subject {
            return Ok(subject);
        }
        self.record(
            AuditEvent::new(self.clock.now(), "token.site_refused", "failure")
                .subject(account.id.to_string())
                .client(client.id.as_str())
                .reason(grant_type),
            origin,
        )
        .await;
        Err(no_site_access())
    }
}

/// The subject at a client of no site: the account, unless it is a site principal.
fn account_subject(account: &Account) -> Option<Subject> {
    (account.kind != AccountKind::SiteUser).then(|| Subject::account(account))
}

#[cfg(test)]
mod tests;
