//! What a completed sign-in hands to the token issuer: who, when, and how strongly.

use serde::{Deserialize, Serialize};

use crate::{AccountId, Timestamp};

/// Assurance levels advertised in `acr_values_supported` (requirements, "Decisions").
pub mod acr {
    /// Password or PAT alone.
    pub const LOA1: &str = "urn:lanyard:loa:1";
    /// Password + email code, or federated sign-in.
    pub const LOA2: &str = "urn:lanyard:loa:2";
    /// Password + authenticator app or backup code.
    pub const LOA3: &str = "urn:lanyard:loa:3";
    pub const SUPPORTED: [&str; 3] = [LOA1, LOA2, LOA3];
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authenticated {
    pub account_id: AccountId,
    pub auth_time: Timestamp,
    pub acr: String,
    /// RFC 8176 authentication method references (`pwd`, `otp`, `mfa`, ...).
    pub amr: Vec<String>,
}
