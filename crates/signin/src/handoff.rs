//! What one page hands to the next across a Post/Redirect/Get, bound to one browser
//! session: a secret to show once (a new personal access token, a new backup code or set) and a
//! notice of what the last action did ("Token 'laptop' revoked").
//!
//! A secret waits under a random one-time id for a few minutes, sealed under the KEK (the
//! ephemeral store may be a database table; it never holds the secret in clear). The page
//! that shows it takes the entry in one atomic step, so a reload, Back or a second tab finds
//! only "this was shown once" — a secret is never shown twice and never re-created. The one
//! exception is the backup code's "I saved it" tick: a missed tick makes the same code
//! showable once more, because a new code would make a file already downloaded worthless.

use std::sync::Arc;
use std::time::Duration;

use lanyard_core::ports::EphemeralStore;
use lanyard_core::rng::random_token;
use lanyard_core::{Clock, EphemeralKey, Rng, Secret, Timestamp};
use lanyard_crypto::{Kek, TokenHasher};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::SignInError;
use crate::session::session_binding;

/// How long a secret waits for its page: long enough for a slow redirect and a missed tick,
/// short enough that a forgotten tab holds nothing for long.
pub const SHOWN_ONCE_TTL_SECS: i64 = 5 * 60;
/// A notice is read by the very next page.
const NOTICE_TTL: Duration = Duration::from_secs(60);
/// Above this a notice is not kept (labels are short; this bounds a stored value).
const MAX_NOTICE_BYTES: usize = 2048;

/// What kind of secret an entry holds; a page only shows its own kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ShownKind {
    Pat,
    BackupCode,
    /// A site user's set of backup codes (C4): a new set until "I saved my backup codes",
    /// or the current set shown again after the password.
    BackupCodeSet,
}

/// The handle a one-time page carries: 32 random bytes, base64url.
#[derive(Clone, PartialEq, Eq)]
pub struct ShownId(String);

impl ShownId {
    /// The id a page sent back, if it has the shape of one.
    pub fn parse(text: &str) -> Option<Self> {
        crate::flow::is_handle(text).then(|| Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ShownId {
    // Together with the session it opens the secret: never in logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ShownId(..)")
    }
}

/// What a one-time page shows.
#[derive(Debug)]
pub enum Showing {
    /// The secret, this once. `again` is true when the backup code's tick was missed.
    Secret {
        label: String,
        secret: Secret,
        again: bool,
        created_at: Timestamp,
    },
    /// The page was shown already: only what the secret is listed as.
    ShownBefore { label: String },
}

#[derive(Serialize, Deserialize)]
struct Entry {
    binding: String,
    kind: ShownKind,
    label: String,
    /// Dropped once a token is shown; a backup code keeps it until the tick.
    secret: Option<String>,
    shown: bool,
    again: bool,
    created_at: Timestamp,
    expires_at: Timestamp,
}

pub struct Handoffs {
    ephemeral: Arc<dyn EphemeralStore>,
    hasher: Arc<TokenHasher>,
    kek: Arc<Kek>,
    clock: Arc<dyn Clock>,
    rng: Arc<dyn Rng>,
}

impl Handoffs {
    pub fn new(
        ephemeral: Arc<dyn EphemeralStore>,
        hasher: Arc<TokenHasher>,
        kek: Arc<Kek>,
        clock: Arc<dyn Clock>,
        rng: Arc<dyn Rng>,
    ) -> Self {
        Self {
            ephemeral,
            hasher,
            kek,
            clock,
            rng,
        }
    }

    /// Keeps `secret` for one page of this session; `label` is what it is listed as.
    /// Without a session there is nobody to show it to: an error, never a stored secret.
    pub async fn keep(
        &self,
        session: Option<&str>,
        kind: ShownKind,
        label: &str,
        secret: &str,
    ) -> Result<ShownId, SignInError> {
        let binding = session_binding(&self.hasher, session).ok_or(SignInError::FlowGone)?;
        let id = ShownId(random_token(&*self.rng, 32));
        let now = self.clock.now();
        let entry = Entry {
            binding,
            kind,
            label: label.to_owned(),
            secret: Some(secret.to_owned()),
            shown: false,
            again: false,
            created_at: now,
            expires_at: now.plus_secs(SHOWN_ONCE_TTL_SECS),
        };
        self.put(&id, &entry).await?;
        Ok(id)
    }

    /// The one-time page: the secret the first time, afterwards only its label. Another
    /// session, another kind, an unknown or expired id: `None`, and the entry is untouched.
    pub async fn show(
        &self,
        session: Option<&str>,
        kind: ShownKind,
        id: &ShownId,
    ) -> Result<Option<Showing>, SignInError> {
        let Some(mut entry) = self.take(session, kind, id).await? else {
            return Ok(None);
        };
        let showing = match (entry.shown, entry.secret.clone()) {
            (false, Some(secret)) => {
                let showing = Showing::Secret {
                    label: entry.label.clone(),
                    secret: Secret::new(secret),
                    again: entry.again,
                    created_at: entry.created_at,
                };
                entry.shown = true;
                entry.again = false;
                if kind == ShownKind::Pat {
                    entry.secret = None;
                }
                showing
            }
            _ => Showing::ShownBefore {
                label: entry.label.clone(),
            },
        };
        self.put(id, &entry).await?;
        Ok(Some(showing))
    }

    /// The backup code's tick was missed: the same code may be shown once more. False when
    /// there is nothing of this session to show again.
    pub async fn show_again(
        &self,
        session: Option<&str>,
        kind: ShownKind,
        id: &ShownId,
    ) -> Result<bool, SignInError> {
        let Some(mut entry) = self.take(session, kind, id).await? else {
            return Ok(false);
        };
        let can = entry.secret.is_some();
        if can {
            entry.shown = false;
            entry.again = true;
        }
        self.put(id, &entry).await?;
        Ok(can)
    }

    /// The secret an entry of this session still holds (backup codes keep theirs until
    /// "I saved it"), without changing the entry: what a download from the one-time page
    /// saves. `None` once a token was shown, and for another session, kind or an unknown id.
    pub async fn peek(
        &self,
        session: Option<&str>,
        kind: ShownKind,
        id: &ShownId,
    ) -> Result<Option<(Secret, Timestamp)>, SignInError> {
        let Some(entry) = self.take(session, kind, id).await? else {
            return Ok(None);
        };
        let secret = entry
            .secret
            .clone()
            .map(|secret| (Secret::new(secret), entry.created_at));
        self.put(id, &entry).await?;
        Ok(secret)
    }

    /// Done with the secret ("I saved my backup code"): the entry is gone. Its label, if
    /// this session had one under `id`.
    pub async fn finish(
        &self,
        session: Option<&str>,
        kind: ShownKind,
        id: &ShownId,
    ) -> Result<Option<String>, SignInError> {
        Ok(self.take(session, kind, id).await?.map(|entry| entry.label))
    }

    /// Leaves `notice` for the next page this session loads.
    pub async fn set_notice<N: Serialize>(
        &self,
        session: Option<&str>,
        notice: &N,
    ) -> Result<(), SignInError> {
        let Some(binding) = session_binding(&self.hasher, session) else {
            return Ok(());
        };
        let value = serde_json::to_vec(notice)?;
        if value.len() > MAX_NOTICE_BYTES {
            return Ok(());
        }
        let key = EphemeralKey::Notice(&binding).to_string();
        self.ephemeral.put(&key, &value, NOTICE_TTL).await?;
        Ok(())
    }

    /// The notice left for this session, once.
    pub async fn take_notice<N: DeserializeOwned>(
        &self,
        session: Option<&str>,
    ) -> Result<Option<N>, SignInError> {
        let Some(binding) = session_binding(&self.hasher, session) else {
            return Ok(None);
        };
        let key = EphemeralKey::Notice(&binding).to_string();
        Ok(self
            .ephemeral
            .take(&key)
            .await?
            .and_then(|value| serde_json::from_slice(&value).ok()))
    }

    fn key(&self, id: &ShownId) -> String {
        EphemeralKey::ShownOnce(&self.hasher.hash(id.as_str())).to_string()
    }

    /// Takes the entry; one that belongs to another session or kind is put back as it was.
    async fn take(
        &self,
        session: Option<&str>,
        kind: ShownKind,
        id: &ShownId,
    ) -> Result<Option<Entry>, SignInError> {
        let key = self.key(id);
        let Some(sealed) = self.ephemeral.take(&key).await? else {
            return Ok(None);
        };
        let Some(entry) = self.open(&key, &sealed) else {
            return Ok(None);
        };
        let now = self.clock.now();
        if entry.expires_at <= now {
            return Ok(None);
        }
        let ours = session_binding(&self.hasher, session).as_deref() == Some(&entry.binding)
            && entry.kind == kind;
        if !ours {
            self.put(id, &entry).await?;
            return Ok(None);
        }
        Ok(Some(entry))
    }

    async fn put(&self, id: &ShownId, entry: &Entry) -> Result<(), SignInError> {
        let key = self.key(id);
        let left = entry.expires_at.seconds() - self.clock.now().seconds();
        if left <= 0 {
            return Ok(());
        }
        let plain = zeroize::Zeroizing::new(serde_json::to_vec(entry)?);
        let sealed = self
            .kek
            .encrypt(&plain, key.as_bytes())
            .map_err(|e| SignInError::Internal(e.to_string()))?;
        self.ephemeral
            .put(&key, &sealed, Duration::from_secs(left.unsigned_abs()))
            .await?;
        Ok(())
    }

    /// The entry under `key`; anything that does not open (another KEK after a restart with
    /// a new one, a value from elsewhere) counts as gone.
    fn open(&self, key: &str, sealed: &[u8]) -> Option<Entry> {
        let plain = self.kek.decrypt(sealed, key.as_bytes()).ok()?;
        serde_json::from_slice(&plain).ok()
    }
}
