//! The account page (`/account`): who is signed in, the way to the security settings, and
//! the time zone pages show times in (a preference, so a signed-in session is enough: no
//! step-up, like "sign out everywhere else").

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use lanyard_core::model::Account;
use lanyard_identity::TimeZoneName;

use crate::error::WebError;
use crate::kit::extract::{SignedIn, SignedInForm, ToAccount};
use crate::kit::{Query, csrf_token, no_store, paths, see_other, theme};
use crate::state::AppState;
use crate::ui::home_pages::AccountPage;
use crate::ui::times::Times;
use crate::ui::{self, FieldError};

pub async fn account_get(
    State(state): State<AppState>,
    SignedIn { session, jar, .. }: SignedIn<ToAccount>,
    Query(params): Query,
) -> Result<Response, WebError> {
    let account = state.accounts.get(session.auth.account_id).await?;
    let notice = match params.get("done") {
        Some("time-zone") => Some("Your time zone is saved.".to_owned()),
        Some("email-sent") => Some(
            "We sent a link to your new email address. Your email address changes when you \
             open it."
                .to_owned(),
        ),
        _ => None,
    };
    Ok(account_page(&state, jar, &account, notice, None))
}

pub(super) fn account_page(
    state: &AppState,
    jar: CookieJar,
    account: &Account,
    notice: Option<String>,
    error: Option<FieldError>,
) -> Response {
    let times = Times::for_account(account, state.clock.now());
    let (jar, csrf) = csrf_token(state, jar);
    let status = ui::status_for(error.as_ref());
    let zone = times.zone_name().to_owned();
    let page = AccountPage {
        theme: theme(state),
        csrf,
        email: account.email.clone(),
        notice,
        action: paths::ACCOUNT_TIME_ZONE.to_owned(),
        // After a refused choice nothing is selected, so the list asks again.
        selected: if error.is_some() {
            String::new()
        } else {
            zone.clone()
        },
        zone,
        now_text: times.clock(times.now()),
        zones: TimeZoneName::offered(),
        error,
    };
    (jar, no_store(ui::render_with_status(status, page))).into_response()
}

pub async fn time_zone_post(
    State(state): State<AppState>,
    SignedInForm {
        session, form, jar, ..
    }: SignedInForm<ToAccount>,
) -> Result<Response, WebError> {
    let account_id = session.auth.account_id;
    // Any name the tz database knows (typed or chosen); nothing else is stored, and a
    // refused value is never echoed back.
    let Some(zone) = form.get("time_zone").and_then(TimeZoneName::parse) else {
        let account = state.accounts.get(account_id).await?;
        let error = FieldError::new("time_zone", "Choose a time zone from the list");
        return Ok(account_page(&state, jar, &account, None, Some(error)));
    };
    state.accounts.set_time_zone(account_id, &zone).await?;
    Ok(see_other(&format!("{}?done=time-zone", paths::ACCOUNT)))
}
