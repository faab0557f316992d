//! The invitation mails, in plain words (seed 000: "you now sign in to <site> with your
//! account" / "complete your account creation"). The link is the only secret in them.

use lanyard_core::model::{InvitationKind, Site, SiteUser};
use lanyard_core::{OutgoingMail, Timestamp};
use lanyard_mfa::when;

pub(super) fn invitation(
    product: &str,
    site: &Site,
    user: &SiteUser,
    kind: InvitationKind,
    link: &str,
    expires_at: Timestamp,
) -> OutgoingMail {
    let site_name = &site.name;
    let login = &user.login;
    let expiry = format!(
        "The link works once, until {}. If it expires, ask the administrator of {site_name} to \
         send a new invitation.",
        when::date_time(expires_at)
    );
    let (subject, text) = match kind {
        InvitationKind::Access => (
            format!("You now sign in to {site_name} with your {product} account"),
            format!(
                "Hello,\n\n{site_name} is moving its sign-in to {product} accounts. You already \
                 have a {product} account with this email address, so from now on you can use \
                 it to sign in to {site_name}, where your user is \"{login}\".\n\nOpen this \
                 link and sign in with your {product} account to confirm:\n\n{link}\n\n\
                 {expiry}\n\nIf you did not expect this mail, you can ignore it: nothing \
                 changes until the link is used.\n"
            ),
        ),
        InvitationKind::CreateAccount => (
            format!("Complete your account creation for {site_name}"),
            format!(
                "Hello,\n\n{site_name} is moving its sign-in to {product} accounts. Your user \
                 there is \"{login}\". To keep using {site_name}, create your {product} \
                 account with this email address:\n\n{link}\n\nKeep this email address on your \
                 account: it is how your user on {site_name} finds your account until the \
                 move is complete.\n\n{expiry}\n\nIf you did not expect this mail, you can \
                 ignore it.\n"
            ),
        ),
    };
    OutgoingMail {
        to: user.email.clone(),
        subject: format!("{product}: {subject}"),
        text,
    }
}
