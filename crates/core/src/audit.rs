//! The audit trail writer every service shares.

use std::sync::Arc;

use crate::model::AuditEvent;
use crate::ports::AuditRepo;

/// Where a request came from, for the audit log.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// `cli`, `client:<id>`, an account id, or `None` for an anonymous web visitor.
    pub actor: Option<String>,
}

impl Origin {
    pub fn cli() -> Self {
        Self {
            actor: Some("cli".to_owned()),
            ..Self::default()
        }
    }
}

#[derive(Clone)]
pub struct Auditor {
    repo: Arc<dyn AuditRepo>,
}

impl Auditor {
    pub fn new(repo: Arc<dyn AuditRepo>) -> Self {
        Self { repo }
    }

    /// Stores the event with the request's origin. A failed write must not turn a correct
    /// answer into an error, but it must never be silent: it is logged by kind only.
    pub async fn record(&self, event: AuditEvent, origin: &Origin) {
        let mut event = event.origin(origin.ip.clone(), origin.user_agent.clone());
        if event.actor.is_none() {
            event.actor = origin.actor.clone();
        }
        if let Err(e) = self.repo.insert_audit(&event).await {
            tracing::error!(kind = %event.kind, error = %e, "audit event could not be stored");
        }
    }
}
