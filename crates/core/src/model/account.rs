//! An identity account (requirement A1).

use serde::{Deserialize, Serialize};

use crate::{AccountId, Timestamp};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountStatus {
    Invited,
    Active,
    Disabled,
}

impl AccountStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Invited => "invited",
            Self::Active => "active",
            Self::Disabled => "disabled",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "invited" => Some(Self::Invited),
            "active" => Some(Self::Active),
            "disabled" => Some(Self::Disabled),
            _ => None,
        }
    }
}

/// What an `accounts` row stands for. A site user's principal (see `model::site`) shares
/// the machinery of sessions, second steps and grants with people's accounts, and nothing
/// else: email lookups, lists, account pages and organizations see people only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    /// An identity account: a person.
    #[default]
    Person,
    /// The principal a site user signs in as with the legacy site login. Its
    /// `email_normalized` is `site-user:<site user id>`: unique, and never an address, so the
    /// unique index and every email lookup pass it by.
    SiteUser,
}

impl AccountKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Person => "person",
            Self::SiteUser => "site_user",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "person" => Some(Self::Person),
            "site_user" => Some(Self::SiteUser),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: AccountId,
    /// As the user typed it, for display and for sending mail.
    pub email: String,
    /// Lower-cased; the unique lookup key.
    pub email_normalized: String,
    pub email_verified: bool,
    pub name: String,
    /// An argon2id PHC string; `None` for accounts that only sign in through SSO.
    pub password_hash: Option<String>,
    pub status: AccountStatus,
    pub kind: AccountKind,
    /// The IANA time zone the person chose for the times pages show ("Europe/Paris");
    /// `None` until they choose, which pages read as UTC.
    pub time_zone: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct NewAccount {
    pub email: String,
    pub email_normalized: String,
    pub email_verified: bool,
    pub name: String,
    pub password_hash: Option<String>,
    pub status: AccountStatus,
    pub kind: AccountKind,
}
