//! Scope strings (RFC 6749 §3.3): space-delimited, case-sensitive, each a run of the
//! characters `%x21 / %x23-5B / %x5D-7E`.

use std::collections::BTreeSet;

pub const OPENID: &str = "openid";
pub const OFFLINE_ACCESS: &str = "offline_access";
/// Releases the account's privacy preferences as the `privacy` claim at UserInfo (A4,
/// docs/accounts.md).
pub const PRIVACY: &str = "privacy";
const MAX_SCOPE_LEN: usize = 1024;

/// A de-duplicated, sorted set of scope tokens.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Scopes(BTreeSet<String>);

impl Scopes {
    /// `None` when the value is not a well-formed scope string.
    pub fn parse(value: &str) -> Option<Self> {
        if value.len() > MAX_SCOPE_LEN {
            return None;
        }
        let mut set = BTreeSet::new();
        for token in value.split(' ') {
            if token.is_empty() {
                continue;
            }
            let ok = token
                .bytes()
                .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b));
            if !ok {
                return None;
            }
            set.insert(token.to_owned());
        }
        Some(Self(set))
    }

    pub fn from_list<I: IntoIterator<Item = S>, S: Into<String>>(items: I) -> Self {
        Self(items.into_iter().map(Into::into).collect())
    }

    pub fn contains(&self, scope: &str) -> bool {
        self.0.contains(scope)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn is_subset_of(&self, other: &Scopes) -> bool {
        self.0.is_subset(&other.0)
    }

    pub fn is_subset_of_list(&self, allowed: &[String]) -> bool {
        self.0.iter().all(|s| allowed.iter().any(|a| a == s))
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    pub fn to_vec(&self) -> Vec<String> {
        self.0.iter().cloned().collect()
    }
}

impl std::fmt::Display for Scopes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut first = true;
        for s in &self.0 {
            if !first {
                f.write_str(" ")?;
            }
            f.write_str(s)?;
            first = false;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_dedups_and_sorts() {
        let s = Scopes::parse("profile openid  openid email").unwrap();
        assert_eq!(s.to_string(), "email openid profile");
    }

    #[test]
    fn refuses_forbidden_characters_and_oversize() {
        for bad in ["a\"b", "a\\b", "é", "a\tb", "a\0"] {
            assert!(Scopes::parse(bad).is_none(), "{bad:?}");
        }
        assert!(Scopes::parse(&"a".repeat(2000)).is_none());
    }

    #[test]
    fn subset_checks() {
        let small = Scopes::parse("openid").unwrap();
        let big = Scopes::parse("openid email").unwrap();
        assert!(small.is_subset_of(&big));
        assert!(!big.is_subset_of(&small));
        assert!(big.is_subset_of_list(&["email".into(), "openid".into(), "x".into()]));
    }
}
