//! A site's sign-in pages (C2, C5, F2): the legacy site login at `/sites/{slug}/login` — in
//! `legacy` the site login and password, in `dual` also "Sign in with your account" (the
//! identity login for the same flow), in `identity` only that — and the hand-off to the first
//! backup codes after a site user sets up the app its site requires (C3, C4), and a site
//! user's step-up page (its site password again). The sequence and its rules are
//! `lanyard_signin`'s (`site_login`, `site_access`, `reconfirm`).

pub mod admin;
mod codes;

use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum_extra::extract::CookieJar;
use lanyard_core::model::Site;
use lanyard_signin::{Browser, FlowId, Next, Problem};

use crate::error::WebError;
use crate::kit::extract::{FlowForm, SignInPage, SiteUserForm, SiteUserSignedIn};
use crate::kit::guard::safe_return_to;
use crate::kit::params::Query;
use crate::kit::{cookies, csrf_token, flow_id, paths, see_other, theme};
use crate::state::AppState;
use crate::ui::mfa_pages::ReconfirmPage;
use crate::ui::signin::{After, field_error, hidden_flow, respond};
use crate::ui::{self, FieldError};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(paths::SITE_LOGIN, get(login_get).post(login_post))
        .route(
            paths::SITE_RECONFIRM,
            get(reconfirm_get).post(reconfirm_post),
        )
        .merge(codes::routes())
}

/// The site a path names; an unknown one is the 404 page.
async fn site(state: &AppState, slug: &str) -> Result<Site, WebError> {
    state
        .signin
        .site_by_slug(slug)
        .await?
        .ok_or_else(WebError::not_found)
}

/// The login page of a flow (`?flow=`), or for a site page or the device page that sent the
/// browser here to sign in (`?return_to=`): a new flow, then its page.
async fn login_get(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    page: SignInPage,
    Query(query): Query,
) -> Result<Response, WebError> {
    let site = site(&state, &slug).await?;
    if query.get("flow").is_some() {
        let id = flow_id(&query)?;
        let next = state.signin.site_login_question(&id, &site).await?;
        return Ok(respond(&state, page.jar, next, After::Get));
    }
    let Some(return_to) = query.get("return_to") else {
        return Err(WebError::bad_request(
            "Start from the app",
            "To sign in, open the app you want to use and sign in from there.",
        ));
    };
    let Some(id) = state.signin.begin_site_flow(&site, return_to).await? else {
        return Err(WebError::bad_request(
            "This link does not work",
            "It does not lead to a page of this site. Open the app you want to use and sign in from there.",
        ));
    };
    let login = paths::for_site(paths::SITE_LOGIN, &site.slug);
    Ok(see_other(&format!("{login}?flow={}", id.as_str())))
}

async fn login_post(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    f: FlowForm,
) -> Result<Response, WebError> {
    let site = site(&state, &slug).await?;
    let next = state
        .signin
        .submit_site_login(
            &f.flow,
            &site,
            (f.field("login"), f.field("password")),
            &f.page.browser(),
        )
        .await?;
    Ok(respond(&state, f.page.jar, next, After::Post))
}

/// A site page's step-up (B8 for site users): a person reconfirms on the account's page; a
/// site user's principal here, with its site password, then the second step, and back to
/// `return_to` (a page of this site).
async fn reconfirm_get(
    State(state): State<AppState>,
    signed: SiteUserSignedIn,
    page: SignInPage,
    Query(query): Query,
) -> Result<Response, WebError> {
    let own = paths::for_site(paths::SITE_ACCOUNT, &signed.site.slug);
    let wanted = query.get("return_to").unwrap_or("");
    let return_to = if lanyard_signin::site_may_return_to(&signed.site, wanted) {
        wanted.to_owned()
    } else {
        own
    };
    if signed.session.site.is_none() {
        let to = format!(
            "{}?return_to={}",
            paths::ACCOUNT_RECONFIRM,
            form_urlencoded::byte_serialize(safe_return_to(&return_to).as_bytes())
                .collect::<String>()
        );
        return Ok(see_other(&to));
    }
    let (id, _) = state
        .signin
        .begin_reconfirm(&signed.session, return_to, &page.browser())
        .await?;
    Ok(reconfirm_page(
        &state,
        page.jar,
        (&signed.site, &id),
        &signed.user.login,
        None,
    ))
}

/// The CSRF token is checked before the site user is looked up (`SiteUserForm`), so a forged
/// post starts no sign-in flow (S44).
async fn reconfirm_post(
    State(state): State<AppState>,
    f: SiteUserForm,
) -> Result<Response, WebError> {
    let flow = flow_id(&f.form)?;
    let device = cookies::device(&state, &f.jar).map(str::to_owned);
    let browser = Browser {
        origin: &f.origin,
        session: cookies::session(&f.jar),
        device: device.as_deref(),
    };
    let next = state
        .signin
        .submit_reconfirm_password(
            &flow,
            &f.session,
            f.form.get("password").unwrap_or(""),
            &browser,
        )
        .await?;
    Ok(match next {
        Next::AskPassword { flow, problem, .. } => {
            reconfirm_page(&state, f.jar, (&f.site, &flow), &f.user.login, problem)
        }
        other => respond(&state, f.jar, other, After::Post),
    })
}

fn reconfirm_page(
    state: &AppState,
    jar: CookieJar,
    (site, id): (&Site, &FlowId),
    login: &str,
    problem: Option<Problem>,
) -> Response {
    let (jar, csrf) = csrf_token(state, jar);
    let error = problem.map(|problem| match problem {
        Problem::WrongPassword => FieldError::new(
            "password",
            "The password is not right. Check it and try again.",
        ),
        other => field_error(other),
    });
    let status = ui::status_for(error.as_ref());
    let page = ReconfirmPage {
        theme: theme(state),
        action: paths::for_site(paths::SITE_RECONFIRM, &site.slug),
        csrf,
        hidden: hidden_flow(id),
        email: login.to_owned(),
        cancel_href: paths::for_site(paths::SITE_ACCOUNT, &site.slug),
        error,
    };
    (jar, ui::render_with_status(status, page)).into_response()
}
