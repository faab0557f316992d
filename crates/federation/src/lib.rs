//! Federation (G1–G4): organizations' email domains and their proof, the upstream
//! connection, home-realm discovery, the relying party towards the upstream (`oidc`), and the
//! linking rule. No HTTP server and no sign-in state here: the sign-in sequence
//! (`lanyard-signin`) carries the round trip and makes the session.
//!
//! A connection's protocol is [`lanyard_core::model::Upstream`]; each protocol is its own
//! module (`oidc` now; SAML 2.0 later beside it).

mod connections;
pub mod dns;
pub mod domains;
mod error;
pub mod linking;
pub mod oidc;
mod service;
mod settings;

pub use connections::{DEFAULT_SCOPES, OidcSettings, check_issuer};
pub use error::FederationError;
pub use service::{
    DomainCheck, FederationDeps, FederationService, FederationSettings, Realm, SsoByDomain,
    SsoConnection,
};
pub use settings::FederationConfig;
