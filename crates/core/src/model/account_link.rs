//! An emailed single-use link about an account (A2): verifying a new account's address,
//! resetting a forgotten password, confirming a new address. Only the keyed hash of the
//! link's token is stored; the token itself exists in the mail alone.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{AccountId, Clock, Rng, Timestamp};

/// One link sent; sending another of the same purpose for the same account supersedes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AccountLinkId(pub Uuid);

impl AccountLinkId {
    pub fn new(clock: &dyn Clock, rng: &dyn Rng) -> Self {
        Self(crate::ids::uuid_v7(clock, rng))
    }
}

impl std::fmt::Display for AccountLinkId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// What following the link does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkPurpose {
    /// A self-registered (`invited`) account becomes `active` with a verified email.
    Verify,
    /// The account gets a new password; its sessions, devices and grants end.
    Reset,
    /// The account's email becomes the link's address.
    EmailChange,
}

impl LinkPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Verify => "verify",
            Self::Reset => "reset",
            Self::EmailChange => "email_change",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "verify" => Some(Self::Verify),
            "reset" => Some(Self::Reset),
            "email_change" => Some(Self::EmailChange),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountLink {
    pub id: AccountLinkId,
    pub account_id: AccountId,
    pub purpose: LinkPurpose,
    /// Keyed hash of the token (>= 128 bits) the link carries.
    pub token_hash: String,
    /// The new address of an email change, as typed; `None` for the other purposes.
    pub email: Option<String>,
    /// A sign-up's name and argon2id password hash, applied when the link is followed: an
    /// address can be registered again before it is verified, and the verified account must
    /// get what the registration that sent *this* link typed, not a later one's.
    pub name: Option<String>,
    pub password_hash: Option<String>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub used_at: Option<Timestamp>,
    /// Set when a newer link of the same purpose for the same account replaced this one.
    pub superseded_at: Option<Timestamp>,
}

impl AccountLink {
    /// Neither used, superseded nor expired at `now`.
    pub fn is_live(&self, now: Timestamp) -> bool {
        self.used_at.is_none() && self.superseded_at.is_none() && now < self.expires_at
    }
}
