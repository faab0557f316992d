//! Lifetimes, algorithms and identifiers the issuer runs with: the `[tokens]` section as the
//! operator wrote it ([`TokenSettings`]), and [`IssuerSettings`], which adds what the issuer
//! derives from other sections (the issuer URL, `[pats]` exchange limits, `[[resources]]`).

use lanyard_core::InvalidSetting;
use lanyard_core::model::{PatExchangeSettings, Resources, SigningAlg};
use serde::{Deserialize, Serialize};

/// Upper bound of `tokens.refresh_grace_secs`.
pub const MAX_REFRESH_GRACE_SECS: i64 = 60;
/// Upper bound of an access token's lifetime: `tokens.access_token_ttl_secs` and a client's
/// own override (`Client::access_token_ttl`, clamped to it when tokens are minted).
pub const MAX_ACCESS_TOKEN_TTL_SECS: i64 = 86_400;

/// The longest time any token we sign can stay valid: access tokens (the server default and
/// any client's override, which can reach [`MAX_ACCESS_TOKEN_TTL_SECS`]), ID tokens, and the
/// tokens minted by token exchange (`pats.exchange_ttl_secs`). A retired signing key must
/// stay in the JWKS at least this long, or a token it signed outlives its key (issue 11,
/// item 9). Refresh tokens and codes are opaque: no key verifies them.
pub fn longest_token_lifetime_secs(tokens: &TokenSettings, exchange: &PatExchangeSettings) -> i64 {
    [
        tokens.access_token_ttl_secs,
        MAX_ACCESS_TOKEN_TTL_SECS,
        tokens.id_token_ttl_secs,
        exchange.ttl_secs,
    ]
    .into_iter()
    .max()
    .unwrap_or(MAX_ACCESS_TOKEN_TTL_SECS)
}

/// The `[tokens]` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokenSettings {
    /// RFC 6749 §4.1.2 recommends at most 10 minutes; one minute is plenty for a redirect.
    pub code_ttl_secs: i64,
    pub access_token_ttl_secs: i64,
    pub id_token_ttl_secs: i64,
    /// A refresh token family dies after this long unused...
    pub refresh_idle_ttl_secs: i64,
    /// ...and after this long in any case.
    pub refresh_absolute_ttl_secs: i64,
    /// 0 (the default) is strict rotation: any second use of a refresh token is reuse and
    /// revokes its family. N > 0 lets the immediately previous token be presented again for
    /// N seconds after its rotation and get the same successor (a retry after a lost
    /// response, FAPI 2.0's rotation note).
    pub refresh_grace_secs: i64,
    /// `RS256`, `ES256` or `EdDSA`; kept as written so that a bad value is reported with
    /// its key by [`TokenSettings::validate`], and parsed once by [`IssuerSettings::new`].
    pub access_token_alg: String,
    pub id_token_alg: String,
    /// How long a node may serve a cached client record. A deletion and a site created for
    /// the client reach every node's cache at once (core's `client_invalidation`); this
    /// bounds anything else, and a node that may have missed an invalidation caches nothing.
    pub client_cache_ttl_secs: i64,
    /// RFC 8628 §3.2 `expires_in`: how long a device code and its user code work.
    pub device_code_ttl_secs: i64,
    /// RFC 8628 §3.2 `interval`: the least time between two polls of one device code.
    pub device_poll_interval_secs: i64,
    /// Device requests one client may start per minute (every user of a shared tool counts).
    pub device_requests_per_client: u64,
    /// Device requests one source address may start per minute.
    pub device_requests_per_address: u64,
    /// The longest a `private_key_jwt` assertion may live (`exp - iat`, RFC 7523 §3 leaves
    /// it to us). Common client libraries sign for an hour.
    pub client_assertion_max_lifetime_secs: i64,
    /// Clock skew allowed when judging an assertion's `exp`, `nbf`, `iat` and lifetime.
    pub client_assertion_leeway_secs: i64,
}

impl Default for TokenSettings {
    fn default() -> Self {
        Self {
            code_ttl_secs: 60,
            access_token_ttl_secs: 300,
            id_token_ttl_secs: 300,
            refresh_idle_ttl_secs: 30 * 86_400,
            refresh_absolute_ttl_secs: 90 * 86_400,
            refresh_grace_secs: 0,
            access_token_alg: SigningAlg::ES256.as_str().to_owned(),
            id_token_alg: SigningAlg::RS256.as_str().to_owned(),
            client_cache_ttl_secs: 10,
            device_code_ttl_secs: 600,
            device_poll_interval_secs: 5,
            device_requests_per_client: 120,
            device_requests_per_address: 20,
            client_assertion_max_lifetime_secs: 3600,
            client_assertion_leeway_secs: 60,
        }
    }
}

impl TokenSettings {
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        let invalid = |key, reason| Err(InvalidSetting::new(key, reason));
        if !(1..=600).contains(&self.code_ttl_secs) {
            return invalid(
                "tokens.code_ttl_secs",
                "must be 1-600 (RFC 6749 §4.1.2: at most 10 minutes)",
            );
        }
        if !(30..=MAX_ACCESS_TOKEN_TTL_SECS).contains(&self.access_token_ttl_secs) {
            return invalid("tokens.access_token_ttl_secs", "must be 30-86400");
        }
        if !(30..=86_400).contains(&self.id_token_ttl_secs) {
            return invalid("tokens.id_token_ttl_secs", "must be 30-86400");
        }
        if self.refresh_idle_ttl_secs < 60
            || self.refresh_absolute_ttl_secs < self.refresh_idle_ttl_secs
        {
            return invalid(
                "tokens.refresh_absolute_ttl_secs",
                "refresh lifetimes must be ≥ 60 s and absolute ≥ idle",
            );
        }
        // Within the window a stolen previous token is as good as the current one, so it
        // only covers a retry's round trip.
        if !(0..=MAX_REFRESH_GRACE_SECS).contains(&self.refresh_grace_secs) {
            return invalid(
                "tokens.refresh_grace_secs",
                "must be 0 (strict) to 60 seconds",
            );
        }
        // The user code has ~34.6 bits: its lifetime bounds how long guesses can aim at it.
        if !(60..=1800).contains(&self.device_code_ttl_secs) {
            return invalid("tokens.device_code_ttl_secs", "must be 60-1800 seconds");
        }
        if !(1..=60).contains(&self.device_poll_interval_secs) {
            return invalid("tokens.device_poll_interval_secs", "must be 1-60 seconds");
        }
        if !(1..=100_000).contains(&self.device_requests_per_client) {
            return invalid(
                "tokens.device_requests_per_client",
                "must be 1-100000 per minute",
            );
        }
        if !(1..=100_000).contains(&self.device_requests_per_address) {
            return invalid(
                "tokens.device_requests_per_address",
                "must be 1-100000 per minute",
            );
        }
        // An assertion's jti is kept this long: a day bounds the replay guard's memory.
        if !(60..=86_400).contains(&self.client_assertion_max_lifetime_secs) {
            return invalid(
                "tokens.client_assertion_max_lifetime_secs",
                "must be 60-86400 seconds",
            );
        }
        let max_leeway = i64::from(lanyard_crypto::jws::MAX_LEEWAY_SECS);
        if !(0..=max_leeway).contains(&self.client_assertion_leeway_secs) {
            return invalid(
                "tokens.client_assertion_leeway_secs",
                "must be 0-60 seconds (S22)",
            );
        }
        self.signing_algs()?;
        Ok(())
    }

    /// The access token's and the ID token's signing algorithms.
    pub fn signing_algs(&self) -> Result<(SigningAlg, SigningAlg), InvalidSetting> {
        let parse = |value: &str, key| {
            SigningAlg::parse(value)
                .ok_or(InvalidSetting::new(key, "must be RS256, ES256 or EdDSA"))
        };
        Ok((
            parse(&self.access_token_alg, "tokens.access_token_alg")?,
            parse(&self.id_token_alg, "tokens.id_token_alg")?,
        ))
    }
}

#[derive(Debug, Clone)]
pub struct IssuerSettings {
    /// The issuer identifier: an https URL (http only for loopback), no trailing slash.
    pub issuer: String,
    /// `[tokens]`.
    pub tokens: TokenSettings,
    /// `tokens.access_token_alg` and `tokens.id_token_alg`, parsed.
    pub access_token_alg: SigningAlg,
    pub id_token_alg: SigningAlg,
    /// From `[pats]`: the token exchange's lifetime and failure limits.
    pub exchange: PatExchangeSettings,
    /// `[[resources]]`: the APIs (audiences) access tokens may be minted for by token
    /// exchange.
    pub resources: Resources,
    /// Clock leeway for validating client assertions (`tokens.client_assertion_leeway_secs`).
    pub leeway_secs: i64,
    /// A client assertion may not live longer than this
    /// (`tokens.client_assertion_max_lifetime_secs`).
    pub max_assertion_lifetime_secs: i64,
    pub scopes_supported: Vec<String>,
}

impl IssuerSettings {
    /// Composes the sections; fails only on an algorithm [`TokenSettings::validate`] also
    /// refuses.
    pub fn new(
        issuer: impl Into<String>,
        tokens: TokenSettings,
        exchange: PatExchangeSettings,
        resources: Resources,
    ) -> Result<Self, InvalidSetting> {
        let (access_token_alg, id_token_alg) = tokens.signing_algs()?;
        let leeway_secs = tokens.client_assertion_leeway_secs;
        let max_assertion_lifetime_secs = tokens.client_assertion_max_lifetime_secs;
        Ok(Self {
            issuer: issuer.into(),
            tokens,
            access_token_alg,
            id_token_alg,
            exchange,
            resources,
            leeway_secs,
            max_assertion_lifetime_secs,
            scopes_supported: ["openid", "profile", "email", "offline_access", "privacy"]
                .map(str::to_owned)
                .to_vec(),
        })
    }

    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{}", self.issuer, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 11 item 9: the retention of retired keys covers every token lifetime — the
    /// exchange's above the access and ID token lifetimes, and a client's own access token
    /// lifetime up to its bound.
    #[test]
    fn r05_the_longest_lifetime_covers_exchange_and_client_overrides() {
        let tokens = TokenSettings {
            access_token_ttl_secs: 60,
            id_token_ttl_secs: 120,
            ..TokenSettings::default()
        };
        let exchange = PatExchangeSettings {
            ttl_secs: 3600,
            ..PatExchangeSettings::default()
        };
        let longest = longest_token_lifetime_secs(&tokens, &exchange);
        assert!(longest >= exchange.ttl_secs);
        assert!(
            longest >= MAX_ACCESS_TOKEN_TTL_SECS,
            "a client override can reach the bound"
        );
        let tokens = TokenSettings {
            id_token_ttl_secs: 86_400,
            ..tokens
        };
        assert!(longest_token_lifetime_secs(&tokens, &exchange) >= 86_400);
    }
}
