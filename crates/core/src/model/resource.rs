//! A resource server (an API) that access tokens may name as their audience. The list is
//! the `[[resources]]` config section as it is.

use serde::{Deserialize, Serialize};

use crate::InvalidSetting;

/// One `[[resources]]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceServer {
    /// The audience value: an API identifier (`api.example.com`) or URL.
    pub identifier: String,
    /// The scopes this API understands.
    pub scopes: Vec<String>,
}

/// The registered resource servers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Resources(pub Vec<ResourceServer>);

impl Resources {
    pub fn find(&self, identifier: &str) -> Option<&ResourceServer> {
        self.0.iter().find(|r| r.identifier == identifier)
    }

    /// True when some registered API offers `scope`.
    pub fn offers(&self, scope: &str) -> bool {
        self.0.iter().any(|r| r.scopes.iter().any(|s| s == scope))
    }

    /// Identifiers are unique, unpadded and without spaces (they are matched exactly against
    /// the `audience`/`resource` parameter); every API offers at least one printable scope
    /// that can sit in a space-separated `scope` value.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        let mut seen = std::collections::HashSet::new();
        for entry in &self.0 {
            let id = entry.identifier.as_str();
            if id.is_empty() || id.trim() != id || id.len() > 255 || id.contains(' ') {
                return Err(InvalidSetting::new(
                    "resources.identifier",
                    "must be 1-255 characters without spaces",
                ));
            }
            if !seen.insert(id) {
                return Err(InvalidSetting::new(
                    "resources.identifier",
                    "is listed twice",
                ));
            }
            let scope_ok = |s: &String| {
                !s.is_empty()
                    && s.len() <= 128
                    && s.bytes()
                        .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
            };
            if entry.scopes.is_empty() || !entry.scopes.iter().all(scope_ok) {
                return Err(InvalidSetting::new(
                    "resources.scopes",
                    "needs at least one scope, each printable without spaces",
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(identifier: &str, scopes: &[&str]) -> ResourceServer {
        ResourceServer {
            identifier: identifier.to_owned(),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn validate_names_the_key_of_a_bad_entry() {
        let key = |list: Vec<ResourceServer>| Resources(list).validate().err().map(|e| e.key);
        assert_eq!(key(vec![api("api.example.com", &["repo:read"])]), None);
        assert_eq!(key(vec![]), None);
        for bad in ["", " api", "a b", &"a".repeat(256)] {
            assert_eq!(
                key(vec![api(bad, &["repo:read"])]),
                Some("resources.identifier")
            );
        }
        let twice = vec![api("a", &["s"]), api("a", &["t"])];
        assert_eq!(key(twice), Some("resources.identifier"));
        for scopes in [&[][..], &[""], &["a b"], &["quote\""]] {
            assert_eq!(key(vec![api("a", scopes)]), Some("resources.scopes"));
        }
    }
}
