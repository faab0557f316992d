//! What every handler can reach: the services and the web settings.

use std::sync::Arc;

use lanyard_core::{Auditor, Clock, Rng};
use lanyard_identity::{AccountService, OrgService, PatService};
use lanyard_issuer::Issuer;
use lanyard_mfa::MfaService;
use lanyard_signin::SignInService;

#[derive(Debug, Clone)]
pub struct WebSettings {
    pub product_name: String,
    /// Secure cookies everywhere except a plain-http loopback issuer (local development).
    pub secure_cookies: bool,
    /// Trust `X-Forwarded-For` for the client IP (only behind a proxy that sets it).
    pub trust_forwarded_for: bool,
}

impl WebSettings {
    pub fn for_issuer(issuer: &str) -> Self {
        let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
            .iter()
            .any(|p| issuer.starts_with(p));
        Self {
            product_name: "Lanyard".to_owned(),
            secure_cookies: !loopback,
            trust_forwarded_for: false,
        }
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
    pub clock: Arc<dyn Clock>,
    pub audit: Auditor,
    pub rng: Arc<dyn Rng>,
    pub settings: Arc<WebSettings>,
    /// Readiness: false while shutting down, so load balancers drain this node.
    pub ready: Arc<std::sync::atomic::AtomicBool>,
}
