//! The notice mail sent on every password change (issue 12 item 3), like the ones for the
//! authenticator app. It lives here because this service owns the security mail: the
//! product name, the mailer and the clock.

use lanyard_core::OutgoingMail;
use lanyard_core::model::Account;

use crate::{MfaService, when};

impl MfaService {
    /// Tells the account's owner that the password was changed: what changed, when, what
    /// else happened because of it, and what to do if it was not them. Failing to send it
    /// must not undo the change, so errors are logged (without the address) and swallowed.
    pub async fn notify_password_changed(&self, account: &Account) {
        let text = format!(
            "The password of your {product} account ({email}) was changed on {time}.\n\n\
             Because of that, you are signed out everywhere except where the change was made, \
             apps that use your account will ask you to sign in again, and devices you trusted \
             will be asked for a code again.\n\n\
             If you changed it, there is nothing else to do.\n\n\
             If this was not you, someone else knows your password and can receive your \
             sign-in codes. Contact your administrator now: they can disable the account and \
             help you back in. Then change the password again and check the authenticator app \
             and the trusted devices on your account's security page.\n",
            product = self.product_name,
            email = account.email,
            time = when::date_time(self.clock.now()),
        );
        let mail = OutgoingMail {
            to: account.email.clone(),
            subject: format!("{}: your password was changed", self.product_name),
            text,
        };
        if let Err(e) = self.mailer.send(&mail).await {
            tracing::warn!(error = %e, "password change notice could not be sent");
        }
    }
}
