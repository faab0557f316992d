//! Extractors that open a handler, so handlers are: extract, call one method, render.
//! - [`CsrfForm`]: a form whose CSRF token matched (S44);
//! - [`SignedIn`]: a live session, or the way to one (sign in and come back to `R::PATH`);
//! - [`Fresh`]: a session that reconfirmed within the step-up window (B8), or the way there;
//! - [`FreshForm`]: both of the last, for a sensitive form post.
//! - [`SiteUserSignedIn`] / [`SiteUserForm`]: a user of the site the path names
//!   (`/sites/{slug}/…`), signed in with its legacy login or a linked identity account, or
//!   the way to one;
//! - [`SignInPage`]: what a sign-in step reads from the browser (origin and cookies);
//! - [`FlowPage`] / [`FlowForm`]: a sign-in page loaded or posted for one flow (the `flow`
//!   parameter, and for a post a matching CSRF token).

use std::marker::PhantomData;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum_extra::extract::CookieJar;
use lanyard_core::Origin;
use lanyard_signin::{Browser, FlowId, Session, SiteAccess};

use crate::error::WebError;
use crate::kit::guard::{fresh, signed_in};
use crate::kit::params::{Form, Params, Query};
use crate::kit::{Caller, RequestOrigin, check_csrf, cookies, flow_id, paths};
use crate::state::AppState;

/// The page a browser comes back to after signing in or reconfirming.
pub trait ReturnTo {
    const PATH: &'static str;
}

macro_rules! return_to {
    ($($name:ident => $path:expr),* $(,)?) => {
        $(
            pub struct $name;
            impl ReturnTo for $name {
                const PATH: &'static str = $path;
            }
        )*
    };
}

return_to! {
    ToAccount => paths::ACCOUNT,
    ToSecurity => paths::ACCOUNT_SECURITY,
    ToTotpSetup => paths::ACCOUNT_TOTP_SETUP,
    ToPassword => paths::ACCOUNT_PASSWORD,
    ToPrivacy => paths::ACCOUNT_PRIVACY,
    ToApps => paths::ACCOUNT_APPS,
    ToActivity => paths::ACCOUNT_ACTIVITY,
    ToPats => paths::ACCOUNT_PATS,
    ToBackupRegenerate => paths::ACCOUNT_BACKUP_REGENERATE,
    ToTotpTurnOff => paths::ACCOUNT_TOTP_TURN_OFF,
    ToDevicesRevokeAll => paths::ACCOUNT_DEVICES_REVOKE_ALL,
    ToDevice => lanyard_issuer::endpoints::DEVICE,
}

fn origin_of(parts: &Parts, state: &AppState) -> Origin {
    RequestOrigin::of(parts, state).0
}

/// A form post whose CSRF token matched the browser's cookie.
pub struct CsrfForm {
    pub form: Params,
    pub jar: CookieJar,
    pub origin: Origin,
    pub caller: Caller,
}

impl FromRequest<AppState> for CsrfForm {
    type Rejection = WebError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, WebError> {
        let (parts, body) = request.into_parts();
        let origin = origin_of(&parts, state);
        let caller = Caller::of(&parts.method, &parts.headers);
        let jar = CookieJar::from_headers(&parts.headers);
        let Form(form) = Form::from_request(Request::from_parts(parts, body), state).await?;
        check_csrf(state, &jar, &form)?;
        Ok(Self {
            form,
            jar,
            origin,
            caller,
        })
    }
}

/// A form post from a signed-in browser: the CSRF token first, then the session (or the way
/// to one, coming back to `R::PATH`).
pub struct SignedInForm<R> {
    pub session: Session,
    pub form: Params,
    pub jar: CookieJar,
    pub origin: Origin,
    return_to: PhantomData<R>,
}

impl<R: ReturnTo> FromRequest<AppState> for SignedInForm<R> {
    type Rejection = WebError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, WebError> {
        let CsrfForm {
            form,
            jar,
            origin,
            caller,
        } = CsrfForm::from_request(request, state).await?;
        let session = signed_in(state, &jar, caller, R::PATH).await?;
        Ok(Self {
            session,
            form,
            jar,
            origin,
            return_to: PhantomData,
        })
    }
}

/// A signed-in browser or API caller.
pub struct SignedIn<R> {
    pub session: Session,
    pub jar: CookieJar,
    pub origin: Origin,
    pub caller: Caller,
    return_to: PhantomData<R>,
}

impl<R: ReturnTo> FromRequestParts<AppState> for SignedIn<R> {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        let origin = origin_of(parts, state);
        let caller = Caller::of(&parts.method, &parts.headers);
        let jar = CookieJar::from_headers(&parts.headers);
        let session = signed_in(state, &jar, caller, R::PATH).await?;
        Ok(Self {
            session,
            jar,
            origin,
            caller,
            return_to: PhantomData,
        })
    }
}

/// A session that reconfirmed identity within the step-up window.
pub struct Fresh<R> {
    pub session: Session,
    pub jar: CookieJar,
    pub origin: Origin,
    return_to: PhantomData<R>,
}

impl<R: ReturnTo> FromRequestParts<AppState> for Fresh<R> {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        let origin = origin_of(parts, state);
        let caller = Caller::of(&parts.method, &parts.headers);
        let jar = CookieJar::from_headers(&parts.headers);
        let session = fresh(state, &jar, caller, &origin, R::PATH).await?;
        Ok(Self {
            session,
            jar,
            origin,
            return_to: PhantomData,
        })
    }
}

/// A sensitive form post: the CSRF token first, then a fresh session (or the way to one).
pub struct FreshForm<R> {
    pub session: Session,
    pub form: Params,
    pub origin: Origin,
    pub jar: CookieJar,
    return_to: PhantomData<R>,
}

impl<R: ReturnTo> FromRequest<AppState> for FreshForm<R> {
    type Rejection = WebError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, WebError> {
        let CsrfForm {
            form,
            jar,
            origin,
            caller,
        } = CsrfForm::from_request(request, state).await?;
        let session = fresh(state, &jar, caller, &origin, R::PATH).await?;
        Ok(Self {
            session,
            form,
            origin,
            jar,
            return_to: PhantomData,
        })
    }
}

/// What a sign-in step reads from the browser: where it is and its two cookies.
pub struct SignInPage {
    pub jar: CookieJar,
    pub origin: Origin,
    device: Option<String>,
}

impl SignInPage {
    pub fn browser(&self) -> Browser<'_> {
        Browser {
            origin: &self.origin,
            session: cookies::session(&self.jar),
            device: self.device.as_deref(),
        }
    }
}

impl FromRequestParts<AppState> for SignInPage {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        let origin = origin_of(parts, state);
        let jar = CookieJar::from_headers(&parts.headers);
        let device = cookies::device(state, &jar).map(str::to_owned);
        Ok(Self {
            jar,
            origin,
            device,
        })
    }
}

/// A sign-in page loaded for one flow: `?flow=…` and the browser.
pub struct FlowPage {
    pub flow: FlowId,
    pub query: Params,
    pub page: SignInPage,
}

impl FromRequestParts<AppState> for FlowPage {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        let Query(query) = Query::from_request_parts(parts, state).await?;
        let flow = flow_id(&query)?;
        let page = SignInPage::from_request_parts(parts, state).await?;
        Ok(Self { flow, query, page })
    }
}

/// A sign-in form posted for one flow, its CSRF token checked.
pub struct FlowForm {
    pub flow: FlowId,
    pub form: Params,
    pub page: SignInPage,
}

impl FlowForm {
    /// A field's value; absent is empty.
    pub fn field(&self, name: &str) -> &str {
        self.form.get(name).unwrap_or("")
    }
}

impl FromRequest<AppState> for FlowForm {
    type Rejection = WebError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, WebError> {
        let (mut parts, body) = request.into_parts();
        let page = SignInPage::from_request_parts(&mut parts, state).await?;
        let CsrfForm { form, .. } =
            CsrfForm::from_request(Request::from_parts(parts, body), state).await?;
        let flow = flow_id(&form)?;
        Ok(Self { flow, form, page })
    }
}

/// A signed-in user of the site the path names (`/sites/{slug}/…`): the principal of one of
/// its users (the legacy login) or a linked identity account (`SignInService::site_access`).
/// A browser without one is sent to sign in — the site's own login while it has one — and
/// comes back to this path; an API caller gets 401. A person whose account is no user of the
/// site gets 403. An unknown site is the 404 page.
pub struct SiteUserSignedIn {
    pub site: lanyard_core::model::Site,
    pub user: lanyard_core::model::SiteUser,
    pub session: Session,
    pub jar: CookieJar,
    pub origin: Origin,
    pub caller: Caller,
}

impl FromRequestParts<AppState> for SiteUserSignedIn {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        let origin = origin_of(parts, state);
        let caller = Caller::of(&parts.method, &parts.headers);
        let jar = CookieJar::from_headers(&parts.headers);
        let path = parts.uri.path().to_owned();
        let (site, user, session) = site_user(state, &jar, caller, &origin, &path).await?;
        Ok(Self {
            site,
            user,
            session,
            jar,
            origin,
            caller,
        })
    }
}

/// A form post of a site's page: the CSRF token first, then [`SiteUserSignedIn`]'s checks.
pub struct SiteUserForm {
    pub site: lanyard_core::model::Site,
    pub user: lanyard_core::model::SiteUser,
    pub session: Session,
    pub form: Params,
    pub jar: CookieJar,
    pub origin: Origin,
}

impl FromRequest<AppState> for SiteUserForm {
    type Rejection = WebError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, WebError> {
        let path = request.uri().path().to_owned();
        let CsrfForm {
            form,
            jar,
            origin,
            caller,
        } = CsrfForm::from_request(request, state).await?;
        let (site, user, session) = site_user(state, &jar, caller, &origin, &path).await?;
        Ok(Self {
            site,
            user,
            session,
            form,
            jar,
            origin,
        })
    }
}

async fn site_user(
    state: &AppState,
    jar: &CookieJar,
    caller: Caller,
    origin: &Origin,
    path: &str,
) -> Result<
    (
        lanyard_core::model::Site,
        lanyard_core::model::SiteUser,
        Session,
    ),
    WebError,
> {
    let slug = path
        .strip_prefix("/sites/")
        .and_then(|rest| rest.split('/').next())
        .unwrap_or("");
    let site = state
        .signin
        .site_by_slug(slug)
        .await?
        .ok_or_else(WebError::not_found)?;
    let access = state
        .signin
        .site_access(cookies::session(jar), &site, origin)
        .await?;
    match access {
        SiteAccess::Granted { session, user } => Ok((site, *user, *session)),
        SiteAccess::NoAccess { .. } => Err(WebError::page(
            axum::http::StatusCode::FORBIDDEN,
            "No access to this site",
            "The account you are signed in with is not a user of this site.",
        )),
        SiteAccess::SignIn => Err(match caller {
            Caller::Api => WebError::api_sign_in_first(),
            Caller::Browser => {
                let flow = state
                    .signin
                    .begin_site_flow(&site, path)
                    .await?
                    .ok_or_else(WebError::not_found)?;
                let login = if site.state.allows_legacy_login() {
                    paths::for_site(paths::SITE_LOGIN, &site.slug)
                } else {
                    paths::LOGIN.to_owned()
                };
                WebError::redirect_to(format!("{login}?flow={}", flow.as_str()))
            }
        }),
    }
}
