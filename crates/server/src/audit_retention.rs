//! The audit log's retention (A5): events older than `[audit] retention_days` are deleted
//! by every serving node once an hour and by `lanyard audit purge`. The purge is one
//! `DELETE … WHERE at < cutoff` with the cutoff from the injected clock, so nodes running it
//! at once only share the work; nothing else deletes or updates an event.

use std::sync::Arc;
use std::time::Duration;

use lanyard_core::model::AuditEvent;
use lanyard_core::ports::AuditLog;
use lanyard_core::{Auditor, Clock, InvalidSetting, Origin, StoreError, Timestamp};
use serde::{Deserialize, Serialize};

const DAY_SECS: i64 = 86_400;

/// `[audit]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// Events are kept this many days (1 to 36500).
    pub retention_days: i64,
    /// How often each serving node purges.
    pub purge_every_secs: u64,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            retention_days: 365,
            purge_every_secs: 3600,
        }
    }
}

impl AuditConfig {
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        if !(1..=36_500).contains(&self.retention_days) {
            return Err(InvalidSetting::new(
                "audit.retention_days",
                "must be 1 to 36500",
            ));
        }
        if self.purge_every_secs < 60 {
            return Err(InvalidSetting::new(
                "audit.purge_every_secs",
                "must be at least 60",
            ));
        }
        Ok(())
    }

    /// The oldest moment still kept at `now`.
    pub fn cutoff(&self, now: Timestamp) -> Timestamp {
        now.minus_secs(self.retention_days.saturating_mul(DAY_SECS))
    }
}

/// One purge: deletes what is older than the retention and, when something went, records
/// `audit.purged` (with how many) so the log says it was shortened.
pub async fn purge_once(
    log: &dyn AuditLog,
    audit: &Auditor,
    clock: &dyn Clock,
    config: &AuditConfig,
    origin: &Origin,
) -> Result<u64, StoreError> {
    let now = clock.now();
    let cutoff = config.cutoff(now);
    let removed = log.purge_audit(cutoff).await?;
    if removed > 0 {
        let event = AuditEvent::new(now, "audit.purged", "success")
            .reason(format!("{removed} events before {}", cutoff.seconds()));
        audit.record(event, origin).await;
    }
    Ok(removed)
}

/// The serving node's hourly purge.
pub fn spawn_purger(
    log: Arc<dyn AuditLog>,
    audit: Auditor,
    clock: Arc<dyn Clock>,
    config: AuditConfig,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(Duration::from_secs(config.purge_every_secs));
        let origin = Origin {
            actor: Some("server".to_owned()),
            ..Origin::default()
        };
        loop {
            interval.tick().await;
            if let Err(e) = purge_once(log.as_ref(), &audit, clock.as_ref(), &config, &origin).await
            {
                tracing::warn!(error = %e, "purging old audit events failed");
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a5_retention_is_bounded_and_the_cutoff_is_whole_days_back() {
        assert!(AuditConfig::default().validate().is_ok());
        for days in [0, -1, 36_501] {
            let config = AuditConfig {
                retention_days: days,
                ..AuditConfig::default()
            };
            assert_eq!(
                config.validate().unwrap_err().key,
                "audit.retention_days",
                "{days}"
            );
        }
        let config = AuditConfig {
            retention_days: 2,
            ..AuditConfig::default()
        };
        assert_eq!(config.cutoff(Timestamp(1_000_000)), Timestamp(827_200));
    }
}
