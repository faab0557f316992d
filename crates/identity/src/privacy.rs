//! Privacy preferences (A4): optional categories a person switches on or off, required ones
//! that are always on, one setting for the whole account, every change recorded with its
//! time. Relying parties read them through the `privacy` scope's claim ([`PrivacyClaims`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use lanyard_core::model::{AuditEvent, PrivacyChange};
use lanyard_core::ports::{PrivacyClaims, PrivacyRepo};
use lanyard_core::{AccountId, Auditor, Clock, Origin, StoreError, Timestamp};

use crate::IdentityError;

mod settings;

pub use settings::{PrivacyCategory, PrivacySettings};

/// The most history rows a page or API answer lists.
pub const MAX_HISTORY: u64 = 100;

/// One category as the account has it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preference {
    pub category: PrivacyCategory,
    pub enabled: bool,
    /// When the person last changed it; `None` for a required category and for one never
    /// touched (off).
    pub changed_at: Option<Timestamp>,
}

pub struct PrivacyService {
    repo: Arc<dyn PrivacyRepo>,
    audit: Auditor,
    clock: Arc<dyn Clock>,
    settings: PrivacySettings,
}

impl PrivacyService {
    pub fn new(
        repo: Arc<dyn PrivacyRepo>,
        audit: Auditor,
        clock: Arc<dyn Clock>,
        settings: PrivacySettings,
    ) -> Self {
        Self {
            repo,
            audit,
            clock,
            settings,
        }
    }

    pub fn settings(&self) -> &PrivacySettings {
        &self.settings
    }

    /// Every configured category, in the configured order. A stored choice for a category
    /// no longer configured is not shown (and not released).
    pub async fn preferences(&self, account: AccountId) -> Result<Vec<Preference>, IdentityError> {
        Ok(self.load(account).await?)
    }

    async fn load(&self, account: AccountId) -> Result<Vec<Preference>, StoreError> {
        let stored = self.repo.privacy_choices(account).await?;
        Ok(self
            .settings
            .categories
            .iter()
            .map(|category| {
                let choice = stored.iter().find(|c| c.category == category.id);
                Preference {
                    category: category.clone(),
                    enabled: category.required || choice.is_some_and(|c| c.enabled),
                    changed_at: if category.required {
                        None
                    } else {
                        choice.map(|c| c.changed_at)
                    },
                }
            })
            .collect())
    }

    /// Applies `wanted` (category id → on/off) as one change. Nothing is written unless the
    /// whole request is acceptable: an unknown category, a category named twice, or a
    /// required category turned off refuses it all. A required category asked to stay on
    /// is accepted and changes nothing. Each category that really changes is recorded
    /// with the time and `actor`, and audited as `privacy.changed`.
    pub async fn change(
        &self,
        account: AccountId,
        wanted: &[(String, bool)],
        actor: &str,
        origin: &Origin,
    ) -> Result<Vec<PrivacyChange>, IdentityError> {
        let mut optional = Vec::with_capacity(wanted.len());
        for (i, (id, enabled)) in wanted.iter().enumerate() {
            let category = self
                .settings
                .find(id)
                .ok_or(IdentityError::UnknownPrivacyCategory)?;
            if wanted[..i].iter().any(|(other, _)| other == id) {
                return Err(IdentityError::UnknownPrivacyCategory);
            }
            if category.required {
                if !enabled {
                    return Err(IdentityError::PrivacyRequired(category.name.clone()));
                }
                continue;
            }
            optional.push((id.clone(), *enabled));
        }
        let changes = self
            .repo
            .change_privacy(account, &optional, actor, self.clock.now())
            .await?;
        for change in &changes {
            let event = AuditEvent::new(change.at, "privacy.changed", "success")
                .actor(actor)
                .subject(account.to_string())
                .reason(format!(
                    "{}={}",
                    change.category,
                    if change.enabled { "on" } else { "off" }
                ));
            self.audit.record(event, origin).await;
        }
        Ok(changes)
    }

    /// The account's recorded changes, newest first.
    pub async fn history(&self, account: AccountId) -> Result<Vec<PrivacyChange>, IdentityError> {
        Ok(self.repo.privacy_history(account, MAX_HISTORY).await?)
    }
}

#[async_trait]
impl PrivacyClaims for PrivacyService {
    async fn privacy_claim(
        &self,
        account: AccountId,
    ) -> Result<BTreeMap<String, bool>, StoreError> {
        Ok(self
            .load(account)
            .await?
            .into_iter()
            .map(|p| (p.category.id, p.enabled))
            .collect())
    }
}
