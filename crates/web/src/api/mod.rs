//! JSON for programs: the protocol endpoints (token, introspection, revocation, userinfo,
//! discovery), health, and the organization API. Errors are RFC 6749 / RFC 6750 JSON.

pub mod account;
pub mod admin;
pub mod backchannel;
pub mod device_authorization;
pub mod health;
pub mod metadata;
pub mod org_sso;
pub mod orgs;
pub mod token;
pub mod userinfo;
