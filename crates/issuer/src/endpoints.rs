//! Route paths. The web routers and the discovery document both read these, so they can not
//! drift apart.

pub const DISCOVERY: &str = "/.well-known/openid-configuration";
pub const OAUTH_METADATA: &str = "/.well-known/oauth-authorization-server";
pub const JWKS: &str = "/jwks";
pub const AUTHORIZE: &str = "/authorize";
/// Where the sign-in and consent pages send the browser back to finish an authorization.
pub const AUTHORIZE_CONTINUE: &str = "/authorize/continue";
pub const TOKEN: &str = "/token";
pub const USERINFO: &str = "/userinfo";
pub const INTROSPECT: &str = "/introspect";
pub const REVOKE: &str = "/revoke";
pub const LOGOUT: &str = "/logout";
pub const LOGIN: &str = "/login";
pub const LOGIN_PASSWORD: &str = "/login/password";
pub const CONSENT: &str = "/consent";
