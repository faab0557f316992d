//! Authorization codes: opaque, 256 random bits, stored in the ephemeral store under their
//! keyed hash, taken atomically on redemption so a code works exactly once (RFC 6749 §4.1.2).

use std::time::Duration;

use lanyard_core::model::{AccountStatus, AuditEvent, Authenticated};
use lanyard_core::rng::random_token;
use lanyard_core::{AccountId, EphemeralKey, FamilyId, Origin, StoreError};
use serde::{Deserialize, Serialize};

use crate::authorize::{AuthorizationRequest, append_query};
use crate::error::OAuthError;
use crate::issuer::Issuer;

pub const CODE_PREFIX: &str = "lyd_ac_";
/// How long a redeemed code is remembered, so a replay can revoke what the code produced.
/// How long a replayed code is remembered; longer than any redemption can take.
const REPLAY_MEMORY_SECS: u64 = 3600;

/// What a code stands for, stored until redemption.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct PendingCode {
    pub client_id: String,
    pub redirect_uri: String,
    pub account_id: AccountId,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub auth_time: i64,
    pub acr: String,
    pub amr: Vec<String>,
    pub issued_at: i64,
    /// Chosen now so that a replay of the code can revoke the grant it produced.
    pub grant: FamilyId,
    /// The session the code was issued in (back-channel logout's `sid`).
    #[serde(default)]
    pub sid: Option<String>,
}

fn code_key(hash: &str) -> String {
    EphemeralKey::Code(hash).to_string()
}

fn replayed_key(hash: &str) -> String {
    EphemeralKey::CodeReplayed(hash).to_string()
}

/// The grant a code starts, derived from the code with the server's key, so that a replay
/// can revoke it without any state the first redemption might not have written yet.
fn grant_of(hasher: &lanyard_crypto::token_hash::TokenHasher, code: &str) -> FamilyId {
    let mac = hasher.mac(&format!("grant:{code}"));
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&mac[..16]);
    FamilyId(uuid::Builder::from_random_bytes(bytes).into_uuid())
}

impl Issuer {
    /// Issues a code for a signed-in user and returns the redirect to the client, or `None`
    /// when the account can no longer sign in (the caller then asks for a new sign-in).
    pub(crate) async fn issue_code(
        &self,
        request: &AuthorizationRequest,
        auth: &Authenticated,
        sid: Option<&str>,
        origin: &Origin,
    ) -> Result<Option<String>, OAuthError> {
        match self.accounts.get_account(auth.account_id).await {
            Ok(account) if account.status == AccountStatus::Active => {}
            Ok(_) | Err(StoreError::NotFound) => return Ok(None),
            Err(e) => return Err(e.into()),
        }
        let now = self.clock.now();
        let code = format!("{CODE_PREFIX}{}", random_token(&*self.rng, 32));
        let pending = PendingCode {
            client_id: request.client_id.clone(),
            redirect_uri: request.redirect_uri.clone(),
            account_id: auth.account_id,
            scope: request.scope.to_string(),
            nonce: request.nonce.clone(),
            code_challenge: request.code_challenge.clone(),
            auth_time: auth.auth_time.seconds(),
            acr: auth.acr.clone(),
            amr: auth.amr.clone(),
            issued_at: now.seconds(),
            grant: grant_of(&self.hasher, &code),
            sid: sid.map(str::to_owned),
        };
        // Back-channel logout (§2.1): remember that this client got a code in this session
        // before the client can hold any token of it.
        if let (Some(sid), Some(client)) = (sid, lanyard_core::ClientId::parse(&request.client_id))
        {
            self.backchannel
                .record(sid, auth.account_id, &client)
                .await?;
        }
        let value = serde_json::to_vec(&pending).map_err(OAuthError::server)?;
        let ttl = Duration::from_secs(self.settings.tokens.code_ttl_secs.max(1) as u64);
        self.ephemeral
            .put(&code_key(&self.hasher.hash(&code)), &value, ttl)
            .await?;
        self.record(
            AuditEvent::new(now, "authz.code_issued", "success")
                .subject(auth.account_id.to_string())
                .client(request.client_id.clone()),
            origin,
        )
        .await;
        let mut pairs = vec![("code", code.as_str())];
        if let Some(state) = &request.state {
            pairs.push(("state", state));
        }
        pairs.push(("iss", &self.settings.issuer));
        Ok(Some(append_query(&request.redirect_uri, &pairs)))
    }

    /// Takes the code out of the store (whoever takes it first wins; everyone else gets
    /// `invalid_grant`). A replay of a redeemed code revokes the grant it produced
    /// (RFC 6749 §4.1.2, RFC 6819 §5.2.1.1).
    pub(crate) async fn take_code(
        &self,
        code: &str,
        origin: &Origin,
    ) -> Result<PendingCode, OAuthError> {
        if !code.starts_with(CODE_PREFIX) || code.len() > 128 {
            return Err(OAuthError::invalid_grant("invalid authorization code"));
        }
        let hash = self.hasher.hash(code);
        let Some(value) = self.ephemeral.take(&code_key(&hash)).await? else {
            self.revoke_after_replay(code, &hash, origin).await?;
            return Err(OAuthError::invalid_grant("invalid authorization code"));
        };
        serde_json::from_slice(&value).map_err(OAuthError::server)
    }

    /// Called by the winning redemption once its grant exists. A replay that arrived while
    /// it was in flight flagged the code before revoking the grant: either the replay's
    /// revocation found the grant, or this check finds the flag and revokes it here
    /// (RFC 6749 §4.1.2, S08). The winner still gets its answer (S09: one success), but the
    /// tokens in it are dead.
    pub(crate) async fn revoke_if_replayed(
        &self,
        code: &str,
        pending: &PendingCode,
        origin: &Origin,
    ) -> Result<(), OAuthError> {
        let hash = self.hasher.hash(code);
        if self.ephemeral.get(&replayed_key(&hash)).await?.is_some() {
            self.revoke_replayed_grant(pending.grant, origin).await?;
        }
        Ok(())
    }

    async fn revoke_after_replay(
        &self,
        code: &str,
        hash: &str,
        origin: &Origin,
    ) -> Result<(), OAuthError> {
        // The flag first, then the revocation: see `ensure_not_replayed`.
        self.ephemeral
            .put(
                &replayed_key(hash),
                b"1",
                Duration::from_secs(REPLAY_MEMORY_SECS),
            )
            .await?;
        self.revoke_replayed_grant(grant_of(&self.hasher, code), origin)
            .await
    }

    async fn revoke_replayed_grant(
        &self,
        grant: FamilyId,
        origin: &Origin,
    ) -> Result<(), OAuthError> {
        let now = self.clock.now();
        // Unknown and garbage codes name no existing grant; only a real replay is audited.
        if self.refresh.revoke_family(grant, now).await? {
            self.record(
                AuditEvent::new(now, "token.code_replay", "failure")
                    .subject(format!("grant:{grant}"))
                    .reason("authorization code presented twice; its grant was revoked"),
                origin,
            )
            .await;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use lanyard_crypto::token_hash::TokenHasher;

    use super::grant_of;

    #[test]
    fn a_codes_grant_is_fixed_by_the_code_and_the_key_alone() {
        let hasher = TokenHasher::new(&[1; 32]);
        let grant = grant_of(&hasher, "lyd_ac_one");
        assert_eq!(grant, grant_of(&hasher, "lyd_ac_one"));
        assert_ne!(grant, grant_of(&hasher, "lyd_ac_two"));
        assert_ne!(grant, grant_of(&TokenHasher::new(&[2; 32]), "lyd_ac_one"));
        assert_eq!(grant.0.get_version_num(), 4);
        assert_ne!(grant.0, uuid::Uuid::nil());
    }
}
