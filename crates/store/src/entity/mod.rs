//! sea-orm entities: the row shapes of the durable tables. Private to the crate so no
//! other crate can couple to the schema; the `sql` module maps them to `lanyard_core` models.

pub mod account;
pub mod account_admin;
pub mod account_link;
pub mod audit_event;
pub mod backup_code;
pub mod backup_code_set;
pub mod backup_code_set_code;
pub mod client;
pub mod consent;
pub mod federated_identity;
pub mod logout_notice;
pub mod mfa_account;
pub mod org_connection;
pub mod org_domain;
pub mod org_member;
pub mod organization;
pub mod pat;
pub mod privacy_change;
pub mod privacy_choice;
pub mod refresh_family;
pub mod refresh_token;
pub mod session_client;
pub mod session_listing;
pub mod signing_key;
pub mod site;
pub mod site_client;
pub mod site_invitation;
pub mod site_user;
pub mod totp_credential;
pub mod trusted_device;
