//! Back-channel logout (OIDC Back-Channel Logout 1.0): which clients got a code in which
//! browser session, and the logout notices waiting in the durable outbox.

use uuid::Uuid;

use crate::{AccountId, ClientId, Timestamp};

/// One notice in the outbox: tell `client_id` that session `sid` of `account_id` ended.
/// The token itself is minted at each attempt (its `exp` is short; RFC-style retries must
/// not send an expired token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutNotice {
    pub id: Uuid,
    pub client_id: ClientId,
    pub account_id: AccountId,
    pub sid: String,
    /// Attempts made so far, counting the one a claim starts.
    pub attempts: u32,
    pub next_attempt_at: Timestamp,
    pub created_at: Timestamp,
}

/// Which sessions ended.
#[derive(Debug, Clone, Copy)]
pub enum SessionsEnded<'a> {
    /// One session (sign-out, a new sign-in replacing it).
    One { sid: &'a str },
    /// Every session of the account except `keep` ("sign out everywhere else", a password
    /// change, disabling the account: `keep` is `None`).
    AllOf {
        account: AccountId,
        keep: Option<&'a str>,
    },
}

/// What ending the sessions put in the outbox.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueuedNotices {
    /// Notices written (one per client with a back-channel URI that got a code).
    pub queued: u64,
    /// Clients not told because the outbox was full.
    pub dropped: Vec<ClientId>,
}
