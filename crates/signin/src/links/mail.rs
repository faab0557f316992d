//! The account mails, in plain words. A link is the only secret in them; notices hold none.

use lanyard_core::{OutgoingMail, Timestamp};
use lanyard_mfa::when;

use super::FORGOT_PATH;

fn mail(product: &str, to: &str, subject: &str, text: String) -> OutgoingMail {
    OutgoingMail {
        to: to.to_owned(),
        subject: format!("{product}: {subject}"),
        text,
    }
}

fn works_until(expires_at: Timestamp) -> String {
    format!(
        "The link works once, until {}.",
        when::date_time(expires_at)
    )
}

pub(super) fn verify(product: &str, to: &str, link: &str, expires_at: Timestamp) -> OutgoingMail {
    let text = format!(
        "Hello,\n\nTo finish creating your {product} account, confirm that this is your email \
         address:\n\n{link}\n\n{}\n\nIf you did not sign up, ignore this mail: no account is \
         made until the link is used.\n",
        works_until(expires_at)
    );
    mail(product, to, "confirm your email address", text)
}

pub(super) fn signup_exists(product: &str, to: &str, base: &str) -> OutgoingMail {
    let text = format!(
        "Hello,\n\nSomeone tried to sign up for a {product} account with this email address. \
         You already have an account with it, so nothing was changed.\n\nIf it was you, sign \
         in as usual, or if you forgot your password, reset it:\n\n{base}{FORGOT_PATH}\n\n\
         If it was not you, you can ignore this mail.\n"
    );
    mail(
        product,
        to,
        "someone tried to sign up with your address",
        text,
    )
}

pub(super) fn reset(product: &str, to: &str, link: &str, expires_at: Timestamp) -> OutgoingMail {
    let text = format!(
        "Hello,\n\nSomeone asked to reset the password of your {product} account. To choose a \
         new password, open this link:\n\n{link}\n\n{}\n\nChoosing a new password signs you out \
         everywhere and asks for a code again on devices you trusted.\n\nIf you did not ask, \
         ignore this mail: your password stays as it is.\n",
        works_until(expires_at)
    );
    mail(product, to, "reset your password", text)
}

pub(super) fn reset_done(product: &str, to: &str, at: Timestamp) -> OutgoingMail {
    let text = format!(
        "The password of your {product} account was reset with a link sent to this address, \
         on {}.\n\nYou are signed out everywhere, apps that use your account will ask you to \
         sign in again, and devices you trusted will be asked for a code again.\n\nIf this was \
         not you, someone can read your mail: secure your mailbox, then reset the password \
         again and contact your administrator.\n",
        when::date_time(at)
    );
    mail(product, to, "your password was reset", text)
}

pub(super) fn email_change(
    product: &str,
    to: &str,
    link: &str,
    expires_at: Timestamp,
) -> OutgoingMail {
    let text = format!(
        "Hello,\n\nSomeone asked to use this address for their {product} account. If it was \
         you, confirm it with this link:\n\n{link}\n\n{}\n\nIf it was not you, ignore this \
         mail: nothing changes until the link is used.\n",
        works_until(expires_at)
    );
    mail(product, to, "confirm your new email address", text)
}

pub(super) fn email_taken(product: &str, to: &str) -> OutgoingMail {
    let text = format!(
        "Hello,\n\nSomeone asked to use this address for a {product} account. It already \
         belongs to your account, so nothing was changed.\n\nIf it was not you, you can ignore \
         this mail.\n"
    );
    mail(product, to, "someone tried to use your address", text)
}

pub(super) fn email_changed(product: &str, old: &str, new: &str, at: Timestamp) -> OutgoingMail {
    let text = format!(
        "The email address of your {product} account was changed from this address to {new} \
         on {}. Mail about the account now goes there.\n\nIf this was not you, contact your \
         administrator now.\n",
        when::date_time(at)
    );
    mail(product, old, "your email address was changed", text)
}
