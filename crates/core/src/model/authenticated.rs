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

    /// Rank of a level for "at least" comparisons; `None` for values we do not define.
    pub fn level(value: &str) -> Option<u8> {
        match value {
            LOA1 => Some(1),
            LOA2 => Some(2),
            LOA3 => Some(3),
            _ => None,
        }
    }

    /// The lowest level an `acr_values` list accepts, ignoring values we do not define (the
    /// parameter is a list of acceptable levels, in order of preference); `None` when it
    /// names none of ours.
    pub fn required(acr_values: &[String]) -> Option<u8> {
        acr_values.iter().filter_map(|v| level(v)).min()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authenticated {
    pub account_id: AccountId,
    pub auth_time: Timestamp,
    pub acr: String,
    /// RFC 8176 authentication method references (`pwd`, `otp`, `mfa`, ...).
    pub amr: Vec<String>,
}
