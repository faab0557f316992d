//! OpenID Provider metadata (OIDC Discovery 1.0 §3) and OAuth authorization server metadata
//! (RFC 8414 §2), built once from the route constants and served as pre-serialised bytes.

use serde::Serialize;

use crate::endpoints;
use crate::settings::IssuerSettings;
use lanyard_core::model::GrantType;
use lanyard_core::model::authenticated::acr;

/// The algorithms a `private_key_jwt` assertion may be signed with, at every endpoint that
/// authenticates clients (what `lanyard_crypto::jws::verify_client_assertion` accepts).
const CLIENT_ASSERTION_ALGS: [&str; 3] = ["RS256", "ES256", "EdDSA"];

/// RFC 8693 §3: what token exchange accepts as `subject_token_type`.
const SUBJECT_TOKEN_TYPES: [&str; 2] = [
    crate::grant::PAT_TOKEN_TYPE,
    crate::grant::ACCESS_TOKEN_TYPE,
];

#[derive(Debug, Clone, Serialize)]
struct Metadata<'a> {
    issuer: &'a str,
    authorization_endpoint: String,
    token_endpoint: String,
    device_authorization_endpoint: String,
    userinfo_endpoint: String,
    jwks_uri: String,
    introspection_endpoint: String,
    revocation_endpoint: String,
    end_session_endpoint: String,
    scopes_supported: &'a [String],
    response_types_supported: [&'static str; 1],
    response_modes_supported: [&'static str; 1],
    grant_types_supported: [&'static str; 5],
    /// The subject token types token exchange accepts (RFC 8693 defines no metadata member;
    /// this is the name other servers and clients use, docs/clients.md).
    subject_token_types_supported: [&'static str; 2],
    /// The same list under the name Lanyard published first (kept for existing clients).
    token_exchange_subject_token_types_supported: [&'static str; 2],
    subject_types_supported: [&'static str; 1],
    id_token_signing_alg_values_supported: [&'static str; 1],
    token_endpoint_auth_methods_supported: [&'static str; 4],
    token_endpoint_auth_signing_alg_values_supported: [&'static str; 3],
    introspection_endpoint_auth_methods_supported: [&'static str; 3],
    /// RFC 8414 §2: required because `private_key_jwt` is listed for the endpoint.
    introspection_endpoint_auth_signing_alg_values_supported: [&'static str; 3],
    revocation_endpoint_auth_methods_supported: [&'static str; 3],
    /// RFC 8414 §2: required because `private_key_jwt` is listed for the endpoint.
    revocation_endpoint_auth_signing_alg_values_supported: [&'static str; 3],
    code_challenge_methods_supported: [&'static str; 1],
    claims_supported: [&'static str; 18],
    acr_values_supported: [&'static str; 3],
    prompt_values_supported: [&'static str; 4],
    claims_parameter_supported: bool,
    request_parameter_supported: bool,
    request_uri_parameter_supported: bool,
    authorization_response_iss_parameter_supported: bool,
    /// OIDC Back-Channel Logout 1.0 §2.1.
    backchannel_logout_supported: bool,
    backchannel_logout_session_supported: bool,
}

/// The metadata document as shared immutable bytes: serving it is a reference-count bump.
#[derive(Debug, Clone)]
pub struct Discovery {
    json: std::sync::Arc<[u8]>,
}

impl Discovery {
    pub fn build(settings: &IssuerSettings) -> Self {
        let id_alg = settings.id_token_alg.as_str();
        let metadata = Metadata {
            issuer: &settings.issuer,
            authorization_endpoint: settings.endpoint(endpoints::AUTHORIZE),
            token_endpoint: settings.endpoint(endpoints::TOKEN),
            device_authorization_endpoint: settings.endpoint(endpoints::DEVICE_AUTHORIZATION),
            userinfo_endpoint: settings.endpoint(endpoints::USERINFO),
            jwks_uri: settings.endpoint(endpoints::JWKS),
            introspection_endpoint: settings.endpoint(endpoints::INTROSPECT),
            revocation_endpoint: settings.endpoint(endpoints::REVOKE),
            end_session_endpoint: settings.endpoint(endpoints::LOGOUT),
            scopes_supported: &settings.scopes_supported,
            response_types_supported: ["code"],
            response_modes_supported: ["query"],
            grant_types_supported: [
                GrantType::AuthorizationCode.as_str(),
                GrantType::RefreshToken.as_str(),
                GrantType::ClientCredentials.as_str(),
                GrantType::TokenExchange.as_str(),
                GrantType::DeviceCode.as_str(),
            ],
            subject_token_types_supported: SUBJECT_TOKEN_TYPES,
            token_exchange_subject_token_types_supported: SUBJECT_TOKEN_TYPES,
            subject_types_supported: ["public"],
            id_token_signing_alg_values_supported: [id_alg],
            token_endpoint_auth_methods_supported: [
                "client_secret_basic",
                "client_secret_post",
                "private_key_jwt",
                "none",
            ],
            token_endpoint_auth_signing_alg_values_supported: CLIENT_ASSERTION_ALGS,
            introspection_endpoint_auth_methods_supported: [
                "client_secret_basic",
                "client_secret_post",
                "private_key_jwt",
            ],
            introspection_endpoint_auth_signing_alg_values_supported: CLIENT_ASSERTION_ALGS,
            revocation_endpoint_auth_methods_supported: [
                "client_secret_basic",
                "client_secret_post",
                "private_key_jwt",
            ],
            revocation_endpoint_auth_signing_alg_values_supported: CLIENT_ASSERTION_ALGS,
            code_challenge_methods_supported: ["S256"],
            claims_supported: [
                "sub",
                "iss",
                "aud",
                "exp",
                "iat",
                "auth_time",
                "nonce",
                "acr",
                "amr",
                "azp",
                "email",
                "email_verified",
                "name",
                "sid",
                "privacy",
                crate::subject::SITE_CLAIMS[0],
                crate::subject::SITE_CLAIMS[1],
                crate::subject::SITE_CLAIMS[2],
            ],
            acr_values_supported: acr::SUPPORTED,
            prompt_values_supported: ["none", "login", "consent", "select_account"],
            claims_parameter_supported: false,
            request_parameter_supported: false,
            request_uri_parameter_supported: false,
            authorization_response_iss_parameter_supported: true,
            backchannel_logout_supported: true,
            backchannel_logout_session_supported: true,
        };
        // Serialising a struct of strings can not fail; an empty document would be caught by
        // every discovery test.
        let json = serde_json::to_vec(&metadata).unwrap_or_default();
        Self { json: json.into() }
    }

    pub fn json(&self) -> &[u8] {
        &self.json
    }

    pub fn shared(&self) -> std::sync::Arc<[u8]> {
        self.json.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lanyard_core::model::{PatExchangeSettings, Resources};

    fn document() -> serde_json::Value {
        let settings = IssuerSettings::new(
            "https://id.example.com",
            crate::settings::TokenSettings::default(),
            PatExchangeSettings::default(),
            Resources::default(),
        )
        .unwrap();
        serde_json::from_slice(Discovery::build(&settings).json()).unwrap()
    }

    /// RFC 8414 §2: an endpoint that lists `private_key_jwt` (or `client_secret_jwt`) among
    /// its auth methods must list the signing algorithms too.
    #[test]
    fn rfc8414_2_every_endpoint_with_private_key_jwt_lists_its_algorithms() {
        let doc = document();
        for endpoint in [
            "token_endpoint",
            "introspection_endpoint",
            "revocation_endpoint",
        ] {
            let methods = &doc[format!("{endpoint}_auth_methods_supported")];
            assert!(
                methods
                    .as_array()
                    .unwrap()
                    .contains(&serde_json::json!("private_key_jwt"))
            );
            let algs = &doc[format!("{endpoint}_auth_signing_alg_values_supported")];
            assert_eq!(
                algs,
                &serde_json::json!(["RS256", "ES256", "EdDSA"]),
                "{endpoint}"
            );
        }
    }

    /// A site's tokens carry `site`, `site_login` and `site_role` (docs/migration.md).
    #[test]
    fn the_site_claims_are_listed() {
        let doc = document();
        let claims = doc["claims_supported"].as_array().unwrap();
        for claim in ["site", "site_login", "site_role"] {
            assert!(claims.contains(&serde_json::json!(claim)), "{claim}");
        }
    }

    #[test]
    fn rfc8693_the_subject_token_types_are_listed() {
        let doc = document();
        let types = serde_json::json!([
            "urn:lanyard:token-type:pat",
            "urn:ietf:params:oauth:token-type:access_token"
        ]);
        assert_eq!(doc["subject_token_types_supported"], types);
        assert_eq!(doc["token_exchange_subject_token_types_supported"], types);
    }
}
