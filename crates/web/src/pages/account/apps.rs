//! Connected applications (F3): the clients the account consented to or that hold its
//! refresh grants, what each may do, and "Disconnect", which forgets the consent and revokes
//! the grants (`Issuer::disconnect`). Protective, so a signed-in session is enough.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use lanyard_core::{ClientId, Origin};

use crate::error::WebError;
use crate::kit::extract::{SignedIn, SignedInForm, ToApps};
use crate::kit::guard::signed_in;
use crate::kit::{
    Caller, Query, RequestOrigin, check_api_csrf, csrf_token, no_store, paths, see_other, theme,
};
use crate::state::AppState;
use crate::ui::privacy_pages::{AppView, AppsPage};
use crate::ui::times::Times;
use crate::ui::{self, describe_scope};

pub async fn apps_get(
    State(state): State<AppState>,
    SignedIn { session, jar, .. }: SignedIn<ToApps>,
    Query(params): Query,
) -> Result<Response, WebError> {
    let account = state.accounts.get(session.auth.account_id).await?;
    let times = Times::for_account(&account, state.clock.now());
    let apps = state
        .issuer
        .connected_apps(account.id)
        .await?
        .into_iter()
        .map(|app| AppView {
            client_id: app.client.id.as_str().to_owned(),
            name: app.client.name.clone(),
            since_text: match (app.consented_at, app.last_granted_at) {
                (Some(at), _) => format!("Allowed {}", times.date_time(at)),
                (None, Some(at)) => format!("Signed in {}", times.date_time(at)),
                (None, None) => String::new(),
            },
            scopes: app.scopes.iter().map(|s| describe_scope(s)).collect(),
        })
        .collect();
    let notice = match params.get("done") {
        Some("disconnected") => Some("The application is disconnected.".to_owned()),
        Some("gone") => Some("That application was not connected.".to_owned()),
        _ => None,
    };
    let (jar, csrf) = csrf_token(&state, jar);
    let page = AppsPage {
        theme: theme(&state),
        csrf,
        email: account.email,
        apps,
        disconnect_action: paths::ACCOUNT_APPS_DISCONNECT.to_owned(),
        notice,
    };
    Ok((jar, no_store(ui::render(page))).into_response())
}

async fn disconnect(
    state: &AppState,
    account: lanyard_core::AccountId,
    client: &str,
    origin: &Origin,
) -> Result<bool, WebError> {
    let Some(client) = ClientId::parse(client) else {
        return Ok(false);
    };
    Ok(state.issuer.disconnect(account, &client, origin).await?)
}

pub async fn disconnect_post(
    State(state): State<AppState>,
    SignedInForm {
        session,
        form,
        origin,
        ..
    }: SignedInForm<ToApps>,
) -> Result<Response, WebError> {
    let client = form.get("client_id").unwrap_or("");
    let done = if disconnect(&state, session.auth.account_id, client, &origin).await? {
        "disconnected"
    } else {
        "gone"
    };
    Ok(see_other(&format!("{}?done={done}", paths::ACCOUNT_APPS)))
}

pub async fn disconnect_delete(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    jar: CookieJar,
    Path(client): Path<String>,
) -> Result<Response, WebError> {
    check_api_csrf(&state, &jar, &headers)?;
    let session = signed_in(&state, &jar, Caller::Api, paths::ACCOUNT_APPS).await?;
    if disconnect(&state, session.auth.account_id, &client, &origin).await? {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(WebError::status(StatusCode::NOT_FOUND))
    }
}
