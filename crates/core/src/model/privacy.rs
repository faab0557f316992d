//! Privacy preferences (A4): which optional data uses an account agreed to, one setting for
//! the whole account, and the history of every change.

use serde::{Deserialize, Serialize};

use crate::{AccountId, Timestamp};

/// An account's stored choice for one optional category. A category with no stored choice
/// is off: nothing optional happens without a yes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrivacyChoice {
    pub category: String,
    pub enabled: bool,
    pub changed_at: Timestamp,
}

/// One recorded change: who switched which category to what, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrivacyChange {
    pub account_id: AccountId,
    pub category: String,
    pub enabled: bool,
    pub at: Timestamp,
    /// The account itself, or `admin:<id>`/`cli` when someone else changed it.
    pub actor: String,
}
