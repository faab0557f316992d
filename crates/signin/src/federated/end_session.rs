//! RP-initiated logout towards the upstream (OIDC RP-Initiated Logout 1.0): when the
//! organization asks for it, signing out of a session its identity provider started also
//! sends the browser to the provider's `end_session_endpoint`, which sends it back to
//! `/federation/<org>/logged-out`; from there it goes where our own sign-out was going.
//!
//! Where to go afterwards travels in `state`, sealed with the KEK (nothing to store; a
//! replay only repeats a redirect the sign-out had already validated).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::fed_error;
use crate::session::Session;
use crate::{SignInError, SignInService};

const RETURN_AAD: &[u8] = b"upstream-logout-return";

/// The longest `state` we open: a sealed registered redirect URI and its tag.
const MAX_STATE_LEN: usize = 4096;

impl SignInService {
    /// Where to send the browser to end the upstream session of `session`, then come back
    /// and go on to `then` (a validated post-logout redirect, or `None` for our signed-out
    /// page). `None` when the session did not come from an upstream, its organization does
    /// not ask for it, or the provider has no end-session endpoint.
    pub async fn upstream_end_session(
        &self,
        session: &Session,
        then: Option<&str>,
    ) -> Result<Option<String>, SignInError> {
        let Some(org) = session.upstream else {
            return Ok(None);
        };
        let Some((slug, rp)) = self
            .federation
            .relying_party_of(org)
            .await
            .map_err(fed_error)?
        else {
            return Ok(None);
        };
        let sealed = self
            .kek
            .encrypt(then.unwrap_or_default().as_bytes(), RETURN_AAD)
            .map_err(|e| SignInError::Internal(e.to_string()))?;
        let back = self.federation.logged_out_url(&slug);
        // An upstream that is down must not keep anyone signed in here: our session is
        // already over, so the sign-out simply goes on without the upstream's.
        match rp
            .end_session_url(&back, &URL_SAFE_NO_PAD.encode(sealed))
            .await
        {
            Ok(url) => Ok(url.map(|u| u.to_string())),
            Err(e) => {
                tracing::warn!(org = %slug, error = %e, "upstream end-session skipped");
                Ok(None)
            }
        }
    }

    /// Back from the upstream's end-session endpoint: where our sign-out was going (`None`:
    /// our signed-out page). A `state` we did not seal leads nowhere.
    pub fn after_upstream_end_session(&self, state: Option<&str>) -> Option<String> {
        let state = state.filter(|s| s.len() <= MAX_STATE_LEN)?;
        let sealed = URL_SAFE_NO_PAD.decode(state).ok()?;
        let plain = self.kek.decrypt(&sealed, RETURN_AAD).ok()?;
        let then = String::from_utf8(plain.to_vec()).ok()?;
        (!then.is_empty()).then_some(then)
    }
}
