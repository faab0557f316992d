//! Fixtures the flow tests and the other server test binaries share: the relying party's
//! redirect URIs, RFC 7636's example PKCE pair, a confidential first-party client, and an
//! authorization URL for it.

use lanyard_core::model::{ClientAuthMethod, GrantType};
use lanyard_server::NewClient;

use crate::TestApp;

pub const REDIRECT: &str = "https://rp.example.com/cb";
pub const LOGOUT_REDIRECT: &str = "https://rp.example.com/bye";
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

pub fn confidential(id: &str) -> NewClient {
    NewClient {
        id: id.to_owned(),
        name: format!("App {id}"),
        redirect_uris: vec![REDIRECT.to_owned()],
        post_logout_redirect_uris: vec![LOGOUT_REDIRECT.to_owned()],
        grant_types: vec![
            GrantType::AuthorizationCode,
            GrantType::RefreshToken,
            GrantType::ClientCredentials,
        ],
        auth_method: ClientAuthMethod::ClientSecretBasic,
        jwks: None,
        first_party: true,
        allowed_scopes: ["openid", "email", "profile", "api"]
            .map(str::to_owned)
            .to_vec(),
        exchange_audiences: vec![],
        backchannel_logout_uri: None,
        backchannel_logout_session_required: false,
    }
}

pub fn authorize_url(app: &TestApp, client_id: &str, extra: &str) -> String {
    format!(
        "{}/authorize?response_type=code&client_id={client_id}&redirect_uri={}&scope=openid%20email&state=st&nonce=nn&code_challenge={CHALLENGE}&code_challenge_method=S256{extra}",
        app.base_url,
        urlencode(REDIRECT)
    )
}

pub fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
