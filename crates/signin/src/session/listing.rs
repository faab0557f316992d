//! The account's list of its signed-in browsers (F3: "active sessions … sign out"). An entry
//! is written when a session starts ([`SessionStore::start`]) and removed when it ends
//! here; the session record in the ephemeral store stays the only truth about whether a
//! session lives, so the list checks every entry against it and drops what has ended by any
//! other way (a cut, the idle or absolute limit, a restart of an in-memory store).

use std::net::IpAddr;

use ipnet::IpNet;
use lanyard_core::model::{SessionListing, SessionsEnded};
use lanyard_core::{AccountId, EphemeralKey, Origin, Timestamp};

use super::{Session, SessionStore};
use crate::SignInError;
use crate::second_step::device_label;

/// The most sessions one account's page lists; older ones still end with "sign out
/// everywhere else".
const MAX_LISTED: u64 = 50;
/// How much of an address says "where": the network, never the host (IPv4 /24, IPv6 /48).
const IPV4_PREFIX: u8 = 24;
const IPV6_PREFIX: u8 = 48;

/// One signed-in browser as its account sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedSession {
    /// What the page's "sign out" form names: the keyed hash that keys the record, not the
    /// cookie value (which never leaves the browser that holds it).
    pub handle: String,
    pub started_at: Timestamp,
    pub last_seen: Timestamp,
    pub ip_prefix: Option<String>,
    /// "Firefox on Linux".
    pub device: String,
    /// The browser asking.
    pub current: bool,
    pub stay_signed_in: bool,
    /// Signed in through an organization's identity provider.
    pub federated: bool,
}

/// The network of `ip` as `a.b.c.0/24` or `x:y:z::/48`; `None` for an unparsable value.
pub fn ip_prefix(ip: &str) -> Option<String> {
    let ip: IpAddr = ip.parse().ok()?;
    let len = if ip.is_ipv4() {
        IPV4_PREFIX
    } else {
        IPV6_PREFIX
    };
    IpNet::new(ip, len).ok().map(|net| net.trunc().to_string())
}

impl SessionStore {
    /// Adds a new session to its account's list.
    pub(super) async fn list_started(
        &self,
        id: &str,
        session: &Session,
        origin: &Origin,
    ) -> Result<(), SignInError> {
        let Some(sid) = self.sid(Some(id)) else {
            return Ok(());
        };
        let listing = SessionListing {
            key: self.hasher.hash(id),
            sid,
            account_id: session.auth.account_id,
            started_at: session.started_at,
            ip_prefix: origin.ip.as_deref().and_then(ip_prefix),
            device: device_label(origin.user_agent.as_deref()),
        };
        self.listings.insert_session_listing(&listing).await?;
        Ok(())
    }

    /// The account's live sessions, newest first; `current` is the asking browser's id.
    /// Entries whose session has ended are removed on the way.
    pub async fn list(
        &self,
        account: AccountId,
        current: Option<&str>,
    ) -> Result<Vec<ListedSession>, SignInError> {
        let current = current.map(|id| self.hasher.hash(id));
        let mut live = Vec::new();
        for entry in self.listings.session_listings(account, MAX_LISTED).await? {
            let Some(session) = self.listed_session(&entry).await? else {
                self.listings.remove_session_listing(&entry.key).await?;
                continue;
            };
            live.push(ListedSession {
                current: current.as_deref() == Some(entry.key.as_str()),
                handle: entry.key,
                started_at: session.started_at,
                last_seen: session.last_seen,
                ip_prefix: entry.ip_prefix,
                device: entry.device,
                stay_signed_in: session.stay_signed_in,
                federated: session.upstream.is_some(),
            });
        }
        Ok(live)
    }

    /// The record an entry names while it lives (and belongs to the entry's account).
    async fn listed_session(&self, entry: &SessionListing) -> Result<Option<Session>, SignInError> {
        let key = EphemeralKey::Session(&entry.key).to_string();
        let Some(bytes) = self.ephemeral.get(&key).await? else {
            return Ok(None);
        };
        let Ok(session) = serde_json::from_slice::<Session>(&bytes) else {
            return Ok(None);
        };
        if session.auth.account_id != entry.account_id || self.ended_by_cut(&session).await? {
            return Ok(None);
        }
        let now = self.clock.now().seconds();
        let idle_over =
            !session.stay_signed_in && now - session.last_seen.seconds() >= self.settings.idle_secs;
        let too_old = now - session.started_at.seconds() >= self.settings.max_secs;
        Ok((!idle_over && !too_old).then_some(session))
    }

    /// Ends the session `handle` names if it is one of `account`'s (the "sign out" button
    /// beside it) and queues its clients' back-channel logouts. False when there was no such
    /// session: another account's handle ends nothing.
    pub async fn end_listed(
        &self,
        account: AccountId,
        handle: &str,
        origin: &Origin,
    ) -> Result<bool, SignInError> {
        let Some(entry) = self.listings.find_session_listing(account, handle).await? else {
            return Ok(false);
        };
        let key = EphemeralKey::Session(&entry.key).to_string();
        let ended = self.listed_session(&entry).await?.is_some();
        self.ephemeral.delete(&key).await?;
        self.listings.remove_session_listing(&entry.key).await?;
        if ended {
            self.backchannel
                .sessions_ended(SessionsEnded::One { sid: &entry.sid }, origin)
                .await?;
        }
        Ok(ended)
    }

    /// Forgets entries older than any session can live.
    pub async fn purge_listings(&self) -> Result<u64, SignInError> {
        let before = Timestamp(self.clock.now().seconds() - self.settings.max_secs);
        Ok(self.listings.purge_session_listings(before).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_network_is_kept() {
        assert_eq!(ip_prefix("203.0.113.77").as_deref(), Some("203.0.113.0/24"));
        assert_eq!(
            ip_prefix("2001:db8:1:2:3::9").as_deref(),
            Some("2001:db8:1::/48")
        );
        assert_eq!(ip_prefix("not an address"), None);
        assert_eq!(ip_prefix(""), None);
    }
}
