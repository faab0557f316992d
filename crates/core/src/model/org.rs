//! Organizations (G1): membership, the admin role and the policy that members must have an
//! authenticator app (S54). Their domains and upstream IdP are in `model::federation`.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{AccountId, Clock, Rng, Timestamp};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OrgId(pub Uuid);

impl OrgId {
    pub fn new(clock: &dyn Clock, rng: &dyn Rng) -> Self {
        Self(crate::ids::uuid_v7(clock, rng))
    }
}

impl std::fmt::Display for OrgId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    pub id: OrgId,
    /// Lower-case letters, digits and single hyphens: used in URLs and commands.
    pub slug: String,
    pub name: String,
    /// Set while members must have an authenticator app: when the policy was turned on.
    /// Grants authenticated before this need a new sign-in.
    pub authenticator_required_since: Option<Timestamp>,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrgRole {
    Member,
    Admin,
}

impl OrgRole {
    pub fn as_str(self) -> &'static str {
        match self {
            OrgRole::Member => "member",
            OrgRole::Admin => "admin",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "member" => Some(OrgRole::Member),
            "admin" => Some(OrgRole::Admin),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub org_id: OrgId,
    pub account_id: AccountId,
    pub role: OrgRole,
    pub joined_at: Timestamp,
}
