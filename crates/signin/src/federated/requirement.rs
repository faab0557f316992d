//! G4 made to hold for what exists already: when an organization starts to require its own
//! sign-in (or verifies another domain while it does), the PATs of the people it covers are
//! revoked. A PAT is used without any sign-in, so it is the one credential the sign-in
//! rules can not reach; its holder makes a new one from a session the organization's
//! identity provider signed in. Sessions and refresh grants from other sign-ins need
//! nothing here: they are refused where they are used (docs/federation.md).

use lanyard_core::Origin;

use super::fed_error;
use crate::{SignInError, SignInService};

impl SignInService {
    /// Revokes the PATs of every account the organization's requirement covers now; how
    /// many accounts had some.
    pub async fn enforce_sso_requirement(
        &self,
        slug: &str,
        origin: &Origin,
    ) -> Result<u64, SignInError> {
        let covered = self
            .federation
            .accounts_covered(slug)
            .await
            .map_err(fed_error)?;
        let mut holders = 0;
        for account in covered {
            if self.accounts.pats().revoke_all(account, origin).await? > 0 {
                holders += 1;
            }
        }
        Ok(holders)
    }
}
