//! [`FederationRepo`] on SQL (G1–G4): organizations' domains, their one upstream connection,
//! and the upstream identities linked to accounts.
//!
//! A domain is verified once, by a conditional update (`WHERE verified_at IS NULL`) whose row
//! count decides, so two checks racing report one verification. Linking and just-in-time
//! provisioning write the identity and the membership (and the account) in one transaction:
//! a conflict on any of them leaves nothing behind.

use async_trait::async_trait;
use lanyard_core::model::{
    Account, AccountKind, Connection, DomainProof, FederatedIdentity, Membership, NewAccount,
    OrgDomain, OrgId,
};
use lanyard_core::ports::FederationRepo;
use lanyard_core::{AccountId, StoreError, Timestamp};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, EntityTrait, JoinType, QueryFilter, QueryOrder, QuerySelect};

use super::orgs::upsert_member;
use super::{SqlStore, unique_row};
use crate::entity::{account, federated_identity as identity, org_connection, org_domain};
use crate::error;
use rows::{connection_row, domain_row, identity_row, to_connection, to_domain, to_identity};

mod rows;

#[async_trait]
impl FederationRepo for SqlStore {
    async fn add_domain(&self, domain: &OrgDomain) -> Result<(), StoreError> {
        // The domain is the primary key: a second claim, by any organization, is a Conflict.
        org_domain::Entity::insert(domain_row(domain))
            .exec_without_returning(&self.db)
            .await
            .map_err(|e| error::db("add org domain", e))?;
        Ok(())
    }

    async fn find_domain(&self, domain: &str) -> Result<Option<OrgDomain>, StoreError> {
        unique_row(org_domain::Entity::find_by_id(domain.to_owned()), &self.db)
            .await
            .map_err(|e| error::db("find org domain", e))?
            .map(to_domain)
            .transpose()
    }

    async fn domains_of(&self, org: OrgId) -> Result<Vec<OrgDomain>, StoreError> {
        org_domain::Entity::find()
            .filter(org_domain::Column::OrgId.eq(org.0))
            .order_by_asc(org_domain::Column::Domain)
            .all(&self.db)
            .await
            .map_err(|e| error::db("list org domains", e))?
            .into_iter()
            .map(to_domain)
            .collect()
    }

    async fn mark_domain_verified(
        &self,
        domain: &str,
        at: Timestamp,
        proof: DomainProof,
    ) -> Result<bool, StoreError> {
        let result = org_domain::Entity::update_many()
            .col_expr(org_domain::Column::VerifiedAt, Expr::value(at.seconds()))
            .col_expr(org_domain::Column::VerifiedBy, Expr::value(proof.as_str()))
            .filter(org_domain::Column::Domain.eq(domain))
            .filter(org_domain::Column::VerifiedAt.is_null())
            .exec(&self.db)
            .await
            .map_err(|e| error::db("verify org domain", e))?;
        Ok(result.rows_affected == 1)
    }

    async fn remove_domain(&self, org: OrgId, domain: &str) -> Result<bool, StoreError> {
        // The organization is part of the condition: one organization's admin can not
        // release another's domain.
        let result = org_domain::Entity::delete_many()
            .filter(org_domain::Column::Domain.eq(domain))
            .filter(org_domain::Column::OrgId.eq(org.0))
            .exec(&self.db)
            .await
            .map_err(|e| error::db("remove org domain", e))?;
        Ok(result.rows_affected == 1)
    }

    async fn put_connection(&self, connection: &Connection) -> Result<(), StoreError> {
        org_connection::Entity::insert(connection_row(connection)?)
            .on_conflict(
                OnConflict::column(org_connection::Column::OrgId)
                    .update_columns([
                        org_connection::Column::Kind,
                        org_connection::Column::Settings,
                        org_connection::Column::RequireSso,
                        org_connection::Column::EndUpstreamSession,
                        org_connection::Column::Enabled,
                        org_connection::Column::UpdatedAt,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(&self.db)
            .await
            .map_err(|e| error::db("put org connection", e))?;
        Ok(())
    }

    async fn connection(&self, org: OrgId) -> Result<Option<Connection>, StoreError> {
        unique_row(org_connection::Entity::find_by_id(org.0), &self.db)
            .await
            .map_err(|e| error::db("find org connection", e))?
            .map(to_connection)
            .transpose()
    }

    async fn find_federated(
        &self,
        issuer: &str,
        subject: &str,
    ) -> Result<Option<FederatedIdentity>, StoreError> {
        let key = (issuer.to_owned(), subject.to_owned());
        Ok(unique_row(identity::Entity::find_by_id(key), &self.db)
            .await
            .map_err(|e| error::db("find federated identity", e))?
            .map(to_identity))
    }

    async fn federated_of(&self, account: AccountId) -> Result<Vec<FederatedIdentity>, StoreError> {
        Ok(identity::Entity::find()
            .filter(identity::Column::AccountId.eq(account.0))
            .order_by_asc(identity::Column::LinkedAt)
            .order_by_asc(identity::Column::Issuer)
            .order_by_asc(identity::Column::Subject)
            .all(&self.db)
            .await
            .map_err(|e| error::db("list federated identities", e))?
            .into_iter()
            .map(to_identity)
            .collect())
    }

    async fn link_federated(
        &self,
        identity: &FederatedIdentity,
        membership: &Membership,
    ) -> Result<(), StoreError> {
        const CONTEXT: &str = "link federated identity";
        let txn = self.begin_write().await?;
        identity::Entity::insert(identity_row(identity))
            .exec_without_returning(&txn)
            .await
            .map_err(|e| error::db(CONTEXT, e))?;
        upsert_member(&txn, membership).await?;
        txn.commit().await.map_err(|e| error::db(CONTEXT, e))
    }

    async fn provision_federated(
        &self,
        account: NewAccount,
        identity: &FederatedIdentity,
        membership: &Membership,
        now: Timestamp,
    ) -> Result<Account, StoreError> {
        const CONTEXT: &str = "provision federated account";
        let txn = self.begin_write().await?;
        // An error returns before the commit: dropping the transaction rolls back the rows
        // written so far, the account included.
        let account = self.insert_account_on(&txn, account, now).await?;
        let identity = FederatedIdentity {
            account_id: account.id,
            ..identity.clone()
        };
        identity::Entity::insert(identity_row(&identity))
            .exec_without_returning(&txn)
            .await
            .map_err(|e| error::db(CONTEXT, e))?;
        let membership = Membership {
            account_id: account.id,
            ..membership.clone()
        };
        upsert_member(&txn, &membership).await?;
        txn.commit().await.map_err(|e| error::db(CONTEXT, e))?;
        Ok(account)
    }

    async fn touch_federated(
        &self,
        issuer: &str,
        subject: &str,
        email: Option<&str>,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let result = identity::Entity::update_many()
            .col_expr(
                identity::Column::Email,
                Expr::value(email.map(str::to_owned)),
            )
            .col_expr(identity::Column::LastSignIn, Expr::value(at.seconds()))
            .filter(identity::Column::Issuer.eq(issuer))
            .filter(identity::Column::Subject.eq(subject))
            .exec(&self.db)
            .await
            .map_err(|e| error::db("touch federated identity", e))?;
        if result.rows_affected == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn sso_required_for_domain(&self, domain: &str) -> Result<Option<OrgId>, StoreError> {
        // One statement: the verified domain joined to its organization's connection.
        let connection = org_domain::Entity::belongs_to(org_connection::Entity)
            .from(org_domain::Column::OrgId)
            .to(org_connection::Column::OrgId)
            .into();
        let row = unique_row(
            org_domain::Entity::find()
                .join(JoinType::InnerJoin, connection)
                .filter(org_domain::Column::Domain.eq(domain))
                .filter(org_domain::Column::VerifiedAt.is_not_null())
                .filter(org_connection::Column::RequireSso.eq(true))
                .filter(org_connection::Column::Enabled.eq(true)),
            &self.db,
        )
        .await
        .map_err(|e| error::db("find sso requirement", e))?;
        Ok(row.map(|r| OrgId(r.org_id)))
    }

    async fn accounts_in_domain(&self, domain: &str) -> Result<Vec<AccountId>, StoreError> {
        // A canonical domain holds letters, digits, '-' and '.', none of them LIKE
        // wildcards; anything else matches nobody rather than a pattern.
        if !domain
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        {
            return Ok(Vec::new());
        }
        let ids = account::Entity::find()
            .select_only()
            .column(account::Column::Id)
            .filter(account::Column::EmailNormalized.like(format!("%@{domain}")))
            .filter(account::Column::Kind.eq(AccountKind::Person.as_str()))
            .into_tuple::<uuid::Uuid>()
            .all(&self.db)
            .await
            .map_err(|e| error::db("list accounts of a domain", e))?;
        Ok(ids.into_iter().map(AccountId).collect())
    }
}
