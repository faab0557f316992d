//! Which assurance level and RFC 8176 method references a completed sign-in earns
//! (requirements, "Decisions"): password + emailed code is loa:2, password + authenticator app
//! or backup code is loa:3. A trusted device stands in for the emailed code that trusted it.

use lanyard_core::model::authenticated::acr;

/// The second factor a sign-in or step-up used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Factor {
    EmailCode,
    Totp,
    BackupCode,
    TrustedDevice,
}

impl Factor {
    pub fn acr(self) -> &'static str {
        match self {
            Factor::EmailCode | Factor::TrustedDevice => acr::LOA2,
            Factor::Totp | Factor::BackupCode => acr::LOA3,
        }
    }

    /// `pwd` always (the password came first); `otp` for a one-time code of any kind; `mfa`
    /// because two factors were used.
    pub fn amr(self) -> Vec<String> {
        let values: &[&str] = match self {
            Factor::EmailCode | Factor::Totp | Factor::BackupCode => &["pwd", "otp", "mfa"],
            Factor::TrustedDevice => &["pwd", "mfa"],
        };
        values.iter().map(|v| (*v).to_owned()).collect()
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Factor::EmailCode => "email",
            Factor::Totp => "totp",
            Factor::BackupCode => "backup_code",
            Factor::TrustedDevice => "trusted_device",
        }
    }
}
