//! Sessions an upstream identity provider started, and ending them when it says so
//! (OIDC Back-Channel Logout 1.0): an index from the upstream's (issuer, `sid`) to our
//! sessions, holding only what ends them — the keyed hash of each id and its `sid`.

use lanyard_core::model::{Authenticated, OrgId, SessionsEnded};
use lanyard_core::{EphemeralKey, Origin};
use lanyard_federation::oidc::UpstreamIdentity;
use serde::{Deserialize, Serialize};

use super::{NewSession, SessionStore};
use crate::SignInError;

/// An upstream session rarely starts more of ours than this; beyond it the oldest drop
/// out of the index (the upstream's `sub` still ends them all).
const MAX_PER_UPSTREAM_SESSION: usize = 32;

#[derive(Serialize, Deserialize)]
struct Indexed {
    /// The keyed hash of our session id (its store key).
    key: String,
    /// Its `sid` for our own clients' back-channel logouts.
    sid: String,
}

impl SessionStore {
    fn upstream_key(&self, issuer: &str, sid: &str) -> String {
        let hash = self.hasher.hash(&format!("{issuer}\u{0}{sid}"));
        EphemeralKey::UpstreamSessions(&hash).to_string()
    }

    /// A session an upstream sign-in started: verified now, remembered under the
    /// upstream's session so its logout can end it.
    pub async fn start_upstream(
        &self,
        previous: Option<&str>,
        auth: &Authenticated,
        org: OrgId,
        identity: &UpstreamIdentity,
        origin: &Origin,
    ) -> Result<NewSession, SignInError> {
        let new = self
            .start_as(
                previous,
                auth,
                Some(auth.auth_time),
                (false, None),
                Some(org),
                origin,
            )
            .await?;
        if let (Some(sid), Some(ours)) = (identity.sid.as_deref(), self.sid(Some(&new.id))) {
            let key = self.upstream_key(&identity.issuer, sid);
            let mut list: Vec<Indexed> = match self.ephemeral.get(&key).await? {
                Some(bytes) => serde_json::from_slice(&bytes).unwrap_or_default(),
                None => Vec::new(),
            };
            list.push(Indexed {
                key: self.hasher.hash(&new.id),
                sid: ours,
            });
            let excess = list.len().saturating_sub(MAX_PER_UPSTREAM_SESSION);
            list.drain(..excess);
            let ttl = std::time::Duration::from_secs(self.settings.max_secs.max(1) as u64);
            self.ephemeral
                .put(&key, &serde_json::to_vec(&list)?, ttl)
                .await?;
        }
        Ok(new)
    }

    /// Ends our sessions the upstream session (issuer, `sid`) started; how many.
    pub async fn end_upstream_session(
        &self,
        issuer: &str,
        sid: &str,
        origin: &Origin,
    ) -> Result<usize, SignInError> {
        let Some(bytes) = self.ephemeral.take(&self.upstream_key(issuer, sid)).await? else {
            return Ok(0);
        };
        let list: Vec<Indexed> = serde_json::from_slice(&bytes).unwrap_or_default();
        for indexed in &list {
            self.ephemeral
                .delete(&EphemeralKey::Session(&indexed.key).to_string())
                .await?;
            self.backchannel
                .sessions_ended(SessionsEnded::One { sid: &indexed.sid }, origin)
                .await?;
        }
        Ok(list.len())
    }
}
