//! The pages of "sign in with your organization" (F1, G1–G4): the organization's page after
//! the email, the page that asks to prove an existing account before linking it (S38), and
//! the words of every way an upstream sign-in can fail.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use lanyard_signin::{FlowId, OrgQuestion, UpstreamProblem};

use crate::error::{WayOn, WebError};
use crate::kit::{self, csrf_token, paths, theme};
use crate::state::AppState;
use crate::ui::signin::hidden_flow;
use crate::ui::{self, Theme};

#[derive(Debug, Clone, Template)]
#[template(path = "sign_in_org.html")]
pub struct OrgPage {
    pub theme: Theme,
    pub action: String,
    pub csrf: String,
    pub hidden: Vec<(String, String)>,
    pub email: String,
    pub org_name: String,
    pub change_email_href: String,
    /// "Use your password instead", when the organization allows it.
    pub password_href: Option<String>,
    /// A password was just refused for this email (G4).
    pub password_refused: bool,
}

#[derive(Debug, Clone, Template)]
#[template(path = "sign_in_link.html")]
pub struct ProveToLinkPage {
    pub theme: Theme,
    pub email: String,
    pub password_href: String,
}

fn flow_href(path: &str, flow: &FlowId) -> String {
    format!("{path}?flow={}", flow.as_str())
}

pub fn organization_page(state: &AppState, jar: CookieJar, question: OrgQuestion) -> Response {
    let (jar, csrf) = csrf_token(state, jar);
    let page = OrgPage {
        theme: theme(state),
        action: paths::LOGIN_ORGANIZATION.to_owned(),
        csrf,
        hidden: hidden_flow(&question.flow),
        email: question.email,
        org_name: question.org_name,
        change_email_href: flow_href(paths::LOGIN, &question.flow),
        password_href: question
            .password_allowed
            .then(|| flow_href(paths::LOGIN_PASSWORD, &question.flow)),
        password_refused: question.password_refused,
    };
    let status = if question.password_refused {
        StatusCode::FORBIDDEN
    } else {
        StatusCode::OK
    };
    (jar, ui::render_with_status(status, page)).into_response()
}

pub fn prove_to_link_page(
    state: &AppState,
    jar: CookieJar,
    flow: &FlowId,
    email: String,
) -> Response {
    let page = ProveToLinkPage {
        theme: theme(state),
        email,
        password_href: flow_href(paths::LOGIN_PASSWORD, flow),
    };
    (jar, kit::no_store(ui::render(page))).into_response()
}

/// Why the sign-in through the organization ended, in the person's words. Nothing was
/// created in any of these.
pub fn upstream_failed(problem: UpstreamProblem) -> WebError {
    let (status, title, message) = match problem {
        UpstreamProblem::Refused => (
            StatusCode::BAD_REQUEST,
            "Your organization's sign-in did not finish",
            "It was cancelled, or your organization's sign-in service refused it. Nothing was changed here. You can start again.",
        ),
        UpstreamProblem::Unavailable => (
            StatusCode::BAD_GATEWAY,
            "Your organization's sign-in isn't answering",
            "We could not reach your organization's sign-in service, or it did not answer in time. Nothing was changed here. Try again in a few minutes; if it keeps happening, tell your organization's IT team.",
        ),
        UpstreamProblem::InvalidAnswer => (
            StatusCode::BAD_REQUEST,
            "We couldn't accept your organization's sign-in",
            "The answer from your organization's sign-in service did not pass our security checks, so you were not signed in. Nothing was changed here. Start again; if it keeps happening, tell your organization's IT team.",
        ),
        UpstreamProblem::ConnectionOff => (
            StatusCode::BAD_REQUEST,
            "Your organization's sign-in is turned off",
            "Your organization's sign-in is not available at the moment. Ask your organization's administrator.",
        ),
        UpstreamProblem::NoEmail => (
            StatusCode::BAD_REQUEST,
            "Your organization's sign-in sent no email address",
            "We need an email address to find or create your account, and your organization's sign-in service did not send one. Nothing was created. Tell your organization's IT team.",
        ),
        UpstreamProblem::DomainNotAllowed => (
            StatusCode::FORBIDDEN,
            "This email address can't sign in this way",
            "Your organization's sign-in sent an email address whose domain the organization has not verified with us. Nothing was created. Ask your organization's administrator.",
        ),
        UpstreamProblem::AccountUnavailable => (
            StatusCode::FORBIDDEN,
            "This account can't sign in",
            "The account for this email address is disabled. Ask your organization's administrator.",
        ),
        UpstreamProblem::TryAgain => (
            StatusCode::CONFLICT,
            "Please sign in again",
            "Something changed while we were setting up your account. Nothing was lost: start again.",
        ),
    };
    WebError::page(status, title, message).with_way_on(WayOn::StartAgain)
}
