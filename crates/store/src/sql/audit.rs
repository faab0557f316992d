//! [`AuditRepo`] on SQL: append-only; the row id is a fresh UUIDv7 from the injected clock
//! and rng, so ties within a second list in insertion order.

use async_trait::async_trait;
use lanyard_core::StoreError;
use lanyard_core::model::AuditEvent;
use lanyard_core::ports::AuditRepo;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::{SqlStore, ts};
use crate::entity::audit_event::{ActiveModel, Column, Entity, Model};
use crate::error;

pub(super) fn to_domain(row: Model) -> AuditEvent {
    AuditEvent {
        at: ts(row.at),
        kind: row.kind,
        actor: row.actor,
        subject: row.subject,
        client_id: row.client_id,
        ip: row.ip,
        user_agent: row.user_agent,
        outcome: row.outcome,
        reason: row.reason,
        site_id: row.site_id,
        org_id: row.org_id,
    }
}

#[async_trait]
impl AuditRepo for SqlStore {
    async fn insert_audit(&self, event: &AuditEvent) -> Result<(), StoreError> {
        let row = ActiveModel {
            id: Set(self.new_id()),
            at: Set(event.at.seconds()),
            kind: Set(event.kind.clone()),
            actor: Set(event.actor.clone()),
            subject: Set(event.subject.clone()),
            client_id: Set(event.client_id.clone()),
            ip: Set(event.ip.clone()),
            user_agent: Set(event.user_agent.clone()),
            outcome: Set(event.outcome.clone()),
            reason: Set(event.reason.clone()),
            site_id: Set(event.site_id.clone()),
            org_id: Set(event.org_id.clone()),
        };
        Entity::insert(row)
            .exec_without_returning(&self.db)
            .await
            .map_err(|e| error::db("insert audit event", e))?;
        Ok(())
    }

    async fn list_audit(
        &self,
        kind: Option<&str>,
        limit: u64,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        // `at` has second resolution; the UUIDv7 id breaks ties in insertion order.
        let mut query = Entity::find()
            .order_by_desc(Column::At)
            .order_by_desc(Column::Id)
            .limit(limit);
        if let Some(kind) = kind {
            query = query.filter(Column::Kind.eq(kind));
        }
        let rows = query
            .all(&self.db)
            .await
            .map_err(|e| error::db("list audit events", e))?;
        Ok(rows.into_iter().map(to_domain).collect())
    }
}
