//! [`SiteService`]: the operator's site operations (C1, C5) — create, list, import, users,
//! migrate, the two-factor preference, progress — each checked, audited (`site.created`,
//! `site.imported`, `site.migrated`, `site.two_factor_changed`) and all-or-nothing.

use std::collections::HashMap;
use std::sync::Arc;

use lanyard_core::model::{AuditEvent, MigrationProgress, MigrationState, Site, SiteId, SiteUser};
use lanyard_core::model::{SiteRole, SiteUserId};
use lanyard_core::ports::{
    ClientRepo, ImportSummary, ImportedSiteUser, Invalidations, SiteRepo, client_invalidation,
};
use lanyard_core::{AccountId, Auditor, ClientId, Clock, Origin, Rng, StoreError};
use lanyard_crypto::Kek;

use crate::SitesError;
use crate::import::{self, CheckedRow, Format, Problem};

/// The most users one page of [`SiteService::users`] returns.
pub const MAX_PAGE: u32 = 1_000;

pub struct SiteDeps {
    pub repo: Arc<dyn SiteRepo>,
    pub clients: Arc<dyn ClientRepo>,
    /// Seals imported TOTP secrets, as the authenticator set-up does.
    pub kek: Arc<Kek>,
    pub clock: Arc<dyn Clock>,
    pub rng: Arc<dyn Rng>,
    pub audit: Auditor,
    /// A site's creation reaches every node's client cache: the issuer asks about sites
    /// only for a client its cache says is of a site.
    pub invalidations: Arc<dyn Invalidations>,
}

/// What a migration step did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    /// The site after the step.
    pub site: Site,
    pub from: MigrationState,
    /// False when the site already was in the asked state (nothing done or audited).
    pub changed: bool,
    /// On entering `identity`: the principals now disabled, whose sessions the caller ends
    /// (the store refuses them already; ending them queues their back-channel logouts).
    pub disabled_principals: Vec<AccountId>,
}

pub struct SiteService {
    deps: SiteDeps,
}

impl SiteService {
    pub fn new(deps: SiteDeps) -> Self {
        Self { deps }
    }

    pub fn repo(&self) -> &Arc<dyn SiteRepo> {
        &self.deps.repo
    }

    /// A new site in `legacy`, with its clients: each must be registered and belong to no
    /// other site.
    pub async fn create(
        &self,
        slug: &str,
        name: &str,
        clients: &[String],
        origin: &Origin,
    ) -> Result<Site, SitesError> {
        let invalid = |e| match e {
            lanyard_identity::IdentityError::InvalidOrg(why) => SitesError::Invalid(why.to_owned()),
            other => SitesError::Invalid(other.to_string()),
        };
        lanyard_identity::orgs::check_slug(slug).map_err(invalid)?;
        let name = lanyard_identity::orgs::check_name(name).map_err(invalid)?;
        let mut ids: Vec<ClientId> = Vec::new();
        for raw in clients {
            let id = ClientId::parse(raw)
                .ok_or_else(|| SitesError::Invalid(format!("{raw:?} is not a client id")))?;
            if ids.contains(&id) {
                continue;
            }
            if self.deps.clients.find_client(&id).await?.is_none() {
                return Err(SitesError::UnknownClient(id.to_string()));
            }
            if let Some(owner) = self.deps.repo.site_for_client(&id).await? {
                return Err(SitesError::ClientTaken {
                    client: id.to_string(),
                    site: owner.slug,
                });
            }
            ids.push(id);
        }
        ids.sort();
        let now = self.deps.clock.now();
        let site = Site {
            id: SiteId::new(&*self.deps.clock, &*self.deps.rng),
            slug: slug.to_owned(),
            name,
            clients: ids,
            state: MigrationState::Legacy,
            two_factor_required_since: None,
            created_at: now,
            updated_at: now,
        };
        match self.deps.repo.insert_site(&site).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => return Err(self.why_taken(&site).await?),
            Err(e) => return Err(e.into()),
        }
        let clients: Vec<&str> = site.clients.iter().map(ClientId::as_str).collect();
        let event = AuditEvent::new(now, "site.created", "success")
            .subject(format!("site {slug}"))
            .site(site.id.to_string())
            .reason(format!("clients: {}", clients.join(" ")));
        self.deps.audit.record(event, origin).await;
        // Until every node has dropped its copy of these clients, it could still mint their
        // tokens for the account instead of the site user. A failure is reported (the site
        // exists; the cache's TTL bounds the staleness).
        for client in &site.clients {
            self.deps
                .invalidations
                .publish(&client_invalidation(client))
                .await?;
        }
        Ok(site)
    }

    /// A concurrent create took the slug or a client between the checks and the insert.
    async fn why_taken(&self, site: &Site) -> Result<SitesError, SitesError> {
        if self.deps.repo.site_by_slug(&site.slug).await?.is_some() {
            return Ok(SitesError::SlugTaken);
        }
        for client in &site.clients {
            if let Some(owner) = self.deps.repo.site_for_client(client).await? {
                return Ok(SitesError::ClientTaken {
                    client: client.to_string(),
                    site: owner.slug,
                });
            }
        }
        Ok(SitesError::UnknownClient(
            "(one was deleted meanwhile)".to_owned(),
        ))
    }

    pub async fn list(&self) -> Result<Vec<Site>, SitesError> {
        Ok(self.deps.repo.list_sites().await?)
    }

    /// The site; an unknown or malformed slug is "not found".
    pub async fn get(&self, slug: &str) -> Result<Site, SitesError> {
        if lanyard_identity::orgs::check_slug(slug).is_err() {
            return Err(SitesError::NotFound);
        }
        self.deps
            .repo
            .site_by_slug(slug)
            .await?
            .ok_or(SitesError::NotFound)
    }

    /// A page of the site's users in login order, after `after_login` (a normalized login).
    pub async fn users(
        &self,
        slug: &str,
        after_login: Option<&str>,
        limit: u32,
    ) -> Result<Vec<SiteUser>, SitesError> {
        let site = self.get(slug).await?;
        let limit = limit.clamp(1, MAX_PAGE);
        Ok(self
            .deps
            .repo
            .list_site_users(site.id, after_login, limit)
            .await?)
    }

    /// Every user of the site, page by page.
    async fn all_users(&self, site: SiteId) -> Result<Vec<SiteUser>, SitesError> {
        let mut all: Vec<SiteUser> = Vec::new();
        loop {
            let after = all.last().map(|u| u.login_normalized.clone());
            let page = self
                .deps
                .repo
                .list_site_users(site, after.as_deref(), MAX_PAGE)
                .await?;
            let done = page.len() < MAX_PAGE as usize;
            all.extend(page);
            if done {
                return Ok(all);
            }
        }
    }

    /// Reads the file (`file_name` picks the format), checks every row on its own, against
    /// the others and against the site's users, and stores all rows or none. Rows whose
    /// login exists with the same email and role are left as they are, so the same file
    /// imported again changes nothing. Password hashes are parsed (format and cost), not
    /// checked: there is nothing to check them against until their user signs in.
    pub async fn import(
        &self,
        slug: &str,
        file_name: &str,
        bytes: &[u8],
        origin: &Origin,
    ) -> Result<ImportSummary, SitesError> {
        let site = self.get(slug).await?;
        let refused = |problems: Vec<Problem>| Err(SitesError::ImportRefused(problems));
        if site.state == MigrationState::Identity {
            return refused(vec![Problem::file(
                "the site is in identity mode: its users sign in with identity accounts only",
            )]);
        }
        let Some(format) = Format::from_file_name(file_name) else {
            return refused(vec![Problem::file(
                "the file name must end in .csv or .json",
            )]);
        };
        let rows = match import::read(bytes, format) {
            Ok(rows) => rows,
            Err(problems) => return self.refuse_import(&site, problems, origin).await,
        };
        let existing = self.all_users(site.id).await?;
        let problems = against_site(&rows, &existing);
        if !problems.is_empty() {
            return self.refuse_import(&site, problems, origin).await;
        }
        let now = self.deps.clock.now();
        let new_rows = rows
            .iter()
            .map(|row| self.imported(site.id, row, now))
            .collect::<Result<Vec<_>, _>>()?;
        let summary = match self
            .deps
            .repo
            .import_site_users(site.id, &new_rows, now)
            .await
        {
            Ok(summary) => summary,
            Err(StoreError::Conflict(_)) => {
                return refused(vec![Problem::file(
                    "the site's users changed during the import; nothing was written: run it again",
                )]);
            }
            Err(e) => return Err(e.into()),
        };
        let event = AuditEvent::new(now, "site.imported", "success")
            .subject(format!("site {}", site.slug))
            .site(site.id.to_string())
            .reason(format!(
                "added {}, unchanged {}",
                summary.added, summary.unchanged
            ));
        self.deps.audit.record(event, origin).await;
        Ok(summary)
    }

    async fn refuse_import(
        &self,
        site: &Site,
        problems: Vec<Problem>,
        origin: &Origin,
    ) -> Result<ImportSummary, SitesError> {
        let event = AuditEvent::new(self.deps.clock.now(), "site.imported", "failure")
            .subject(format!("site {}", site.slug))
            .site(site.id.to_string())
            .reason(format!("{} problems, nothing written", problems.len()));
        self.deps.audit.record(event, origin).await;
        Err(SitesError::ImportRefused(problems))
    }

    fn imported(
        &self,
        site: SiteId,
        row: &CheckedRow,
        now: lanyard_core::Timestamp,
    ) -> Result<ImportedSiteUser, SitesError> {
        let (clock, rng) = (&*self.deps.clock, &*self.deps.rng);
        let user = SiteUser {
            id: SiteUserId::new(clock, rng),
            site_id: site,
            login: row.login.clone(),
            login_normalized: row.login_normalized.clone(),
            email: row.email.clone(),
            email_normalized: row.email_normalized.clone(),
            role: row.role,
            legacy_password_hash: Some(row.password_hash.clone()),
            principal: AccountId::new(clock, rng),
            account_id: None,
            linked_at: None,
            email_unverified_since: None,
            created_at: now,
            updated_at: now,
        };
        let sealed_totp_secret = row
            .totp_secret
            .as_ref()
            .map(|secret| {
                let aad = lanyard_mfa::totp::sealing_aad(user.principal);
                self.deps.kek.encrypt(secret, &aad)
            })
            .transpose()?;
        Ok(ImportedSiteUser {
            user,
            sealed_totp_secret,
        })
    }

    /// Turns the site's "require two-factor authentication" preference on or off (C3); the
    /// caller has decided who may (the CLI: the server admin; the admin page: a site admin
    /// after a step-up), `actor` is who did. False when it already was so (nothing audited).
    pub async fn set_two_factor(
        &self,
        slug: &str,
        on: bool,
        actor: Option<AccountId>,
        origin: &Origin,
    ) -> Result<(Site, bool), SitesError> {
        let site = self.get(slug).await?;
        if site.two_factor_required_since.is_some() == on {
            return Ok((site, false));
        }
        let now = self.deps.clock.now();
        self.deps
            .repo
            .set_two_factor_required(site.id, on.then_some(now), now)
            .await?;
        let mut event = AuditEvent::new(now, "site.two_factor_changed", "success")
            .subject(format!("site {slug}"))
            .site(site.id.to_string())
            .reason(if on { "required" } else { "not required" });
        if let Some(actor) = actor {
            event = event.actor(actor.to_string());
        }
        self.deps.audit.record(event, origin).await;
        Ok((self.get(slug).await?, true))
    }

    /// One step of the migration (C5). Entering `identity` erases the legacy credentials
    /// and disables the principals in the same transaction (`SiteRepo::set_migration_state`).
    pub async fn migrate(
        &self,
        slug: &str,
        to: MigrationState,
        origin: &Origin,
    ) -> Result<Migration, SitesError> {
        let site = self.get(slug).await?;
        let from = site.state;
        if from == to {
            return Ok(Migration {
                site,
                from,
                changed: false,
                disabled_principals: vec![],
            });
        }
        if !from.may_move_to(to) {
            return Err(SitesError::MoveRefused { from, to });
        }
        let now = self.deps.clock.now();
        if !self
            .deps
            .repo
            .set_migration_state(site.id, from, to, now)
            .await?
        {
            // Someone else moved it between the read and the update.
            let current = self.get(slug).await?.state;
            return Err(SitesError::MoveRefused { from: current, to });
        }
        let disabled_principals = if to == MigrationState::Identity {
            self.all_users(site.id)
                .await?
                .into_iter()
                .map(|u| u.principal)
                .collect()
        } else {
            vec![]
        };
        let event = AuditEvent::new(now, "site.migrated", "success")
            .subject(format!("site {slug}"))
            .site(site.id.to_string())
            .reason(format!("{} → {}", from.as_str(), to.as_str()));
        self.deps.audit.record(event, origin).await;
        let site = self.get(slug).await?;
        Ok(Migration {
            site,
            from,
            changed: true,
            disabled_principals,
        })
    }

    pub async fn progress(&self, slug: &str) -> Result<MigrationProgress, SitesError> {
        let site = self.get(slug).await?;
        let now = self.deps.clock.now();
        Ok(self.deps.repo.migration_progress(site.id, now).await?)
    }
}

/// Rows that clash with the site's users: a known login with another email or role, or a new
/// login whose email another user of the site has.
fn against_site(rows: &[CheckedRow], existing: &[SiteUser]) -> Vec<Problem> {
    let by_login: HashMap<&str, (&str, SiteRole)> = existing
        .iter()
        .map(|u| {
            (
                u.login_normalized.as_str(),
                (u.email_normalized.as_str(), u.role),
            )
        })
        .collect();
    let by_email: HashMap<&str, &str> = existing
        .iter()
        .map(|u| (u.email_normalized.as_str(), u.login.as_str()))
        .collect();
    let mut problems = Vec::new();
    for row in rows {
        match by_login.get(row.login_normalized.as_str()) {
            Some(&(email, role)) if email == row.email_normalized && role == row.role => {}
            Some(_) => problems.push(Problem::row(
                row.row,
                format!(
                    "login {:?} exists in the site already with another email or role",
                    row.login
                ),
            )),
            None => {
                if let Some(owner) = by_email.get(row.email_normalized.as_str()) {
                    problems.push(Problem::row(
                        row.row,
                        format!(
                            "email {} belongs to login {owner:?} in the site already",
                            row.email_normalized
                        ),
                    ));
                }
            }
        }
    }
    problems
}
