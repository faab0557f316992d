//! Flow tests: the real server on a random loopback port, driven over HTTP — by the
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `openidconnect` crate as relying party, and by raw requests for the refusals. Every test
//! runs on SQLite + in-process store, and on PostgreSQL + Redis when their URLs are set.

mod account_pages;
mod account_password;
mod admin_api;
mod admin_api_docs;
mod admin_api_refusals;
mod admin_cli;
mod authorization_endpoint;
mod backchannel;
mod client_credentials;
mod device_flow;
mod device_limits;
mod entropy;
mod federation;
mod federation_attacks;
mod federation_g4;
mod federation_support;
mod helpers;
mod http_edges;
mod injection;
mod logout;
mod mfa_devices_stepup;
mod mfa_email_backup;
mod mfa_limits_assurance;
mod mfa_totp;
mod mfa_two_nodes;
mod oidc_rp;
mod org_policy;
mod org_sso_api;
mod pages;
mod password_busy;
mod password_policy;
mod pats;
mod refresh;
mod refusals;
mod restarts;
mod revocation;
mod signin_ux;
mod site_admin;
mod site_backup_codes;
mod site_claims;
mod site_cli;
mod site_client_cache;
mod site_invite_cli;
mod site_login;
mod site_migration;
mod site_pats;
mod sites_support;
mod time_zone;
mod token_exchange;
mod userinfo;
mod ways_on;
