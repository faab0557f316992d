//! One security-relevant event (requirement A5). Never carries a secret.

use serde::{Deserialize, Serialize};

use crate::Timestamp;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub at: Timestamp,
    /// Dotted kind, e.g. `login.failed`, `token.code_replay`, `client.created`.
    pub kind: String,
    /// Who acted: an account id, `client:<id>`, or `cli`.
    pub actor: Option<String>,
    /// Whom or what it concerns.
    pub subject: Option<String>,
    pub client_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// `success` or `failure`.
    pub outcome: String,
    pub reason: Option<String>,
}

impl AuditEvent {
    pub fn new(at: Timestamp, kind: &str, outcome: &str) -> Self {
        Self {
            at,
            kind: kind.to_owned(),
            actor: None,
            subject: None,
            client_id: None,
            ip: None,
            user_agent: None,
            outcome: outcome.to_owned(),
            reason: None,
        }
    }

    pub fn actor(mut self, actor: impl Into<String>) -> Self {
        self.actor = Some(actor.into());
        self
    }

    pub fn subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    pub fn client(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self
    }

    pub fn reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    pub fn origin(mut self, ip: Option<String>, user_agent: Option<String>) -> Self {
        self.ip = ip;
        self.user_agent = user_agent;
        self
    }
}
