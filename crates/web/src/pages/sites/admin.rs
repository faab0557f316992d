//! A site admin's page (design13.md point 5): `GET /sites/{slug}/admin` shows the 2FA
//! preference, the mode and its next steps, invitations and progress; its forms post to
//! `…/two-factor`, `…/mode` and `…/invite` and answer 303 back with a notice.
//!
//! Who may: `lanyard_sites::admin` decides (an admin of *this* site, through its principal or
//! its linked identity account); anyone else gets 403 before anything is written. Changing
//! the 2FA preference or the mode is a step-up action (C3): a session that did not prove
//! itself within the window goes to reconfirm first.

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use lanyard_core::model::{Account, MigrationState, Site};
use lanyard_sites::admin::AdminView;
use lanyard_sites::invitations::Selection;
use lanyard_sites::progress_lists::UserProgress;

use crate::error::WebError;
use crate::kit::extract::{SiteUserForm, SiteUserSignedIn};
use crate::kit::guard::fresh_site_user;
use crate::kit::notice::{self, Notice};
use crate::kit::{Caller, csrf_token, no_store, paths, see_other, theme};
use crate::state::AppState;
use crate::ui::site_admin_pages::{ModeMove, SiteAdminPage, UserLine};
use crate::ui::times::Times;
use crate::ui::{self};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(paths::SITE_ADMIN, get(admin_get))
        .route(paths::SITE_ADMIN_TWO_FACTOR, post(two_factor_post))
        .route(paths::SITE_ADMIN_MODE, post(mode_post))
        .route(paths::SITE_ADMIN_INVITE, post(invite_post))
}

async fn admin_get(
    State(state): State<AppState>,
    s: SiteUserSignedIn,
) -> Result<Response, WebError> {
    let account = state.accounts.get(s.session.auth.account_id).await?;
    let view = state.site_admin.overview(&s.site, &account).await?;
    let notice = notice::take(&state, &s.jar).await?;
    let times = Times::for_account(&account, state.clock.now());
    let (jar, csrf) = csrf_token(&state, s.jar);
    let page = admin_page(&state, &s.site, &view, &times, csrf, notice);
    Ok(no_store((jar, ui::render(page)).into_response()))
}

/// A step-up action on the admin page: a session older than the window goes to reconfirm
/// and comes back here.
async fn fresh_admin(state: &AppState, f: &SiteUserForm) -> Result<(), WebError> {
    fresh_site_user(
        state,
        &f.site,
        &f.session,
        (Caller::Browser, &f.origin),
        &admin_path(&f.site),
    )
    .await
}

async fn two_factor_post(
    State(state): State<AppState>,
    f: SiteUserForm,
) -> Result<Response, WebError> {
    let on = match f.form.get("required") {
        Some("on") => true,
        Some("off") => false,
        _ => return Err(WebError::bad_form()),
    };
    let account = admin_account(&state, &f).await?;
    fresh_admin(&state, &f).await?;
    let changed = state
        .site_admin
        .set_two_factor(&f.site, &account, on, &f.origin)
        .await?;
    let done = if changed {
        Notice::SiteTwoFactor { on }
    } else {
        Notice::SiteUnchanged
    };
    back(&state, &f, done).await
}

async fn mode_post(State(state): State<AppState>, f: SiteUserForm) -> Result<Response, WebError> {
    let Some(to) = f.form.get("to").and_then(MigrationState::parse) else {
        return Err(WebError::bad_form());
    };
    let account = admin_account(&state, &f).await?;
    if to == MigrationState::Identity && f.form.get("confirm") != Some("yes") {
        return Err(WebError::bad_request(
            "Confirm the move to identity mode",
            "Moving to identity mode can't be undone: tick the box to confirm, then try again. Nothing was changed.",
        ));
    }
    fresh_admin(&state, &f).await?;
    let step = state
        .site_admin
        .migrate(&f.site, &account, to, &f.origin)
        .await?;
    state
        .signin
        .sessions()
        .end_all_of(&step.disabled_principals, &f.origin)
        .await?;
    let done = if step.changed {
        Notice::SiteMode {
            to: to.as_str().to_owned(),
        }
    } else {
        Notice::SiteUnchanged
    };
    back(&state, &f, done).await
}

async fn invite_post(State(state): State<AppState>, f: SiteUserForm) -> Result<Response, WebError> {
    let selection = match f.form.get("which") {
        Some("not_invited") => Selection::NotYetInvited,
        Some("all") => Selection::All,
        _ => return Err(WebError::bad_form()),
    };
    let account = admin_account(&state, &f).await?;
    let report = state
        .site_admin
        .invite(&f.site, &account, &selection, &f.origin)
        .await?;
    let done = Notice::SiteInvited {
        sent: report.sent.len(),
        failed: report.failed.len(),
    };
    back(&state, &f, done).await
}

/// The account behind the form, if it administers the site (else 403, nothing written).
async fn admin_account(state: &AppState, f: &SiteUserForm) -> Result<Account, WebError> {
    let account = state.accounts.get(f.session.auth.account_id).await?;
    state.site_admin.authorize(&f.site, &account).await?;
    Ok(account)
}

async fn back(state: &AppState, f: &SiteUserForm, done: Notice) -> Result<Response, WebError> {
    notice::leave(state, &f.jar, done).await?;
    Ok(see_other(&admin_path(&f.site)))
}

fn admin_path(site: &Site) -> String {
    paths::for_site(paths::SITE_ADMIN, &site.slug)
}

fn admin_page(
    state: &AppState,
    site: &Site,
    view: &AdminView,
    times: &Times,
    csrf: String,
    notice: Option<String>,
) -> SiteAdminPage {
    let mut page = SiteAdminPage {
        theme: theme(state),
        csrf,
        hidden: Vec::new(),
        site_name: site.name.clone(),
        mode: site.state.as_str().to_owned(),
        mode_text: mode_text(site.state).to_owned(),
        two_factor_on: site.two_factor_required_since.is_some(),
        two_factor_since_text: site
            .two_factor_required_since
            .map(|at| times.date_time(at))
            .unwrap_or_default(),
        two_factor_action: paths::for_site(paths::SITE_ADMIN_TWO_FACTOR, &site.slug),
        mode_action: paths::for_site(paths::SITE_ADMIN_MODE, &site.slug),
        invite_action: paths::for_site(paths::SITE_ADMIN_INVITE, &site.slug),
        moves: moves(site.state),
        total: view.progress.total,
        notice,
        ..SiteAdminPage::default()
    };
    for row in &view.rows {
        let mut line = UserLine {
            login: row.login.clone(),
            email: row.email.clone(),
            role: role_text(row.role).to_owned(),
            when_text: String::new(),
        };
        let at = lanyard_core::Timestamp;
        match &row.progress {
            UserProgress::Linked { linked_at } => {
                line.when_text = linked_at.map(|t| times.date(at(t))).unwrap_or_default();
                page.linked.push(line);
            }
            UserProgress::Invited { expires_at } => {
                line.when_text = format!("until {}", times.date_time(at(*expires_at)));
                page.invited.push(line);
            }
            UserProgress::NotInvited => page.not_invited.push(line),
            UserProgress::Expired { expired_at } => {
                line.when_text = format!("expired {}", times.date(at(*expired_at)));
                page.expired_or_bounced.push(line);
            }
            UserProgress::Bounced { bounced_at } => {
                line.when_text = format!("not delivered {}", times.date(at(*bounced_at)));
                page.expired_or_bounced.push(line);
            }
        }
    }
    page
}

fn mode_text(state: MigrationState) -> &'static str {
    match state {
        MigrationState::Legacy => "Legacy: users sign in with their site login and password.",
        MigrationState::Dual => {
            "Dual: users sign in with their site login or with their account; invited users link their account."
        }
        MigrationState::Identity => {
            "Identity: users sign in with their account only. Site logins and passwords were erased."
        }
    }
}

fn moves(from: MigrationState) -> Vec<ModeMove> {
    [MigrationState::Legacy, MigrationState::Dual, MigrationState::Identity]
        .into_iter()
        .filter(|to| from.may_move_to(*to))
        .map(|to| match to {
            MigrationState::Dual => ModeMove {
                to: "dual".to_owned(),
                label: "Move to dual mode".to_owned(),
                explanation: "Offer both sign-ins: the site login, and the account.".to_owned(),
                needs_confirmation: false,
            },
            MigrationState::Legacy => ModeMove {
                to: "legacy".to_owned(),
                label: "Go back to legacy mode".to_owned(),
                explanation: "Only the site login again; linked accounts can't sign in until you move forward."
                    .to_owned(),
                needs_confirmation: false,
            },
            MigrationState::Identity => ModeMove {
                to: "identity".to_owned(),
                label: "Move to identity mode".to_owned(),
                explanation: "Only accounts from now on: site logins and passwords, and their authenticator apps and backup codes, are erased, and everyone signed in with a site login is signed out — you too, if you are."
                    .to_owned(),
                needs_confirmation: true,
            },
        })
        .collect()
}

fn role_text(role: &str) -> &'static str {
    match role {
        "admin" => "Admin",
        "client_user" => "Client user",
        _ => "Licensed user",
    }
}
