//! Protocol endpoint paths. The web routers and the discovery document both read these, so
//! they can not drift apart. Page paths belong to the web crate (`lanyard_web::kit::paths`).

pub const DISCOVERY: &str = "/.well-known/openid-configuration";
pub const OAUTH_METADATA: &str = "/.well-known/oauth-authorization-server";
pub const JWKS: &str = "/jwks";
pub const AUTHORIZE: &str = "/authorize";
pub const TOKEN: &str = "/token";
/// RFC 8628 §3.1 (device authorization request) and §3.3 (where the user enters the code).
pub const DEVICE_AUTHORIZATION: &str = "/device_authorization";
pub const DEVICE: &str = "/device";
pub const USERINFO: &str = "/userinfo";
pub const INTROSPECT: &str = "/introspect";
pub const REVOKE: &str = "/revoke";
pub const LOGOUT: &str = "/logout";
