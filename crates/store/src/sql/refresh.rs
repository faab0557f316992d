//! [`RefreshRepo`] on SQL: refresh-token rotation with reuse detection (RFC 9700 §4.14.2).
//!
//! Rotation is one transaction whose decisive step is a conditional update,
//! `SET used_at = now WHERE token_hash = ? AND used_at IS NULL`. Whichever of two racing
//! rotations updates the row first wins; the other matches no row (PostgreSQL re-checks the
//! WHERE clause after waiting for the row lock; SQLite's IMMEDIATE transactions run one at a
//! time), sees a reuse and revokes the family.
//!
//! With the optional grace window the family row also keeps the last rotation's retired
//! token hash, its time and its sealed successor. The loser of a race reads the family again
//! after its update matched nothing: the winner has committed by then (PostgreSQL made the
//! update wait for the winner's row lock; SQLite ran the winner's transaction first), so the
//! loser decides between a retry and a reuse on the winner's result and never rotates again.

use async_trait::async_trait;
use lanyard_core::model::GraceSeal;
use lanyard_core::model::{NewRefreshFamily, RefreshFamily, RotateOutcome};
use lanyard_core::ports::RefreshRepo;
use lanyard_core::{AccountId, ClientId, FamilyId, StoreError, Timestamp};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder,
};
use uuid::Uuid;

use super::{SqlStore, ts, unique_row};
use crate::entity::{refresh_family as family, refresh_token as token};
use crate::error::{self, corrupt};

fn to_domain(row: family::Model) -> Result<RefreshFamily, StoreError> {
    Ok(RefreshFamily {
        id: FamilyId(row.id),
        client_id: ClientId::parse(&row.client_id).ok_or_else(|| corrupt("family client id"))?,
        account_id: AccountId(row.account_id),
        scope: row.scope,
        auth_time: ts(row.auth_time),
        acr: row.acr,
        amr: row.amr,
        created_at: ts(row.created_at),
        absolute_expires_at: ts(row.absolute_expires_at),
        idle_expires_at: ts(row.idle_expires_at),
        revoked_at: row.revoked_at.map(ts),
    })
}

fn token_row(hash: &str, family_id: Uuid, now: Timestamp) -> token::ActiveModel {
    token::ActiveModel {
        token_hash: Set(hash.to_owned()),
        family_id: Set(family_id),
        created_at: Set(now.seconds()),
        used_at: Set(None),
    }
}

/// Families that are not revoked and not expired at `now`: the SQL form of
/// [`RefreshFamily::is_live`].
fn live_at(now: Timestamp) -> sea_orm::Condition {
    sea_orm::Condition::all()
        .add(family::Column::RevokedAt.is_null())
        .add(family::Column::AbsoluteExpiresAt.gt(now.seconds()))
        .add(family::Column::IdleExpiresAt.gt(now.seconds()))
}

async fn load_family_row<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
    context: &'static str,
) -> Result<Option<family::Model>, StoreError> {
    unique_row(family::Entity::find_by_id(id), db)
        .await
        .map_err(|e| error::db(context, e))
}

async fn load_family<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
    context: &'static str,
) -> Result<Option<RefreshFamily>, StoreError> {
    load_family_row(db, id, context)
        .await?
        .map(to_domain)
        .transpose()
}

/// The sealed successor a retry of `presented_hash` may have back at `now`, if the family's
/// last rotation retired exactly that token and lies within the window.
fn grace_successor(
    row: &family::Model,
    presented_hash: &str,
    grace: Option<&GraceSeal>,
    now: Timestamp,
) -> Option<Vec<u8>> {
    let grace = grace?;
    let rotated_at = row.grace_rotated_at?;
    let same_token = row.grace_from_hash.as_deref() == Some(presented_hash);
    let in_window = now.seconds() < rotated_at.saturating_add(grace.window_secs);
    (same_token && in_window)
        .then(|| row.grace_successor_sealed.clone())
        .flatten()
}

/// Sets (or, with `None`, clears) the grace state on a family update.
fn with_grace(
    update: sea_orm::UpdateMany<family::Entity>,
    grace: Option<(&str, Timestamp, Vec<u8>)>,
) -> sea_orm::UpdateMany<family::Entity> {
    let (from, at, sealed) = match grace {
        Some((from, at, sealed)) => (Some(from.to_owned()), Some(at.seconds()), Some(sealed)),
        None => (None, None, None),
    };
    update
        .col_expr(family::Column::GraceFromHash, Expr::value(from))
        .col_expr(family::Column::GraceRotatedAt, Expr::value(at))
        .col_expr(family::Column::GraceSuccessorSealed, Expr::value(sealed))
}

#[async_trait]
impl RefreshRepo for SqlStore {
    async fn insert_family(&self, new: NewRefreshFamily) -> Result<(), StoreError> {
        let f = new.family;
        let row = family::ActiveModel {
            id: Set(f.id.0),
            client_id: Set(f.client_id.as_str().to_owned()),
            account_id: Set(f.account_id.0),
            scope: Set(f.scope),
            auth_time: Set(f.auth_time.seconds()),
            acr: Set(f.acr),
            amr: Set(f.amr),
            created_at: Set(f.created_at.seconds()),
            absolute_expires_at: Set(f.absolute_expires_at.seconds()),
            idle_expires_at: Set(f.idle_expires_at.seconds()),
            revoked_at: Set(f.revoked_at.map(Timestamp::seconds)),
            grace_from_hash: Set(None),
            grace_rotated_at: Set(None),
            grace_successor_sealed: Set(None),
        };
        // The family and its first token appear together or not at all.
        let txn = self.begin_write().await?;
        family::Entity::insert(row)
            .exec_without_returning(&txn)
            .await
            .map_err(|e| error::db("insert refresh family", e))?;
        if let Some(hash) = new.first_token_hash {
            token::Entity::insert(token_row(&hash, f.id.0, f.created_at))
                .exec_without_returning(&txn)
                .await
                .map_err(|e| error::db("insert refresh token", e))?;
        }
        txn.commit()
            .await
            .map_err(|e| error::db("insert refresh family", e))
    }

    async fn find_family(&self, id: FamilyId) -> Result<Option<RefreshFamily>, StoreError> {
        load_family(&self.db, id.0, "find refresh family").await
    }

    async fn find_family_by_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<RefreshFamily>, StoreError> {
        self.family_of_token(token_hash, false).await
    }

    async fn find_family_by_current_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<RefreshFamily>, StoreError> {
        self.family_of_token(token_hash, true).await
    }

    async fn rotate_refresh_token(
        &self,
        presented_hash: &str,
        successor_hash: &str,
        grace: Option<GraceSeal>,
        now: Timestamp,
        idle_ttl_secs: i64,
    ) -> Result<RotateOutcome, StoreError> {
        const CONTEXT: &str = "rotate refresh token";
        let txn = self.begin_write().await?;
        let Some(presented) =
            unique_row(token::Entity::find_by_id(presented_hash.to_owned()), &txn)
                .await
                .map_err(|e| error::db(CONTEXT, e))?
        else {
            txn.rollback().await.map_err(|e| error::db(CONTEXT, e))?;
            return Ok(RotateOutcome::Unknown);
        };
        // The foreign key makes a token without its family impossible short of tampering.
        let mut fam = load_family(&txn, presented.family_id, CONTEXT)
            .await?
            .ok_or_else(|| corrupt("refresh token without family"))?;
        if !fam.is_live(now) {
            // Nothing changes; rolling back now releases SQLite's write lock at once.
            txn.rollback().await.map_err(|e| error::db(CONTEXT, e))?;
            return Ok(RotateOutcome::Dead(fam));
        }

        let retired = token::Entity::update_many()
            .col_expr(token::Column::UsedAt, Expr::value(now.seconds()))
            .filter(token::Column::TokenHash.eq(presented_hash))
            .filter(token::Column::UsedAt.is_null())
            .exec(&txn)
            .await
            .map_err(|e| error::db(CONTEXT, e))?;

        let outcome = if retired.rows_affected == 0 {
            // Read after the failed update, so a concurrent winner's rotation is visible.
            let row = load_family_row(&txn, fam.id.0, CONTEXT)
                .await?
                .ok_or_else(|| corrupt("refresh family vanished"))?;
            let sealed = grace_successor(&row, presented_hash, grace.as_ref(), now);
            let current = to_domain(row)?;
            if let Some(sealed_successor) = sealed.filter(|_| current.is_live(now)) {
                txn.rollback().await.map_err(|e| error::db(CONTEXT, e))?;
                return Ok(RotateOutcome::Replayed {
                    family: current,
                    sealed_successor,
                });
            }
            // Already rotated: someone replayed an old token, so the whole grant is suspect.
            with_grace(family::Entity::update_many(), None)
                .col_expr(family::Column::RevokedAt, Expr::value(now.seconds()))
                .filter(family::Column::Id.eq(fam.id.0))
                .filter(family::Column::RevokedAt.is_null())
                .exec(&txn)
                .await
                .map_err(|e| error::db(CONTEXT, e))?;
            // Re-read: a concurrent winner may have moved the idle expiry meanwhile.
            let revoked = load_family(&txn, fam.id.0, CONTEXT)
                .await?
                .ok_or_else(|| corrupt("refresh family vanished"))?;
            RotateOutcome::Reused(revoked)
        } else {
            token::Entity::insert(token_row(successor_hash, fam.id.0, now))
                .exec_without_returning(&txn)
                .await
                .map_err(|e| error::db(CONTEXT, e))?;
            let idle = now.plus_secs(idle_ttl_secs).min(fam.absolute_expires_at);
            // Replacing the previous rotation's seal is what limits retries to the
            // immediately previous token; in strict mode this clears it.
            let kept = grace.map(|g| (presented_hash, now, g.sealed_successor));
            with_grace(family::Entity::update_many(), kept)
                .col_expr(family::Column::IdleExpiresAt, Expr::value(idle.seconds()))
                .filter(family::Column::Id.eq(fam.id.0))
                .exec(&txn)
                .await
                .map_err(|e| error::db(CONTEXT, e))?;
            fam.idle_expires_at = idle;
            RotateOutcome::Rotated(fam)
        };
        txn.commit().await.map_err(|e| error::db(CONTEXT, e))?;
        Ok(outcome)
    }

    async fn count_current_tokens(&self, family: FamilyId) -> Result<u64, StoreError> {
        token::Entity::find()
            .filter(token::Column::FamilyId.eq(family.0))
            .filter(token::Column::UsedAt.is_null())
            .count(&self.db)
            .await
            .map_err(|e| error::db("count refresh tokens", e))
    }

    async fn revoke_family(&self, id: FamilyId, now: Timestamp) -> Result<bool, StoreError> {
        let result = with_grace(family::Entity::update_many(), None)
            .col_expr(family::Column::RevokedAt, Expr::value(now.seconds()))
            .filter(family::Column::Id.eq(id.0))
            .filter(live_at(now))
            .exec(&self.db)
            .await
            .map_err(|e| error::db("revoke refresh family", e))?;
        Ok(result.rows_affected > 0)
    }

    async fn revoke_families_of_account(
        &self,
        account: AccountId,
        now: Timestamp,
    ) -> Result<u64, StoreError> {
        let result = with_grace(family::Entity::update_many(), None)
            .col_expr(family::Column::RevokedAt, Expr::value(now.seconds()))
            .filter(family::Column::AccountId.eq(account.0))
            .filter(live_at(now))
            .exec(&self.db)
            .await
            .map_err(|e| error::db("revoke refresh families", e))?;
        Ok(result.rows_affected)
    }

    async fn live_families_of_account(
        &self,
        account: AccountId,
        now: Timestamp,
    ) -> Result<Vec<RefreshFamily>, StoreError> {
        family::Entity::find()
            .filter(family::Column::AccountId.eq(account.0))
            .filter(live_at(now))
            .order_by_desc(family::Column::CreatedAt)
            .all(&self.db)
            .await
            .map_err(|e| error::db("list refresh families", e))?
            .into_iter()
            .map(to_domain)
            .collect()
    }

    async fn revoke_families_of_client(
        &self,
        account: AccountId,
        client: &ClientId,
        now: Timestamp,
    ) -> Result<u64, StoreError> {
        let result = with_grace(family::Entity::update_many(), None)
            .col_expr(family::Column::RevokedAt, Expr::value(now.seconds()))
            .filter(family::Column::AccountId.eq(account.0))
            .filter(family::Column::ClientId.eq(client.as_str()))
            .filter(live_at(now))
            .exec(&self.db)
            .await
            .map_err(|e| error::db("revoke refresh families of a client", e))?;
        Ok(result.rows_affected)
    }
}

impl SqlStore {
    /// The family a refresh token belongs to; with `current_only`, only while the token has
    /// not been rotated out.
    async fn family_of_token(
        &self,
        token_hash: &str,
        current_only: bool,
    ) -> Result<Option<RefreshFamily>, StoreError> {
        let Some(row) = unique_row(token::Entity::find_by_id(token_hash.to_owned()), &self.db)
            .await
            .map_err(|e| error::db("find refresh token", e))?
            .filter(|row| !current_only || row.used_at.is_none())
        else {
            return Ok(None);
        };
        load_family(&self.db, row.family_id, "find refresh family").await
    }
}
