//! Refresh-token families (RFC 9700 §4.14.2): one family per authorization grant; each
//! rotation retires the presented token and issues its successor, and presenting a retired
//! token revokes the family, except for the optional grace window: the immediately previous
//! token presented again shortly after its rotation gets the same successor back (the FAPI 2.0
//! rotation note: a client whose response was lost must be able to retry).

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

/// What a rotation keeps so that the presented token may be retried for a while.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraceSeal {
    /// A retry of the presented token within this many seconds of its rotation gets the
    /// sealed successor back; later it counts as reuse.
    pub window_secs: i64,
    /// The successor, encrypted under a key only the presented token yields: what is at rest
    /// is useless without the token it answers.
    pub sealed_successor: Vec<u8>,
}

/// What happened to a presented refresh token, decided atomically in one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RotateOutcome {
    /// The token was current; it is now retired and its successor stored.
    Rotated(RefreshFamily),
    /// The token is the family's immediately previous one and its rotation lies within the
    /// grace window: nothing changed, and the successor that rotation stored (still the
    /// current token) is handed back sealed.
    Replayed {
        family: RefreshFamily,
        sealed_successor: Vec<u8>,
    },
    /// The token had already been rotated: the family is now revoked.
    Reused(RefreshFamily),
    /// The family is revoked or expired; nothing changed.
    Dead(RefreshFamily),
    /// No such token.
    Unknown,
}
