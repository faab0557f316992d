//! A resource server (an API) that access tokens may name as their audience. The list is
//! the `[[resources]]` config section as it is.

use serde::{Deserialize, Serialize};

use crate::InvalidSetting;

/// One `[[resources]]` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceServer {
    /// The audience value: an API identifier (`api.example.com`) or URL.
    pub identifier: String,
    /// The scopes this API understands.
    pub scopes: Vec<String>,
    /// What people call the API ("Example API"); the account pages show it next to its
    /// scopes. Absent: the identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// One sentence on what the API is for, shown under its name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// What each scope lets a token do ("Read your repositories"), by scope.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub scope_descriptions: std::collections::BTreeMap<String, String>,
}

impl ResourceServer {
    /// What the pages call this API.
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.identifier)
    }

    pub fn scope_description(&self, scope: &str) -> Option<&str> {
        self.scope_descriptions.get(scope).map(String::as_str)
    }
}

/// The scope of the admin REST API (issue 15, H4): the only scope its built-in resource
/// server offers.
pub const ADMIN_SCOPE: &str = "lanyard:admin";

/// The admin API's audience is the issuer followed by this path.
pub const ADMIN_API_AUDIENCE_PATH: &str = "/admin/api";

/// The admin API's audience for an issuer: `<issuer>/admin/api`.
pub fn admin_api_audience(issuer: &str) -> String {
    format!("{issuer}{ADMIN_API_AUDIENCE_PATH}")
}

/// Above this a name or description is refused: they are page text, not documents.
const MAX_TEXT_CHARS: usize = 200;

/// The registered resource servers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Resources(pub Vec<ResourceServer>);

impl Resources {
    /// The configured APIs plus the built-in admin API (`<issuer>/admin/api`, scope
    /// `lanyard:admin`). An entry of the configuration with the same identifier is replaced:
    /// the admin API's scopes are not configurable.
    pub fn with_admin_api(mut self, issuer: &str) -> Self {
        let identifier = admin_api_audience(issuer);
        self.0.retain(|r| r.identifier != identifier);
        self.0.push(ResourceServer {
            identifier,
            scopes: vec![ADMIN_SCOPE.to_owned()],
            name: Some(format!("{issuer} administration")),
            description: Some("The Lanyard admin REST API".to_owned()),
            scope_descriptions: std::collections::BTreeMap::from([(
                ADMIN_SCOPE.to_owned(),
                "Administer this server (admins only)".to_owned(),
            )]),
        });
        self
    }

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
            let text_ok = |t: &String| {
                !t.trim().is_empty()
                    && t.chars().count() <= MAX_TEXT_CHARS
                    && !t.chars().any(char::is_control)
            };
            if !entry.name.iter().all(text_ok) {
                return Err(InvalidSetting::new(
                    "resources.name",
                    "must be 1-200 characters without control characters",
                ));
            }
            if !entry.description.iter().all(text_ok) {
                return Err(InvalidSetting::new(
                    "resources.description",
                    "must be 1-200 characters without control characters",
                ));
            }
            if !entry
                .scope_descriptions
                .iter()
                .all(|(scope, text)| entry.scopes.contains(scope) && text_ok(text))
            {
                return Err(InvalidSetting::new(
                    "resources.scope_descriptions",
                    "must describe scopes the API lists, each in 1-200 characters",
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
            ..ResourceServer::default()
        }
    }

    #[test]
    fn names_and_descriptions_are_optional_page_text() {
        let key = |entry: ResourceServer| Resources(vec![entry]).validate().err().map(|e| e.key);
        let mut described = api("a", &["s"]);
        described.name = Some("Example API".to_owned());
        described.description = Some("Files and folders".to_owned());
        described
            .scope_descriptions
            .insert("s".to_owned(), "Read your files".to_owned());
        assert_eq!(key(described.clone()), None);
        assert_eq!(described.display_name(), "Example API");
        assert_eq!(api("a", &["s"]).display_name(), "a");
        let mut bad = described.clone();
        bad.name = Some(" ".to_owned());
        assert_eq!(key(bad), Some("resources.name"));
        let mut bad = described.clone();
        bad.description = Some("x".repeat(201));
        assert_eq!(key(bad), Some("resources.description"));
        let mut bad = described;
        bad.scope_descriptions
            .insert("other".to_owned(), "Not a scope of this API".to_owned());
        assert_eq!(key(bad), Some("resources.scope_descriptions"));
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
