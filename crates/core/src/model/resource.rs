//! A resource server (an API) that access tokens may name as their audience.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceServer {
    /// The audience value: an API identifier (`api.example.com`) or URL.
    pub identifier: String,
    /// The scopes this API understands.
    pub scopes: Vec<String>,
}

/// The registered resource servers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resources(pub Vec<ResourceServer>);

impl Resources {
    pub fn find(&self, identifier: &str) -> Option<&ResourceServer> {
        self.0.iter().find(|r| r.identifier == identifier)
    }

    /// True when some registered API offers `scope`.
    pub fn offers(&self, scope: &str) -> bool {
        self.0.iter().any(|r| r.scopes.iter().any(|s| s == scope))
    }
}
