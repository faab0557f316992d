//! What an organization's slug and name may be: the slug appears in URLs and commands.

use crate::IdentityError;

const SLUG_MAX: usize = 63;
const NAME_MAX: usize = 200;

/// 2–63 of `a-z`, `0-9` and `-`, starting and ending with a letter or digit, no `--`.
pub fn check_slug(slug: &str) -> Result<(), IdentityError> {
    let bytes = slug.as_bytes();
    let ok = (2..=SLUG_MAX).contains(&bytes.len())
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes.first() != Some(&b'-')
        && bytes.last() != Some(&b'-')
        && !slug.contains("--");
    if ok {
        Ok(())
    } else {
        Err(IdentityError::InvalidOrg(
            "the slug must be 2 to 63 lower-case letters, digits or single hyphens",
        ))
    }
}

/// The name as stored: trimmed, 1–200 characters, no control characters.
pub fn check_name(name: &str) -> Result<String, IdentityError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > NAME_MAX || name.chars().any(char::is_control) {
        return Err(IdentityError::InvalidOrg(
            "the name must be 1 to 200 characters without control characters",
        ));
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        for good in ["acme", "a1", "acme-corp", &"a".repeat(63)] {
            assert!(check_slug(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "a",
            "Acme",
            "-acme",
            "acme-",
            "ac--me",
            "ac me",
            "acmé",
            "ac_me",
            &"a".repeat(64),
        ] {
            assert!(check_slug(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names() {
        assert_eq!(check_name("  Acme Corp ").unwrap(), "Acme Corp");
        assert!(check_name("   ").is_err());
        assert!(check_name("a\u{7}b").is_err());
        assert!(check_name(&"x".repeat(201)).is_err());
        assert!(check_name(&"x".repeat(200)).is_ok());
    }
}
