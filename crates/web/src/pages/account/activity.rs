//! The account's recent security activity (F3, A5): the audit events whose actor or subject
//! is the account, in words, with the device and network they came from — never the full
//! address. Token traffic (every access token, every PAT exchange) is left out: it would
//! bury what a person can recognise.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use lanyard_core::model::{AuditEvent, AuditQuery};
use lanyard_signin::{device_label, ip_prefix};

use crate::error::WebError;
use crate::kit::extract::{SignedIn, ToActivity};
use crate::kit::{no_store, theme};
use crate::state::AppState;
use crate::ui;
use crate::ui::privacy_pages::{ActivityPage, EventView};
use crate::ui::times::Times;

/// Read this many, show at most [`SHOWN`] of those a person can recognise.
const READ: u64 = 200;
const SHOWN: usize = 50;

/// What a person can recognise, in words; `None` for machine traffic left off the page.
fn describe(kind: &str) -> Option<&'static str> {
    if ["token.", "authz.", "logout.", "device.", "audit."]
        .iter()
        .any(|prefix| kind.starts_with(prefix))
        || kind == "pat.used"
    {
        return None;
    }
    Some(match kind {
        "login.succeeded" => "Signed in",
        "login.password" => "Password accepted",
        "login.failed" => "Sign-in attempt",
        "login.federated" => "Signed in with your organization",
        "account.password_changed" => "Password changed",
        "password.reset" => "Password reset",
        "password.reset_requested" => "Password reset link asked for",
        "account.email_changed" => "Email address changed",
        "account.email_verified" => "Email address verified",
        "account.disabled" => "Account disabled",
        "account.enabled" => "Account enabled",
        "pat.created" => "Personal access token created",
        "pat.revoked" => "Personal access token revoked",
        "session.ended_one" => "A browser signed out",
        "session.ended_others" => "Signed out everywhere else",
        "session.ended_all" => "Signed out everywhere",
        "privacy.changed" => "Privacy setting changed",
        "consent.granted" => "Application allowed",
        "consent.revoked" => "Application disconnected",
        "stepup.required" => "Asked to confirm it's you",
        "mfa.email.sent" => "Sign-in code emailed",
        "mfa.totp.enabled" => "Authenticator app turned on",
        "mfa.totp.disabled" => "Authenticator app turned off",
        "mfa.backup_code.generated" | "mfa.backup_code_set.generated" => "Backup code generated",
        "mfa.backup_code.used" => "Backup code used",
        "mfa.device.trusted" => "Browser trusted for 30 days",
        "mfa.device.revoked" | "mfa.device.revoked_all" => "Trusted device removed",
        "mfa.locked" => "Locked after failed attempts",
        "mfa.unlocked" => "Unlocked",
        kind if kind.starts_with("mfa.") && kind.ends_with(".verified") => "Second step confirmed",
        kind if kind.starts_with("mfa.") => "Sign-in confirmation event",
        "account.created" | "account.registered" => "Account created",
        _ => "Security event",
    })
}

fn from(event: &AuditEvent) -> String {
    let device = event.user_agent.as_deref().map(|ua| device_label(Some(ua)));
    let network = event.ip.as_deref().and_then(ip_prefix);
    match (device, network) {
        (Some(device), Some(network)) => format!("{device}, network {network}"),
        (Some(device), None) => device,
        (None, Some(network)) => format!("Network {network}"),
        (None, None) => "Not known".to_owned(),
    }
}

pub async fn activity_get(
    State(state): State<AppState>,
    SignedIn { session, jar, .. }: SignedIn<ToActivity>,
) -> Result<Response, WebError> {
    let account = state.accounts.get(session.auth.account_id).await?;
    let times = Times::for_account(&account, state.clock.now());
    let query = AuditQuery {
        account: Some(account.id.to_string()),
        limit: READ,
        ..AuditQuery::default()
    };
    let records = state.admin.audit_log.query_audit(&query).await?;
    let events = records
        .iter()
        .filter_map(|r| {
            let what = describe(&r.event.kind)?;
            Some(EventView {
                when: times.date_time(r.event.at),
                what: what.to_owned(),
                failed: r.event.outcome != "success",
                from: from(&r.event),
            })
        })
        .take(SHOWN)
        .collect();
    let page = ActivityPage {
        theme: theme(&state),
        email: account.email,
        events,
    };
    Ok((jar, no_store(ui::render(page))).into_response())
}

#[cfg(test)]
mod tests {
    use super::describe;

    #[test]
    fn token_traffic_is_left_off_and_unknown_kinds_still_show() {
        assert_eq!(describe("token.issued"), None);
        assert_eq!(describe("pat.used"), None);
        assert_eq!(describe("login.succeeded"), Some("Signed in"));
        assert_eq!(
            describe("mfa.email.verified"),
            Some("Second step confirmed")
        );
        assert_eq!(describe("something.new"), Some("Security event"));
    }
}
