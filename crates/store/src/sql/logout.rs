//! [`LogoutRepo`] on SQL: the session ↔ client links and the outbox of back-channel logout
//! notices. Ending sessions takes the links and writes the notices in one transaction, so
//! a crash leaves either both (links still there, nothing queued) or the queued notices.

use async_trait::async_trait;
use lanyard_core::model::{LogoutNotice, QueuedNotices, SessionsEnded};
use lanyard_core::ports::LogoutRepo;
use lanyard_core::{AccountId, ClientId, StoreError, Timestamp};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use uuid::Uuid;

use super::{SqlStore, ts};
use crate::entity::{client, logout_notice as notice, session_client as link};
use crate::error::{self, corrupt};

fn to_notice(row: notice::Model) -> Result<LogoutNotice, StoreError> {
    Ok(LogoutNotice {
        id: row.id,
        client_id: ClientId::parse(&row.client_id).ok_or_else(|| corrupt("notice client id"))?,
        account_id: AccountId(row.account_id),
        sid: row.sid,
        attempts: u32::try_from(row.attempts).map_err(|_| corrupt("notice attempts"))?,
        next_attempt_at: ts(row.next_attempt_at),
        created_at: ts(row.created_at),
    })
}

#[async_trait]
impl LogoutRepo for SqlStore {
    async fn insert_session_client(
        &self,
        sid: &str,
        account: AccountId,
        client: &ClientId,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let row = link::ActiveModel {
            sid: Set(sid.to_owned()),
            client_id: Set(client.as_str().to_owned()),
            account_id: Set(account.0),
            created_at: Set(now.seconds()),
        };
        // A second code for the same client in the same session changes nothing.
        link::Entity::insert(row)
            .on_conflict(
                OnConflict::columns([link::Column::Sid, link::Column::ClientId])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(&self.db)
            .await
            .map_err(|e| error::db("insert session client", e))?;
        Ok(())
    }

    async fn queue_logout_notices(
        &self,
        ended: SessionsEnded<'_>,
        now: Timestamp,
        capacity: u64,
    ) -> Result<QueuedNotices, StoreError> {
        const CONTEXT: &str = "queue logout notices";
        let which = match ended {
            SessionsEnded::One { sid } => Condition::all().add(link::Column::Sid.eq(sid)),
            SessionsEnded::AllOf { account, keep } => {
                let mut c = Condition::all().add(link::Column::AccountId.eq(account.0));
                if let Some(keep) = keep {
                    c = c.add(link::Column::Sid.ne(keep));
                }
                c
            }
        };
        let txn = self.begin_write().await?;
        let links = link::Entity::find()
            .filter(which.clone())
            .order_by_asc(link::Column::CreatedAt)
            .all(&txn)
            .await
            .map_err(|e| error::db(CONTEXT, e))?;
        if links.is_empty() {
            txn.rollback().await.map_err(|e| error::db(CONTEXT, e))?;
            return Ok(QueuedNotices::default());
        }
        let client_ids: Vec<String> = links.iter().map(|l| l.client_id.clone()).collect();
        let registered: Vec<String> = client::Entity::find()
            .filter(client::Column::ClientId.is_in(client_ids))
            .filter(client::Column::BackchannelLogoutUri.is_not_null())
            .all(&txn)
            .await
            .map_err(|e| error::db(CONTEXT, e))?
            .into_iter()
            .map(|c| c.client_id)
            .collect();
        let mut pending = notice::Entity::find()
            .count(&txn)
            .await
            .map_err(|e| error::db(CONTEXT, e))?;
        let mut outcome = QueuedNotices::default();
        for l in links.iter().filter(|l| registered.contains(&l.client_id)) {
            if pending >= capacity {
                outcome
                    .dropped
                    .push(ClientId::parse(&l.client_id).ok_or_else(|| corrupt("link client id"))?);
                continue;
            }
            let row = notice::ActiveModel {
                id: Set(lanyard_core::ids::uuid_v7(&*self.clock, &*self.rng)),
                client_id: Set(l.client_id.clone()),
                account_id: Set(l.account_id),
                sid: Set(l.sid.clone()),
                attempts: Set(0),
                next_attempt_at: Set(now.seconds()),
                created_at: Set(now.seconds()),
            };
            notice::Entity::insert(row)
                .exec_without_returning(&txn)
                .await
                .map_err(|e| error::db(CONTEXT, e))?;
            pending += 1;
            outcome.queued += 1;
        }
        link::Entity::delete_many()
            .filter(which)
            .exec(&txn)
            .await
            .map_err(|e| error::db(CONTEXT, e))?;
        txn.commit().await.map_err(|e| error::db(CONTEXT, e))?;
        Ok(outcome)
    }

    async fn claim_logout_notices(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u64,
    ) -> Result<Vec<LogoutNotice>, StoreError> {
        const CONTEXT: &str = "claim logout notices";
        let due = notice::Entity::find()
            .filter(notice::Column::NextAttemptAt.lte(now.seconds()))
            .order_by_asc(notice::Column::NextAttemptAt)
            .limit(limit)
            .all(&self.db)
            .await
            .map_err(|e| error::db(CONTEXT, e))?;
        let mut claimed = Vec::with_capacity(due.len());
        for row in due {
            // Conditional on what was read: of two nodes, only one moves the row on.
            let result = notice::Entity::update_many()
                .col_expr(
                    notice::Column::NextAttemptAt,
                    Expr::value(lease_until.seconds()),
                )
                .col_expr(
                    notice::Column::Attempts,
                    Expr::col(notice::Column::Attempts).add(1),
                )
                .filter(notice::Column::Id.eq(row.id))
                .filter(notice::Column::NextAttemptAt.eq(row.next_attempt_at))
                .filter(notice::Column::Attempts.eq(row.attempts))
                .exec(&self.db)
                .await
                .map_err(|e| error::db(CONTEXT, e))?;
            if result.rows_affected == 1 {
                let mut n = to_notice(row)?;
                n.attempts += 1;
                n.next_attempt_at = lease_until;
                claimed.push(n);
            }
        }
        Ok(claimed)
    }

    async fn reschedule_logout_notice(
        &self,
        id: Uuid,
        next_attempt_at: Timestamp,
    ) -> Result<(), StoreError> {
        notice::Entity::update_many()
            .col_expr(
                notice::Column::NextAttemptAt,
                Expr::value(next_attempt_at.seconds()),
            )
            .filter(notice::Column::Id.eq(id))
            .exec(&self.db)
            .await
            .map_err(|e| error::db("reschedule logout notice", e))?;
        Ok(())
    }

    async fn delete_logout_notice(&self, id: Uuid) -> Result<(), StoreError> {
        notice::Entity::delete_by_id(id)
            .exec(&self.db)
            .await
            .map_err(|e| error::db("delete logout notice", e))?;
        Ok(())
    }

    async fn count_logout_notices(&self) -> Result<u64, StoreError> {
        notice::Entity::find()
            .count(&self.db)
            .await
            .map_err(|e| error::db("count logout notices", e))
    }

    async fn purge_session_clients(&self, before: Timestamp) -> Result<u64, StoreError> {
        let result = link::Entity::delete_many()
            .filter(link::Column::CreatedAt.lt(before.seconds()))
            .exec(&self.db)
            .await
            .map_err(|e| error::db("purge session clients", e))?;
        Ok(result.rows_affected)
    }
}
