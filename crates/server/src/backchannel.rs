//! The back-channel logout sender (OIDC Back-Channel Logout 1.0 §2.5): a task that claims
//! due notices from the durable outbox, POSTs each client its logout token form-encoded
//! with bounded concurrency, a per-request timeout and no redirects followed, and reports
//! the outcome so the issuer retries with backoff or gives up and audits it. What is sent
//! and when is the issuer's (`issuer::backchannel`); only HTTP lives here.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use lanyard_core::model::LogoutNotice;
use lanyard_issuer::Issuer;
use lanyard_issuer::backchannel::{Backchannel, LogoutDelivery};

use crate::app::App;

/// Purge stale session links every this many rounds.
const PURGE_EVERY_ROUNDS: u64 = 600;

pub struct BackchannelSender {
    issuer: Arc<Issuer>,
    backchannel: Arc<Backchannel>,
    /// The account pages' session lists, purged with the session links.
    signin: Arc<lanyard_signin::SignInService>,
    http: reqwest::Client,
    session_max_secs: i64,
}

/// What one round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    pub delivered: usize,
    pub failed: usize,
}

impl BackchannelSender {
    pub fn new(app: &App, session_max_secs: i64) -> Result<Self, reqwest::Error> {
        let issuer = app.state.issuer.clone();
        let backchannel = issuer.backchannel().clone();
        let timeout = Duration::from_secs(backchannel.settings().timeout_secs);
        let http = reqwest::Client::builder()
            // §2.5: the RP answers 200; a redirect is not followed (it would send the token
            // somewhere the client did not register).
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()?;
        Ok(Self {
            issuer,
            backchannel,
            signin: app.state.signin.clone(),
            http,
            session_max_secs,
        })
    }

    /// Claims what is due and sends it, at most `concurrency` requests at once.
    pub async fn round(&self) -> Round {
        let notices = match self.backchannel.claim_due().await {
            Ok(notices) => notices,
            Err(e) => {
                tracing::warn!(error = %e, "claiming back-channel logout notices failed");
                return Round::default();
            }
        };
        let concurrency = self.backchannel.settings().concurrency;
        let outcomes: Vec<bool> = futures_util::stream::iter(notices)
            .map(|notice| async move { self.attempt(&notice).await })
            .buffer_unordered(concurrency)
            .collect()
            .await;
        let delivered = outcomes.iter().filter(|ok| **ok).count();
        Round {
            delivered,
            failed: outcomes.len() - delivered,
        }
    }

    /// One attempt; true when the client acknowledged it.
    async fn attempt(&self, notice: &LogoutNotice) -> bool {
        let delivery = match self.issuer.logout_delivery(notice).await {
            Ok(Some(delivery)) => delivery,
            Ok(None) => {
                // The client is gone or no longer registers a URI: nothing to send, ever.
                if let Err(e) = self.backchannel.discard(notice).await {
                    tracing::warn!(error = %e, "discarding a logout notice failed");
                }
                return false;
            }
            Err(e) => {
                self.report_failure(notice, &format!("minting failed: {e}"))
                    .await;
                return false;
            }
        };
        match self.post(&delivery).await {
            Ok(()) => {
                if let Err(e) = self.backchannel.delivered(notice).await {
                    tracing::warn!(error = %e, "recording a delivered logout notice failed");
                }
                true
            }
            Err(reason) => {
                self.report_failure(notice, &reason).await;
                false
            }
        }
    }

    async fn post(&self, delivery: &LogoutDelivery) -> Result<(), String> {
        let response = self
            .http
            .post(&delivery.uri)
            .form(&[("logout_token", delivery.logout_token.as_str())])
            .send()
            .await
            // Transport errors name the URL at most, never the body.
            .map_err(|e| e.without_url().to_string())?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("HTTP {}", status.as_u16()))
        }
    }

    async fn report_failure(&self, notice: &LogoutNotice, reason: &str) {
        tracing::info!(
            client = notice.client_id.as_str(),
            attempts = notice.attempts,
            reason,
            "back-channel logout attempt failed"
        );
        if let Err(e) = self.backchannel.failed(notice, reason).await {
            tracing::warn!(error = %e, "rescheduling a logout notice failed");
        }
    }

    /// Runs rounds until the task is dropped; stale session links are purged now and then.
    pub fn spawn(self) -> tokio::task::JoinHandle<()> {
        let every = Duration::from_millis(self.backchannel.settings().poll_interval_ms);
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(every);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut rounds: u64 = 0;
            loop {
                interval.tick().await;
                self.round().await;
                rounds += 1;
                if rounds.is_multiple_of(PURGE_EVERY_ROUNDS)
                    && let Err(e) = self.backchannel.purge(self.session_max_secs).await
                {
                    tracing::warn!(error = %e, "purging session links failed");
                }
                if rounds.is_multiple_of(PURGE_EVERY_ROUNDS)
                    && let Err(e) = self.signin.sessions().purge_listings().await
                {
                    tracing::warn!(error = %e, "purging session listings failed");
                }
            }
        })
    }
}
