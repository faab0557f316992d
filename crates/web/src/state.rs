//! What every handler can reach: the services and the web settings.

use std::sync::Arc;

use lanyard_core::ports::EphemeralStore;
use lanyard_core::{Auditor, Clock, Rng};
use lanyard_crypto::token_hash::TokenHasher;
use lanyard_identity::{AccountService, OrgService, PatService};
use lanyard_issuer::Issuer;
use lanyard_mfa::MfaService;

#[derive(Debug, Clone)]
pub struct WebSettings {
    pub product_name: String,
    /// Secure cookies everywhere except a plain-http loopback issuer (local development).
    pub secure_cookies: bool,
    /// A browser session ends after this long unused (B7: 24 hours)...
    pub session_idle_secs: i64,
    /// ...and at the latest this long after sign-in (B7: 30 days).
    pub session_max_secs: i64,
    /// How long a sign-in flow (from /authorize to the redirect back) may take.
    pub flow_ttl_secs: i64,
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
            session_idle_secs: 24 * 3600,
            session_max_secs: 30 * 24 * 3600,
            flow_ttl_secs: 30 * 60,
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
    pub ephemeral: Arc<dyn EphemeralStore>,
    pub hasher: Arc<TokenHasher>,
    pub clock: Arc<dyn Clock>,
    pub audit: Auditor,
    pub rng: Arc<dyn Rng>,
    pub settings: Arc<WebSettings>,
    /// Readiness: false while shutting down, so load balancers drain this node.
    pub ready: Arc<std::sync::atomic::AtomicBool>,
}
