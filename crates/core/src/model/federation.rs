//! Federation (G1–G4): the email domains an organization owns, its one upstream identity
//! provider, and the upstream identities linked to accounts. Plain data; the rules live in
//! `lanyard-federation`.

use serde::{Deserialize, Serialize};

use crate::model::{OrgId, OrgRole};
use crate::{AccountId, Timestamp};

/// An email domain an organization claims. Home-realm discovery and automatic linking use it
/// only once it is verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgDomain {
    pub org_id: OrgId,
    /// Lower-case ASCII (an internationalized name in its `xn--` form): the unique key.
    pub domain: String,
    /// The value the organization publishes at `_lanyard-verify.<domain>`. Not a secret: it
    /// is meant to be read by anyone from DNS; it only proves control of the zone.
    pub verification_token: String,
    pub added_at: Timestamp,
    pub verified: Option<DomainVerification>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DomainVerification {
    pub at: Timestamp,
    pub proof: DomainProof,
}

/// How a domain was shown to belong to its organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DomainProof {
    /// The TXT record was found.
    Dns,
    /// An operator said so (audited).
    Operator,
}

impl DomainProof {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dns => "dns",
            Self::Operator => "operator",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "dns" => Some(Self::Dns),
            "operator" => Some(Self::Operator),
            _ => None,
        }
    }
}

/// An organization's upstream identity provider and what it asks of its members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    pub org_id: OrgId,
    pub upstream: Upstream,
    /// G4: password sign-in, PATs and non-federated grants are refused for the
    /// organization's verified domains.
    pub require_sso: bool,
    /// RP-initiated logout also ends the upstream session (its `end_session_endpoint`).
    pub end_upstream_session: bool,
    /// A disabled connection signs nobody in and links nothing (S39).
    pub enabled: bool,
    pub updated_at: Timestamp,
}

/// The protocol of an upstream. Adding SAML 2.0 is a new variant and a new module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Upstream {
    Oidc(OidcUpstream),
}

impl Upstream {
    /// The stored name of the protocol.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Oidc(_) => "oidc",
        }
    }

    /// The issuer identifier the upstream's identities are keyed under (with their `sub`).
    pub fn issuer(&self) -> &str {
        match self {
            Self::Oidc(oidc) => &oidc.issuer,
        }
    }
}

/// An OpenID Provider we are a relying party of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OidcUpstream {
    /// The exact issuer identifier; discovery is fetched from under it.
    pub issuer: String,
    pub client_id: String,
    /// The client secret sealed with the KEK (associated data: the organization's id).
    #[serde(with = "sealed_bytes")]
    pub client_secret_sealed: Vec<u8>,
    /// Asked for besides `openid`.
    pub scopes: Vec<String>,
    #[serde(default)]
    pub claims: ClaimMapping,
}

/// Which upstream claims mean what here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimMapping {
    pub email: String,
    pub name: String,
    /// The claim that lists the user's groups, if the upstream sends one.
    #[serde(default)]
    pub groups: Option<String>,
    /// A group that makes its members this role in the organization.
    #[serde(default)]
    pub roles: Vec<GroupRole>,
    /// Upstream `acr` values carried into our sessions as one of our levels
    /// (`urn:lanyard:loa:N`). Unmapped values are not carried.
    #[serde(default)]
    pub acr: Vec<AcrMapping>,
}

impl Default for ClaimMapping {
    fn default() -> Self {
        Self {
            email: "email".into(),
            name: "name".into(),
            groups: None,
            roles: Vec::new(),
            acr: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupRole {
    pub group: String,
    pub role: OrgRole,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcrMapping {
    pub upstream: String,
    pub ours: String,
}

/// An upstream identity linked to an account: the key is the issuer and `sub`, never the
/// email (G3, S39).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FederatedIdentity {
    pub issuer: String,
    pub subject: String,
    pub account_id: AccountId,
    pub org_id: OrgId,
    /// The email the upstream last asserted (shown to the user; never used to look up).
    pub email: Option<String>,
    pub linked_at: Timestamp,
    pub last_sign_in: Timestamp,
}

mod sealed_bytes {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD_NO_PAD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD_NO_PAD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        STANDARD_NO_PAD
            .decode(text)
            .map_err(serde::de::Error::custom)
    }
}
