//! The import's one transaction: each row is found unchanged (its login exists with the same
//! email and role) or added with its principal account (and, when the legacy site had one,
//! its authenticator app), or nothing is written. The site row is locked first so two imports
//! of one site run one after the other (PostgreSQL; SQLite's IMMEDIATE transaction already
//! does). Rows go in in batches: 100,000 users are a few hundred statements, not 200,000.

use std::collections::{HashMap, HashSet};

use lanyard_core::model::{AccountKind, AccountStatus, MfaMethod, SiteId};
use lanyard_core::ports::{ImportSummary, ImportedSiteUser};
use lanyard_core::{StoreError, Timestamp};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QuerySelect,
};

use super::super::{SqlStore, unique_row};
use super::rows::user_row;
use crate::entity::{account, mfa_account, site, site_user as user, totp_credential as totp};
use crate::error;

const CONTEXT: &str = "import site users";
/// Rows per INSERT: at most 14 columns × 500 bound values, far below either backend's limit
/// (SQLite 32,766, PostgreSQL 65,535).
const BATCH: usize = 500;

/// What the principal of a site user is called in `accounts.email_normalized`: never an
/// address, so no email lookup or unique-address rule ever meets it.
pub(crate) fn principal_key(user: &lanyard_core::model::SiteUser) -> String {
    format!("site-user:{}", user.id)
}

pub(super) async fn import(
    store: &SqlStore,
    site_id: SiteId,
    rows: &[ImportedSiteUser],
    now: Timestamp,
) -> Result<ImportSummary, StoreError> {
    let txn = store.begin_write().await?;
    let result = import_in(&txn, site_id, rows, now).await;
    match result {
        Ok(summary) => {
            txn.commit().await.map_err(|e| error::db(CONTEXT, e))?;
            Ok(summary)
        }
        Err(e) => {
            txn.rollback().await.map_err(|e| error::db(CONTEXT, e))?;
            Err(e)
        }
    }
}

async fn import_in(
    txn: &DatabaseTransaction,
    site_id: SiteId,
    rows: &[ImportedSiteUser],
    now: Timestamp,
) -> Result<ImportSummary, StoreError> {
    unique_row(site::Entity::find_by_id(site_id.0).lock_exclusive(), txn)
        .await
        .map_err(|e| error::db(CONTEXT, e))?
        .ok_or(StoreError::NotFound)?;
    let existing: Vec<(String, String, String)> = user::Entity::find()
        .select_only()
        .column(user::Column::LoginNormalized)
        .column(user::Column::EmailNormalized)
        .column(user::Column::Role)
        .filter(user::Column::SiteId.eq(site_id.0))
        .into_tuple()
        .all(txn)
        .await
        .map_err(|e| error::db(CONTEXT, e))?;
    let fresh = new_rows(site_id, rows, &existing)?;
    let summary = ImportSummary {
        added: fresh.len() as u64,
        unchanged: (rows.len() - fresh.len()) as u64,
    };
    for batch in fresh.chunks(BATCH) {
        insert_batch(txn, batch, now).await?;
    }
    Ok(summary)
}

/// The rows to add; Conflict when a row clashes with the site or with another row.
fn new_rows<'a>(
    site_id: SiteId,
    rows: &'a [ImportedSiteUser],
    existing: &[(String, String, String)],
) -> Result<Vec<&'a ImportedSiteUser>, StoreError> {
    let clash = || StoreError::Conflict(format!("{CONTEXT}: a login or email is taken"));
    let by_login: HashMap<&str, (&str, &str)> = existing
        .iter()
        .map(|(l, e, r)| (l.as_str(), (e.as_str(), r.as_str())))
        .collect();
    let emails: HashSet<&str> = existing.iter().map(|(_, e, _)| e.as_str()).collect();
    let mut seen_logins = HashSet::new();
    let mut seen_emails = HashSet::new();
    let mut fresh = Vec::new();
    for row in rows {
        let u = &row.user;
        if u.site_id != site_id {
            return Err(StoreError::Other(format!("{CONTEXT}: row of another site")));
        }
        if !seen_logins.insert(u.login_normalized.as_str())
            || !seen_emails.insert(u.email_normalized.as_str())
        {
            return Err(clash());
        }
        match by_login.get(u.login_normalized.as_str()) {
            Some(&(email, role)) if email == u.email_normalized && role == u.role.as_str() => {}
            Some(_) => return Err(clash()),
            None if emails.contains(u.email_normalized.as_str()) => return Err(clash()),
            None => fresh.push(row),
        }
    }
    Ok(fresh)
}

async fn insert_batch(
    txn: &DatabaseTransaction,
    batch: &[&ImportedSiteUser],
    now: Timestamp,
) -> Result<(), StoreError> {
    let db = |e| error::db(CONTEXT, e);
    let principals = batch.iter().map(|row| account::ActiveModel {
        id: Set(row.user.principal.0),
        email: Set(row.user.email.clone()),
        email_normalized: Set(principal_key(&row.user)),
        email_verified: Set(false),
        name: Set(row.user.login.clone()),
        password_hash: Set(None),
        status: Set(AccountStatus::Active.as_str().to_owned()),
        kind: Set(AccountKind::SiteUser.as_str().to_owned()),
        time_zone: Set(None),
        created_at: Set(now.seconds()),
        updated_at: Set(now.seconds()),
    });
    account::Entity::insert_many(principals)
        .exec_without_returning(txn)
        .await
        .map_err(db)?;
    user::Entity::insert_many(batch.iter().map(|row| user_row(&row.user)))
        .exec_without_returning(txn)
        .await
        .map_err(db)?;
    let apps: Vec<_> = batch
        .iter()
        .filter_map(|row| Some((row.user.principal, row.sealed_totp_secret.as_ref()?)))
        .collect();
    if apps.is_empty() {
        return Ok(());
    }
    // The legacy site's authenticator app becomes the principal's, already confirmed.
    let credentials = apps.iter().map(|(principal, sealed)| totp::ActiveModel {
        account_id: Set(principal.0),
        pending: Set(false),
        secret_sealed: Set((*sealed).clone()),
        last_used_step: Set(None),
        created_at: Set(now.seconds()),
        confirmed_at: Set(Some(now.seconds())),
    });
    totp::Entity::insert_many(credentials)
        .exec_without_returning(txn)
        .await
        .map_err(db)?;
    let states = apps.iter().map(|(principal, _)| mfa_account::ActiveModel {
        account_id: Set(principal.0),
        method: Set(MfaMethod::Totp.as_str().to_owned()),
        credential_epoch: Set(0),
        failures: Set(0),
        last_failure_at: Set(None),
    });
    mfa_account::Entity::insert_many(states)
        .exec_without_returning(txn)
        .await
        .map_err(db)?;
    Ok(())
}
