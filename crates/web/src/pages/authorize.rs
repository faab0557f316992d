//! The authorization endpoint (RFC 6749 §3.1), the point the sign-in pages return to, and
//! the consent page. Errors before the client and redirect URI are trusted are pages, never
//! redirects (RFC 6749 §4.1.2.1).
//!
//! The endpoint takes GET and a form-encoded POST (OIDC Core §3.1.2.1), validated alike.
//! A POST comes from the client's site, so it carries no CSRF token (none could exist) and,
//! being a cross-site POST, none of our `SameSite=Lax` cookies: a valid POST request is kept
//! in a new flow and the browser sent on with a 303 to `GET /authorize/continue`, a
//! top-level navigation on which the session cookie is sent, and which continues exactly as
//! a GET would have.

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum_extra::extract::CookieJar;
use lanyard_issuer::authorize::{AuthorizeRejection, Next as IssuerNext, Untrusted};
use lanyard_issuer::endpoints;
use lanyard_signin::{Flow, FlowId, SiteAccess};

use crate::error::WebError;
use crate::kit::extract::{FlowForm, FlowPage, SignInPage};
use crate::kit::{Form, Query, cookies, csrf_token, paths, redirect, see_other, theme};
use crate::state::AppState;
use crate::ui::signin::{After, hidden_flow, respond};
use crate::ui::site_pages::SiteNoAccessPage;
use crate::ui::{self, ConsentPage, describe_scope};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            endpoints::AUTHORIZE,
            get(authorize_get).post(authorize_post),
        )
        .route(paths::AUTHORIZE_CONTINUE, get(authorize_continue_get))
        .route(paths::CONSENT, post(consent_post))
}

async fn authorize_get(
    State(state): State<AppState>,
    page: SignInPage,
    Query(params): Query,
) -> Result<Response, WebError> {
    let (request, _client) = match state
        .issuer
        .validate_authorization(&params.0, &page.origin)
        .await
    {
        Ok(validated) => validated,
        Err(AuthorizeRejection::Untrusted(why)) => return Err(untrusted(why)),
        Err(AuthorizeRejection::Redirect(location)) => {
            return Ok(redirect(&location, StatusCode::FOUND));
        }
    };
    let restart = cookies::restart_href(&params.0);
    proceed(
        &state,
        page,
        None,
        Flow::for_request(request),
        (StatusCode::FOUND, restart),
    )
    .await
}

async fn authorize_post(
    State(state): State<AppState>,
    page: SignInPage,
    uri: Uri,
    Form(params): Form,
) -> Result<Response, WebError> {
    // Parameters in two places could say two things (S52): the body only.
    if uri.query().is_some_and(|q| !q.is_empty()) {
        return Err(WebError::bad_request(
            "The app's request can not be completed",
            "The app sent its request in two places at once. Go back to the app and try again, or contact its support.",
        ));
    }
    let (request, _client) = match state
        .issuer
        .validate_authorization(&params.0, &page.origin)
        .await
    {
        Ok(validated) => validated,
        Err(AuthorizeRejection::Untrusted(why)) => return Err(untrusted(why)),
        // 303: the client's redirect URI is fetched with GET, whatever method brought us here.
        Err(AuthorizeRejection::Redirect(location)) => {
            return Ok(redirect(&location, StatusCode::SEE_OTHER));
        }
    };
    let id = state
        .signin
        .flows()
        .create(&Flow::for_request(request))
        .await?;
    let to_continue = see_other(&format!(
        "{}?flow={}",
        paths::AUTHORIZE_CONTINUE,
        id.as_str()
    ));
    // Started again, the request comes as a GET with the same parameters (OIDC Core §3.1.2.1).
    let jar = match cookies::restart_href(&params.0) {
        Some(href) => cookies::set_restart(&state, page.jar, href),
        None => page.jar,
    };
    Ok((jar, to_continue).into_response())
}

async fn authorize_continue_get(
    State(state): State<AppState>,
    p: FlowPage,
) -> Result<Response, WebError> {
    let flow = state.signin.flows().get(&p.flow).await?;
    proceed(
        &state,
        p.page,
        Some(p.flow),
        flow,
        (StatusCode::FOUND, None),
    )
    .await
}

/// The page for a request that can not be tied to a client and its redirect URI.
fn untrusted(why: Untrusted) -> WebError {
    let (title, message) = match why {
        Untrusted::MissingClientId => (
            "The app's request is incomplete",
            "The link you followed does not say which app it is for. Go back to the app and try again.",
        ),
        Untrusted::UnknownClient => (
            "Unknown app",
            "The app that sent you here is not registered with this service. Go back to the app and try again, or contact its support.",
        ),
        Untrusted::ClientLookupFailed => {
            return WebError::internal(true, "client registry unavailable at /authorize");
        }
        Untrusted::RedirectUriNotRegistered => (
            "The app's request can not be completed",
            "The app asked to send you to an address it has not registered. Go back to the app and try again, or contact its support.",
        ),
        Untrusted::MissingRedirectUri => (
            "The app's request is incomplete",
            "The app did not say where to send you back to. Go back to the app and try again.",
        ),
        Untrusted::ResponseModeNotSupported => (
            "The app's request can not be completed",
            "The app asked for its answer in a form this service does not send. Go back to the app and try again, or contact its support.",
        ),
    };
    WebError::bad_request(title, message)
}

/// Moves a flow one step on: to sign-in, to consent, or back to the client. `restart` is
/// the request's address to keep for starting again (`cookies::set_restart`), when it came
/// straight from the app.
async fn proceed(
    state: &AppState,
    page: SignInPage,
    id: Option<FlowId>,
    flow: Flow,
    (redirect_status, restart): (StatusCode, Option<String>),
) -> Result<Response, WebError> {
    let flows = state.signin.flows();
    let Some(request) = flow.request.as_ref() else {
        // An account-page sign-in: back to the page that asked.
        if let Some(id) = &id {
            flows.finish(id).await?;
        }
        return Ok(see_other(
            flow.return_to.as_deref().unwrap_or(paths::ACCOUNT),
        ));
    };
    let sessions = state.signin.sessions();
    let cookie = cookies::session(&page.jar);
    let site = state.signin.site_for_client(&request.client_id).await?;
    let session = match session_for(state, &page, site.as_ref()).await? {
        ForRequest::Session(auth) => Some(auth),
        ForRequest::Nobody => None,
        // Signed in, but not as a user of this site: unless the app wants no page at all,
        // say so (no code is issued).
        ForRequest::NoAccess(_) if request.prompt.none => None,
        ForRequest::NoAccess(account) => {
            let site = site.as_ref().ok_or_else(WebError::expired_flow)?;
            let id = saved(state, id.as_ref(), &flow).await?;
            return no_access_page(state, site, &id, account).await;
        }
    };
    // The session's `sid` goes into the code (and so the ID token), and the client is
    // recorded against it for back-channel logout.
    let sid = session.as_ref().and_then(|_| sessions.sid(cookie));
    let next = state
        .issuer
        .next_step(
            request,
            session.as_ref(),
            sid.as_deref(),
            flow.signed_in,
            &page.origin,
        )
        .await?;
    // Until the app has its answer, an expired sign-in can start again from its request.
    let keep_restart = |response: Response| match restart {
        Some(href) => (
            cookies::set_restart(state, CookieJar::new(), href),
            response,
        )
            .into_response(),
        None => response,
    };
    match next {
        IssuerNext::SignIn => {
            let flow = Flow {
                signed_in: false,
                ..flow
            };
            let id = saved(state, id.as_ref(), &flow).await?;
            // A site that still has its own login signs its users in there (C2, F2).
            let login = match &site {
                Some(site) if site.state.allows_legacy_login() => {
                    paths::for_site(paths::SITE_LOGIN, &site.slug)
                }
                _ => paths::LOGIN.to_owned(),
            };
            let to_login = see_other(&format!("{login}?flow={}", id.as_str()));
            Ok(keep_restart(to_login))
        }
        IssuerNext::RaiseAssurance => {
            let session = session.ok_or_else(WebError::expired_flow)?;
            let id = saved(state, id.as_ref(), &flow).await?;
            let next = state
                .signin
                .raise_assurance(&id, session.account_id, &page.browser())
                .await?;
            Ok(keep_restart(respond(state, page.jar, next, After::Post)))
        }
        IssuerNext::Consent => {
            let id = saved(state, id.as_ref(), &flow).await?;
            let account = session.as_ref().map(|s| s.account_id);
            Ok(keep_restart(
                consent_page(state, page.jar, &id, &flow, account).await?,
            ))
        }
        IssuerNext::Redirect(location) => {
            if let Some(id) = &id {
                flows.finish(id).await?;
            }
            let jar = cookies::remove_restart(page.jar);
            Ok((jar, redirect(&location, redirect_status)).into_response())
        }
    }
}

/// Stores the flow under its id, or under a new one when it has none yet.
async fn saved(state: &AppState, id: Option<&FlowId>, flow: &Flow) -> Result<FlowId, WebError> {
    let flows = state.signin.flows();
    Ok(match id {
        Some(id) => {
            flows.save(id, flow).await?;
            id.clone()
        }
        None => flows.create(flow).await?,
    })
}

async fn consent_page(
    state: &AppState,
    jar: CookieJar,
    id: &FlowId,
    flow: &Flow,
    account: Option<lanyard_core::AccountId>,
) -> Result<Response, WebError> {
    let request = flow.request.as_ref().ok_or_else(WebError::expired_flow)?;
    let client = state
        .issuer
        .clients()
        .find(&request.client_id)
        .await
        .map_err(lanyard_issuer::OAuthError::from)?
        .ok_or_else(WebError::expired_flow)?;
    // Consent follows sign-in, so there is an account: the page names it ("Not you?").
    let account_id = account.ok_or_else(WebError::expired_flow)?;
    let email = state.accounts.get(account_id).await?.email;
    let (jar, csrf) = csrf_token(state, jar);
    let page = ConsentPage {
        theme: theme(state),
        action: paths::CONSENT.to_owned(),
        csrf,
        hidden: hidden_flow(id),
        client_name: client.name.clone(),
        scopes: request.scope.iter().map(describe_scope).collect(),
        account_email: email,
        sign_out_href: endpoints::LOGOUT.to_owned(),
    };
    Ok((jar, ui::render(page)).into_response())
}

async fn consent_post(
    State(state): State<AppState>,
    FlowForm {
        flow: id,
        form,
        page,
    }: FlowForm,
) -> Result<Response, WebError> {
    let mut flow = state.signin.flows().get(&id).await?;
    let mut request = flow.request.take().ok_or_else(WebError::expired_flow)?;
    let site = state.signin.site_for_client(&request.client_id).await?;
    let ForRequest::Session(auth) = session_for(&state, &page, site.as_ref()).await? else {
        // Nobody (who counts for this app) is signed in any more: the app's request again.
        flow.request = Some(request);
        return proceed(&state, page, Some(id), flow, (StatusCode::SEE_OTHER, None)).await;
    };
    match form.get("decision") {
        Some("allow") => {
            state
                .issuer
                .grant_consent(&request, &auth, &page.origin)
                .await?;
            // `prompt=consent` is now satisfied for this flow.
            request.prompt.consent = false;
            flow.request = Some(request);
            proceed(&state, page, Some(id), flow, (StatusCode::SEE_OTHER, None)).await
        }
        Some("deny") => {
            state.signin.flows().finish(&id).await?;
            let jar = cookies::remove_restart(page.jar);
            Ok((jar, see_other(&state.issuer.deny(&request))).into_response())
        }
        _ => Err(WebError::bad_request(
            "Choose an answer",
            "Go back and choose whether to allow or deny the app.",
        )),
    }
}

/// Who this browser is for the app's client.
enum ForRequest {
    /// A session that counts for the client: a person for a client of no site; for a site's
    /// client, its user's principal or a linked identity account (`SignInService::site_access`).
    Session(lanyard_core::model::Authenticated),
    Nobody,
    /// A person is signed in whose account has no user on the client's site.
    NoAccess(lanyard_core::AccountId),
}

async fn session_for(
    state: &AppState,
    page: &SignInPage,
    site: Option<&lanyard_core::model::Site>,
) -> Result<ForRequest, WebError> {
    let cookie = cookies::session(&page.jar);
    let Some(site) = site else {
        let session = state.signin.sessions().current(cookie).await?;
        return Ok(session.map_or(ForRequest::Nobody, |s| ForRequest::Session(s.auth)));
    };
    Ok(
        match state.signin.site_access(cookie, site, &page.origin).await? {
            SiteAccess::Granted { session, .. } => ForRequest::Session(session.auth),
            SiteAccess::SignIn => ForRequest::Nobody,
            SiteAccess::NoAccess { session } => ForRequest::NoAccess(session.auth.account_id),
        },
    )
}

/// 403: the signed-in identity account is no user of the site. The ways on: the site's own
/// login for this request while there is one, or signing out.
async fn no_access_page(
    state: &AppState,
    site: &lanyard_core::model::Site,
    id: &FlowId,
    account: lanyard_core::AccountId,
) -> Result<Response, WebError> {
    let email = state.accounts.get(account).await?.email;
    let page = SiteNoAccessPage {
        theme: theme(state),
        site_name: site.name.clone(),
        account_email: email,
        sign_out_href: endpoints::LOGOUT.to_owned(),
        site_login_href: site.state.allows_legacy_login().then(|| {
            format!(
                "{}?flow={}",
                paths::for_site(paths::SITE_LOGIN, &site.slug),
                id.as_str()
            )
        }),
    };
    Ok(crate::kit::no_store(ui::render_with_status(
        StatusCode::FORBIDDEN,
        page,
    )))
}
