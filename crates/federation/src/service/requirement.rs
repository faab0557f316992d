//! G4 as core's `SsoRequirement` port: over the store alone (`SsoByDomain`, for the
//! services wired before federation), and on the service itself.

use std::sync::Arc;

use lanyard_core::StoreError;
use lanyard_core::ports::FederationRepo;

use super::FederationService;
use crate::{FederationError, domains};

/// G4 over the store: the email's domain, verified by an organization whose enabled
/// connection requires its own sign-in.
pub struct SsoByDomain {
    repo: Arc<dyn FederationRepo>,
}

impl SsoByDomain {
    pub fn new(repo: Arc<dyn FederationRepo>) -> Self {
        Self { repo }
    }
}

#[async_trait::async_trait]
impl lanyard_core::ports::SsoRequirement for SsoByDomain {
    async fn sso_required(&self, email: &str) -> Result<bool, StoreError> {
        let Some(domain) = domains::email_domain(email) else {
            return Ok(false);
        };
        Ok(self.repo.sso_required_for_domain(&domain).await?.is_some())
    }
}

#[async_trait::async_trait]
impl lanyard_core::ports::SsoRequirement for FederationService {
    async fn sso_required(&self, email: &str) -> Result<bool, StoreError> {
        match self.sso_required_for(email).await {
            Ok(found) => Ok(found.is_some()),
            Err(FederationError::Store(e)) => Err(e),
            Err(other) => Err(StoreError::Unavailable(other.to_string())),
        }
    }
}
