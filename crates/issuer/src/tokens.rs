//! Access tokens (RFC 9068) and ID tokens (OIDC Core §2), minted through the one signing
//! path of the crypto crate, and the validation of access tokens we issued.

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use lanyard_core::model::{PatId, SigningAlg};
use lanyard_core::rng::random_token;
use lanyard_core::{FamilyId, Timestamp};
use lanyard_crypto::jws::Validation;
use serde::{Deserialize, Serialize};

use crate::error::OAuthError;
use crate::issuer::Issuer;
use crate::subject::SiteClaims;

/// RFC 9068 §2.1: the media type that keeps access tokens apart from ID tokens.
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";
pub const ID_TOKEN_TYP: &str = "JWT";

/// `aud` is a string or an array of strings (RFC 7519 §4.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    pub fn contains(&self, value: &str) -> bool {
        match self {
            Self::One(a) => a == value,
            Self::Many(all) => all.iter().any(|a| a == value),
        }
    }
}

/// RFC 9068 §2.2 claims, plus the grant id that lets revocation reach access tokens.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: Audience,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub client_id: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub auth_time: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub acr: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub amr: Option<Vec<String>>,
    /// The grant (refresh family) this token belongs to; revoking the grant makes
    /// introspection and userinfo treat the token as inactive.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub gid: Option<String>,
    /// The personal access token this token was exchanged for: revoking the PAT makes
    /// introspection treat the token as inactive.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub pat_id: Option<String>,
    /// RFC 8693 §4.1: who acts for the subject (token exchange with an actor token).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub act: Option<Actor>,
    /// For a site's client: the site user `sub` names (docs/migration.md).
    #[serde(flatten)]
    pub site: SiteClaims,
}

/// RFC 8693 §4.1: the acting party, and nested inside it the party that acted before.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub sub: String,
    /// The client the actor's own token was issued to (RFC 8693 §4.3).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub act: Option<Box<Actor>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub auth_time: i64,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub nonce: Option<String>,
    pub acr: String,
    pub amr: Vec<String>,
    pub azp: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub at_hash: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub email_verified: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub name: Option<String>,
    /// OIDC Back-Channel Logout 1.0 §2.1: the browser session the token came from (a keyed
    /// hash of the session id, never the cookie), so a logout token's `sid` can be matched.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sid: Option<String>,
    /// For a site's client: the site user `sub` names (docs/migration.md).
    #[serde(flatten)]
    pub site: SiteClaims,
}

/// Who a token is for and what it carries; the grants fill it in.
#[derive(Debug, Clone)]
pub struct AccessTokenRequest<'a> {
    pub subject: &'a str,
    pub client_id: &'a str,
    pub scope: Option<String>,
    pub auth_time: Option<Timestamp>,
    pub acr: Option<String>,
    pub amr: Option<Vec<String>>,
    pub grant: Option<FamilyId>,
    pub ttl_secs: i64,
    /// A resource server's identifier; `None`: the issuer itself.
    pub audience: Option<&'a str>,
    pub pat: Option<PatId>,
    pub act: Option<Actor>,
    pub site: SiteClaims,
}

#[derive(Debug, Clone)]
pub struct MintedAccessToken {
    pub token: String,
    pub expires_in: i64,
}

impl Issuer {
    pub(crate) fn mint_access_token(
        &self,
        req: AccessTokenRequest<'_>,
    ) -> Result<MintedAccessToken, OAuthError> {
        let now = self.clock.now().seconds();
        let claims = AccessTokenClaims {
            iss: self.settings.issuer.clone(),
            sub: req.subject.to_owned(),
            aud: Audience::One(req.audience.unwrap_or(&self.settings.issuer).to_owned()),
            exp: now + req.ttl_secs,
            iat: now,
            jti: random_token(&*self.rng, 16),
            client_id: req.client_id.to_owned(),
            scope: req.scope,
            auth_time: req.auth_time.map(Timestamp::seconds),
            acr: req.acr,
            amr: req.amr,
            gid: req.grant.map(|g| g.to_string()),
            pat_id: req.pat.map(|p| p.to_string()),
            act: req.act,
            site: req.site,
        };
        let token = self.sign(self.settings.access_token_alg, ACCESS_TOKEN_TYP, &claims)?;
        Ok(MintedAccessToken {
            token,
            expires_in: req.ttl_secs,
        })
    }

    pub(crate) fn mint_id_token(&self, claims: IdTokenClaims) -> Result<String, OAuthError> {
        self.sign(self.settings.id_token_alg, ID_TOKEN_TYP, &claims)
    }

    /// OIDC Core §3.1.3.6: the left half of the hash of the access token, with the hash of
    /// the ID token's signing algorithm (SHA-512 for Ed25519).
    pub(crate) fn at_hash(&self, access_token: &str) -> String {
        let algorithm = match self.settings.id_token_alg {
            SigningAlg::EdDSA => &digest::SHA512,
            SigningAlg::RS256 | SigningAlg::ES256 => &digest::SHA256,
        };
        let hash = digest::digest(algorithm, access_token.as_bytes());
        let bytes = hash.as_ref();
        URL_SAFE_NO_PAD.encode(&bytes[..bytes.len() / 2])
    }

    pub(crate) fn sign<T: Serialize>(
        &self,
        alg: SigningAlg,
        typ: &str,
        claims: &T,
    ) -> Result<String, OAuthError> {
        let ring = self.keys.current();
        let signer = ring
            .signer(alg)
            .ok_or_else(|| OAuthError::server(format!("no active {} signing key", alg.as_str())))?;
        signer.sign(typ, claims).map_err(OAuthError::server)
    }

    /// Validates an access token we issued: signature by one of our keys, `typ` at+jwt,
    /// issuer, lifetime, and an audience we mint for (the issuer or a registered API).
    /// Revocation is checked by the callers that need it.
    pub(crate) fn verify_access_token(&self, token: &str) -> Option<AccessTokenClaims> {
        let ring = self.keys.current();
        let params = Validation {
            issuer: &self.settings.issuer,
            audience: None,
            leeway_secs: 0,
            now: self.clock.now(),
        };
        let claims = lanyard_crypto::jws::verify_jwt::<AccessTokenClaims>(
            token,
            &ring,
            ACCESS_TOKEN_TYP,
            &params,
        )
        .ok()?;
        let ours = match &claims.aud {
            Audience::One(aud) => self.is_our_audience(aud),
            Audience::Many(all) => !all.is_empty() && all.iter().all(|a| self.is_our_audience(a)),
        };
        ours.then_some(claims)
    }

    fn is_our_audience(&self, aud: &str) -> bool {
        aud == self.settings.issuer || self.settings.resources.find(aud).is_some()
    }
}
