//! What we read from a verified ID token's payload. openidconnect has checked the token;
//! the claims a connection maps (email, name, groups) and the strict reading of
//! `email_verified` come from the verified payload itself.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use lanyard_core::model::{ClaimMapping, OrgRole};
use serde_json::{Map, Value};

use crate::FederationError;

/// The upstream identity a validated ID token describes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UpstreamIdentity {
    pub issuer: String,
    pub subject: String,
    /// As asserted (not yet normalized).
    pub email: Option<String>,
    /// `email_verified` was the JSON boolean `true`; a string, `false` or absence is not.
    pub email_verified: bool,
    pub name: Option<String>,
    pub groups: Vec<String>,
    /// The upstream `acr`, when it sent one.
    pub acr: Option<String>,
    /// The upstream session (`sid`), for its back-channel logout.
    pub sid: Option<String>,
}

impl UpstreamIdentity {
    /// The organization role the groups give: admin if any group maps to admin.
    pub fn role(&self, mapping: &ClaimMapping) -> OrgRole {
        let admin = mapping
            .roles
            .iter()
            .any(|r| r.role == OrgRole::Admin && self.groups.contains(&r.group));
        if admin {
            OrgRole::Admin
        } else {
            OrgRole::Member
        }
    }

    /// Our level for the upstream `acr`, when the connection maps it (trusting an upstream's
    /// assurance is the operator's choice, S40).
    pub fn mapped_acr<'a>(&self, mapping: &'a ClaimMapping) -> Option<&'a str> {
        let acr = self.acr.as_deref()?;
        mapping
            .acr
            .iter()
            .find(|m| m.upstream == acr)
            .map(|m| m.ours.as_str())
    }
}

/// The payload of a compact JWS whose signature was verified.
pub(crate) fn payload_object(jwt: &str) -> Result<Map<String, Value>, FederationError> {
    let bad = || FederationError::InvalidResponse("ID token payload".into());
    let payload = jwt.split('.').nth(1).ok_or_else(bad)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).map_err(|_| bad())?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(object)) => Ok(object),
        _ => Err(bad()),
    }
}

/// Reads the identity from a verified payload, under the connection's claim names.
pub(crate) fn identity_from(
    issuer: &str,
    subject: &str,
    payload: &Map<String, Value>,
    mapping: &ClaimMapping,
) -> UpstreamIdentity {
    let text = |name: &str| {
        payload
            .get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty() && s.len() <= 320)
            .map(str::to_owned)
    };
    let groups = mapping
        .groups
        .as_deref()
        .and_then(|name| payload.get(name))
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .take(256)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    UpstreamIdentity {
        issuer: issuer.to_owned(),
        subject: subject.to_owned(),
        email: text(&mapping.email),
        email_verified: payload.get("email_verified") == Some(&Value::Bool(true)),
        name: text(&mapping.name),
        groups,
        acr: text("acr"),
        sid: text("sid"),
    }
}

#[cfg(test)]
mod tests {
    use lanyard_core::model::{AcrMapping, GroupRole};
    use serde_json::json;

    use super::*;

    fn read(payload: Value, mapping: &ClaimMapping) -> UpstreamIdentity {
        let Value::Object(map) = payload else {
            unreachable!()
        };
        identity_from("https://idp", "s", &map, mapping)
    }

    #[test]
    fn only_the_boolean_true_verifies_an_email() {
        let mapping = ClaimMapping::default();
        for (value, verified) in [
            (json!(true), true),
            (json!(false), false),
            (json!("true"), false),
            (json!(1), false),
            (Value::Null, false),
        ] {
            let id = read(
                json!({"email": "a@corp.example", "email_verified": value}),
                &mapping,
            );
            assert_eq!(id.email_verified, verified, "{value}");
        }
        assert!(!read(json!({"email": "a@corp.example"}), &mapping).email_verified);
    }

    #[test]
    fn mapped_claims_roles_and_acr() {
        let mapping = ClaimMapping {
            email: "mail".into(),
            name: "display".into(),
            groups: Some("roles".into()),
            roles: vec![GroupRole {
                group: "idp-admins".into(),
                role: OrgRole::Admin,
            }],
            acr: vec![AcrMapping {
                upstream: "phr".into(),
                ours: "urn:lanyard:loa:3".into(),
            }],
        };
        let id = read(
            json!({"mail": "a@corp.example", "display": "Ann", "roles": ["staff", "idp-admins", 7],
                   "acr": "phr", "sid": "s1"}),
            &mapping,
        );
        assert_eq!(id.email.as_deref(), Some("a@corp.example"));
        assert_eq!(id.name.as_deref(), Some("Ann"));
        assert_eq!(id.groups, ["staff", "idp-admins"]);
        assert_eq!(id.role(&mapping), OrgRole::Admin);
        assert_eq!(id.mapped_acr(&mapping), Some("urn:lanyard:loa:3"));
        assert_eq!(id.sid.as_deref(), Some("s1"));
        let plain = read(json!({"mail": "b@corp.example", "acr": "pwd"}), &mapping);
        assert_eq!(plain.role(&mapping), OrgRole::Member);
        assert_eq!(plain.mapped_acr(&mapping), None);
    }
}
