//! Pages for people: the authorization endpoint and consent, the sign-in pages, the account
//! pages, the device page and sign-out. Browser callers get HTML and redirects.

pub mod account;
pub mod authorize;
pub mod device;
pub mod federation;
pub mod home;
pub mod logout;
pub mod migrate;
pub mod password_reset;
pub mod register;
pub mod signin;
pub mod sites;
