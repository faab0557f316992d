//! A user's remembered consent for a third-party client.

use crate::{AccountId, ClientId, Timestamp};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    pub account_id: AccountId,
    pub client_id: ClientId,
    /// Granted scopes, sorted and de-duplicated.
    pub scopes: Vec<String>,
    pub granted_at: Timestamp,
}
