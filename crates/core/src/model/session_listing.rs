//! What the account pages show of a signed-in browser (F3): when it started, what it is and
//! roughly where it was. The session record itself stays in the ephemeral store and decides
//! whether the session is alive; this is only its entry in the account's list.

use serde::{Deserialize, Serialize};

use crate::{AccountId, Timestamp};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionListing {
    /// The keyed hash that keys the session record (not the cookie value, which stays secret).
    pub key: String,
    /// The session's `sid` (back-channel logout), to tell its clients when it is ended here.
    pub sid: String,
    pub account_id: AccountId,
    pub started_at: Timestamp,
    /// The network the browser signed in from, never the full address: `203.0.113.0/24`,
    /// `2001:db8:1::/48`.
    pub ip_prefix: Option<String>,
    /// What the person will recognise, e.g. "Firefox on Linux" (never the whole
    /// `User-Agent`).
    pub device: String,
}
