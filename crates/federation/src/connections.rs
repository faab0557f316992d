//! An organization's upstream connection: what an operator or an organization admin sets,
//! checked and with its client secret sealed before anything is stored.

use lanyard_core::Secret;
use lanyard_core::model::{ClaimMapping, OidcUpstream, OrgId, Upstream};
use lanyard_crypto::Kek;
use url::Url;

use crate::FederationError;

/// The longest client id, scope list or claim name we keep: beyond any real IdP's.
const MAX_FIELD_LEN: usize = 512;

/// The scopes asked besides `openid` when none are given: what the default claim mapping
/// reads.
pub const DEFAULT_SCOPES: [&str; 2] = ["email", "profile"];

/// What `lanyard org set-sso` and the admin API set.
#[derive(Debug, Clone)]
pub struct OidcSettings {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Secret,
    pub scopes: Vec<String>,
    pub claims: ClaimMapping,
}

/// Where the upstream may be: `https`, or `http` on a loopback address when the
/// configuration allows it (the test IdP of the federation suites runs there).
pub fn check_issuer(issuer: &str, allow_http_loopback: bool) -> Result<Url, FederationError> {
    let bad = |why: &str| FederationError::InvalidSetting(format!("issuer: {why}"));
    if issuer.len() > MAX_FIELD_LEN {
        return Err(bad("too long"));
    }
    let url = Url::parse(issuer).map_err(|_| bad("not a URL"))?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad(
            "an issuer has no query or fragment (OIDC Discovery §2)",
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("an issuer has no user name or password"));
    }
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => return Err(bad("no host")),
    };
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback && allow_http_loopback => Ok(url),
        "http" if loopback => Err(bad(
            "http is allowed on loopback only with federation.allow_http_loopback",
        )),
        _ => Err(bad("must be https")),
    }
}

impl OidcSettings {
    /// Checks every field and seals the secret under the organization's id.
    pub fn into_upstream(
        self,
        org: OrgId,
        kek: &Kek,
        allow_http_loopback: bool,
    ) -> Result<Upstream, FederationError> {
        check_issuer(&self.issuer, allow_http_loopback)?;
        let printable = |what: &str, value: &str| {
            if value.is_empty()
                || value.len() > MAX_FIELD_LEN
                || value.chars().any(char::is_control)
            {
                Err(FederationError::InvalidSetting(format!(
                    "{what}: 1 to {MAX_FIELD_LEN} characters, no control characters"
                )))
            } else {
                Ok(())
            }
        };
        printable("client id", &self.client_id)?;
        printable("client secret", self.client_secret.expose())?;
        for scope in &self.scopes {
            printable("scope", scope)?;
            if scope.contains(' ') || scope == "openid" {
                return Err(FederationError::InvalidSetting(format!(
                    "scope {scope:?}: one scope per value; openid is always asked"
                )));
            }
        }
        printable("email claim", &self.claims.email)?;
        printable("name claim", &self.claims.name)?;
        if let Some(groups) = &self.claims.groups {
            printable("groups claim", groups)?;
        }
        for mapping in &self.claims.acr {
            if !mapping.ours.starts_with("urn:lanyard:loa:") {
                return Err(FederationError::InvalidSetting(format!(
                    "acr mapping: {:?} is not one of our levels (urn:lanyard:loa:N)",
                    mapping.ours
                )));
            }
        }
        let sealed = kek.encrypt(self.client_secret.expose().as_bytes(), &secret_aad(org))?;
        Ok(Upstream::Oidc(OidcUpstream {
            issuer: self.issuer,
            client_id: self.client_id,
            client_secret_sealed: sealed,
            scopes: self.scopes,
            claims: self.claims,
        }))
    }
}

/// The sealed client secret belongs to this organization's connection only: a row copied
/// to another organization does not open.
pub(crate) fn secret_aad(org: OrgId) -> Vec<u8> {
    format!("org-connection-secret:{org}").into_bytes()
}

pub(crate) fn open_secret(
    org: OrgId,
    oidc: &OidcUpstream,
    kek: &Kek,
) -> Result<Secret, FederationError> {
    let plain = kek.decrypt(&oidc.client_secret_sealed, &secret_aad(org))?;
    let text = String::from_utf8(plain.to_vec())
        .map_err(|_| FederationError::InvalidSetting("stored client secret".into()))?;
    Ok(Secret::new(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuers() {
        assert!(check_issuer("https://idp.corp.example", false).is_ok());
        assert!(check_issuer("https://idp.corp.example/tenant/1", false).is_ok());
        assert!(check_issuer("http://idp.corp.example", true).is_err());
        assert!(check_issuer("http://127.0.0.1:4000", false).is_err());
        assert!(check_issuer("http://127.0.0.1:4000", true).is_ok());
        assert!(check_issuer("https://idp.corp.example/?x=1", false).is_err());
        assert!(check_issuer("https://user:pw@idp.corp.example", false).is_err());
        assert!(check_issuer("ftp://idp.corp.example", false).is_err());
        assert!(check_issuer("not a url", false).is_err());
    }
}
