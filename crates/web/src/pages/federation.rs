//! Where an organization's identity provider comes back (G2): the browser's callback, and
//! its server's back-channel logout (OIDC Back-Channel Logout 1.0 §2.5). The checks and
//! what they decide live in the sign-in service; this maps requests and answers.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use lanyard_signin::UpstreamAnswer;
use lanyard_signin::federated::LogoutRefusal;

use crate::error::WebError;
use crate::kit::extract::SignInPage;
use crate::kit::params::{ProtocolForm, Query};
use crate::kit::{cookies, paths};
use crate::state::AppState;
use crate::ui::signin::{After, respond};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(paths::FEDERATION_CALLBACK, get(callback))
        .route(
            paths::FEDERATION_BACKCHANNEL_LOGOUT,
            post(backchannel_logout),
        )
        .route(paths::FEDERATION_LOGGED_OUT, get(logged_out))
}

/// Back from the upstream's sign-out: on to where ours was going.
async fn logged_out(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(query): Query,
    jar: axum_extra::extract::CookieJar,
) -> Result<Response, WebError> {
    slug_of(&slug)?;
    Ok(
        match state.signin.after_upstream_end_session(query.get("state")) {
            Some(location) => crate::kit::redirect(&location, StatusCode::SEE_OTHER),
            None => crate::pages::logout::signed_out_page(&state, &jar),
        },
    )
}

/// An organization slug as routes carry it; anything else is no organization.
fn slug_of(slug: &str) -> Result<&str, WebError> {
    let ok = (2..=63).contains(&slug.len())
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(slug)
    } else {
        Err(WebError::not_found())
    }
}

async fn callback(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(query): Query,
    page: SignInPage,
) -> Result<Response, WebError> {
    let slug = slug_of(&slug)?;
    let answer = UpstreamAnswer {
        state: query.get("state"),
        code: query.get_nonempty("code"),
        iss: query.get("iss"),
        error: query.get_nonempty("error"),
    };
    let binder = cookies::federation(&page.jar).map(str::to_owned);
    let next = state
        .signin
        .finish_upstream(slug, answer, binder.as_deref(), &page.browser())
        .await;
    let mut response = match next {
        // The round trip is spent, and the binding with it.
        Ok(next) => respond(
            &state,
            cookies::remove_federation(page.jar),
            next,
            After::Get,
        ),
        // A callback that matched nothing spent nothing: the binding stays for the real one.
        Err(e) => WebError::from(e).into_response(),
    };
    // The callback's URL holds a code: not to be kept or passed on.
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    Ok(response)
}

/// §2.8: 200 when the logout was done (or named nothing of ours), 400 for a token we
/// refuse; never a page, never cached.
async fn backchannel_logout(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    page: SignInPage,
    ProtocolForm(form): ProtocolForm,
) -> Result<Response, WebError> {
    let slug = slug_of(&slug)?;
    let Some(token) = form.get_nonempty("logout_token") else {
        return Ok(refusal("logout_token is required"));
    };
    let result = state
        .signin
        .upstream_logout(slug, token, &page.origin)
        .await?;
    Ok(match result {
        Ok(_) => {
            let mut response = StatusCode::OK.into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(LogoutRefusal::Invalid) => refusal("the logout token is not valid"),
        Err(LogoutRefusal::Replayed) => refusal("the logout token was already used"),
        Err(LogoutRefusal::NoConnection) => refusal("no identity provider for this organization"),
    })
}

fn refusal(description: &'static str) -> Response {
    let body = serde_json::json!({ "error": "invalid_request", "error_description": description });
    let mut response = (StatusCode::BAD_REQUEST, axum::Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
