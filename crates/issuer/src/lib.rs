//! The token issuer: clients and their authentication, the authorization endpoint's rules,
//! grants (authorization code + PKCE, refresh, client credentials, token exchange, device
//! code), access and ID tokens, discovery, userinfo, introspection, revocation and logout.
//! No HTTP in here: the web crate parses requests into these types and maps [`OAuthError`]
//! to responses.

pub mod authorize;
pub mod backchannel;
pub mod client_auth;
pub mod clients;
pub mod code;
pub mod connected;
pub mod device;
pub mod discovery;
pub mod endpoints;
pub mod error;
pub mod grant;
pub mod introspect;
pub mod issuer;
pub mod keys;
pub mod logout;
pub mod pkce;
pub mod redirect_uri;
pub mod resource_token;
pub mod revoke;
pub mod scope;
pub mod settings;
pub mod subject;
#[cfg(test)]
mod test_support;
pub mod tokens;
mod unverified;
pub mod userinfo;

pub use error::{ErrorCode, OAuthError};
pub use issuer::{Issuer, IssuerDeps};
pub use settings::{IssuerSettings, MAX_REFRESH_GRACE_SECS, TokenSettings};
