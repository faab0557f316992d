//! The sign-in pages' view: turns a sign-in step's [`Next`] into a response: the page that asks the next question, a
//! 303 to it after a post, a 429 page for a wait, or the end of the sequence. The words
//! people read about each problem are chosen here.

use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use lanyard_core::Timestamp;
use lanyard_signin::{
    BackupShown, CodeKind, CodeQuestion, Done, FlowId, Next, Notice, Problem, SiteLoginQuestion,
    Wait,
};

use crate::error::WebError;
use crate::kit::{self, cookies, csrf_token, no_store, paths, theme};
use crate::state::AppState;
use crate::ui::mfa_pages::{
    BackupCodePage, ChallengePage, StaySignedInPage, TotpSetupPage, TrustDevicePage,
};
// Sign-in pages show UTC: until sign-in is complete they must not reveal the account's
// settings (`ui::times`).
use crate::ui::federation_pages;
use crate::ui::site_pages::SiteLoginPage;
use crate::ui::times::utc as when;
use crate::ui::{self, FieldError, SignInEmailPage, SignInPasswordPage};

/// Whether the step came from a form post (a question without a problem is then a 303 to
/// its page, so a reload does not post again) or from loading a page (it is shown).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum After {
    Get,
    Post,
}

pub fn respond(state: &AppState, jar: CookieJar, next: Next, after: After) -> Response {
    respond_naming(state, jar, next, after, None)
}

/// [`respond`], naming on the email page the app the person signs in to (`app`: its
/// registered name).
pub fn respond_naming(
    state: &AppState,
    jar: CookieJar,
    next: Next,
    after: After,
    app: Option<String>,
) -> Response {
    match next {
        Next::AskEmail {
            flow,
            email,
            problem,
        } => {
            if after == After::Post && problem.is_none() {
                return (jar, kit::to_flow_page(paths::LOGIN, &flow)).into_response();
            }
            email_page(state, jar, (&flow, app), &email, problem)
        }
        Next::AskSiteLogin(question) => {
            if after == After::Post && question.problem.is_none() {
                let page = paths::for_site(paths::SITE_LOGIN, &question.site.slug);
                return (jar, kit::to_flow_page(&page, &question.flow)).into_response();
            }
            site_login_page(state, jar, question)
        }
        Next::AskPassword {
            flow,
            email,
            problem,
        } => {
            if after == After::Post && problem.is_none() {
                return (jar, kit::to_flow_page(paths::LOGIN_PASSWORD, &flow)).into_response();
            }
            password_page(state, jar, &flow, &email, problem)
        }
        Next::AskCode(question) => {
            if after == After::Post && question.problem.is_none() && question.notice.is_none() {
                // An emailed code refused by the hourly limit: the page that says so (with
                // the other ways), not the account's usual first question.
                if question.kind == CodeKind::Email && question.sends_blocked_until.is_some() {
                    let to = code_href(&question.flow, CodeKind::Email);
                    return (jar, kit::see_other(&to)).into_response();
                }
                return (jar, kit::to_flow_page(paths::LOGIN_CODE, &question.flow)).into_response();
            }
            code_page(state, jar, question)
        }
        Next::ShowBackupCode {
            flow,
            code,
            why,
            generated_at,
            problem,
        } => backup_code_page(state, jar, &flow, code, (why, generated_at), problem),
        Next::OfferTrust { flow, until } => trust_page(state, jar, &flow, until),
        Next::OfferStaySignedIn { flow, until } => stay_signed_in_page(state, jar, &flow, until),
        Next::SetUpApp {
            flow,
            setup,
            problem,
            site_name,
        } => {
            if after == After::Post && problem.is_none() {
                return (jar, kit::to_flow_page(paths::LOGIN_ENROLL, &flow)).into_response();
            }
            let hidden = hidden_flow(&flow);
            setup_page(
                state,
                jar,
                setup,
                SetupFor::SignIn(hidden, site_name),
                problem,
            )
        }
        Next::AskOrganization(question) => {
            if after == After::Post && !question.password_refused {
                let to = kit::to_flow_page(paths::LOGIN_ORGANIZATION, &question.flow);
                return (jar, to).into_response();
            }
            federation_pages::organization_page(state, jar, question)
        }
        Next::GoUpstream { url, binder } => {
            let jar = cookies::set_federation(state, jar, binder);
            (jar, kit::see_other(&url)).into_response()
        }
        Next::ProveToLink { flow, email } => {
            federation_pages::prove_to_link_page(state, jar, &flow, email)
        }
        Next::UpstreamFailed(problem) => {
            (jar, federation_pages::upstream_failed(problem)).into_response()
        }
        Next::Wait(wait) => (jar, wait_error(state, wait)).into_response(),
        Next::Done(done) => finished(state, jar, done),
    }
}

fn backup_code_page(
    state: &AppState,
    jar: CookieJar,
    flow: &FlowId,
    code: lanyard_core::Secret,
    (why, generated_at): (BackupShown, Timestamp),
    problem: Option<Problem>,
) -> Response {
    let Form {
        jar,
        csrf,
        error,
        status,
    } = Form::open(state, jar, problem);
    let page = BackupCodePage {
        theme: theme(state),
        action: paths::LOGIN_BACKUP_CODE.to_owned(),
        csrf,
        hidden: hidden_flow(flow),
        code: code.expose().to_owned(),
        generated_text: when::date_time(generated_at),
        first_time: why == BackupShown::First,
        replaced_used: why == BackupShown::ReplacesUsed,
        error,
    };
    // The code is on this page: never cached.
    (jar, no_store(ui::render_with_status(status, page))).into_response()
}

fn trust_page(state: &AppState, jar: CookieJar, flow: &FlowId, until: Timestamp) -> Response {
    let (jar, csrf) = csrf_token(state, jar);
    let page = TrustDevicePage {
        theme: theme(state),
        action: paths::LOGIN_TRUST.to_owned(),
        csrf,
        hidden: hidden_flow(flow),
        until_text: when::date(until),
    };
    (jar, ui::render(page)).into_response()
}

fn stay_signed_in_page(
    state: &AppState,
    jar: CookieJar,
    flow: &FlowId,
    until: Timestamp,
) -> Response {
    let (jar, csrf) = csrf_token(state, jar);
    let page = StaySignedInPage {
        theme: theme(state),
        action: paths::LOGIN_STAY_SIGNED_IN.to_owned(),
        csrf,
        hidden: hidden_flow(flow),
        until_text: when::date_time(until),
        days: (state.signin.sessions().settings().max_secs / 86_400).max(1),
        idle_hours: (state.signin.sessions().settings().idle_secs / 3600).max(1),
    };
    (jar, ui::render(page)).into_response()
}

/// The end: the new session's cookie (and a trusted device's) and on to where the flow came
/// from; or, after a step-up, back to the page that asked.
fn finished(state: &AppState, jar: CookieJar, done: Done) -> Response {
    match done {
        Done::SignedIn {
            flow,
            session,
            trusted_device,
            site_codes,
        } => {
            let jar = match trusted_device {
                Some(device) => cookies::set_device(state, jar, device.token, device.expires_at),
                None => jar,
            };
            let lasts_until = session
                .session
                .stay_signed_in
                .then(|| session.session.ends_at(state.signin.sessions().settings()));
            let jar = cookies::set_session(state, jar, session.id, lasts_until);
            // A site user who just set up the app its site requires gets its first backup
            // codes before going on (C4).
            let next = match site_codes {
                Some(slug) => paths::for_site(paths::SITE_FIRST_CODES, &slug),
                None => paths::AUTHORIZE_CONTINUE.to_owned(),
            };
            (jar, kit::to_flow_page(&next, &flow)).into_response()
        }
        Done::SteppedUp { return_to } => {
            let to = return_to.as_deref().unwrap_or(paths::ACCOUNT_SECURITY);
            (jar, kit::see_other(to)).into_response()
        }
    }
}

/// What every sign-in form needs: the CSRF token (and its cookie), the problem to show, and
/// the status that goes with it (400 with a problem).
struct Form {
    jar: CookieJar,
    csrf: String,
    error: Option<FieldError>,
    status: axum::http::StatusCode,
}

impl Form {
    fn open(state: &AppState, jar: CookieJar, problem: Option<Problem>) -> Self {
        let (jar, csrf) = csrf_token(state, jar);
        let error = problem.map(field_error);
        let status = ui::status_for(error.as_ref());
        Self {
            jar,
            csrf,
            error,
            status,
        }
    }
}

pub fn hidden_flow(flow: &FlowId) -> Vec<(String, String)> {
    vec![("flow".to_owned(), flow.as_str().to_owned())]
}

fn email_page(
    state: &AppState,
    jar: CookieJar,
    (flow, client_name): (&FlowId, Option<String>),
    email: &str,
    problem: Option<Problem>,
) -> Response {
    let Form {
        jar,
        csrf,
        error,
        status,
    } = Form::open(state, jar, problem);
    let page = SignInEmailPage {
        theme: theme(state),
        action: paths::LOGIN.to_owned(),
        csrf,
        hidden: hidden_flow(flow),
        email: email.to_owned(),
        error,
        client_name,
        signup_href: state
            .account_links
            .settings()
            .enabled
            .then(|| paths::REGISTER.to_owned()),
    };
    (jar, ui::render_with_status(status, page)).into_response()
}

fn password_page(
    state: &AppState,
    jar: CookieJar,
    flow: &FlowId,
    email: &str,
    problem: Option<Problem>,
) -> Response {
    let Form {
        jar,
        csrf,
        error,
        status,
    } = Form::open(state, jar, problem);
    let page = SignInPasswordPage {
        theme: theme(state),
        action: paths::LOGIN_PASSWORD.to_owned(),
        csrf,
        hidden: hidden_flow(flow),
        email: email.to_owned(),
        change_email_href: format!("{}?flow={}", paths::LOGIN, flow.as_str()),
        error,
    };
    (jar, ui::render_with_status(status, page)).into_response()
}

/// The legacy site login (C2): in `dual` it also offers the identity sign-in for the same
/// flow; in `identity` only that (C5).
fn site_login_page(state: &AppState, jar: CookieJar, q: SiteLoginQuestion) -> Response {
    // A closed legacy login is the whole page's message, not a field's (there is no form).
    let closed = q.problem == Some(Problem::LegacyLoginClosed);
    let Form {
        jar,
        csrf,
        error,
        status,
    } = Form::open(state, jar, q.problem.filter(|_| !closed));
    let status = if closed {
        axum::http::StatusCode::BAD_REQUEST
    } else {
        status
    };
    // A site login is not an email address: the wrong-credentials text says so.
    let error = match q.problem {
        Some(Problem::WrongPassword) => Some(FieldError::new(
            "password",
            "The login or password is not right. Check them and try again.",
        )),
        _ => error,
    };
    let page = SiteLoginPage {
        theme: theme(state),
        action: paths::for_site(paths::SITE_LOGIN, &q.site.slug),
        csrf,
        hidden: hidden_flow(&q.flow),
        site_name: q.site.name,
        login: q.login,
        legacy_open: q.site.state.allows_legacy_login(),
        identity_href: q
            .site
            .state
            .allows_identity_login()
            .then(|| format!("{}?flow={}", paths::LOGIN, q.flow.as_str())),
        error,
    };
    (jar, ui::render_with_status(status, page)).into_response()
}

fn code_href(flow: &FlowId, kind: CodeKind) -> String {
    format!(
        "{}?flow={}&method={}",
        paths::LOGIN_CODE,
        flow.as_str(),
        kind.as_str()
    )
}

fn code_page(state: &AppState, jar: CookieJar, q: CodeQuestion) -> Response {
    let Form {
        jar,
        csrf,
        error,
        status,
    } = Form::open(state, jar, q.problem);
    let now = state.clock.now();
    // The hourly limit on emailed codes: say until when, and whether this sign-in's own
    // code (the only one that works here) is still usable.
    let sends_blocked = q.email_allowed.then_some(q.sends_blocked_until).flatten();
    let code_live = q.email_code_expires_at.is_some_and(|at| at > now);
    let page = ChallengePage {
        theme: theme(state),
        action: paths::LOGIN_CODE.to_owned(),
        csrf,
        hidden: hidden_flow(&q.flow),
        method: q.kind.as_str().to_owned(),
        email: q.email,
        expires_text: q
            .email_code_expires_at
            .map(|at| format!("{} ({})", when::clock_time(at), when::from_now(now, at))),
        resend_action: if q.email_allowed {
            paths::LOGIN_CODE_EMAIL.to_owned()
        } else {
            String::new()
        },
        resend_text: match sends_blocked {
            Some(at) => Some(format!(
                "You can ask for a new code at {} ({})",
                when::clock_time(at),
                when::from_now(now, at)
            )),
            None => q
                .resend_at
                .map(|at| format!("You can ask for a new code at {}", when::clock_time(at))),
        },
        too_many_sends: sends_blocked.is_some(),
        email_code_live: code_live,
        backup_href: (q.kind != CodeKind::Backup && q.has_backup_code)
            .then(|| code_href(&q.flow, CodeKind::Backup)),
        totp_href: (q.kind != CodeKind::App && q.has_app)
            .then(|| code_href(&q.flow, CodeKind::App)),
        notice: q.notice.map(notice_text),
        step_up: q.step_up,
        error,
        submit_label: "Continue".to_owned(),
    };
    (jar, no_store(ui::render_with_status(status, page))).into_response()
}

/// Which set-up page: the account's own (possibly replacing an app), or the one a sign-in
/// is forced through when an organization requires an app (S54).
pub enum SetupFor {
    Account {
        replacing: bool,
    },
    /// The flow's hidden fields, and the site that requires the app of a site user.
    SignIn(Vec<(String, String)>, Option<String>),
}

pub fn setup_page(
    state: &AppState,
    jar: CookieJar,
    setup: lanyard_mfa::TotpSetup,
    setup_for: SetupFor,
    problem: Option<Problem>,
) -> Response {
    let Form {
        jar,
        csrf,
        error,
        status,
    } = Form::open(state, jar, problem);
    let (action, hidden, replacing, site_name) = match setup_for {
        SetupFor::Account { replacing } => (paths::ACCOUNT_TOTP_SETUP, Vec::new(), replacing, None),
        SetupFor::SignIn(hidden, site) => (paths::LOGIN_ENROLL, hidden, false, site),
    };
    let required = action == paths::LOGIN_ENROLL;
    let page = TotpSetupPage {
        theme: theme(state),
        action: action.to_owned(),
        csrf,
        hidden,
        qr_svg: setup.enrollment.qr_svg,
        secret_text: setup.enrollment.secret_text,
        replacing,
        required,
        site_name,
        error,
    };
    // The secret is on this page: never cached (S31).
    (jar, no_store(ui::render_with_status(status, page))).into_response()
}

fn notice_text(notice: Notice) -> String {
    match notice {
        Notice::CodeSent => "We sent a new code. Only the newest code works.".to_owned(),
        Notice::ResendAt(at) => format!(
            "We sent a code a moment ago. You can ask for a new one at {}.",
            when::clock_time(at)
        ),
    }
}

/// The field a problem is about and what to do about it.
pub fn field_error(problem: Problem) -> FieldError {
    let (field, message) = match problem {
        Problem::NotAnEmail => ("email", "Enter your email address, like name@example.com"),
        Problem::NoPassword => ("password", "Enter your password"),
        Problem::WrongPassword => (
            "password",
            "The email address or password is not right. Check them and try again.",
        ),
        Problem::MalformedCode(CodeKind::Backup) => (
            "code",
            "Enter your backup code, like ABCD-EFGH-JKMN-PQRS-TVWX-YZ01",
        ),
        Problem::MalformedCode(_) => ("code", "Enter the 6-digit code"),
        Problem::WrongCode(CodeKind::Backup) => (
            "code",
            "The backup code is not right. Check it and try again.",
        ),
        Problem::WrongCode(_) => (
            "code",
            "The code is not right, or it has expired. Check it and try again.",
        ),
        Problem::KindNotAvailable => ("code", "Choose another way to confirm it's you."),
        Problem::AppTooNew => (
            "code",
            "Your authenticator app was set up just now. Use a code sent by email instead.",
        ),
        Problem::BackupCodesTooNew => (
            "code",
            "These backup codes were made after you signed in, so they can not confirm it's \
             you. Use your authenticator app or a code sent by email instead.",
        ),
        Problem::NoChoice => (
            "code",
            "Choose how to confirm it's you: enter a code from your email, your authenticator \
             app or your backup code.",
        ),
        Problem::BackupCodeNotSaved => (
            "saved",
            "Save this backup code, then tick \"I saved my backup code\". It is the same code as before.",
        ),
        Problem::NoLogin => ("login", "Enter your login"),
        Problem::LegacyLoginClosed => (
            "login",
            "Your site login no longer works: sign in with your account instead.",
        ),
        Problem::MalformedSetupCode => {
            ("code", "Enter the 6-digit code from your authenticator app")
        }
        Problem::WrongSetupCode => (
            "code",
            "The code is not right. Check the app shows the new entry and try again.",
        ),
    };
    FieldError::new(field, message)
}

/// The 429 pages: each says how long, and Retry-After says the same (S30, S53a, B2).
pub fn wait_error(state: &AppState, wait: Wait) -> WebError {
    let now = state.clock.now();
    match wait {
        Wait::AddressThrottled { retry_after_secs } => WebError::too_many(
            "Too many attempts",
            "There were too many unsuccessful sign-ins from your network. Wait a few minutes \
             and try again."
                .to_owned(),
            retry_after_secs,
        ),
        Wait::Locked { until: Some(at) } => WebError::too_many(
            "Too many attempts",
            format!(
                "For your security, wait until {} ({}) and then try again.",
                when::clock_time(at),
                when::from_now(now, at)
            ),
            seconds_until(now, at),
        ),
        Wait::Locked { until: None } => WebError::too_many(
            "Too many attempts",
            "For your security, confirming sign-ins for this account is locked. Contact your \
             administrator to unlock it."
                .to_owned(),
            3600,
        ),
        Wait::StartAgain => WebError::too_many(
            "Start signing in again",
            "That code can no longer be used: there were too many wrong tries, or it took too \
             long. Go back and enter your password again to get a new code."
                .to_owned(),
            1,
        )
        .without_retry_after(),
    }
}

fn seconds_until(now: Timestamp, at: Timestamp) -> i64 {
    (at.seconds() - now.seconds()).max(1)
}
