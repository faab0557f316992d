//! Back-channel logout (OIDC Back-Channel Logout 1.0), without HTTP: which clients got a
//! code in which browser session, the durable outbox of logout notices, the retry schedule,
//! and the logout token. The server's sender task POSTs what this module hands it.
//!
//! The outbox is bounded (`backchannel.queue_capacity`): when it is full, the session still
//! ends (signing out must never fail because a relying party is slow) and the clients that
//! could not be queued are audited as `logout.backchannel_dropped` (docs/logout.md).

mod settings;
mod token;

use std::sync::Arc;

use lanyard_core::model::{AuditEvent, LogoutNotice, QueuedNotices, SessionsEnded};
use lanyard_core::ports::LogoutRepo;
use lanyard_core::{AccountId, Auditor, ClientId, Clock, Origin, StoreError, Timestamp};

pub use settings::BackchannelSettings;
pub use token::{BACKCHANNEL_LOGOUT_EVENT, LOGOUT_TOKEN_TYP, LogoutDelivery, LogoutTokenClaims};

/// What became of one delivery attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// Tried again at this time.
    Retry(Timestamp),
    /// Out of attempts: dropped and audited.
    GaveUp,
}

pub struct Backchannel {
    repo: Arc<dyn LogoutRepo>,
    clock: Arc<dyn Clock>,
    audit: Auditor,
    settings: BackchannelSettings,
}

impl Backchannel {
    pub fn new(
        repo: Arc<dyn LogoutRepo>,
        clock: Arc<dyn Clock>,
        audit: Auditor,
        settings: BackchannelSettings,
    ) -> Self {
        Self {
            repo,
            clock,
            audit,
            settings,
        }
    }

    pub fn settings(&self) -> &BackchannelSettings {
        &self.settings
    }

    /// Remembers that `client` got a code in session `sid` (§2.1: the OP tracks the RPs it
    /// issued tokens to in a session).
    pub async fn record(
        &self,
        sid: &str,
        account: AccountId,
        client: &ClientId,
    ) -> Result<(), StoreError> {
        self.repo
            .insert_session_client(sid, account, client, self.clock.now())
            .await
    }

    /// Queues a notice for every client that got a code in the ended sessions and
    /// registered a back-channel URI. Called right after the sessions ended.
    pub async fn sessions_ended(
        &self,
        ended: SessionsEnded<'_>,
        origin: &Origin,
    ) -> Result<QueuedNotices, StoreError> {
        let now = self.clock.now();
        let outcome = self
            .repo
            .queue_logout_notices(ended, now, self.settings.queue_capacity)
            .await?;
        for client in &outcome.dropped {
            self.audit
                .record(
                    AuditEvent::new(now, "logout.backchannel_dropped", "failure")
                        .client(client.as_str())
                        .reason("the back-channel logout queue is full"),
                    origin,
                )
                .await;
        }
        if !outcome.dropped.is_empty() {
            tracing::warn!(
                dropped = outcome.dropped.len(),
                "back-channel logout queue full; notices dropped"
            );
        }
        Ok(outcome)
    }

    /// Notices due now, each leased for one attempt.
    pub async fn claim_due(&self) -> Result<Vec<LogoutNotice>, StoreError> {
        let now = self.clock.now();
        let lease = Timestamp(now.seconds() + self.settings.lease_secs());
        self.repo
            .claim_logout_notices(now, lease, self.settings.batch_size)
            .await
    }

    pub async fn delivered(&self, notice: &LogoutNotice) -> Result<(), StoreError> {
        self.repo.delete_logout_notice(notice.id).await?;
        self.audit
            .record(
                AuditEvent::new(self.clock.now(), "logout.backchannel_sent", "success")
                    .subject(notice.account_id.to_string())
                    .client(notice.client_id.as_str()),
                &Origin::default(),
            )
            .await;
        Ok(())
    }

    /// The notice can never be delivered (the client is gone or no longer registers a URI).
    pub async fn discard(&self, notice: &LogoutNotice) -> Result<(), StoreError> {
        self.repo.delete_logout_notice(notice.id).await
    }

    /// An attempt failed (`reason` names the status or the transport error, never a token):
    /// retried with exponential backoff until `max_attempts`, then dropped and audited.
    pub async fn failed(&self, notice: &LogoutNotice, reason: &str) -> Result<Attempt, StoreError> {
        let now = self.clock.now();
        if notice.attempts >= self.settings.max_attempts {
            self.repo.delete_logout_notice(notice.id).await?;
            self.audit
                .record(
                    AuditEvent::new(now, "logout.backchannel_failed", "failure")
                        .subject(notice.account_id.to_string())
                        .client(notice.client_id.as_str())
                        .reason(format!(
                            "gave up after {} attempts: {reason}",
                            notice.attempts
                        )),
                    &Origin::default(),
                )
                .await;
            return Ok(Attempt::GaveUp);
        }
        let at = Timestamp(now.seconds() + self.settings.backoff_secs(notice.attempts));
        self.repo.reschedule_logout_notice(notice.id, at).await?;
        Ok(Attempt::Retry(at))
    }

    /// How many notices wait in the outbox.
    pub async fn pending(&self) -> Result<u64, StoreError> {
        self.repo.count_logout_notices().await
    }

    /// Forgets links older than any session can live.
    pub async fn purge(&self, session_max_secs: i64) -> Result<u64, StoreError> {
        let before = Timestamp(self.clock.now().seconds() - session_max_secs);
        self.repo.purge_session_clients(before).await
    }
}
