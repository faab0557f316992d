//! Routers per area.

pub mod account;
pub mod account_pats;
pub mod authorize;
pub mod backchannel;
pub mod device;
pub mod forced_enrollment;
pub mod health;
pub mod login;
pub mod logout;
pub mod metadata;
pub mod orgs;
pub mod second_step;
pub mod token;
pub mod userinfo;
