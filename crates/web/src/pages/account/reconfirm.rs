//! The reconfirm page (B8): the password again, then the second step, and the session is
//! fresh. The password goes through the sign-in service's one gate, with the same limits as
//! the sign-in page (S53d).

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use lanyard_signin::{Browser, FlowId, Next, Problem};

use crate::error::WebError;
use crate::kit::extract::{SignInPage, SignedInForm, ToSecurity};
use crate::kit::guard::{safe_return_to, signed_in};
use crate::kit::{Query, cookies, csrf_token, flow_id, paths, theme};
use crate::state::AppState;
use crate::ui::mfa_pages::ReconfirmPage;
use crate::ui::signin::{After, field_error, hidden_flow, respond};
use crate::ui::{self, FieldError};

pub async fn reconfirm_get(
    State(state): State<AppState>,
    page: SignInPage,
    caller: crate::kit::Caller,
    Query(params): Query,
) -> Result<Response, WebError> {
    let return_to = safe_return_to(params.get("return_to").unwrap_or("")).to_owned();
    let session = signed_in(&state, &page.jar, caller, &return_to).await?;
    let (id, email) = state
        .signin
        .begin_reconfirm(&session, return_to, &page.browser())
        .await?;
    Ok(reconfirm_page(&state, page.jar, &id, &email, None))
}

fn reconfirm_page(
    state: &AppState,
    jar: CookieJar,
    id: &FlowId,
    email: &str,
    problem: Option<Problem>,
) -> Response {
    let (jar, csrf) = csrf_token(state, jar);
    // The email is the signed-in account's: only the password can be wrong here.
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
        action: paths::ACCOUNT_RECONFIRM.to_owned(),
        csrf,
        hidden: hidden_flow(id),
        email: email.to_owned(),
        cancel_href: String::new(),
        error,
    };
    (jar, ui::render_with_status(status, page)).into_response()
}

/// The CSRF token is checked before the session (`SignedInForm`), so a forged post starts
/// no sign-in flow (S44).
pub async fn reconfirm_post(
    State(state): State<AppState>,
    f: SignedInForm<ToSecurity>,
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
        Next::AskPassword {
            flow,
            email,
            problem,
        } => reconfirm_page(&state, f.jar, &flow, &email, problem),
        other => respond(&state, f.jar, other, After::Post),
    })
}
