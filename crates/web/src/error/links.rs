//! The account links' refusals (sign-up verification, password reset, email change), in
//! people's words (part of `web::error`). None says whether some other account exists.
//! Field errors are not here: the pages show them next to their field.

use axum::http::StatusCode;
use lanyard_signin::links::{LinkError, LinkRefusal};

use super::{WayOn, WebError};

impl From<LinkError> for WebError {
    fn from(e: LinkError) -> Self {
        match e {
            LinkError::Refused(refusal) => link_refused(refusal),
            LinkError::SignupClosed => Self::page(
                StatusCode::FORBIDDEN,
                "Sign-up is by invitation only",
                "Accounts here are created by invitation. Ask your administrator for one.",
            )
            .with_way_on(WayOn::Home),
            LinkError::Field(e) => e.into(),
            LinkError::SignIn(e) => e.into(),
            other => Self::internal(false, other.to_string()),
        }
    }
}

fn link_refused(refusal: LinkRefusal) -> WebError {
    let (status, title, message) = match refusal {
        LinkRefusal::Invalid => (
            StatusCode::BAD_REQUEST,
            "This link is not valid",
            "Check that you opened the whole link from your email. Nothing was changed.",
        ),
        LinkRefusal::Used => (
            StatusCode::GONE,
            "This link was already used",
            "Each link works once. If you still need one, ask for a new link.",
        ),
        LinkRefusal::Replaced => (
            StatusCode::GONE,
            "This link was replaced",
            "A newer link was sent to you. Use the link in the newest email.",
        ),
        LinkRefusal::Expired => (
            StatusCode::GONE,
            "This link has expired",
            "Ask for a new link. Nothing was changed.",
        ),
        LinkRefusal::AccountChanged => (
            StatusCode::GONE,
            "This link no longer works",
            "The account changed since the link was sent. Sign in, or ask for a new link.",
        ),
        LinkRefusal::AddressTaken => (
            StatusCode::CONFLICT,
            "This email address can not be used",
            "Another account uses this address now. Your email address was not changed.",
        ),
        LinkRefusal::WrongAccount => (
            StatusCode::FORBIDDEN,
            "This link is for another account",
            "You are signed in with an account that did not ask for this change. Sign out, then open the link again. Nothing was changed.",
        ),
    };
    WebError::page(status, title, message).with_way_on(WayOn::Home)
}

/// A field the person can fix, worded for the form that shows it next to the field; any
/// other identity error is the page's error.
pub fn field_error(e: lanyard_identity::IdentityError) -> Result<crate::ui::FieldError, WebError> {
    use crate::ui::FieldError;
    use lanyard_identity::IdentityError;
    Ok(match e {
        IdentityError::InvalidEmail(_) => FieldError::new(
            "email",
            "Enter an email address in the correct format, like name@example.com",
        ),
        IdentityError::InvalidName(_) => {
            FieldError::new("name", "Enter your name, up to 200 characters")
        }
        IdentityError::PasswordRefused(why) => FieldError::new("password", why.to_string()),
        other => return Err(other.into()),
    })
}
