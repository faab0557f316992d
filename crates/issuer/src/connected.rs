//! The account's connected applications (F3): every client it consented to or that holds a
//! live refresh grant of it, with what each may do; and disconnecting one, which forgets the
//! consent (the next sign-in asks again) and revokes its refresh grants. Access tokens already
//! minted live out their short lifetime (docs/accounts.md).

use std::collections::BTreeMap;
use std::sync::Arc;

use lanyard_core::model::{AuditEvent, Client};
use lanyard_core::{AccountId, ClientId, Origin, StoreError, Timestamp};

use crate::issuer::Issuer;

/// One application the account is connected to.
#[derive(Debug, Clone)]
pub struct ConnectedApp {
    pub client: Arc<Client>,
    /// What it may do: the consented scopes and those of its live grants, sorted.
    pub scopes: Vec<String>,
    pub consented_at: Option<Timestamp>,
    /// Live refresh grants (one per sign-in that asked for `offline_access`).
    pub grants: usize,
    /// When the newest live grant started.
    pub last_granted_at: Option<Timestamp>,
}

#[derive(Default)]
struct Gathered {
    scopes: std::collections::BTreeSet<String>,
    consented_at: Option<Timestamp>,
    grants: usize,
    last_granted_at: Option<Timestamp>,
}

impl Issuer {
    /// The account's connected applications, by name. A deleted client's leftovers are not
    /// shown: nothing can be done with them any more.
    pub async fn connected_apps(
        &self,
        account: AccountId,
    ) -> Result<Vec<ConnectedApp>, StoreError> {
        let now = self.clock.now();
        let mut by_client: BTreeMap<String, Gathered> = BTreeMap::new();
        for consent in self.consents.consents_of(account).await? {
            let entry = by_client
                .entry(consent.client_id.as_str().to_owned())
                .or_default();
            entry.scopes.extend(consent.scopes);
            entry.consented_at = Some(consent.granted_at);
        }
        for family in self.refresh.live_families_of_account(account, now).await? {
            let entry = by_client
                .entry(family.client_id.as_str().to_owned())
                .or_default();
            entry
                .scopes
                .extend(family.scope.split_whitespace().map(str::to_owned));
            entry.grants += 1;
            entry.last_granted_at = entry.last_granted_at.max(Some(family.created_at));
        }
        let mut apps = Vec::with_capacity(by_client.len());
        for (id, gathered) in by_client {
            let Some(client) = self.clients.find(&id).await? else {
                continue;
            };
            apps.push(ConnectedApp {
                client,
                scopes: gathered.scopes.into_iter().collect(),
                consented_at: gathered.consented_at,
                grants: gathered.grants,
                last_granted_at: gathered.last_granted_at,
            });
        }
        apps.sort_by(|a, b| a.client.name.cmp(&b.client.name));
        Ok(apps)
    }

    /// Forgets the account's consent to `client` and revokes its refresh grants; audited as
    /// `consent.revoked`. False when there was nothing to disconnect.
    pub async fn disconnect(
        &self,
        account: AccountId,
        client: &ClientId,
        origin: &Origin,
    ) -> Result<bool, StoreError> {
        let now = self.clock.now();
        let consent = self.consents.delete_consent(account, client).await?;
        let grants = self
            .refresh
            .revoke_families_of_client(account, client, now)
            .await?;
        let changed = consent || grants > 0;
        if changed {
            self.audit
                .record(
                    AuditEvent::new(now, "consent.revoked", "success")
                        .actor(account.to_string())
                        .subject(account.to_string())
                        .client(client.as_str())
                        .reason(format!("refresh grants revoked: {grants}")),
                    origin,
                )
                .await;
        }
        Ok(changed)
    }
}
