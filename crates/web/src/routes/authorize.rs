//! The authorization endpoint (RFC 6749 §3.1) and the point the sign-in and consent pages
//! return to. Errors before the client and redirect URI are trusted are pages, never
//! redirects (RFC 6749 §4.1.2.1).

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum_extra::extract::CookieJar;
use lanyard_core::Origin;
use lanyard_issuer::authorize::{AuthorizeRejection, Next};
use lanyard_issuer::endpoints;

use crate::error::PageError;
use crate::origin::RequestOrigin;
use crate::params::Query;
use crate::routes::login::consent_page;
use crate::session::{Flow, current_session, finish_flow, load_flow, save_flow};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(endpoints::AUTHORIZE, get(authorize_get))
        .route(endpoints::AUTHORIZE_CONTINUE, get(authorize_continue_get))
}

async fn authorize_get(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    jar: CookieJar,
    Query(params): Query,
) -> Result<Response, PageError> {
    let (request, _client) = match state
        .issuer
        .validate_authorization(&params.0, &origin)
        .await
    {
        Ok(validated) => validated,
        Err(AuthorizeRejection::ErrorPage { title, message }) => {
            return Err(PageError::bad_request(title, message));
        }
        Err(AuthorizeRejection::Redirect(location)) => {
            return Ok(redirect(&location, StatusCode::FOUND));
        }
    };
    let flow = Flow::for_request(request);
    proceed(&state, jar, &origin, None, flow, StatusCode::FOUND).await
}

async fn authorize_continue_get(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    jar: CookieJar,
    Query(params): Query,
) -> Result<Response, PageError> {
    let id = params.get("flow").unwrap_or("");
    let flow = load_flow(&state, id)
        .await?
        .ok_or_else(PageError::expired_flow)?;
    proceed(&state, jar, &origin, Some(id), flow, StatusCode::FOUND).await
}

/// Moves a flow one step on: to sign-in, to consent, or back to the client.
pub(crate) async fn proceed(
    state: &AppState,
    jar: CookieJar,
    origin: &Origin,
    flow_id: Option<&str>,
    flow: Flow,
    redirect_status: StatusCode,
) -> Result<Response, PageError> {
    let Some(request) = flow.request.as_ref() else {
        // An account-page sign-in: back to the page that asked.
        if let Some(id) = flow_id {
            finish_flow(state, id).await?;
        }
        let to = flow.return_to.as_deref().unwrap_or(endpoints::ACCOUNT);
        return Ok(redirect(to, StatusCode::SEE_OTHER));
    };
    let session = current_session(state, &jar).await?;
    let next = state
        .issuer
        .next_step(request, session.as_ref(), flow.signed_in, origin)
        .await?;
    match next {
        Next::SignIn => {
            let id = save_flow(
                state,
                flow_id,
                &Flow {
                    signed_in: false,
                    ..flow
                },
            )
            .await?;
            Ok(redirect(
                &format!("{}?flow={id}", endpoints::LOGIN),
                StatusCode::SEE_OTHER,
            ))
        }
        Next::RaiseAssurance => {
            let Some(session) = session else {
                return Err(PageError::expired_flow());
            };
            let id = match flow_id {
                Some(id) => id.to_owned(),
                None => save_flow(state, None, &flow).await?,
            };
            crate::routes::second_step::raise(state, jar, origin, &id, flow, session.account_id)
                .await
        }
        Next::Consent => {
            let id = save_flow(state, flow_id, &flow).await?;
            consent_page(state, jar, &id, &flow).await
        }
        Next::Redirect(location) => {
            if let Some(id) = flow_id {
                finish_flow(state, id).await?;
            }
            Ok(redirect(&location, redirect_status))
        }
    }
}

pub(crate) fn redirect(location: &str, status: StatusCode) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => {
            let mut response = status.into_response();
            response.headers_mut().insert(header::LOCATION, value);
            response
        }
        Err(_) => PageError::bad_request(
            "The app's request can not be completed",
            "The address to return to is not valid. Go back to the app and try again.",
        )
        .into_response(),
    }
}
