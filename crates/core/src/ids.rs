//! Identifier newtypes so an account id can never be passed where a client id belongs.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AccountId(pub Uuid);

impl AccountId {
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }
}

impl Default for AccountId {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Display for AccountId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// An OAuth client identifier: 1–128 characters from a conservative set, so it is safe in
/// URLs, logs and Basic authentication.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ClientId(String);

impl ClientId {
    pub fn parse(value: &str) -> Option<Self> {
        let ok = !value.is_empty()
            && value.len() <= 128
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~'));
        ok.then(|| Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ClientId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A grant: everything issued from one authorization (its refresh tokens and the access
/// tokens minted alongside them). Revoking it revokes them all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FamilyId(pub Uuid);

impl FamilyId {
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }
}

impl Default for FamilyId {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Display for FamilyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_id_refuses_unsafe_characters() {
        assert!(ClientId::parse("my-app_1.x~").is_some());
        for bad in ["", "a b", "a:b", "a/b", "é", "' OR 1=1--", "a\0"] {
            assert!(ClientId::parse(bad).is_none(), "{bad:?}");
        }
        assert!(ClientId::parse(&"a".repeat(129)).is_none());
    }
}
