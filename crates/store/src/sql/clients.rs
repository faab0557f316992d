//! [`ClientRepo`] and [`ConsentRepo`] on SQL. Client list fields are JSON text (read whole,
//! never queried); consent scopes are space-separated like the `scope` parameter itself.

use async_trait::async_trait;
use std::collections::HashMap;

use lanyard_core::model::{Client, ClientAuthMethod, Consent, GrantType, SiteId};
use lanyard_core::ports::{ClientRepo, ConsentRepo};
use lanyard_core::{AccountId, ClientId, StoreError};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
};

use super::{SqlStore, from_json, to_json, ts, unique_row};
use crate::entity::{client, consent, site_client};
use crate::error::{self, corrupt};

fn client_row(c: &Client) -> Result<client::ActiveModel, StoreError> {
    let grants: Vec<&str> = c.grant_types.iter().map(|g| g.as_str()).collect();
    Ok(client::ActiveModel {
        client_id: Set(c.id.as_str().to_owned()),
        name: Set(c.name.clone()),
        redirect_uris: Set(to_json(&c.redirect_uris)?),
        post_logout_redirect_uris: Set(to_json(&c.post_logout_redirect_uris)?),
        grant_types: Set(to_json(&grants)?),
        allowed_scopes: Set(to_json(&c.allowed_scopes)?),
        auth_method: Set(c.auth_method.as_str().to_owned()),
        secret_hash: Set(c.secret_hash.clone()),
        jwks: Set(c.jwks.as_ref().map(to_json).transpose()?),
        first_party: Set(c.first_party),
        access_token_ttl: Set(c.access_token_ttl),
        refresh_idle_ttl: Set(c.refresh_idle_ttl),
        refresh_absolute_ttl: Set(c.refresh_absolute_ttl),
        exchange_audiences: Set(to_json(&c.exchange_audiences)?),
        backchannel_logout_uri: Set(c.backchannel_logout_uri.clone()),
        backchannel_logout_session_required: Set(c.backchannel_logout_session_required),
        created_at: Set(c.created_at.seconds()),
    })
}

fn to_client(row: client::Model, site: Option<SiteId>) -> Result<Client, StoreError> {
    let grants: Vec<String> = from_json(&row.grant_types, "client grant_types")?;
    let grant_types = grants
        .iter()
        .map(|g| GrantType::parse(g).ok_or_else(|| corrupt("client grant_types")))
        .collect::<Result<_, _>>()?;
    Ok(Client {
        id: ClientId::parse(&row.client_id).ok_or_else(|| corrupt("client id"))?,
        name: row.name,
        redirect_uris: from_json(&row.redirect_uris, "client redirect_uris")?,
        post_logout_redirect_uris: from_json(
            &row.post_logout_redirect_uris,
            "client post_logout_redirect_uris",
        )?,
        grant_types,
        auth_method: ClientAuthMethod::parse(&row.auth_method)
            .ok_or_else(|| corrupt("client auth_method"))?,
        secret_hash: row.secret_hash,
        jwks: row
            .jwks
            .as_deref()
            .map(|j| from_json(j, "client jwks"))
            .transpose()?,
        first_party: row.first_party,
        allowed_scopes: from_json(&row.allowed_scopes, "client allowed_scopes")?,
        access_token_ttl: row.access_token_ttl,
        refresh_idle_ttl: row.refresh_idle_ttl,
        refresh_absolute_ttl: row.refresh_absolute_ttl,
        exchange_audiences: from_json(&row.exchange_audiences, "client exchange_audiences")?,
        backchannel_logout_uri: row.backchannel_logout_uri,
        backchannel_logout_session_required: row.backchannel_logout_session_required,
        site,
        created_at: ts(row.created_at),
    })
}

#[async_trait]
impl ClientRepo for SqlStore {
    async fn insert_client(&self, c: &Client) -> Result<(), StoreError> {
        client::Entity::insert(client_row(c)?)
            .exec_without_returning(&self.db)
            .await
            .map_err(|e| error::db("insert client", e))?;
        Ok(())
    }

    async fn find_client(&self, id: &ClientId) -> Result<Option<Client>, StoreError> {
        let Some(row) = unique_row(client::Entity::find_by_id(id.as_str().to_owned()), &self.db)
            .await
            .map_err(|e| error::db("find client", e))?
        else {
            return Ok(None);
        };
        let site = unique_row(
            site_client::Entity::find_by_id(id.as_str().to_owned()),
            &self.db,
        )
        .await
        .map_err(|e| error::db("find site of client", e))?
        .map(|link| SiteId(link.site_id));
        to_client(row, site).map(Some)
    }

    async fn list_clients(&self) -> Result<Vec<Client>, StoreError> {
        const CONTEXT: &str = "list clients";
        let rows = client::Entity::find()
            .order_by_asc(client::Column::ClientId)
            .all(&self.db)
            .await
            .map_err(|e| error::db(CONTEXT, e))?;
        let sites: HashMap<String, SiteId> = site_client::Entity::find()
            .all(&self.db)
            .await
            .map_err(|e| error::db(CONTEXT, e))?
            .into_iter()
            .map(|link| (link.client_id, SiteId(link.site_id)))
            .collect();
        rows.into_iter()
            .map(|row| {
                let site = sites.get(&row.client_id).copied();
                to_client(row, site)
            })
            .collect()
    }

    async fn count_clients(&self) -> Result<u64, StoreError> {
        client::Entity::find()
            .count(&self.db)
            .await
            .map_err(|e| error::db("count clients", e))
    }

    async fn delete_client(&self, id: &ClientId) -> Result<bool, StoreError> {
        // Consents and refresh families go with it (ON DELETE CASCADE).
        let result = client::Entity::delete_by_id(id.as_str().to_owned())
            .exec(&self.db)
            .await
            .map_err(|e| error::db("delete client", e))?;
        Ok(result.rows_affected > 0)
    }
}

fn to_consent(row: consent::Model) -> Result<Consent, StoreError> {
    Ok(Consent {
        account_id: AccountId(row.account_id),
        client_id: ClientId::parse(&row.client_id).ok_or_else(|| corrupt("consent client id"))?,
        scopes: row.scopes.split_whitespace().map(str::to_owned).collect(),
        granted_at: ts(row.granted_at),
    })
}

#[async_trait]
impl ConsentRepo for SqlStore {
    async fn find_consent(
        &self,
        account: AccountId,
        client: &ClientId,
    ) -> Result<Option<Consent>, StoreError> {
        unique_row(
            consent::Entity::find_by_id((account.0, client.as_str().to_owned())),
            &self.db,
        )
        .await
        .map_err(|e| error::db("find consent", e))?
        .map(to_consent)
        .transpose()
    }

    async fn upsert_consent(&self, c: &Consent) -> Result<(), StoreError> {
        let row = consent::ActiveModel {
            account_id: Set(c.account_id.0),
            client_id: Set(c.client_id.as_str().to_owned()),
            scopes: Set(c.scopes.join(" ")),
            granted_at: Set(c.granted_at.seconds()),
        };
        // ON CONFLICT … DO UPDATE: one statement, so two racing upserts can not conflict.
        let on_conflict =
            OnConflict::columns([consent::Column::AccountId, consent::Column::ClientId])
                .update_columns([consent::Column::Scopes, consent::Column::GrantedAt])
                .to_owned();
        consent::Entity::insert(row)
            .on_conflict(on_conflict)
            .exec_without_returning(&self.db)
            .await
            .map_err(|e| error::db("upsert consent", e))?;
        Ok(())
    }

    async fn consents_of(&self, account: AccountId) -> Result<Vec<Consent>, StoreError> {
        consent::Entity::find()
            .filter(consent::Column::AccountId.eq(account.0))
            .order_by_desc(consent::Column::GrantedAt)
            .all(&self.db)
            .await
            .map_err(|e| error::db("list consents", e))?
            .into_iter()
            .map(to_consent)
            .collect()
    }

    async fn delete_consent(
        &self,
        account: AccountId,
        client: &ClientId,
    ) -> Result<bool, StoreError> {
        let result = consent::Entity::delete_by_id((account.0, client.as_str().to_owned()))
            .exec(&self.db)
            .await
            .map_err(|e| error::db("delete consent", e))?;
        Ok(result.rows_affected == 1)
    }
}
