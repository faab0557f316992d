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
    /// The site the event concerns, when it concerns one (a `SiteId`), so the log can be
    /// read per site.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site_id: Option<String>,
    /// The organization the event concerns, when it concerns one (an `OrgId`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_id: Option<String>,
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
            site_id: None,
            org_id: None,
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

    pub fn site(mut self, site_id: impl Into<String>) -> Self {
        self.site_id = Some(site_id.into());
        self
    }

    pub fn org(mut self, org_id: impl Into<String>) -> Self {
        self.org_id = Some(org_id.into());
        self
    }

    pub fn origin(mut self, ip: Option<String>, user_agent: Option<String>) -> Self {
        self.ip = ip;
        self.user_agent = user_agent;
        self
    }
}

/// An event as the log stores it: its row id (a UUIDv7) is its place in the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub id: uuid::Uuid,
    pub event: AuditEvent,
}

/// Where a page of the log ended: the last row's time and id. The next page starts strictly
/// after it in the order newest first, so rows inserted meanwhile (newer, with greater ids)
/// never shift a page that is being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPosition {
    pub at: i64,
    pub id: uuid::Uuid,
}

/// A read of the log: every filter given must hold; newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// The event's actor or subject is this value (an account id, `client:<id>`, …).
    pub account: Option<String>,
    pub site_id: Option<String>,
    pub org_id: Option<String>,
    /// The exact kind, e.g. `login.failed`.
    pub kind: Option<String>,
    /// From this second on (inclusive).
    pub since: Option<crate::Timestamp>,
    /// Before this second (exclusive).
    pub until: Option<crate::Timestamp>,
    /// Continue after this row (see [`AuditPosition`]).
    pub after: Option<AuditPosition>,
    pub limit: u64,
}
