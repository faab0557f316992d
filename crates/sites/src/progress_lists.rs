//! The migration's progress, user by user (C5: "counts and lists of linked, invited (with
//! expiry), not yet invited, expired/bounced"). Each user is in exactly one list, by the same
//! rule as the store's counts: linked; else by the latest invitation — none or superseded:
//! not yet invited; bounced, or expired unaccepted: expired or bounced; else invited.

use lanyard_core::model::{Invitation, Site, SiteRole, SiteUser};
use lanyard_core::ports::SiteRepo;
use lanyard_core::{StoreError, Timestamp};
use serde::Serialize;

/// The users are read in pages of this many.
const PAGE: u32 = 500;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum UserProgress {
    Linked { linked_at: Option<i64> },
    Invited { expires_at: i64 },
    NotInvited,
    Expired { expired_at: i64 },
    Bounced { bounced_at: i64 },
}

#[derive(Debug, Clone, Serialize)]
pub struct ProgressRow {
    pub login: String,
    pub email: String,
    pub role: &'static str,
    #[serde(flatten)]
    pub progress: UserProgress,
}

/// Where one user is.
pub fn classify(user: &SiteUser, latest: Option<&Invitation>, now: Timestamp) -> UserProgress {
    if user.account_id.is_some() {
        return UserProgress::Linked {
            linked_at: user.linked_at.map(Timestamp::seconds),
        };
    }
    match latest {
        None => UserProgress::NotInvited,
        Some(i) if i.superseded_at.is_some() => UserProgress::NotInvited,
        Some(i) => match i.bounced_at {
            Some(at) => UserProgress::Bounced {
                bounced_at: at.seconds(),
            },
            None if i.accepted_at.is_none() && i.expires_at <= now => UserProgress::Expired {
                expired_at: i.expires_at.seconds(),
            },
            None => UserProgress::Invited {
                expires_at: i.expires_at.seconds(),
            },
        },
    }
}

/// Every user of the site with where they are, in login order.
pub async fn progress_rows(
    sites: &dyn SiteRepo,
    site: &Site,
    now: Timestamp,
) -> Result<Vec<ProgressRow>, StoreError> {
    let mut rows = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = sites
            .list_site_users_with_invitations(site.id, after.as_deref(), PAGE)
            .await?;
        let full = page.len() == PAGE as usize;
        after = page.last().map(|(u, _)| u.login_normalized.clone());
        rows.extend(page.into_iter().map(|(user, latest)| ProgressRow {
            progress: classify(&user, latest.as_ref(), now),
            role: role_name(user.role),
            login: user.login,
            email: user.email,
        }));
        if !full {
            return Ok(rows);
        }
    }
}

fn role_name(role: SiteRole) -> &'static str {
    role.as_str()
}
