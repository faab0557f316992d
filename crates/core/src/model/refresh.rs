//! Refresh-token families (RFC 9700 §4.14.2): one family per authorization grant; each
//! rotation retires the presented token and issues its successor, and presenting a retired
//! token revokes the family.

use crate::{AccountId, ClientId, FamilyId, Timestamp};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshFamily {
    pub id: FamilyId,
    pub client_id: ClientId,
    pub account_id: AccountId,
    /// Scopes granted, space-separated.
    pub scope: String,
    pub auth_time: Timestamp,
    pub acr: Option<String>,
    /// RFC 8176 method references, space-separated.
    pub amr: String,
    pub created_at: Timestamp,
    /// Refreshing stops working after this no matter how often the family is used.
    pub absolute_expires_at: Timestamp,
    /// Refreshing stops working if no refresh happened until this; each rotation moves it.
    pub idle_expires_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

impl RefreshFamily {
    pub fn is_live(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none() && now < self.absolute_expires_at && now < self.idle_expires_at
    }
}

#[derive(Debug, Clone)]
pub struct NewRefreshFamily {
    pub family: RefreshFamily,
    /// Keyed hash of the first refresh token; `None` when the grant carries no refresh token
    /// (the family then only tracks revocation of the access tokens minted for it).
    pub first_token_hash: Option<String>,
}

/// What happened to a presented refresh token, decided atomically in one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RotateOutcome {
    /// The token was current; it is now retired and its successor stored.
    Rotated(RefreshFamily),
    /// The token had already been rotated: the family is now revoked.
    Reused(RefreshFamily),
    /// The family is revoked or expired; nothing changed.
    Dead(RefreshFamily),
    /// No such token.
    Unknown,
}
