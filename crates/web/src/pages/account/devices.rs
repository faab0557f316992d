//! Trusted devices on the account pages: remove one, remove all — each asks first and says
//! what follows (issue 12 item 8), then acts on a POST and redirects with a notice naming
//! what it removed (item 6).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use lanyard_core::model::{DeviceId, TrustedDevice};

use crate::error::WebError;
use crate::kit::extract::{Fresh, FreshForm, ToDevicesRevokeAll, ToSecurity};
use crate::kit::guard::fresh;
use crate::kit::notice::{self, Notice};
use crate::kit::{Caller, RequestOrigin, cookies, csrf_token, no_store, paths, see_other, theme};
use crate::state::AppState;
use crate::ui;
use crate::ui::account_pages::ConfirmPage;

fn parse_device(id: &str) -> Option<DeviceId> {
    uuid::Uuid::parse_str(id).ok().map(DeviceId)
}

fn device_missing() -> WebError {
    WebError::page(
        StatusCode::NOT_FOUND,
        "That device is not in your list",
        "It may have been removed already. Go back to your security page.",
    )
}

/// The account's live device with this id, and whether it is the browser asking.
async fn find_device(
    state: &AppState,
    jar: &axum_extra::extract::CookieJar,
    account: lanyard_core::AccountId,
    id: &str,
) -> Result<(TrustedDevice, bool), WebError> {
    let id = parse_device(id).ok_or_else(device_missing)?;
    let device = state
        .mfa
        .trusted_devices(account)
        .await?
        .into_iter()
        .find(|d| d.id == id)
        .ok_or_else(device_missing)?;
    let this = state
        .mfa
        .this_device(account, cookies::device(state, jar))
        .await?
        == Some(device.id);
    Ok((device, this))
}

pub async fn device_revoke_get(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    jar: axum_extra::extract::CookieJar,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let here = paths::ACCOUNT_DEVICE_REVOKE.replace("{id}", &id);
    let return_to = if parse_device(&id).is_some() {
        here.as_str()
    } else {
        paths::ACCOUNT_SECURITY
    };
    let session = fresh(&state, &jar, Caller::Browser, &origin, return_to).await?;
    let (device, this) = find_device(&state, &jar, session.auth.account_id, &id).await?;
    let mut consequences = vec![if this {
        "This is the browser you are using now. The next time you sign in here, we will ask \
         for a code again."
            .to_owned()
    } else {
        "The next time someone signs in to your account on that browser, we will ask for a \
         code again."
            .to_owned()
    }];
    consequences.push("You stay signed in where you are signed in now.".to_owned());
    let (jar, csrf) = csrf_token(&state, jar);
    let page = ConfirmPage {
        theme: theme(&state),
        title: format!("Remove \u{2018}{}\u{2019}?", device.label),
        consequences,
        action: here,
        csrf,
        button: "Remove this device".to_owned(),
        cancel_href: paths::ACCOUNT_SECURITY.to_owned(),
    };
    Ok((jar, no_store(ui::render(page))).into_response())
}

pub async fn device_revoke_post(
    State(state): State<AppState>,
    Path(id): Path<String>,
    FreshForm {
        session,
        origin,
        jar,
        ..
    }: FreshForm<ToSecurity>,
) -> Result<Response, WebError> {
    let (device, this) = find_device(&state, &jar, session.auth.account_id, &id).await?;
    if !state
        .mfa
        .revoke_device(session.auth.account_id, device.id, &origin)
        .await?
    {
        return Err(device_missing());
    }
    let done = Notice::DeviceRemoved {
        label: device.label,
        this_device: this,
    };
    notice::leave(&state, &jar, done).await?;
    Ok(see_other(paths::ACCOUNT_SECURITY))
}

pub async fn devices_revoke_all_get(
    State(state): State<AppState>,
    Fresh { session, jar, .. }: Fresh<ToDevicesRevokeAll>,
) -> Result<Response, WebError> {
    let count = state
        .mfa
        .trusted_devices(session.auth.account_id)
        .await?
        .len();
    if count == 0 {
        return Ok(see_other(paths::ACCOUNT_SECURITY));
    }
    let (jar, csrf) = csrf_token(&state, jar);
    let devices = if count == 1 {
        "your 1 trusted device".to_owned()
    } else {
        format!("all {count} trusted devices")
    };
    let page = ConfirmPage {
        theme: theme(&state),
        title: "Remove all trusted devices?".to_owned(),
        consequences: vec![
            format!(
                "We will ask for a code again the next time you sign in on {devices}, this \
                 browser included if it is one of them."
            ),
            "You stay signed in where you are signed in now.".to_owned(),
        ],
        action: paths::ACCOUNT_DEVICES_REVOKE_ALL.to_owned(),
        csrf,
        button: "Remove all trusted devices".to_owned(),
        cancel_href: paths::ACCOUNT_SECURITY.to_owned(),
    };
    Ok((jar, no_store(ui::render(page))).into_response())
}

pub async fn devices_revoke_all_post(
    State(state): State<AppState>,
    FreshForm {
        session,
        origin,
        jar,
        ..
    }: FreshForm<ToSecurity>,
) -> Result<Response, WebError> {
    let count = state
        .mfa
        .revoke_all_devices(session.auth.account_id, &origin)
        .await?;
    notice::leave(&state, &jar, Notice::DevicesRemoved { count }).await?;
    Ok(see_other(paths::ACCOUNT_SECURITY))
}
