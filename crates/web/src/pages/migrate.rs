//! An invitation's link (C5, S41): `GET /migrate/claim?token=T` shows what the invitation is
//! for and puts the token in the page's form, so it travels on in a POST body (and, while the
//! person signs in, in a `Path=/migrate` cookie), never again in an address; the pages send
//! `Referrer-Policy: no-referrer` and `no-store`. The token is checked by
//! `lanyard_sites::invitations` (reuse, expiry, replacement, throttling, the account it may
//! link).
//!
//! - `access`: sign in with the invitation's account (the sign-in comes back here), then
//!   "Use this account" links it. Signed in as someone else: refused, nothing linked.
//! - `create_account`: the email is shown, not editable (the service takes it from the
//!   invitation; a form that sends one is refused); name and password (the password policy
//!   applies), then the new account's first sign-in as usual.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::REFERRER_POLICY;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use lanyard_core::model::{Account, AccountKind, InvitationKind};
use lanyard_core::{Origin, Secret};
use lanyard_identity::IdentityError;
use lanyard_signin::Flow;
use lanyard_sites::SitesError;
use lanyard_sites::invitations::OpenInvitation;

use crate::error::WebError;
use crate::kit::extract::CsrfForm;
use crate::kit::{Query, RequestOrigin, cookies, csrf_token, no_store, paths, see_other, theme};
use crate::state::AppState;
use crate::ui::migrate_pages::{ClaimDonePage, ClaimPage, ClaimStep};
use crate::ui::times::Times;
use crate::ui::{self, FieldError};

/// Holds the token while the person signs in (the sign-in comes back to the page without it).
const CLAIM_COOKIE: &str = "lanyard_claim";
/// Longer than a sign-in takes; the invitation's own expiry still applies.
const CLAIM_COOKIE_SECS: i64 = 30 * 60;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(paths::MIGRATE_CLAIM, get(claim_get).post(claim_post))
        .route(paths::MIGRATE_CLAIM_DONE, get(claim_done_get))
}

async fn claim_get(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    jar: CookieJar,
    Query(params): Query,
) -> Result<Response, WebError> {
    let token = match params.get("token") {
        Some(token) => token.to_owned(),
        None => jar
            .get(CLAIM_COOKIE)
            .map(|c| c.value().to_owned())
            .ok_or(SitesError::Claim(
                lanyard_sites::invitations::ClaimRefusal::Invalid,
            ))?,
    };
    let open = state.invitations.open(&token, &origin).await?;
    let account = identity_signed_in(&state, &jar).await?;
    let step = match &account {
        Some(account) if account.email_normalized == open.invitation.email_normalized => {
            ClaimStep::Link
        }
        // Shown, not acted on: the same refusal the form would get.
        Some(_) => {
            return Err(
                SitesError::Claim(lanyard_sites::invitations::ClaimRefusal::WrongAccount).into(),
            );
        }
        None => step_for_visitor(&state, &open).await?,
    };
    Ok(claim_page(&state, jar, &open, &token, step, None, ""))
}

/// Someone not signed in: create the account, unless one has the email (now): sign in.
async fn step_for_visitor(state: &AppState, open: &OpenInvitation) -> Result<ClaimStep, WebError> {
    if open.invitation.kind == InvitationKind::Access {
        return Ok(ClaimStep::SignIn);
    }
    let exists = state.accounts.find_by_email(&open.user.email).await?;
    Ok(if exists.is_some() {
        ClaimStep::SignIn
    } else {
        ClaimStep::Create
    })
}

async fn claim_post(
    State(state): State<AppState>,
    CsrfForm {
        form, jar, origin, ..
    }: CsrfForm,
) -> Result<Response, WebError> {
    let token = form.get("token").unwrap_or_default().to_owned();
    match form.get("step") {
        Some("create") => {
            // The account's email is the invitation's; a form naming one was changed.
            if form.get("email").is_some() {
                return Err(WebError::bad_request(
                    "The form was changed",
                    "Open the link from your email again. Nothing was changed.",
                ));
            }
            let name = form.get("name").unwrap_or_default();
            let password = Secret::new(form.get("password").unwrap_or_default());
            create(&state, jar, &token, name, password, &origin).await
        }
        Some("link" | "sign_in") => link(&state, jar, &token, &origin).await,
        _ => Err(WebError::bad_form()),
    }
}

async fn create(
    state: &AppState,
    jar: CookieJar,
    token: &str,
    name: &str,
    password: Secret,
    origin: &Origin,
) -> Result<Response, WebError> {
    match state
        .invitations
        .accept_creating_account(token, name, password, origin)
        .await
    {
        Ok(_) => Ok(done(jar, true)),
        Err(SitesError::Identity(refused)) => {
            let error = match refused {
                IdentityError::PasswordRefused(why) => FieldError::new("password", why.to_string()),
                IdentityError::InvalidName(_) => {
                    FieldError::new("name", "Enter your name, up to 200 characters")
                }
                other => return Err(other.into()),
            };
            // Shown again with what to fix; the invitation was not spent.
            let open = state.invitations.open(token, origin).await?;
            Ok(claim_page(
                state,
                jar,
                &open,
                token,
                ClaimStep::Create,
                Some(error),
                name,
            ))
        }
        Err(e) => Err(e.into()),
    }
}

async fn link(
    state: &AppState,
    jar: CookieJar,
    token: &str,
    origin: &Origin,
) -> Result<Response, WebError> {
    let Some(account) = identity_signed_in(state, &jar).await? else {
        // Sign in first, with the invitation's account, and come back here.
        let open = state.invitations.open(token, origin).await?;
        let flow = Flow::for_account(paths::MIGRATE_CLAIM.to_owned(), Some(open.user.email));
        let id = state.signin.flows().create(&flow).await?;
        let jar = jar.add(claim_cookie(state, token.to_owned()));
        let to = format!("{}?flow={}", paths::LOGIN, id.as_str());
        return Ok((jar, see_other(&to)).into_response());
    };
    state
        .invitations
        .accept_with_account(token, &account, origin)
        .await?;
    Ok(done(jar, false))
}

/// The account signed in with this browser, if it is an identity account (a site principal's
/// session does not count here).
async fn identity_signed_in(
    state: &AppState,
    jar: &CookieJar,
) -> Result<Option<Account>, WebError> {
    let Some(session) = state
        .signin
        .sessions()
        .current(cookies::session(jar))
        .await?
    else {
        return Ok(None);
    };
    let account = state.accounts.get(session.auth.account_id).await?;
    Ok((account.kind == AccountKind::Person).then_some(account))
}

fn claim_cookie(state: &AppState, token: String) -> Cookie<'static> {
    Cookie::build((CLAIM_COOKIE, token))
        .http_only(true)
        .secure(state.settings.secure_cookies)
        .same_site(SameSite::Strict)
        .path("/migrate")
        .max_age(cookie::time::Duration::seconds(CLAIM_COOKIE_SECS))
        .build()
}

fn done(jar: CookieJar, created: bool) -> Response {
    let jar = jar.remove(Cookie::build(CLAIM_COOKIE).path("/migrate").build());
    let to = if created {
        format!("{}?created=1", paths::MIGRATE_CLAIM_DONE)
    } else {
        paths::MIGRATE_CLAIM_DONE.to_owned()
    };
    (jar, see_other(&to)).into_response()
}

fn claim_page(
    state: &AppState,
    jar: CookieJar,
    open: &OpenInvitation,
    token: &str,
    step: ClaimStep,
    error: Option<FieldError>,
    name: &str,
) -> Response {
    let (jar, csrf) = csrf_token(state, jar);
    let times = Times::utc(state.clock.now());
    let expires_at = open.invitation.expires_at;
    let status = ui::status_for(error.as_ref());
    let page = ClaimPage {
        theme: theme(state),
        action: paths::MIGRATE_CLAIM.to_owned(),
        csrf,
        hidden: vec![("token".to_owned(), token.to_owned())],
        step,
        site_name: open.site.name.clone(),
        login: open.user.login.clone(),
        email: open.user.email.clone(),
        expires_text: format!(
            "{} ({})",
            times.date_time(expires_at),
            times.relative(expires_at)
        ),
        name: name.to_owned(),
        min_len: state.accounts.password_rules().min_chars,
        error,
    };
    let response = (jar, ui::render_with_status(status, page)).into_response();
    with_no_referrer(no_store(response))
}

async fn claim_done_get(
    State(state): State<AppState>,
    Query(params): Query,
) -> Result<Response, WebError> {
    let page = ClaimDonePage {
        theme: theme(&state),
        created: params.get("created") == Some("1"),
        sign_in_href: paths::ACCOUNT.to_owned(),
    };
    Ok(no_store(ui::render_with_status(StatusCode::OK, page)))
}

/// The page's address held the token: say so explicitly, whatever the default becomes.
fn with_no_referrer(mut response: Response) -> Response {
    response.headers_mut().insert(
        REFERRER_POLICY,
        axum::http::HeaderValue::from_static("no-referrer"),
    );
    response
}
