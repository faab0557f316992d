//! What every handler can reach: the services and the web settings.

use std::sync::Arc;

use lanyard_core::{Auditor, Clock, Rng};
use lanyard_identity::{AccountService, OrgService, PatService};
use lanyard_issuer::Issuer;
use lanyard_mfa::MfaService;
use lanyard_signin::SignInService;
use lanyard_sites::invitations::InvitationService;

use crate::kit::csrf::CsrfKey;
use crate::kit::origin::ForwardedFor;

#[derive(Debug, Clone)]
pub struct WebSettings {
    pub product_name: String,
    /// Secure cookies everywhere except a plain-http loopback issuer (local development).
    pub secure_cookies: bool,
    /// The CSRF binder's cookie is `__Host-lanyard_csrf`: everywhere but plain http off
    /// loopback, where browsers refuse `Secure` cookies (docs/browser-security.md).
    pub csrf_host_cookie: bool,
    /// The MAC key of the form tokens (`kit::csrf`), derived from the token hash key.
    pub csrf_key: CsrfKey,
    /// The issuer's origin (`scheme://host[:port]`, as browsers write `Origin`): the one
    /// origin whose pages may post our forms (`middleware::same_origin`).
    pub public_origin: String,
    /// Which `X-Forwarded-For` entry, if any, names the client (S49, docs/http.md).
    pub forwarded_for: ForwardedFor,
    /// `Strict-Transport-Security` on every response: an https issuer that is not loopback
    /// (S45). Never on http (browsers ignore it there) nor on https://localhost, where it
    /// would pin every other local development server to https for a year.
    pub hsts: bool,
}

impl WebSettings {
    pub fn for_issuer(issuer: &str, csrf_key: CsrfKey) -> Self {
        let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
            .iter()
            .any(|p| issuer.starts_with(p));
        let parsed = url::Url::parse(issuer).ok();
        let public_origin = parsed
            .as_ref()
            .map(|url| url.origin().ascii_serialization())
            .unwrap_or_default();
        let plain_http_off_loopback = parsed.is_some_and(|url| url.scheme() == "http") && !loopback;
        Self {
            product_name: "Lanyard".to_owned(),
            secure_cookies: !loopback,
            csrf_host_cookie: !plain_http_off_loopback,
            csrf_key,
            public_origin,
            forwarded_for: ForwardedFor::Ignore,
            hsts: wants_hsts(issuer),
        }
    }
}

/// An https issuer whose host is not a loopback name or address.
fn wants_hsts(issuer: &str) -> bool {
    let Ok(url) = url::Url::parse(issuer) else {
        return false;
    };
    let loopback = match url.host() {
        Some(url::Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost")
        }
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => true,
    };
    url.scheme() == "https" && !loopback
}

#[cfg(test)]
mod tests {
    use super::WebSettings;
    use crate::kit::csrf::CsrfKey;

    fn settings(issuer: &str) -> WebSettings {
        WebSettings::for_issuer(issuer, CsrfKey::new([7; 32]))
    }

    #[test]
    fn s45_hsts_only_for_https_issuers_off_loopback() {
        for issuer in [
            "https://id.example.com",
            "https://id.example.com:8443/tenant",
        ] {
            assert!(settings(issuer).hsts, "{issuer}");
        }
        for issuer in [
            "http://id.example.com",
            "http://localhost:8080",
            "https://localhost",
            "https://LOCALHOST.:8443",
            "https://app.localhost",
            "https://127.0.0.1:8443",
            "https://127.1.2.3",
            "https://[::1]:8443",
            "not a url",
        ] {
            assert!(!settings(issuer).hsts, "{issuer}");
        }
    }

    #[test]
    fn f4_the_public_origin_and_the_csrf_cookie_follow_the_issuer() {
        let https = settings("https://ID.example.com:443/tenant");
        assert_eq!(https.public_origin, "https://id.example.com");
        assert!(https.csrf_host_cookie);
        let loopback = settings("http://127.0.0.1:8080");
        assert_eq!(loopback.public_origin, "http://127.0.0.1:8080");
        assert!(
            loopback.csrf_host_cookie,
            "browsers keep Secure cookies on loopback"
        );
        assert!(!settings("http://id.example.com").csrf_host_cookie);
        assert_eq!(settings("not a url").public_origin, "");
    }
}

#[derive(Clone)]
pub struct AppState {
    pub issuer: Arc<Issuer>,
    pub accounts: Arc<AccountService>,
    pub mfa: Arc<MfaService>,
    pub pats: Arc<PatService>,
    pub orgs: Arc<OrgService>,
    /// The sign-in sequence, its flows and the sessions.
    pub signin: Arc<SignInService>,
    /// Privacy preferences (A4).
    pub privacy: Arc<lanyard_identity::PrivacyService>,
    /// Sign-up, email verification, password reset and email change (A2).
    pub account_links: lanyard_signin::links::AccountLinks,
    /// Sites' invitations: sending them, claiming them (S41), email changes (C6).
    pub invitations: Arc<InvitationService>,
    /// A site admin's actions on their own site.
    pub site_admin: Arc<lanyard_sites::admin::SiteAdmin>,
    pub clock: Arc<dyn Clock>,
    pub audit: Auditor,
    pub rng: Arc<dyn Rng>,
    pub settings: Arc<WebSettings>,
    /// Readiness: false while shutting down, so load balancers drain this node.
    pub ready: Arc<std::sync::atomic::AtomicBool>,
    /// What only the admin API uses (issue 15).
    pub admin: Arc<AdminServices>,
}

/// The admin API's services besides those every route reaches.
pub struct AdminServices {
    /// The admin role, account search, enabling accounts.
    pub admins: Arc<lanyard_identity::AdminService>,
    pub keys: Arc<lanyard_issuer::keys::KeyService>,
    /// The audit log's reading side.
    pub audit_log: Arc<dyn lanyard_core::ports::AuditLog>,
    pub cursors: lanyard_identity::cursor::Cursors,
}
