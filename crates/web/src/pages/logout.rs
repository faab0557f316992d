//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0). Without a verified hint for
//! this browser's user, the user confirms on a page (a cross-site link must not sign people
//! out); the redirect afterwards goes only to a registered URI.
//!
//! A request the issuer refuses (a bad `id_token_hint`, an unknown client, an unregistered
//! `post_logout_redirect_uri`) still signs out a user who confirms (S47): the confirmation
//! page is shown as usual, and after it the session ends and an error page says why the
//! browser was not sent back to the app. It never redirects.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum_extra::extract::CookieJar;
use lanyard_issuer::endpoints;
use lanyard_issuer::logout::{LogoutPlan, LogoutRejection, LogoutRequest};
use lanyard_signin::SessionFor;

use crate::error::WebError;
use crate::kit::params::{Form, Params, Query};
use crate::kit::{check_csrf, cookies, csrf_token, paths, redirect, theme};
use crate::state::AppState;
use crate::ui::{self, LogoutPage, SignedOutPage};

pub fn routes() -> Router<AppState> {
    Router::new().route(endpoints::LOGOUT, get(logout_get).post(logout_post))
}

const FORWARDED: [&str; 4] = [
    "id_token_hint",
    "post_logout_redirect_uri",
    "client_id",
    "state",
];

fn request_from(params: &Params) -> LogoutRequest {
    let get = |n: &str| params.get_nonempty(n).map(str::to_owned);
    LogoutRequest {
        id_token_hint: get("id_token_hint"),
        post_logout_redirect_uri: get("post_logout_redirect_uri"),
        client_id: get("client_id"),
        state: get("state"),
    }
}

/// The answer to a refused request once nobody is signed in in this browser (any more):
/// signed out, and not sent anywhere (S47).
fn signed_out_without_redirect(rejection: LogoutRejection) -> WebError {
    let message = match rejection {
        LogoutRejection::InvalidHint => {
            "The app's sign-out request could not be verified, so you were not sent back to it."
        }
        LogoutRejection::UnknownClient | LogoutRejection::ClientMismatch => {
            "The app that sent you here is not known to this service, so you were not sent back \
             to it."
        }
        LogoutRejection::UnregisteredRedirect => {
            "The app asked to send you to an address it has not registered, so you were not sent \
             there."
        }
    };
    WebError::bad_request("You are signed out", message)
}

async fn logout_get(
    State(state): State<AppState>,
    jar: CookieJar,
    Query(params): Query,
) -> Result<Response, WebError> {
    let req = request_from(&params);
    let planned = state.issuer.plan_logout(&req).await;
    // Anyone's session, a site user's principal too: a cross-site link must not end it
    // without a confirmation either.
    let session = state
        .signin
        .sessions()
        .current_for(cookies::session(&jar), SessionFor::SignOut)
        .await?
        .map(|s| s.auth);
    // A refused request signs nobody out by itself: a signed-in user confirms first (the
    // link may be cross-site), and the error is shown after that.
    let plan = match planned {
        Ok(plan) => Some(plan),
        Err(rejection) if session.is_none() => return Err(signed_out_without_redirect(rejection)),
        Err(_) => None,
    };
    if let Some(plan) = &plan {
        let hint_matches = match &session {
            Some(s) => state.issuer.hint_names(plan, s.account_id).await,
            None => true,
        };
        if hint_matches {
            return finish(&state, jar, plan.clone()).await;
        }
    }
    let (jar, csrf) = csrf_token(&state, jar);
    let hidden = FORWARDED
        .iter()
        .filter_map(|n| {
            params
                .get_nonempty(n)
                .map(|v| ((*n).to_owned(), v.to_owned()))
        })
        .collect();
    let page = LogoutPage {
        theme: theme(&state),
        action: endpoints::LOGOUT.to_owned(),
        csrf,
        hidden,
        client_name: plan
            .as_ref()
            .and_then(|p| p.client.as_ref())
            .map(|c| c.name.clone()),
        cancel_href: paths::ACCOUNT.to_owned(),
    };
    Ok((jar, ui::render(page)).into_response())
}

async fn logout_post(
    State(state): State<AppState>,
    jar: CookieJar,
    Form(form): Form,
) -> Result<Response, WebError> {
    check_csrf(&state, &jar, &form)?;
    match state.issuer.plan_logout(&request_from(&form)).await {
        Ok(plan) => finish(&state, jar, plan).await,
        // The user confirmed: signed out all the same, and told why nothing redirects (S47).
        Err(rejection) => {
            state.signin.sessions().end(cookies::session(&jar)).await?;
            let jar = cookies::remove_session(jar);
            Ok((jar, signed_out_without_redirect(rejection)).into_response())
        }
    }
}

async fn finish(state: &AppState, jar: CookieJar, plan: LogoutPlan) -> Result<Response, WebError> {
    let sessions = state.signin.sessions();
    let session = sessions
        .current_for(cookies::session(&jar), SessionFor::SignOut)
        .await?;
    sessions.end(cookies::session(&jar)).await?;
    let jar = cookies::remove_session(jar);
    // A session an organization's provider started ends there too when it asks (the
    // provider sends the browser back to `/federation/<org>/logged-out`, then on).
    if let Some(session) = session
        && let Some(upstream) = state
            .signin
            .upstream_end_session(&session, plan.redirect.as_deref())
            .await?
    {
        return Ok((jar, redirect(&upstream, StatusCode::SEE_OTHER)).into_response());
    }
    let response = match plan.redirect {
        Some(location) => redirect(&location, StatusCode::SEE_OTHER),
        None => signed_out_page(state, &jar),
    };
    Ok((jar, response).into_response())
}

/// "You are signed out", with a way to sign in again.
pub fn signed_out_page(state: &AppState, jar: &CookieJar) -> Response {
    ui::render(SignedOutPage {
        theme: theme(state),
        continue_href: None,
        sign_in_href: cookies::restart_in(jar).unwrap_or_else(|| paths::ACCOUNT.to_owned()),
    })
}
