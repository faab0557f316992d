//! The landing page (`/`) and what every unknown address gets: a themed "Page not found" for
//! people, JSON for API callers (the `Accept` rule, docs/http.md).

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum_extra::extract::CookieJar;
use lanyard_issuer::endpoints;

use crate::error::WebError;
use crate::kit::{Caller, cookies, paths, theme};
use crate::state::AppState;
use crate::ui;
use crate::ui::home_pages::HomePage;

pub fn routes() -> Router<AppState> {
    Router::new().route(paths::HOME, get(home_get))
}

async fn home_get(State(state): State<AppState>, jar: CookieJar) -> Result<Response, WebError> {
    let session = state
        .signin
        .sessions()
        .current(cookies::session(&jar))
        .await?;
    let signed_in_as = match session {
        Some(session) => Some(state.accounts.get(session.auth.account_id).await?.email),
        None => None,
    };
    let page = HomePage {
        theme: theme(&state),
        signed_in_as,
        discovery_href: endpoints::DISCOVERY.to_owned(),
        issuer: state.issuer.settings().issuer.clone(),
    };
    // Whether someone is signed in is per browser: never from a shared cache.
    Ok(crate::kit::no_store(ui::render(page)))
}

/// The router's fallback. A `HEAD` or any other method gets the same 404.
pub async fn not_found(method: Method, headers: HeaderMap) -> Response {
    match Caller::of(&method, &headers) {
        Caller::Api => WebError::api(
            StatusCode::NOT_FOUND,
            "not_found",
            "There is no endpoint at this address.",
        ),
        Caller::Browser => WebError::not_found(),
    }
    .into_response()
}
