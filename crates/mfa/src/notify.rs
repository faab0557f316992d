//! Mail the service sends: sign-in codes and security notices. A code mail holds the code and
//! its context only — never a link that signs anyone in (S32).

use lanyard_core::model::MfaMethod;
use lanyard_core::{AccountId, OutgoingMail, Timestamp};

use crate::lockout::Lock;
use crate::{MfaError, MfaService, when};

/// What filled the account's failure count up to a lock: the owner's advice differs (a
/// wrong code means someone had the password).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockCause {
    Passwords,
    Codes,
}

/// A way back into a locked account, as the owner's mail lists it. A new way joins here and
/// nowhere else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WayBackIn {
    /// The wait ends by itself at this time.
    WaitUntil(Timestamp),
    /// Only an operator opens a hard lock.
    AskAdministrator,
    /// A browser trusted before is let through (S53e) and skips the emailed code.
    TrustedDevice,
    /// A password reset by an emailed link clears the lock (docs/accounts.md); the second
    /// step is still asked after it.
    ResetPassword,
}

impl WayBackIn {
    fn text(self) -> String {
        match self {
            WayBackIn::WaitUntil(at) => {
                format!("Wait until {}, then sign in as usual.", when::date_time(at))
            }
            WayBackIn::AskAdministrator => {
                "Ask your administrator to unlock your account.".to_owned()
            }
            WayBackIn::TrustedDevice => "Sign in on a device you chose to trust before: \
                 it can still sign in with your password while the lock lasts."
                .to_owned(),
            WayBackIn::ResetPassword => "Choose a new password: on the sign-in page, select \
                 \"Forgot your password?\" and follow the link we send to this address. A new \
                 password ends the lock."
                .to_owned(),
        }
    }
}

/// The ways back in for a lock: waiting (or the administrator), and a trusted device when
/// one would really get through — it skips only an emailed code, never an authenticator app.
pub fn ways_back_in(lock: Lock, trusted_device_works: bool) -> Vec<WayBackIn> {
    let mut ways = match lock {
        Lock::Open => return Vec::new(),
        Lock::Until(at) => vec![WayBackIn::WaitUntil(at)],
        Lock::Hard => vec![WayBackIn::AskAdministrator],
    };
    if trusted_device_works {
        ways.push(WayBackIn::TrustedDevice);
    }
    ways.push(WayBackIn::ResetPassword);
    ways
}

/// The lock mail's subject and text.
pub fn lock_mail(
    cause: LockCause,
    failures: u32,
    lock: Lock,
    now: Timestamp,
    ways: &[WayBackIn],
) -> (String, String) {
    let (subject, what) = match cause {
        LockCause::Passwords => (
            "Too many wrong passwords",
            format!("A wrong password was entered for your account {failures} times in a row."),
        ),
        LockCause::Codes => (
            "Too many wrong sign-in codes",
            format!(
                "A wrong sign-in code was entered for your account {failures} times in a row, \
                 after the right password."
            ),
        ),
    };
    let how_long = match lock {
        Lock::Until(until) => format!(
            "For your security, signing in to your account is paused until {} (for {}). \
             Until then even the right password and code will not work.",
            when::date_time(until),
            when::span(until.seconds() - now.seconds()),
        ),
        _ => "For your security, signing in to your account is locked until your \
              administrator unlocks it. Until then even the right password and code will not \
              work."
            .to_owned(),
    };
    let mut text = format!("{what}\n\n{how_long}\n\nWays back in:\n");
    for way in ways {
        text.push_str(&format!("- {}\n", way.text()));
    }
    let advice = match cause {
        // Codes are only asked after the right password.
        LockCause::Codes => {
            "\nIf this was not you, someone knows your password: once you are signed in, \
             change it on your security page."
        }
        LockCause::Passwords => {
            "\nIf this was not you, someone may be trying to guess your password."
        }
    };
    text.push_str(advice);
    (subject.to_owned(), text)
}

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

    /// Sent when a backoff starts and when the hard limit is reached (S30): what filled the
    /// count, until when, and the ways back in.
    pub(crate) async fn notify_lock(
        &self,
        account: AccountId,
        to: &str,
        cause: LockCause,
        failures: u32,
        lock: Lock,
    ) {
        let trusted_device_works = match self.trusted_device_works(account).await {
            Ok(works) => works,
            Err(e) => {
                // Better a mail without that line than no mail.
                tracing::warn!(error = %e, "trusted devices could not be read for a lock mail");
                false
            }
        };
        let ways = ways_back_in(lock, trusted_device_works);
        let now = self.clock.now();
        let (subject, text) = lock_mail(cause, failures, lock, now, &ways);
        let mail = OutgoingMail {
            to: to.to_owned(),
            subject: format!("{}: {subject}", self.product_name),
            text: format!("{text}\n\nTime: {}\n", when::date_time(now)),
        };
        if let Err(e) = self.mailer.send(&mail).await {
            tracing::warn!(error = %e, "security notice could not be sent");
        }
    }

    /// Whether a trusted device would get this account in during a lock: it lets the password
    /// through (S53e) and skips the emailed code, so only for email-method accounts.
    async fn trusted_device_works(&self, account: AccountId) -> Result<bool, MfaError> {
        let state = self.repo.mfa_state(account).await?;
        if state.method != MfaMethod::Email {
            return Ok(false);
        }
        let devices = self
            .repo
            .list_trusted_devices(account, self.clock.now())
            .await?;
        Ok(devices
            .iter()
            .any(|d| d.revoked_at.is_none() && d.credential_epoch == state.credential_epoch))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_lock_says_passwords_until_when_and_how_to_get_back_in() {
        // 2026-12-21T14:32:00Z
        let now = Timestamp(1_797_863_520);
        let lock = Lock::Until(Timestamp(now.0 + 60));
        let ways = ways_back_in(lock, true);
        let (subject, text) = lock_mail(LockCause::Passwords, 5, lock, now, &ways);
        assert_eq!(subject, "Too many wrong passwords");
        assert!(
            text.contains("wrong password was entered for your account 5 times"),
            "{text}"
        );
        assert!(
            text.contains("until 21 December 2026 at 14:33 UTC (for 1 minute)"),
            "{text}"
        );
        assert!(
            text.contains("- Wait until 21 December 2026 at 14:33 UTC"),
            "{text}"
        );
        assert!(
            text.contains("- Sign in on a device you chose to trust before"),
            "{text}"
        );
        assert!(text.contains("- Choose a new password"), "{text}");
        assert!(!text.contains("http"), "no link in a lock mail: {text}");
        assert!(!text.contains("sign-in code was entered"), "{text}");
    }

    #[test]
    fn a_hard_code_lock_names_codes_and_the_administrator() {
        let now = Timestamp(1_797_863_520);
        let ways = ways_back_in(Lock::Hard, false);
        let (subject, text) = lock_mail(LockCause::Codes, 100, Lock::Hard, now, &ways);
        assert_eq!(subject, "Too many wrong sign-in codes");
        assert!(text.contains("100 times"), "{text}");
        assert!(
            text.contains("- Ask your administrator to unlock your account."),
            "{text}"
        );
        assert!(!text.contains("trust"), "{text}");
        assert!(text.contains("someone knows your password"), "{text}");
    }
}
