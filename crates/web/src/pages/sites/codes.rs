//! A site user's backup codes (C4, seed 002), for the principal of a legacy site login:
//! - the first set, made right after the site's two-factor set-up ("Verify and Save") and
//!   shown once before the sign-in goes on to the app;
//! - the two-factor page (`/sites/{slug}/account/two-factor`): the password again, then
//!   "Show Backup Codes" (the current set, used codes marked inactive);
//! - "Generate new codes": a confirmation and a step-up action (a fresh second step with a
//!   factor older than the session: S35, CVE-2023-3597), then the new set shown once;
//! - "Save to Text File" (`<site>_backup_codes_<login>.txt`, an attachment from the server)
//!   while a set is on its one-time page; Print is the browser's, with a print stylesheet.
//!
//! Every set on a page goes through `signin::handoff` (sealed, bound to the session, shown
//! once). A person signed in with a linked identity account has one backup code on the
//! account's security page instead, and is sent there.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use lanyard_core::AccountId;
use lanyard_core::model::AuditEvent;
use lanyard_signin::{Browser, FlowId, PasswordCheck, Showing, ShownId, ShownKind};

use crate::error::WebError;
use crate::kit::extract::{SiteUserForm, SiteUserSignedIn};
use crate::kit::guard::fresh_site_user;
use crate::kit::params::Query;
use crate::kit::{
    cookies, csrf_token, download, no_store, paths, see_other, theme, times_for, to_flow_page,
};
use crate::state::AppState;
use crate::ui::account_pages::{ConfirmPage, ShownOncePage};
use crate::ui::site_code_pages::{
    SetCodeView, SetShown, SiteCodesPage, SiteTwoFactorPage, codes_file_name, codes_text_file,
};
use crate::ui::{self, FieldError};

mod kept;

use kept::Kept;

const SAVED_FIELD: &str = "saved";
const LABEL: &str = "backup codes";

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route(paths::SITE_FIRST_CODES, get(first_codes_get))
        .route(
            paths::SITE_CODES_SHOWN,
            get(codes_shown_get).post(codes_saved_post),
        )
        .route(paths::SITE_CODES_DOWNLOAD, get(codes_download_get))
        .route(
            paths::SITE_ACCOUNT,
            get(two_factor_get).post(two_factor_post),
        )
        .route(
            paths::SITE_CODES_REGENERATE,
            get(regenerate_get).post(regenerate_post),
        )
}

// ---- Who may see them ----

/// The principal signed in on its own site's page; a person (a linked identity account)
/// keeps its backup code on the account's security page.
fn principal_of(signed: &SiteUserSignedIn) -> Option<AccountId> {
    (signed.session.site == Some(signed.site.id)
        && signed.session.auth.account_id == signed.user.principal)
        .then_some(signed.user.principal)
}

fn principal_of_form(f: &SiteUserForm) -> Option<AccountId> {
    (f.session.site == Some(f.site.id) && f.session.auth.account_id == f.user.principal)
        .then_some(f.user.principal)
}

fn not_a_principal() -> Response {
    see_other(paths::ACCOUNT_SECURITY)
}

fn account_path(slug: &str) -> String {
    paths::for_site(paths::SITE_ACCOUNT, slug)
}

fn shown_path(slug: &str, id: &ShownId, flow: Option<&FlowId>) -> String {
    let path = paths::for_site(paths::SITE_CODES_SHOWN, slug).replace("{id}", id.as_str());
    match flow {
        Some(flow) => format!("{path}?flow={}", flow.as_str()),
        None => path,
    }
}

async fn keep(
    state: &AppState,
    jar: &axum_extra::extract::CookieJar,
    kept: &Kept,
) -> Result<ShownId, WebError> {
    Ok(state
        .signin
        .handoffs()
        .keep(
            cookies::session(jar),
            ShownKind::BackupCodeSet,
            LABEL,
            &kept.encode(),
        )
        .await?)
}

// ---- The first set, at the end of the site's two-factor set-up ----

/// Where a sign-in that just set up the site's required app arrives, signed in (B's
/// hand-off). The first set is made here once — only for a principal with an app and no set
/// yet, decided in the store's write, so a reload, a replayed link or a second tab makes
/// nothing — and shown once; then on to the app.
async fn first_codes_get(
    State(state): State<AppState>,
    signed: SiteUserSignedIn,
    Query(query): Query,
) -> Result<Response, WebError> {
    let flow = crate::kit::flow_id(&query)?;
    let Some(principal) = principal_of(&signed) else {
        return Ok(to_flow_page(paths::AUTHORIZE_CONTINUE, &flow));
    };
    if !state.mfa.has_totp(principal).await? {
        return Ok(to_flow_page(paths::AUTHORIZE_CONTINUE, &flow));
    }
    let Some(codes) = state
        .mfa
        .first_backup_code_set(principal, &signed.origin)
        .await?
    else {
        return Ok(to_flow_page(paths::AUTHORIZE_CONTINUE, &flow));
    };
    let kept = Kept::new_set(SetShown::First, state.clock.now(), codes);
    let id = keep(&state, &signed.jar, &kept).await?;
    Ok(see_other(&shown_path(&signed.site.slug, &id, Some(&flow))))
}

// ---- A set on its one-time page ----

async fn codes_shown_get(
    State(state): State<AppState>,
    signed: SiteUserSignedIn,
    Path((_, id)): Path<(String, String)>,
    Query(query): Query,
) -> Result<Response, WebError> {
    if principal_of(&signed).is_none() {
        return Ok(not_a_principal());
    }
    let slug = signed.site.slug.clone();
    let showing = match ShownId::parse(&id) {
        Some(id) => state
            .signin
            .handoffs()
            .show(cookies::session(&signed.jar), ShownKind::BackupCodeSet, &id)
            .await?
            .map(|showing| (id, showing)),
        None => None,
    };
    let Some((id, showing)) = showing else {
        return Ok(not_here(&state, &slug));
    };
    let (secret, again) = match showing {
        Showing::Secret { secret, again, .. } => (secret, again),
        Showing::ShownBefore { .. } => return Ok(shown_before(&state, &slug)),
    };
    let Some(kept) = Kept::decode(secret.expose()) else {
        return Ok(not_here(&state, &slug));
    };
    let times = times_for(&state, &signed.session).await?;
    let (jar, csrf) = csrf_token(&state, signed.jar);
    let flow = query
        .get("flow")
        .and_then(FlowId::parse)
        .filter(|_| kept.why == SetShown::First);
    let mut hidden = Vec::new();
    if let Some(flow) = &flow {
        hidden.push(("flow".to_owned(), flow.as_str().to_owned()));
    }
    let error = again.then(|| {
        FieldError::new(
            SAVED_FIELD,
            "Save these backup codes, then tick \"I saved my backup codes\". They are the same \
             codes as before.",
        )
    });
    let status = ui::status_for(error.as_ref());
    let page = SiteCodesPage {
        theme: theme(&state),
        site_name: signed.site.name.clone(),
        login: signed.user.login.clone(),
        codes: kept.codes,
        shown: kept.why,
        generated_text: times.date_time(kept.created_at),
        download_href: paths::for_site(paths::SITE_CODES_DOWNLOAD, &slug)
            .replace("{id}", id.as_str()),
        action: shown_path(&slug, &id, None),
        csrf,
        hidden,
        error,
        regenerate_href: paths::for_site(paths::SITE_CODES_REGENERATE, &slug),
        done_href: account_path(&slug),
    };
    Ok((jar, no_store(ui::render_with_status(status, page))).into_response())
}

/// "I saved my backup codes": with the tick the one-time entry is gone and the sign-in goes
/// on to the app (the first set) or back to the two-factor page; without it the same codes
/// show again with the error. Nothing is made here.
async fn codes_saved_post(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    f: SiteUserForm,
) -> Result<Response, WebError> {
    if principal_of_form(&f).is_none() {
        return Ok(not_a_principal());
    }
    let Some(id) = ShownId::parse(&id) else {
        return Ok(not_here(&state, &f.site.slug));
    };
    let flow = match f.form.get("flow") {
        Some(text) => Some(FlowId::parse(text).ok_or_else(WebError::expired_flow)?),
        None => None,
    };
    let handoffs = state.signin.handoffs();
    let session = cookies::session(&f.jar);
    if f.form.get(SAVED_FIELD) == Some("yes") {
        handoffs
            .finish(session, ShownKind::BackupCodeSet, &id)
            .await?;
        return Ok(match flow {
            Some(flow) => to_flow_page(paths::AUTHORIZE_CONTINUE, &flow),
            None => see_other(&account_path(&f.site.slug)),
        });
    }
    if !handoffs
        .show_again(session, ShownKind::BackupCodeSet, &id)
        .await?
    {
        return Ok(not_here(&state, &f.site.slug));
    }
    Ok(see_other(&shown_path(&f.site.slug, &id, flow.as_ref())))
}

/// "Save to Text File": the codes of a set still on its one-time page of this session, as
/// `<site>_backup_codes_<login>.txt`. Reads only: the page's entry is left as it was.
async fn codes_download_get(
    State(state): State<AppState>,
    signed: SiteUserSignedIn,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, WebError> {
    if principal_of(&signed).is_none() {
        return Ok(not_a_principal());
    }
    let kept = match ShownId::parse(&id) {
        Some(id) => state
            .signin
            .handoffs()
            .peek(cookies::session(&signed.jar), ShownKind::BackupCodeSet, &id)
            .await?
            .and_then(|(secret, _)| Kept::decode(secret.expose())),
        None => None,
    };
    let Some(kept) = kept else {
        return Ok(not_here(&state, &signed.site.slug));
    };
    let times = times_for(&state, &signed.session).await?;
    let text = codes_text_file(
        &state.settings.product_name,
        (&signed.site.name, &signed.user.login),
        &times.date_time(kept.created_at),
        &kept.codes,
    );
    let name = codes_file_name(&signed.site.slug, &signed.user.login);
    Ok(download::text_attachment(&name, text))
}

fn shown_before(state: &AppState, slug: &str) -> Response {
    let page = ShownOncePage {
        theme: theme(state),
        title: "These backup codes were shown once".to_owned(),
        paragraphs: vec![
            "For your safety we show backup codes only once, so reloading or going back does \
             not show them again."
                .to_owned(),
            "You can see them again on your two-factor page after entering your password."
                .to_owned(),
        ],
        next: Some((account_path(slug), "Go to your two-factor page".to_owned())),
        back_href: account_path(slug),
        back_text: "Back to two-factor authentication".to_owned(),
    };
    no_store(ui::render(page))
}

/// Unknown, expired, another session's or already saved: nothing to show, nothing made.
fn not_here(state: &AppState, slug: &str) -> Response {
    let page = ShownOncePage {
        theme: theme(state),
        title: "There are no backup codes to show here".to_owned(),
        paragraphs: vec![
            "Backup codes are shown for a few minutes, in the browser that asked for them."
                .to_owned(),
        ],
        next: None,
        back_href: account_path(slug),
        back_text: "Back to two-factor authentication".to_owned(),
    };
    no_store(ui::render_with_status(StatusCode::NOT_FOUND, page))
}

// ---- The two-factor page: the password, then "Show Backup Codes" ----

async fn two_factor_page(
    state: &AppState,
    signed: (&lanyard_core::model::Site, &lanyard_core::model::SiteUser),
    session: &lanyard_signin::Session,
    jar: axum_extra::extract::CookieJar,
    error: Option<FieldError>,
) -> Result<Response, WebError> {
    let (site, user) = signed;
    let times = times_for(state, session).await?;
    let set = state
        .mfa
        .backup_code_set_info(user.principal)
        .await?
        .map(|(created_at, unused)| {
            (
                u32::try_from(unused).unwrap_or(u32::MAX),
                times.date_time(created_at),
            )
        });
    let (jar, csrf) = csrf_token(state, jar);
    let status = ui::status_for(error.as_ref());
    let page = SiteTwoFactorPage {
        theme: theme(state),
        site_name: site.name.clone(),
        login: user.login.clone(),
        has_app: state.mfa.has_totp(user.principal).await?,
        set,
        action: account_path(&site.slug),
        csrf,
        error,
        regenerate_href: paths::for_site(paths::SITE_CODES_REGENERATE, &site.slug),
    };
    Ok((jar, no_store(ui::render_with_status(status, page))).into_response())
}

async fn two_factor_get(
    State(state): State<AppState>,
    signed: SiteUserSignedIn,
) -> Result<Response, WebError> {
    if principal_of(&signed).is_none() {
        return Ok(not_a_principal());
    }
    two_factor_page(
        &state,
        (&signed.site, &signed.user),
        &signed.session,
        signed.jar,
        None,
    )
    .await
}

/// The password again (the one gate: S42's counters, S53's limits), then the current set on
/// its one-time page.
async fn two_factor_post(
    State(state): State<AppState>,
    f: SiteUserForm,
) -> Result<Response, WebError> {
    let Some(principal) = principal_of_form(&f) else {
        return Ok(not_a_principal());
    };
    let browser = Browser {
        origin: &f.origin,
        session: cookies::session(&f.jar),
        device: cookies::device(&state, &f.jar),
    };
    let password = f.form.get("password").unwrap_or("");
    let check = state
        .signin
        .check_site_password(&f.site, &f.user.login, password, &browser)
        .await?;
    let problem = match check {
        PasswordCheck::Right(account) if account.id == principal => None,
        PasswordCheck::Right(_) | PasswordCheck::Wrong => {
            Some("The password is not right. Check it and try again.".to_owned())
        }
        PasswordCheck::Missing => Some("Enter your password.".to_owned()),
        PasswordCheck::Throttled { retry_after_secs } => Some(format!(
            "Too many wrong passwords were tried from your network. Try again in {} minute{}.",
            minutes(retry_after_secs),
            if minutes(retry_after_secs) == 1 {
                ""
            } else {
                "s"
            }
        )),
    };
    if let Some(message) = problem {
        let error = Some(FieldError::new("password", message));
        return two_factor_page(&state, (&f.site, &f.user), &f.session, f.jar, error).await;
    }
    let Some(set) = state.mfa.backup_code_set(principal).await? else {
        return Ok(see_other(&account_path(&f.site.slug)));
    };
    let kept = Kept {
        why: SetShown::Again,
        created_at: set.created_at,
        codes: set
            .codes
            .into_iter()
            .map(|c| SetCodeView {
                code: c.code,
                used: c.used,
            })
            .collect(),
    };
    let id = keep(&state, &f.jar, &kept).await?;
    let event = AuditEvent::new(state.clock.now(), "mfa.backup_code_set.shown", "success")
        .subject(principal.to_string());
    state.audit.record(event, &f.origin).await;
    Ok(see_other(&shown_path(&f.site.slug, &id, None)))
}

fn minutes(secs: i64) -> i64 {
    (secs.max(1) + 59) / 60
}

// ---- "Generate new codes": a step-up action ----

async fn regenerate_get(
    State(state): State<AppState>,
    signed: SiteUserSignedIn,
) -> Result<Response, WebError> {
    let Some(principal) = principal_of(&signed) else {
        return Ok(not_a_principal());
    };
    let slug = signed.site.slug.clone();
    let path = paths::for_site(paths::SITE_CODES_REGENERATE, &slug);
    fresh_site_user(
        &state,
        &signed.site,
        &signed.session,
        (signed.caller, &signed.origin),
        &path,
    )
    .await?;
    if !state.mfa.has_totp(principal).await? {
        return Ok(see_other(&account_path(&slug)));
    }
    let (jar, csrf) = csrf_token(&state, signed.jar);
    let page = ConfirmPage {
        theme: theme(&state),
        title: "Generate new backup codes?".to_owned(),
        consequences: vec![
            "All of your current backup codes will stop working at once, including any you \
             printed or saved."
                .to_owned(),
            "We will show the 10 new codes once. Print or save them before you leave the page."
                .to_owned(),
        ],
        action: path,
        csrf,
        button: "Generate new codes".to_owned(),
        cancel_href: account_path(&slug),
    };
    Ok((jar, no_store(ui::render(page))).into_response())
}

async fn regenerate_post(
    State(state): State<AppState>,
    f: SiteUserForm,
) -> Result<Response, WebError> {
    let Some(principal) = principal_of_form(&f) else {
        return Ok(not_a_principal());
    };
    let slug = f.site.slug.clone();
    let path = paths::for_site(paths::SITE_CODES_REGENERATE, &slug);
    fresh_site_user(
        &state,
        &f.site,
        &f.session,
        (crate::kit::Caller::Browser, &f.origin),
        &path,
    )
    .await?;
    if !state.mfa.has_totp(principal).await? {
        return Ok(see_other(&account_path(&slug)));
    }
    let codes = state.mfa.new_backup_code_set(principal, &f.origin).await?;
    let kept = Kept::new_set(SetShown::Regenerated, state.clock.now(), codes);
    let id = keep(&state, &f.jar, &kept).await?;
    Ok(see_other(&shown_path(&slug, &id, None)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_are_said_in_whole_minutes_rounded_up() {
        assert_eq!(minutes(0), 1);
        assert_eq!(minutes(59), 1);
        assert_eq!(minutes(61), 2);
        assert_eq!(minutes(900), 15);
    }
}
