//! Mail the service sends: sign-in codes and security notices. A code mail holds the code and
//! its context only — never a link that signs anyone in (S32).

use lanyard_core::{OutgoingMail, Timestamp};

use crate::{MfaError, MfaService, when};

impl MfaService {
    pub(crate) async fn send_code_mail(
        &self,
        to: &str,
        code: &str,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<(), MfaError> {
        let text = format!(
            "Your {product} sign-in code is:\n\n    {code}\n\n\
             It expires at {time} ({relative}). Enter it on the page where you are signing in.\n\n\
             If you did not try to sign in, someone may know your password: change it.\n",
            product = self.product_name,
            time = when::clock_time(expires_at),
            relative = when::from_now(now, expires_at),
        );
        let mail = OutgoingMail {
            to: to.to_owned(),
            subject: format!("Your {} sign-in code", self.product_name),
            text,
        };
        self.mailer.send(&mail).await?;
        Ok(())
    }

    /// A security notice. Failing to send it must not undo the change it reports, so errors
    /// are logged (without the address) and swallowed.
    pub(crate) async fn notify(&self, to: &str, subject: &str, body: &str) {
        let mail = OutgoingMail {
            to: to.to_owned(),
            subject: format!("{}: {subject}", self.product_name),
            text: format!(
                "{body}\n\nTime: {}\n\nIf this was not you, change your password and contact \
                 your administrator.\n",
                when::date_time(self.clock.now())
            ),
        };
        if let Err(e) = self.mailer.send(&mail).await {
            tracing::warn!(error = %e, "security notice could not be sent");
        }
    }

    /// Sent when a backoff starts and when the hard limit is reached (S30).
    pub(crate) async fn notify_lock(&self, to: &str, hard: bool) {
        let body = if hard {
            "Too many wrong passwords or sign-in codes were entered for your account, so \
             signing in is locked. Contact your administrator to unlock it."
        } else {
            "Several wrong passwords or sign-in codes were entered for your account. For your \
             security, new attempts must wait a few minutes."
        };
        self.notify(to, "Wrong sign-in codes", body).await;
    }
}
