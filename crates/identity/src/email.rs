//! Email normalization: one function for lookup, uniqueness and rate-limit keys, so
//! `Alice@X` and `alice@x` can never be two accounts or two counters (S51, S53c).

use crate::IdentityError;

const MAX_EMAIL_LEN: usize = 254;

/// Trims, lower-cases and checks the shape `local@domain` with no spaces or control
/// characters. Lower-casing the local part is a deliberate choice: mailbox providers treat
/// it case-insensitively in practice and requirement A1 makes emails case-insensitive.
pub fn normalize_email(input: &str) -> Result<String, IdentityError> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(IdentityError::InvalidEmail("empty"));
    }
    if trimmed.len() > MAX_EMAIL_LEN {
        return Err(IdentityError::InvalidEmail("too long"));
    }
    if trimmed.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(IdentityError::InvalidEmail(
            "contains spaces or control characters",
        ));
    }
    let Some((local, domain)) = trimmed.rsplit_once('@') else {
        return Err(IdentityError::InvalidEmail("missing @"));
    };
    if local.is_empty() || domain.is_empty() || local.contains('@') {
        return Err(IdentityError::InvalidEmail("not of the form name@domain"));
    }
    if domain.starts_with('.') || domain.ends_with('.') || domain.contains("..") {
        return Err(IdentityError::InvalidEmail("invalid domain"));
    }
    Ok(trimmed.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_variants_normalize_to_one_key() {
        assert_eq!(
            normalize_email(" Alice@Example.COM ").unwrap(),
            "alice@example.com"
        );
        assert_eq!(
            normalize_email("ALICE@EXAMPLE.COM").unwrap(),
            normalize_email("alice@example.com").unwrap()
        );
    }

    #[test]
    fn s51_malformed_emails_are_refused() {
        for bad in [
            "",
            "   ",
            "no-at-sign",
            "@example.com",
            "alice@",
            "a@b@c.com",
            "alice@.example.com",
            "alice@example..com",
            "al ice@example.com",
            "alice\0@example.com",
            "alice@exa\u{7}mple.com",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad:?}");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(normalize_email(&long).is_err());
    }
}
