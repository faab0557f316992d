//! Rows to models and back. A stored value that does not decode (an unknown proof, a
//! verification time without its proof, settings that are not an `Upstream` of the stored
//! kind) is [`StoreError::Corrupt`]: never user input, a bug or tampering.

use lanyard_core::model::{
    Connection, DomainProof, DomainVerification, FederatedIdentity, OrgDomain, OrgId, Upstream,
};
use lanyard_core::{AccountId, StoreError};
use sea_orm::ActiveValue::Set;

use super::super::{from_json, to_json, ts};
use crate::entity::{federated_identity as identity, org_connection, org_domain};
use crate::error::corrupt;

pub(super) fn to_domain(row: org_domain::Model) -> Result<OrgDomain, StoreError> {
    let verified = match (row.verified_at, row.verified_by) {
        (None, None) => None,
        (Some(at), Some(by)) => Some(DomainVerification {
            at: ts(at),
            proof: DomainProof::parse(&by).ok_or_else(|| corrupt("org domain proof"))?,
        }),
        // Both are written by the one conditional update: half of them is not a state.
        _ => return Err(corrupt("org domain verification")),
    };
    Ok(OrgDomain {
        org_id: OrgId(row.org_id),
        domain: row.domain,
        verification_token: row.verification_token,
        added_at: ts(row.added_at),
        verified,
    })
}

pub(super) fn domain_row(d: &OrgDomain) -> org_domain::ActiveModel {
    org_domain::ActiveModel {
        domain: Set(d.domain.clone()),
        org_id: Set(d.org_id.0),
        verification_token: Set(d.verification_token.clone()),
        added_at: Set(d.added_at.seconds()),
        verified_at: Set(d.verified.map(|v| v.at.seconds())),
        verified_by: Set(d.verified.map(|v| v.proof.as_str().to_owned())),
    }
}

pub(super) fn to_connection(row: org_connection::Model) -> Result<Connection, StoreError> {
    let upstream: Upstream = from_json(&row.settings, "org connection settings")?;
    if upstream.kind() != row.kind {
        return Err(corrupt("org connection kind"));
    }
    Ok(Connection {
        org_id: OrgId(row.org_id),
        upstream,
        require_sso: row.require_sso,
        end_upstream_session: row.end_upstream_session,
        enabled: row.enabled,
        updated_at: ts(row.updated_at),
    })
}

pub(super) fn connection_row(c: &Connection) -> Result<org_connection::ActiveModel, StoreError> {
    Ok(org_connection::ActiveModel {
        org_id: Set(c.org_id.0),
        kind: Set(c.upstream.kind().to_owned()),
        settings: Set(to_json(&c.upstream)?),
        require_sso: Set(c.require_sso),
        end_upstream_session: Set(c.end_upstream_session),
        enabled: Set(c.enabled),
        updated_at: Set(c.updated_at.seconds()),
    })
}

pub(super) fn to_identity(row: identity::Model) -> FederatedIdentity {
    FederatedIdentity {
        issuer: row.issuer,
        subject: row.subject,
        account_id: AccountId(row.account_id),
        org_id: OrgId(row.org_id),
        email: row.email,
        linked_at: ts(row.linked_at),
        last_sign_in: ts(row.last_sign_in),
    }
}

pub(super) fn identity_row(i: &FederatedIdentity) -> identity::ActiveModel {
    identity::ActiveModel {
        issuer: Set(i.issuer.clone()),
        subject: Set(i.subject.clone()),
        account_id: Set(i.account_id.0),
        org_id: Set(i.org_id.0),
        email: Set(i.email.clone()),
        linked_at: Set(i.linked_at.seconds()),
        last_sign_in: Set(i.last_sign_in.seconds()),
    }
}

#[cfg(test)]
mod tests {
    use lanyard_core::model::{ClaimMapping, OidcUpstream};
    use lanyard_core::{StoreError, Timestamp};

    use super::*;

    fn domain_model(verified_at: Option<i64>, verified_by: Option<&str>) -> org_domain::Model {
        org_domain::Model {
            domain: "example.com".to_owned(),
            org_id: uuid::Uuid::from_u128(1),
            verification_token: "t".to_owned(),
            added_at: 10,
            verified_at,
            verified_by: verified_by.map(str::to_owned),
        }
    }

    fn connection_model(kind: &str, settings: &str) -> org_connection::Model {
        org_connection::Model {
            org_id: uuid::Uuid::from_u128(1),
            kind: kind.to_owned(),
            settings: settings.to_owned(),
            require_sso: true,
            end_upstream_session: false,
            enabled: true,
            updated_at: 10,
        }
    }

    fn is_corrupt<T: std::fmt::Debug>(result: Result<T, StoreError>) -> bool {
        matches!(result, Err(StoreError::Corrupt(_)))
    }

    #[test]
    fn a_domain_verification_decodes_only_whole_and_known() {
        let verified = to_domain(domain_model(Some(20), Some("dns"))).unwrap();
        assert_eq!(
            verified.verified,
            Some(DomainVerification {
                at: Timestamp(20),
                proof: DomainProof::Dns
            })
        );
        assert_eq!(to_domain(domain_model(None, None)).unwrap().verified, None);
        assert!(is_corrupt(to_domain(domain_model(Some(20), Some("email")))));
        assert!(is_corrupt(to_domain(domain_model(Some(20), None))));
        assert!(is_corrupt(to_domain(domain_model(None, Some("dns")))));
    }

    #[test]
    fn connection_settings_must_be_an_upstream_of_the_stored_kind() {
        let upstream = Upstream::Oidc(OidcUpstream {
            issuer: "https://idp.example".to_owned(),
            client_id: "c".to_owned(),
            client_secret_sealed: vec![0, 1, 255],
            scopes: vec!["email".to_owned()],
            claims: ClaimMapping::default(),
        });
        let json = serde_json::to_string(&upstream).unwrap();
        let decoded = to_connection(connection_model("oidc", &json)).unwrap();
        assert_eq!(decoded.upstream, upstream);
        assert!(is_corrupt(to_connection(connection_model("oidc", "{"))));
        assert!(is_corrupt(to_connection(connection_model(
            "oidc",
            r#"{"kind":"saml"}"#
        ))));
        assert!(is_corrupt(to_connection(connection_model("saml", &json))));
    }
}
