//! Authenticator-app codes (RFC 6238 through `totp-rs`): SHA-1, 6 digits, 30-second steps,
//! one step of skew either way — what every authenticator app understands (S29).
//!
//! `totp-rs` is stateless, so "a code is accepted once" is the caller's job: its `check` says
//! *which* time step a code belongs to, and the store advances the credential's
//! `last_used_step` only forwards (S28).

use totp_rs::{Algorithm, Builder, Totp};

use crate::MfaError;

pub const STEP_SECS: i64 = 30;
const SKEW_STEPS: i64 = 1;
/// 160-bit shared secrets, as RFC 4226 recommends (S31).
pub const SECRET_LEN: usize = 20;

fn totp(secret: &[u8], issuer: &str, account: &str) -> Result<Totp, MfaError> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(crate::code::OTP_DIGITS as u8)
        .with_skew(SKEW_STEPS as u16)
        .with_step_duration(STEP_SECS as u64)
        .with_secret(secret.to_vec())
        .with_issuer(Some(issuer.replace(':', " ")))
        .with_account_name(account.replace(':', " "))
        .build()
        .map_err(|e| MfaError::Internal(format!("totp parameters: {e:?}")))
}

/// The AEAD associated data a TOTP secret is sealed with: it binds the sealed secret to its
/// account, so a sealed secret copied to another account's row does not open. Public for the
/// site import, which seals the secrets a legacy site already had.
pub fn sealing_aad(account: lanyard_core::AccountId) -> Vec<u8> {
    let mut aad = b"lanyard:totp:".to_vec();
    aad.extend_from_slice(account.0.as_bytes());
    aad
}

/// The shortest secret the TOTP library accepts (RFC 4226 §4: at least 128 bits).
pub const MIN_SECRET_LEN: usize = 16;

/// The RFC 6238 step a unix time falls in.
pub fn step_at(unix_secs: i64) -> i64 {
    unix_secs.div_euclid(STEP_SECS)
}

/// The code for `step` (tests and the enrollment page use it; sign-in only compares).
pub fn code_at_step(secret: &[u8], step: i64) -> Result<String, MfaError> {
    let t = totp(secret, "x", "x")?;
    Ok(t.generate((step.max(0) * STEP_SECS) as u64).to_string())
}

/// The step within ±1 of `now_step` whose code equals `code`; `None` when none does.
pub fn matching_step(secret: &[u8], code: &str, now_step: i64) -> Result<Option<i64>, MfaError> {
    let t = totp(secret, "x", "x")?;
    let time = (now_step.max(0) * STEP_SECS) as u64;
    Ok(t.check(code, time)
        .and_then(|step| i64::try_from(step).ok()))
}

/// What the set-up page shows: the `otpauth://` URI as a QR code (inline SVG) and the secret
/// as base32 text in groups of four.
pub struct Enrollment {
    pub secret_text: String,
    pub qr_svg: String,
}

pub fn enrollment(secret: &[u8], issuer: &str, account: &str) -> Result<Enrollment, MfaError> {
    let t = totp(secret, issuer, account)?;
    let uri = t
        .to_url()
        .map_err(|e| MfaError::Internal(format!("otpauth uri: {e:?}")))?;
    let qr = qrcode::QrCode::new(uri.as_bytes())
        .map_err(|e| MfaError::Internal(format!("qr code: {e}")))?;
    let qr_svg = qr
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .dark_color(qrcode::render::svg::Color("#000000"))
        .light_color(qrcode::render::svg::Color("#ffffff"))
        .build();
    let base32 = totp_rs::Secret::from(secret.to_vec()).to_base32();
    let secret_text = base32
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    Ok(Enrollment {
        secret_text,
        qr_svg,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 secret "12345678901234567890", 8 digits truncated to 6 by
    /// taking the code modulo 10^6: the time 59 s gives 94287082 → 287082.
    #[test]
    fn matches_the_rfc_6238_vector() {
        let secret = b"12345678901234567890";
        assert_eq!(code_at_step(secret, step_at(59)).unwrap(), "287082");
        assert_eq!(
            code_at_step(secret, step_at(1_111_111_109)).unwrap(),
            "081804"
        );
    }

    #[test]
    fn accepts_one_step_either_way_and_no_more() {
        let secret = [7u8; SECRET_LEN];
        let now = step_at(1_700_000_000);
        for offset in [-1, 0, 1] {
            let code = code_at_step(&secret, now + offset).unwrap();
            assert_eq!(
                matching_step(&secret, &code, now).unwrap(),
                Some(now + offset)
            );
        }
        for offset in [-2, 2] {
            let code = code_at_step(&secret, now + offset).unwrap();
            assert_eq!(
                matching_step(&secret, &code, now).unwrap(),
                None,
                "{offset}"
            );
        }
    }

    #[test]
    fn enrollment_shows_the_secret_in_groups_and_an_svg() {
        let secret = [1u8; SECRET_LEN];
        let e = enrollment(&secret, "Lanyard", "ada@example.com").unwrap();
        assert!(e.qr_svg.contains("<svg"));
        assert_eq!(e.secret_text.replace(' ', "").len(), 32);
        assert!(e.secret_text.split(' ').all(|g| g.len() == 4));
    }
}
