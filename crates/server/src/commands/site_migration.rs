//! `lanyard site invite|set-email|unlink` and the progress lists: the operator's side of the
//! move onto identity accounts (C5, C6). A refused input (an unknown login, a taken or
//! malformed email) exits 65 with nothing changed; invitations whose mail did not go out are
//! listed and make the command exit 1, so a script can send them again.

use lanyard_core::model::{InvitationKind, Site};
use lanyard_core::{Origin, Timestamp};
use lanyard_mfa::when;
use lanyard_sites::SitesError;
use lanyard_sites::invitations::{EmailChange, InviteReport, Selection, Skipped};
use lanyard_sites::progress_lists::{ProgressRow, UserProgress};
use serde_json::json;

use super::{CommandResult, EXIT_REFUSED_INPUT, ExitError, print_json, table};
use crate::app::App;
use crate::cli::SiteCommand;

type Failure = Box<dyn std::error::Error + Send + Sync>;

fn refused(e: SitesError) -> Failure {
    match e {
        SitesError::Invalid(_) | SitesError::NoSuchUser | SitesError::NotFound => {
            Box::new(ExitError {
                code: EXIT_REFUSED_INPUT,
                message: format!("{e}; nothing changed"),
            })
        }
        other => other.into(),
    }
}

async fn site(app: &App, slug: &str) -> Result<Site, Failure> {
    app.sites.get(slug).await.map_err(refused)
}

pub async fn progress_rows(app: &App, slug: &str) -> Result<Vec<ProgressRow>, Failure> {
    let site = site(app, slug).await?;
    let now = app.state.clock.now();
    Ok(lanyard_sites::progress_lists::progress_rows(&*app.stores.sql, &site, now).await?)
}

/// One line per user: login, email, role, where they are.
pub fn print_rows(rows: &[ProgressRow]) {
    let lines: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.login.clone(),
                r.email.clone(),
                r.role.to_owned(),
                state_text(&r.progress),
            ]
        })
        .collect();
    table::print(
        &["LOGIN", "EMAIL", "ROLE", "STATE"],
        &lines,
        "No users yet.",
    );
}

fn state_text(progress: &UserProgress) -> String {
    match progress {
        UserProgress::Linked { .. } => "linked".to_owned(),
        UserProgress::Invited { expires_at } => {
            format!("invited, until {}", when::date_time(Timestamp(*expires_at)))
        }
        UserProgress::NotInvited => "not invited".to_owned(),
        UserProgress::Expired { expired_at } => {
            format!("expired {}", when::date_time(Timestamp(*expired_at)))
        }
        UserProgress::Bounced { bounced_at } => {
            format!("bounced {}", when::date_time(Timestamp(*bounced_at)))
        }
    }
}

pub async fn run(app: &App, cmd: SiteCommand) -> CommandResult {
    let origin = Origin::cli();
    match cmd {
        SiteCommand::Invite {
            site: slug,
            all,
            logins,
            json: as_json,
        } => {
            let site = site(app, &slug).await?;
            let selection = match (all, logins.is_empty()) {
                (true, _) => Selection::All,
                (false, true) => Selection::NotYetInvited,
                (false, false) => Selection::Logins(logins),
            };
            let report = app
                .state
                .invitations
                .invite(&site, &selection, &origin)
                .await
                .map_err(refused)?;
            print_report(&slug, &report, as_json);
            if !report.failed.is_empty() {
                return Err(format!(
                    "{} invitations could not be sent; send them again later",
                    report.failed.len()
                )
                .into());
            }
        }
        SiteCommand::SetEmail {
            site: slug,
            login,
            email,
            json: as_json,
        } => {
            let site = site(app, &slug).await?;
            let change = app
                .state
                .invitations
                .change_email(&site, &login, &email, &origin)
                .await
                .map_err(refused)?;
            let (outcome, text) = match &change {
                EmailChange::Confirmed => (
                    "confirmed",
                    format!("{login}'s email is now {email} (linked already: nothing to confirm)"),
                ),
                EmailChange::InvitationSent(sent) => (
                    "invitation_sent",
                    format!(
                        "{login}'s email is now {email}, unconfirmed: a confirmation invitation went \
                         there (until {})",
                        when::date_time(sent.expires_at)
                    ),
                ),
                EmailChange::NotSent(why) => (
                    "not_sent",
                    format!(
                        "{login}'s email is now {email}, unconfirmed; the invitation was not sent: {why}"
                    ),
                ),
            };
            if as_json {
                print_json(
                    &json!({"site": slug, "login": login, "email": email, "outcome": outcome}),
                );
            } else {
                println!("{text}");
            }
            if let EmailChange::NotSent(why) = change {
                return Err(format!("the confirmation invitation was not sent: {why}").into());
            }
        }
        SiteCommand::Unlink {
            site: slug,
            login,
            json: as_json,
        } => {
            let site = site(app, &slug).await?;
            let unlinked = app
                .linking
                .unlink(&site, &login, &origin)
                .await
                .map_err(refused)?;
            if as_json {
                print_json(&json!({"site": slug, "login": login, "unlinked": unlinked}));
            } else if unlinked {
                println!("{login} is no longer linked to an account");
            } else {
                println!("{login} was not linked; nothing changed");
            }
        }
        other => return Err(format!("not a migration command: {other:?}").into()),
    }
    Ok(())
}

fn kind_text(kind: InvitationKind) -> &'static str {
    match kind {
        InvitationKind::Access => "sign in with account",
        InvitationKind::CreateAccount => "create account",
    }
}

fn print_report(slug: &str, report: &InviteReport, as_json: bool) {
    if as_json {
        print_json(&json!({
            "site": slug,
            "sent": report.sent.iter().map(|s| json!({
                "login": s.login,
                "email": s.email,
                "kind": s.kind.as_str(),
                "expires_at": s.expires_at.seconds(),
            })).collect::<Vec<_>>(),
            "skipped": report.skipped.iter().map(|(login, why)| json!({
                "login": login,
                "reason": skip_word(*why),
            })).collect::<Vec<_>>(),
            "failed": report.failed.iter().map(|(login, why)| json!({
                "login": login,
                "reason": why,
            })).collect::<Vec<_>>(),
        }));
        return;
    }
    let rows: Vec<Vec<String>> = report
        .sent
        .iter()
        .map(|s| {
            vec![
                s.login.clone(),
                s.email.clone(),
                kind_text(s.kind).to_owned(),
                when::date_time(s.expires_at),
            ]
        })
        .collect();
    table::print(
        &["LOGIN", "EMAIL", "INVITATION", "UNTIL"],
        &rows,
        "No invitations sent.",
    );
    let linked = count(report, Skipped::Linked);
    let invited = count(report, Skipped::AlreadyInvited);
    if linked + invited > 0 {
        println!("Skipped: {linked} linked already, {invited} with a live invitation.");
    }
    for (login, why) in &report.failed {
        eprintln!("{login}: not sent: {why}");
    }
}

fn count(report: &InviteReport, which: Skipped) -> usize {
    report.skipped.iter().filter(|(_, w)| *w == which).count()
}

fn skip_word(why: Skipped) -> &'static str {
    match why {
        Skipped::Linked => "linked",
        Skipped::AlreadyInvited => "already_invited",
    }
}
