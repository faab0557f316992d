//! [`SiteRepo`] on SQL: sites, their users and invitations (C1–C6).
//!
//! Every "only if" is a conditional update whose row count decides, as in `sql::mfa`: a
//! state move is `SET state = to WHERE state = from`, an invitation is accepted by `SET
//! accepted_at = ? WHERE accepted_at IS NULL AND superseded_at IS NULL AND expires_at > ?`,
//! a legacy password is promoted by `SET legacy_password_hash = NULL WHERE
//! legacy_password_hash = ?`. Writes that touch several tables are one transaction
//! (`begin_write`); the import and the move to `identity` live in their own modules.

use async_trait::async_trait;
use lanyard_core::model::{
    Invitation, InvitationId, MigrationProgress, MigrationState, Site, SiteId, SiteUser, SiteUserId,
};
use lanyard_core::ports::{ImportSummary, ImportedSiteUser, SiteRepo};
use lanyard_core::{AccountId, ClientId, StoreError, Timestamp};
use sea_orm::sea_query::{Expr, Func};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::{SqlStore, unique_row};
use crate::entity::{account, site, site_client, site_invitation as invitation, site_user as user};
use crate::error;
use rows::{clients_of, invitation_row, to_invitation, to_site, to_user};

mod identity;
mod import;
mod lists;
mod progress;
mod rows;

impl SqlStore {
    async fn site_where(
        &self,
        condition: sea_orm::Condition,
        context: &'static str,
    ) -> Result<Option<Site>, StoreError> {
        let Some(row) = unique_row(site::Entity::find().filter(condition), &self.db)
            .await
            .map_err(|e| error::db(context, e))?
        else {
            return Ok(None);
        };
        let clients = clients_of(&self.db, row.id).await?;
        to_site(row, clients).map(Some)
    }

    async fn user_where(
        &self,
        condition: sea_orm::Condition,
        context: &'static str,
    ) -> Result<Option<SiteUser>, StoreError> {
        unique_row(user::Entity::find().filter(condition), &self.db)
            .await
            .map_err(|e| error::db(context, e))?
            .map(to_user)
            .transpose()
    }

    /// Sets columns of one site user; NotFound when no row matched.
    async fn update_user(
        &self,
        id: SiteUserId,
        update: sea_orm::UpdateMany<user::Entity>,
        now: Timestamp,
        context: &'static str,
    ) -> Result<(), StoreError> {
        let result = update
            .col_expr(user::Column::UpdatedAt, Expr::value(now.seconds()))
            .filter(user::Column::Id.eq(id.0))
            .exec(&self.db)
            .await
            .map_err(|e| error::db(context, e))?;
        if result.rows_affected == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}

fn cond() -> sea_orm::Condition {
    sea_orm::Condition::all()
}

/// Invitations neither accepted nor superseded (expired ones included: re-sending or an
/// email change retires those too, so "the latest invitation" tells the whole story).
fn open_invitations(site_user: SiteUserId) -> sea_orm::UpdateMany<invitation::Entity> {
    invitation::Entity::update_many()
        .filter(invitation::Column::SiteUserId.eq(site_user.0))
        .filter(invitation::Column::AcceptedAt.is_null())
        .filter(invitation::Column::SupersededAt.is_null())
}

#[async_trait]
impl SiteRepo for SqlStore {
    async fn insert_site(&self, s: &Site) -> Result<(), StoreError> {
        const CONTEXT: &str = "insert site";
        let txn = self.begin_write().await?;
        let row = site::ActiveModel {
            id: Set(s.id.0),
            slug: Set(s.slug.clone()),
            name: Set(s.name.clone()),
            state: Set(s.state.as_str().to_owned()),
            two_factor_required_since: Set(s.two_factor_required_since.map(Timestamp::seconds)),
            created_at: Set(s.created_at.seconds()),
            updated_at: Set(s.updated_at.seconds()),
        };
        site::Entity::insert(row)
            .exec_without_returning(&txn)
            .await
            .map_err(|e| error::db(CONTEXT, e))?;
        if !s.clients.is_empty() {
            let clients = s.clients.iter().map(|c| site_client::ActiveModel {
                client_id: Set(c.as_str().to_owned()),
                site_id: Set(s.id.0),
            });
            site_client::Entity::insert_many(clients)
                .exec_without_returning(&txn)
                .await
                .map_err(|e| error::db(CONTEXT, e))?;
        }
        txn.commit().await.map_err(|e| error::db(CONTEXT, e))
    }

    async fn get_site(&self, id: SiteId) -> Result<Option<Site>, StoreError> {
        self.site_where(cond().add(site::Column::Id.eq(id.0)), "get site")
            .await
    }

    async fn site_by_slug(&self, slug: &str) -> Result<Option<Site>, StoreError> {
        self.site_where(cond().add(site::Column::Slug.eq(slug)), "find site")
            .await
    }

    async fn site_for_client(&self, client: &ClientId) -> Result<Option<Site>, StoreError> {
        let Some(link) = unique_row(
            site_client::Entity::find_by_id(client.as_str().to_owned()),
            &self.db,
        )
        .await
        .map_err(|e| error::db("find site of client", e))?
        else {
            return Ok(None);
        };
        self.get_site(SiteId(link.site_id)).await
    }

    async fn list_sites(&self) -> Result<Vec<Site>, StoreError> {
        const CONTEXT: &str = "list sites";
        let rows = site::Entity::find()
            .order_by_asc(site::Column::Slug)
            .all(&self.db)
            .await
            .map_err(|e| error::db(CONTEXT, e))?;
        let links = site_client::Entity::find()
            .order_by_asc(site_client::Column::ClientId)
            .all(&self.db)
            .await
            .map_err(|e| error::db(CONTEXT, e))?;
        rows.into_iter()
            .map(|row| {
                let clients = links
                    .iter()
                    .filter(|l| l.site_id == row.id)
                    .map(|l| {
                        ClientId::parse(&l.client_id)
                            .ok_or_else(|| error::corrupt("site client id"))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                to_site(row, clients)
            })
            .collect()
    }

    async fn set_migration_state(
        &self,
        site_id: SiteId,
        from: MigrationState,
        to: MigrationState,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        const CONTEXT: &str = "set migration state";
        let txn = self.begin_write().await?;
        let moved = site::Entity::update_many()
            .col_expr(site::Column::State, Expr::value(to.as_str()))
            .col_expr(site::Column::UpdatedAt, Expr::value(now.seconds()))
            .filter(site::Column::Id.eq(site_id.0))
            .filter(site::Column::State.eq(from.as_str()))
            .exec(&txn)
            .await
            .map_err(|e| error::db(CONTEXT, e))?;
        if moved.rows_affected != 1 {
            txn.rollback().await.map_err(|e| error::db(CONTEXT, e))?;
            return Ok(false);
        }
        if to == MigrationState::Identity {
            identity::erase_legacy_credentials(&txn, site_id, now).await?;
        }
        txn.commit().await.map_err(|e| error::db(CONTEXT, e))?;
        Ok(true)
    }

    async fn set_two_factor_required(
        &self,
        site_id: SiteId,
        since: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let column = site::Column::TwoFactorRequiredSince;
        // Turning it on again keeps the first `since`: grants are judged against it.
        let value = match since {
            Some(since) => Func::coalesce([Expr::col(column), Expr::value(since.seconds())]).into(),
            None => Expr::value(Option::<i64>::None),
        };
        let result = site::Entity::update_many()
            .col_expr(column, value)
            .col_expr(site::Column::UpdatedAt, Expr::value(now.seconds()))
            .filter(site::Column::Id.eq(site_id.0))
            .exec(&self.db)
            .await
            .map_err(|e| error::db("set site two-factor preference", e))?;
        if result.rows_affected == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn import_site_users(
        &self,
        site_id: SiteId,
        rows: &[ImportedSiteUser],
        now: Timestamp,
    ) -> Result<ImportSummary, StoreError> {
        import::import(self, site_id, rows, now).await
    }

    async fn get_site_user(&self, id: SiteUserId) -> Result<Option<SiteUser>, StoreError> {
        self.user_where(cond().add(user::Column::Id.eq(id.0)), "get site user")
            .await
    }

    async fn site_user_by_login(
        &self,
        site_id: SiteId,
        login_normalized: &str,
    ) -> Result<Option<SiteUser>, StoreError> {
        let condition = cond()
            .add(user::Column::SiteId.eq(site_id.0))
            .add(user::Column::LoginNormalized.eq(login_normalized));
        self.user_where(condition, "find site user").await
    }

    async fn site_user_by_principal(
        &self,
        principal: AccountId,
    ) -> Result<Option<SiteUser>, StoreError> {
        let condition = cond().add(user::Column::Principal.eq(principal.0));
        self.user_where(condition, "find site user of principal")
            .await
    }

    async fn site_user_for_account(
        &self,
        site_id: SiteId,
        account: AccountId,
    ) -> Result<Option<SiteUser>, StoreError> {
        let condition = cond()
            .add(user::Column::SiteId.eq(site_id.0))
            .add(user::Column::AccountId.eq(account.0));
        self.user_where(condition, "find linked site user").await
    }

    async fn linkable_site_users(
        &self,
        email_normalized: &str,
    ) -> Result<Vec<SiteUser>, StoreError> {
        user::Entity::find()
            .filter(user::Column::EmailNormalized.eq(email_normalized))
            .filter(user::Column::AccountId.is_null())
            .filter(user::Column::EmailUnverifiedSince.is_null())
            .order_by_asc(user::Column::Id)
            .all(&self.db)
            .await
            .map_err(|e| error::db("list linkable site users", e))?
            .into_iter()
            .map(to_user)
            .collect()
    }

    async fn list_site_users(
        &self,
        site_id: SiteId,
        after_login: Option<&str>,
        limit: u32,
    ) -> Result<Vec<SiteUser>, StoreError> {
        let mut query = user::Entity::find()
            .filter(user::Column::SiteId.eq(site_id.0))
            .order_by_asc(user::Column::LoginNormalized)
            .limit(u64::from(limit));
        if let Some(after) = after_login {
            query = query.filter(user::Column::LoginNormalized.gt(after));
        }
        query
            .all(&self.db)
            .await
            .map_err(|e| error::db("list site users", e))?
            .into_iter()
            .map(to_user)
            .collect()
    }

    async fn list_site_users_with_invitations(
        &self,
        site_id: SiteId,
        after_login: Option<&str>,
        limit: u32,
    ) -> Result<Vec<(SiteUser, Option<Invitation>)>, StoreError> {
        let users = self.list_site_users(site_id, after_login, limit).await?;
        lists::with_latest_invitations(&self.db, users).await
    }

    async fn site_users_of_account(&self, account: AccountId) -> Result<Vec<SiteUser>, StoreError> {
        lists::site_users_of_account(&self.db, account).await
    }

    async fn unlink_site_user(&self, id: SiteUserId, now: Timestamp) -> Result<bool, StoreError> {
        lists::unlink_site_user(&self.db, id, now).await
    }

    async fn link_site_user(
        &self,
        id: SiteUserId,
        account: AccountId,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        // A second user of the same site for this account hits `ux_site_users_site_account`:
        // Conflict.
        let result = user::Entity::update_many()
            .col_expr(user::Column::AccountId, Expr::value(account.0))
            .col_expr(user::Column::LinkedAt, Expr::value(now.seconds()))
            .col_expr(user::Column::UpdatedAt, Expr::value(now.seconds()))
            .filter(user::Column::Id.eq(id.0))
            .filter(user::Column::AccountId.is_null())
            .exec(&self.db)
            .await
            .map_err(|e| error::db("link site user", e))?;
        Ok(result.rows_affected == 1)
    }

    async fn promote_legacy_password(
        &self,
        id: SiteUserId,
        legacy_hash: &str,
        argon2_hash: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        const CONTEXT: &str = "promote legacy password";
        let txn = self.begin_write().await?;
        let cleared = user::Entity::update_many()
            .col_expr(
                user::Column::LegacyPasswordHash,
                Expr::value(Option::<String>::None),
            )
            .col_expr(user::Column::UpdatedAt, Expr::value(now.seconds()))
            .filter(user::Column::Id.eq(id.0))
            .filter(user::Column::LegacyPasswordHash.eq(legacy_hash))
            .exec(&txn)
            .await
            .map_err(|e| error::db(CONTEXT, e))?;
        let principal = unique_row(user::Entity::find_by_id(id.0), &txn)
            .await
            .map_err(|e| error::db(CONTEXT, e))?
            .map(|row| row.principal);
        let (1, Some(principal)) = (cleared.rows_affected, principal) else {
            txn.rollback().await.map_err(|e| error::db(CONTEXT, e))?;
            return Ok(false);
        };
        account::Entity::update_many()
            .col_expr(account::Column::PasswordHash, Expr::value(argon2_hash))
            .col_expr(account::Column::UpdatedAt, Expr::value(now.seconds()))
            .filter(account::Column::Id.eq(principal))
            .exec(&txn)
            .await
            .map_err(|e| error::db(CONTEXT, e))?;
        txn.commit().await.map_err(|e| error::db(CONTEXT, e))?;
        Ok(true)
    }

    async fn change_site_user_email(
        &self,
        id: SiteUserId,
        email: &str,
        email_normalized: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        const CONTEXT: &str = "change site user email";
        let txn = self.begin_write().await?;
        let result = user::Entity::update_many()
            .col_expr(user::Column::Email, Expr::value(email))
            .col_expr(user::Column::EmailNormalized, Expr::value(email_normalized))
            .col_expr(
                user::Column::EmailUnverifiedSince,
                Expr::value(now.seconds()),
            )
            .col_expr(user::Column::UpdatedAt, Expr::value(now.seconds()))
            .filter(user::Column::Id.eq(id.0))
            .exec(&txn)
            .await
            .map_err(|e| error::db(CONTEXT, e))?;
        if result.rows_affected == 0 {
            txn.rollback().await.map_err(|e| error::db(CONTEXT, e))?;
            return Err(StoreError::NotFound);
        }
        // The principal shows (and gets its emailed codes at) the site user's address.
        account::Entity::update_many()
            .col_expr(account::Column::Email, Expr::value(email))
            .col_expr(account::Column::UpdatedAt, Expr::value(now.seconds()))
            .filter(
                account::Column::Id.in_subquery(
                    sea_orm::sea_query::Query::select()
                        .column(user::Column::Principal)
                        .from(user::Entity)
                        .and_where(user::Column::Id.eq(id.0))
                        .to_owned(),
                ),
            )
            .exec(&txn)
            .await
            .map_err(|e| error::db(CONTEXT, e))?;
        // A link mailed to the old address must not work any more (C6).
        open_invitations(id)
            .col_expr(invitation::Column::SupersededAt, Expr::value(now.seconds()))
            .exec(&txn)
            .await
            .map_err(|e| error::db(CONTEXT, e))?;
        txn.commit().await.map_err(|e| error::db(CONTEXT, e))
    }

    async fn confirm_site_user_email(
        &self,
        id: SiteUserId,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let update = user::Entity::update_many().col_expr(
            user::Column::EmailUnverifiedSince,
            Expr::value(Option::<i64>::None),
        );
        self.update_user(id, update, now, "confirm site user email")
            .await
    }

    async fn insert_invitation(&self, new: &Invitation) -> Result<(), StoreError> {
        const CONTEXT: &str = "insert invitation";
        let txn = self.begin_write().await?;
        open_invitations(new.site_user)
            .col_expr(
                invitation::Column::SupersededAt,
                Expr::value(new.created_at.seconds()),
            )
            .exec(&txn)
            .await
            .map_err(|e| error::db(CONTEXT, e))?;
        invitation::Entity::insert(invitation_row(new))
            .exec_without_returning(&txn)
            .await
            .map_err(|e| error::db(CONTEXT, e))?;
        txn.commit().await.map_err(|e| error::db(CONTEXT, e))
    }

    async fn invitation_by_token_hash(
        &self,
        token_hash: &str,
    ) -> Result<Option<Invitation>, StoreError> {
        unique_row(
            invitation::Entity::find().filter(invitation::Column::TokenHash.eq(token_hash)),
            &self.db,
        )
        .await
        .map_err(|e| error::db("find invitation", e))?
        .map(to_invitation)
        .transpose()
    }

    async fn accept_invitation(
        &self,
        id: InvitationId,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let result = invitation::Entity::update_many()
            .col_expr(invitation::Column::AcceptedAt, Expr::value(now.seconds()))
            .filter(invitation::Column::Id.eq(id.0))
            .filter(invitation::Column::AcceptedAt.is_null())
            .filter(invitation::Column::SupersededAt.is_null())
            .filter(invitation::Column::ExpiresAt.gt(now.seconds()))
            .exec(&self.db)
            .await
            .map_err(|e| error::db("accept invitation", e))?;
        Ok(result.rows_affected == 1)
    }

    async fn mark_invitation_bounced(
        &self,
        id: InvitationId,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let result = invitation::Entity::update_many()
            .col_expr(invitation::Column::BouncedAt, Expr::value(now.seconds()))
            .filter(invitation::Column::Id.eq(id.0))
            .exec(&self.db)
            .await
            .map_err(|e| error::db("mark invitation bounced", e))?;
        if result.rows_affected == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn latest_invitation(&self, id: SiteUserId) -> Result<Option<Invitation>, StoreError> {
        // A site user has a handful of invitations: read them all rather than bind a LIMIT.
        let rows = invitation::Entity::find()
            .filter(invitation::Column::SiteUserId.eq(id.0))
            .all(&self.db)
            .await
            .map_err(|e| error::db("latest invitation", e))?;
        rows.into_iter()
            .max_by_key(|row| lists::recency(row.superseded_at, row.created_at, row.id))
            .map(to_invitation)
            .transpose()
    }

    async fn migration_progress(
        &self,
        site_id: SiteId,
        now: Timestamp,
    ) -> Result<MigrationProgress, StoreError> {
        progress::migration_progress(&self.db, site_id, now).await
    }

    async fn two_factor_required_since(
        &self,
        account: AccountId,
    ) -> Result<Option<Timestamp>, StoreError> {
        progress::two_factor_required_since(&self.db, account).await
    }
}
