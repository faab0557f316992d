//! The sites services' refusals, in people's words (part of `web::error`, the one place
//! errors become responses). An invitation link that can not be used says why and what to
//! do; none says whether some other account exists.

use axum::http::StatusCode;
use lanyard_sites::SitesError;
use lanyard_sites::invitations::ClaimRefusal;

use super::{WayOn, WebError};

impl From<SitesError> for WebError {
    fn from(e: SitesError) -> Self {
        match e {
            SitesError::Claim(refusal) => claim_refused(refusal),
            SitesError::NotFound | SitesError::NoSuchUser => Self::not_found(),
            SitesError::Forbidden => Self::page(
                StatusCode::FORBIDDEN,
                "You can't do this",
                "Only an administrator of this site can change its settings.",
            ),
            SitesError::Invalid(why) => {
                Self::page(StatusCode::BAD_REQUEST, "Check what you entered", why)
            }
            SitesError::Identity(e) => e.into(),
            SitesError::Store(e) => e.into(),
            other => Self::internal(false, other.to_string()),
        }
    }
}

fn claim_refused(refusal: ClaimRefusal) -> WebError {
    let (status, title, message) = match refusal {
        ClaimRefusal::Invalid => (
            StatusCode::BAD_REQUEST,
            "This invitation link is not valid",
            "Check that you opened the whole link from your email. If it still does not work, ask the site's administrator to send a new invitation.",
        ),
        ClaimRefusal::Throttled(secs) => {
            return WebError::too_many(
                "Too many invitation links that did not work",
                format!(
                    "For your security, wait {} minutes, then open the link from your email again.",
                    (secs + 59) / 60
                ),
                secs,
            );
        }
        ClaimRefusal::Used => (
            StatusCode::GONE,
            "This invitation was already used",
            "Each invitation link works once. If it was you, sign in with your account. If it was not, tell the site's administrator.",
        ),
        ClaimRefusal::Replaced => (
            StatusCode::GONE,
            "This invitation was replaced",
            "A newer invitation was sent to you. Use the link in the newest email.",
        ),
        ClaimRefusal::Expired => (
            StatusCode::GONE,
            "This invitation has expired",
            "Ask the site's administrator to send you a new invitation.",
        ),
        ClaimRefusal::WrongAccount => (
            StatusCode::FORBIDDEN,
            "This invitation is for another account",
            "You are signed in with an account that is not the one this invitation was sent to. Sign out, then open the link again and sign in with the account that has the invitation's email address. Nothing was changed.",
        ),
        ClaimRefusal::AccountExists => (
            StatusCode::CONFLICT,
            "An account with this email address exists",
            "Sign in with that account to the site: your user there is linked once its email address is confirmed. Nothing was changed.",
        ),
        ClaimRefusal::AlreadyLinked => (
            StatusCode::CONFLICT,
            "This user is linked already",
            "The site user this invitation is for is linked to another account. Ask the site's administrator.",
        ),
        ClaimRefusal::AccountHasUser => (
            StatusCode::CONFLICT,
            "Your account has a user on this site already",
            "An account can be linked to one user per site. Ask the site's administrator.",
        ),
    };
    WebError::page(status, title, message).with_way_on(WayOn::Home)
}
