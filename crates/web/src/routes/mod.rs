//! Routers per area.

pub mod authorize;
pub mod backchannel;
pub mod health;
pub mod login;
pub mod logout;
pub mod metadata;
pub mod token;
pub mod userinfo;
