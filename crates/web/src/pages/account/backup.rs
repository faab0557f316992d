//! The backup code on the account pages: "Generate a new backup code" asks first (the old
//! code stops working), then makes one and redirects to its one-time page (Post/Redirect/
//! Get: a reload makes nothing). The page shows the code once; a missed "I saved my backup
//! code" tick shows the same code again with the error (issue 12 items 5, 6, 8).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use lanyard_signin::{Showing, ShownId, ShownKind};

use crate::error::WebError;
use crate::kit::extract::{
    Fresh, FreshForm, SignedIn, SignedInForm, ToBackupRegenerate, ToSecurity,
};
use crate::kit::notice::{self, Notice};
use crate::kit::{cookies, csrf_token, no_store, paths, see_other, theme, times_for};
use crate::state::AppState;
use crate::ui::account_pages::{ConfirmPage, ShownOncePage};
use crate::ui::mfa_pages::BackupCodePage;
use crate::ui::{self, FieldError};

const SHOWN_FIELD: &str = "shown";

fn shown_path(id: &ShownId) -> String {
    paths::ACCOUNT_BACKUP_SHOWN.replace("{id}", id.as_str())
}

pub async fn backup_regenerate_get(
    State(state): State<AppState>,
    Fresh { session, jar, .. }: Fresh<ToBackupRegenerate>,
) -> Result<Response, WebError> {
    let has_code = state
        .mfa
        .backup_code_info(session.auth.account_id)
        .await?
        .is_some();
    let (jar, csrf) = csrf_token(&state, jar);
    let mut consequences = Vec::new();
    if has_code {
        consequences.push(
            "Your current backup code will stop working at once, including any copy you saved \
             or downloaded."
                .to_owned(),
        );
    }
    consequences.push(
        "We will show the new code once. Save it somewhere safe before you leave the page."
            .to_owned(),
    );
    let page = ConfirmPage {
        theme: theme(&state),
        title: "Generate a new backup code?".to_owned(),
        consequences,
        action: paths::ACCOUNT_BACKUP_REGENERATE.to_owned(),
        csrf,
        button: "Generate a new backup code".to_owned(),
        cancel_href: paths::ACCOUNT_SECURITY.to_owned(),
    };
    Ok((jar, no_store(ui::render(page))).into_response())
}

pub async fn backup_regenerate_post(
    State(state): State<AppState>,
    FreshForm {
        session,
        origin,
        jar,
        ..
    }: FreshForm<ToSecurity>,
) -> Result<Response, WebError> {
    let code = state
        .mfa
        .issue_backup_code(session.auth.account_id, &origin)
        .await?;
    let id = state
        .signin
        .handoffs()
        .keep(
            cookies::session(&jar),
            ShownKind::BackupCode,
            "backup code",
            &code,
        )
        .await?;
    Ok(see_other(&shown_path(&id)))
}

pub async fn backup_shown_get(
    State(state): State<AppState>,
    SignedIn { jar, session, .. }: SignedIn<ToSecurity>,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let times = times_for(&state, &session).await?;
    let showing = match ShownId::parse(&id) {
        Some(id) => state
            .signin
            .handoffs()
            .show(cookies::session(&jar), ShownKind::BackupCode, &id)
            .await?
            .map(|showing| (id, showing)),
        None => None,
    };
    let Some((id, showing)) = showing else {
        return Ok(not_here(&state));
    };
    match showing {
        Showing::Secret {
            secret,
            again,
            created_at,
            ..
        } => {
            let (jar, csrf) = csrf_token(&state, jar);
            let error = again.then(|| {
                FieldError::new(
                    "saved",
                    "Save this backup code, then tick \"I saved my backup code\". It is the same \
                     code as before.",
                )
            });
            let status = ui::status_for(error.as_ref());
            let page = BackupCodePage {
                theme: theme(&state),
                action: paths::ACCOUNT_BACKUP_SAVED.to_owned(),
                csrf,
                hidden: vec![(SHOWN_FIELD.to_owned(), id.as_str().to_owned())],
                code: secret.expose().to_owned(),
                generated_text: times.date_time(created_at),
                first_time: false,
                replaced_used: false,
                error,
            };
            Ok((jar, no_store(ui::render_with_status(status, page))).into_response())
        }
        Showing::ShownBefore { .. } => {
            let page = ShownOncePage {
                theme: theme(&state),
                title: "This backup code was shown once".to_owned(),
                paragraphs: vec![
                    "For your safety we show a new backup code only once, so reloading or going \
                     back does not show it again."
                        .to_owned(),
                    "If you did not save it, generate a new one: the code you did not save will \
                     stop working."
                        .to_owned(),
                ],
                next: Some((
                    paths::ACCOUNT_BACKUP_REGENERATE.to_owned(),
                    "Generate a new backup code".to_owned(),
                )),
                back_href: paths::ACCOUNT_SECURITY.to_owned(),
                back_text: "Back to security".to_owned(),
            };
            Ok(no_store(ui::render(page)))
        }
    }
}

/// Unknown, expired, another session's or already finished: nothing to show, nothing made.
fn not_here(state: &AppState) -> Response {
    let page = ShownOncePage {
        theme: theme(state),
        title: "There is no backup code to show here".to_owned(),
        paragraphs: vec![
            "A new backup code is shown once, for a few minutes, in the browser that made it."
                .to_owned(),
        ],
        next: None,
        back_href: paths::ACCOUNT_SECURITY.to_owned(),
        back_text: "Back to security".to_owned(),
    };
    no_store(ui::render_with_status(StatusCode::NOT_FOUND, page))
}

/// "I saved my backup code": with the tick the one-time entry is gone and the security page
/// says so; without it the same code shows again with the error. Nothing is issued here, so
/// a signed-in session is enough.
pub async fn backup_saved_post(
    State(state): State<AppState>,
    SignedInForm { form, jar, .. }: SignedInForm<ToSecurity>,
) -> Result<Response, WebError> {
    let Some(id) = form.get(SHOWN_FIELD).and_then(ShownId::parse) else {
        return Err(WebError::bad_request(
            "The form could not be read",
            "Go back to your security page and try again.",
        ));
    };
    let handoffs = state.signin.handoffs();
    let session = cookies::session(&jar);
    if form.get("saved") == Some("yes") {
        if handoffs
            .finish(session, ShownKind::BackupCode, &id)
            .await?
            .is_some()
        {
            notice::leave(&state, &jar, Notice::BackupCodeSaved).await?;
        }
        return Ok(see_other(paths::ACCOUNT_SECURITY));
    }
    handoffs
        .show_again(session, ShownKind::BackupCode, &id)
        .await?;
    Ok(see_other(&shown_path(&id)))
}
