//! The account's security page (F3) and the sensitive actions on it, each behind the step-up
//! guard (B8): the authenticator app ([`totp`]), the backup code ([`backup`]), trusted devices
//! ([`devices`]: remove one, remove all), the password, "sign out everywhere else", and the
//! reconfirm page that makes a session fresh ([`reconfirm`]). Each security reduction is a
//! `GET` confirmation whose form posts to the same path; a `POST` answers 303 with a notice
//! for the session (`kit::notice`). `DELETE` routes serve API callers with the same rules.

mod activity;
mod apps;
mod backup;
mod devices;
mod email;
mod pat_form;
pub mod pats;
mod privacy;
mod profile;
mod reconfirm;
mod sessions;
mod totp;

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum_extra::extract::CookieJar;
use lanyard_core::Secret;
use lanyard_core::model::MfaMethod;
use lanyard_identity::IdentityError;
use lanyard_signin::Session;

use crate::error::WebError;
use crate::kit::extract::{Fresh, FreshForm, SignedIn, SignedInForm, ToPassword, ToSecurity};
use crate::kit::notice;
use crate::kit::{Query, cookies, csrf_token, no_store, paths, theme, to_security};
use crate::state::AppState;
use crate::ui::mfa_pages::{DeviceView, PasswordChangePage, SecurityPage, SessionView};
use crate::ui::times::Times;
use crate::ui::{self, FieldError};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(paths::ACCOUNT, get(profile::account_get))
        .route(paths::ACCOUNT_TIME_ZONE, post(profile::time_zone_post))
        .route(paths::ACCOUNT_EMAIL, post(email::email_post))
        .route(
            paths::ACCOUNT_EMAIL_CONFIRM,
            get(email::email_confirm_get).post(email::email_confirm_post),
        )
        .route(
            paths::ACCOUNT_EMAIL_CONFIRMED,
            get(email::email_confirmed_get),
        )
        .route(paths::ACCOUNT_SECURITY, get(security_get))
        .route(
            paths::ACCOUNT_PRIVACY,
            get(privacy::privacy_get)
                .post(privacy::privacy_post)
                .put(privacy::privacy_put),
        )
        .route(
            paths::ACCOUNT_RECONFIRM,
            get(reconfirm::reconfirm_get).post(reconfirm::reconfirm_post),
        )
        .route(
            paths::ACCOUNT_TOTP_SETUP,
            get(totp::totp_setup_get).post(totp::totp_setup_post),
        )
        .route(
            paths::ACCOUNT_TOTP_TURN_OFF,
            get(totp::totp_turn_off_get).post(totp::totp_turn_off_post),
        )
        .route(
            paths::ACCOUNT_BACKUP_REGENERATE,
            get(backup::backup_regenerate_get).post(backup::backup_regenerate_post),
        )
        .route(paths::ACCOUNT_BACKUP_SHOWN, get(backup::backup_shown_get))
        .route(paths::ACCOUNT_BACKUP_SAVED, post(backup::backup_saved_post))
        .route(
            paths::ACCOUNT_DEVICE_REVOKE,
            get(devices::device_revoke_get).post(devices::device_revoke_post),
        )
        .route(
            paths::ACCOUNT_DEVICES_REVOKE_ALL,
            get(devices::devices_revoke_all_get).post(devices::devices_revoke_all_post),
        )
        .route(
            paths::ACCOUNT_PASSWORD,
            get(password_get).post(password_post),
        )
        .route(
            paths::ACCOUNT_END_OTHER_SESSIONS,
            post(end_other_sessions_post),
        )
        .route(paths::ACCOUNT_SESSION_END, post(sessions::end_session_post))
        .route(paths::ACCOUNT_SESSION, delete(sessions::end_session_delete))
        .route(paths::ACCOUNT_APPS, get(apps::apps_get))
        .route(paths::ACCOUNT_ACTIVITY, get(activity::activity_get))
        .route(paths::ACCOUNT_APPS_DISCONNECT, post(apps::disconnect_post))
        .route(paths::ACCOUNT_APP, delete(apps::disconnect_delete))
}

fn notice(done: Option<&str>) -> Option<String> {
    let text = match done? {
        "totp-on" => {
            "Your authenticator app is turned on. We will ask for its code when you sign in. \
             Your trusted devices were removed, so each one will ask for the app's code too. \
             If you are signed in somewhere you no longer trust, sign out everywhere else below."
        }
        "password" => {
            "Your password is changed. You are signed out everywhere else, and apps you use will \
             ask you to sign in again. We emailed you a notice about the change."
        }
        "sessions-ended" => "You are signed out everywhere else.",
        "session-ended" => "You are signed out of that browser.",
        "session-gone" => "That browser was already signed out.",
        _ => return None,
    };
    Some(text.to_owned())
}

async fn security_get(
    State(state): State<AppState>,
    SignedIn { session, jar, .. }: SignedIn<ToSecurity>,
    Query(params): Query,
) -> Result<Response, WebError> {
    // What the last action did: a notice left for this session, or (for the actions that
    // name nothing) a fixed `done` word.
    let notice = match notice::take(&state, &jar).await? {
        Some(text) => Some(text),
        None => notice(params.get("done")),
    };
    security_page(&state, jar, &session, notice).await
}

async fn security_page(
    state: &AppState,
    jar: CookieJar,
    session: &Session,
    notice: Option<String>,
) -> Result<Response, WebError> {
    let account_id = session.auth.account_id;
    let account = state.accounts.get(account_id).await?;
    let times = Times::for_account(&account, state.clock.now());
    let mfa = state.mfa.state(account_id).await?;
    let backup = state.mfa.backup_code_info(account_id).await?;
    let this_device = state
        .mfa
        .this_device(account_id, cookies::device(state, &jar))
        .await?;
    let devices = state
        .mfa
        .trusted_devices(account_id)
        .await?
        .into_iter()
        .map(|d| DeviceView {
            this_device: this_device == Some(d.id),
            label: d.label,
            trusted_until_text: times.date(d.expires_at),
            last_used_text: times.date_time(d.last_used_at),
            revoke_action: paths::ACCOUNT_DEVICE_REVOKE.replace("{id}", &d.id.to_string()),
        })
        .collect();
    let sessions = state
        .signin
        .sessions()
        .list(account_id, cookies::session(&jar))
        .await?
        .into_iter()
        .map(|s| SessionView {
            place: s.ip_prefix.map_or_else(
                || "Network not known".to_owned(),
                |prefix| format!("Network {prefix}"),
            ),
            started_text: times.date_time(s.started_at),
            last_seen_text: times.date_time(s.last_seen),
            device: s.device,
            handle: s.handle,
            current: s.current,
        })
        .collect();
    let (jar, csrf) = csrf_token(state, jar);
    let page = SecurityPage {
        theme: theme(state),
        csrf,
        email: account.email,
        uses_authenticator: mfa.method == MfaMethod::Totp,
        setup_href: paths::ACCOUNT_TOTP_SETUP.to_owned(),
        turn_off_action: paths::ACCOUNT_TOTP_TURN_OFF.to_owned(),
        backup_generated_text: backup.map(|b| times.date_time(b.created_at)),
        backup_action: paths::ACCOUNT_BACKUP_REGENERATE.to_owned(),
        devices,
        revoke_all_action: paths::ACCOUNT_DEVICES_REVOKE_ALL.to_owned(),
        notice,
        end_other_sessions_action: paths::ACCOUNT_END_OTHER_SESSIONS.to_owned(),
        sessions,
        end_session_action: paths::ACCOUNT_SESSION_END.to_owned(),
        sign_out_href: lanyard_issuer::endpoints::LOGOUT.to_owned(),
    };
    Ok((jar, no_store(ui::render(page))).into_response())
}

// ---- Password ----

async fn password_get(
    State(state): State<AppState>,
    Fresh { session, jar, .. }: Fresh<ToPassword>,
) -> Result<Response, WebError> {
    password_page(&state, jar, &session, None).await
}

async fn password_page(
    state: &AppState,
    jar: CookieJar,
    session: &Session,
    error: Option<FieldError>,
) -> Result<Response, WebError> {
    let account = state.accounts.get(session.auth.account_id).await?;
    let (jar, csrf) = csrf_token(state, jar);
    let status = ui::status_for(error.as_ref());
    let page = PasswordChangePage {
        theme: theme(state),
        action: paths::ACCOUNT_PASSWORD.to_owned(),
        csrf,
        hidden: Vec::new(),
        email: account.email,
        min_len: state.accounts.password_rules().min_chars,
        error,
    };
    Ok((jar, ui::render_with_status(status, page)).into_response())
}

/// The new password twice (a typing mistake would otherwise lock the owner out), checked
/// against the account's password rules; the first problem found is shown on its field.
async fn password_post(
    State(state): State<AppState>,
    FreshForm {
        session,
        form,
        origin,
        jar,
        ..
    }: FreshForm<ToPassword>,
) -> Result<Response, WebError> {
    let new_password = Secret::new(form.get("new_password").unwrap_or(""));
    let confirmation = form.get("confirm_password").unwrap_or("");
    let account_id = session.auth.account_id;
    let account = state.accounts.get(account_id).await?;
    let refused = |field: &str, message: String| FieldError::new(field, message);
    let error = if new_password.expose().is_empty() {
        Some(refused("new_password", "Enter a new password.".to_owned()))
    } else if let Err(refusal) =
        state
            .accounts
            .password_rules()
            .check(&new_password, &account.email, &account.name)
    {
        Some(refused("new_password", refusal.to_string()))
    } else if confirmation != new_password.expose() {
        Some(refused(
            "confirm_password",
            "The two passwords are not the same. Enter the new password again in both fields."
                .to_owned(),
        ))
    } else {
        None
    };
    if let Some(error) = error {
        return password_page(&state, jar, &session, Some(error)).await;
    }
    match state
        .accounts
        .change_password(account_id, new_password, &origin)
        .await
    {
        Ok(_) => {}
        Err(IdentityError::PasswordRefused(refusal)) => {
            let error = refused("new_password", refusal.to_string());
            return password_page(&state, jar, &session, Some(error)).await;
        }
        Err(e) => return Err(e.into()),
    }
    // A new password distrusts every device (S36) and ends every other session.
    state.mfa.revoke_all_devices(account_id, &origin).await?;
    state
        .signin
        .sessions()
        .end_others(cookies::session(&jar))
        .await?;
    state.mfa.notify_password_changed(&account).await;
    Ok(to_security("password"))
}

// ---- Sessions ----

/// "Sign out everywhere else": protective, so a signed-in session is enough (no step-up).
async fn end_other_sessions_post(
    State(state): State<AppState>,
    SignedInForm {
        session,
        jar,
        origin,
        ..
    }: SignedInForm<ToSecurity>,
) -> Result<Response, WebError> {
    state
        .signin
        .sessions()
        .end_others(cookies::session(&jar))
        .await?;
    let event =
        lanyard_core::model::AuditEvent::new(state.clock.now(), "session.ended_others", "success")
            .subject(session.auth.account_id.to_string());
    state.audit.record(event, &origin).await;
    Ok(to_security("sessions-ended"))
}
