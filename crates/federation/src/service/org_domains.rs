//! An organization's email domains: claimed, then verified by their TXT record or an
//! operator's word (G1).

use lanyard_core::Origin;
use lanyard_core::StoreError;
use lanyard_core::model::{DomainProof, OrgDomain};

use super::{DomainCheck, FederationService};
use crate::FederationError;
use crate::domains;

impl FederationService {
    /// Claims a domain for the organization; the token to publish comes back with it.
    pub async fn add_domain(
        &self,
        slug: &str,
        domain: &str,
        origin: &Origin,
    ) -> Result<OrgDomain, FederationError> {
        let org = self.org(slug).await?;
        let domain = domains::normalize_domain(domain)?;
        let record = OrgDomain {
            org_id: org.id,
            domain: domain.clone(),
            verification_token: domains::new_verification_token(&*self.deps.rng),
            added_at: self.deps.clock.now(),
            verified: None,
        };
        match self.deps.repo.add_domain(&record).await {
            Err(StoreError::Conflict(_)) => return Err(FederationError::DomainTaken(domain)),
            other => other?,
        }
        self.audit("org.domain_added", format!("{slug}:{domain}"), None, origin)
            .await;
        Ok(record)
    }

    pub async fn domains(&self, slug: &str) -> Result<Vec<OrgDomain>, FederationError> {
        let org = self.org(slug).await?;
        Ok(self.deps.repo.domains_of(org.id).await?)
    }

    async fn own_domain(&self, slug: &str, domain: &str) -> Result<OrgDomain, FederationError> {
        let org = self.org(slug).await?;
        let domain = domains::normalize_domain(domain)?;
        match self.deps.repo.find_domain(&domain).await? {
            Some(record) if record.org_id == org.id => Ok(record),
            _ => Err(FederationError::UnknownDomain(domain)),
        }
    }

    /// Looks for the TXT record; verified once it is found.
    pub async fn verify_domain(
        &self,
        slug: &str,
        domain: &str,
        origin: &Origin,
    ) -> Result<DomainCheck, FederationError> {
        let record = self.own_domain(slug, domain).await?;
        if record.verified.is_some() {
            return Ok(DomainCheck::Verified);
        }
        let name = domains::record_name(&record.domain);
        let found = self.deps.dns.txt(&name).await?;
        if !domains::records_prove(&found, &record.verification_token) {
            return Ok(DomainCheck::NotFound {
                name,
                token: record.verification_token,
            });
        }
        self.mark_verified(slug, &record, DomainProof::Dns, origin)
            .await?;
        Ok(DomainCheck::Verified)
    }

    /// An operator's word instead of DNS (audited as such).
    pub async fn override_domain(
        &self,
        slug: &str,
        domain: &str,
        origin: &Origin,
    ) -> Result<(), FederationError> {
        let record = self.own_domain(slug, domain).await?;
        self.mark_verified(slug, &record, DomainProof::Operator, origin)
            .await
    }

    async fn mark_verified(
        &self,
        slug: &str,
        record: &OrgDomain,
        proof: DomainProof,
        origin: &Origin,
    ) -> Result<(), FederationError> {
        let now = self.deps.clock.now();
        if self
            .deps
            .repo
            .mark_domain_verified(&record.domain, now, proof)
            .await?
        {
            self.audit(
                "org.domain_verified",
                format!("{slug}:{}", record.domain),
                Some(proof.as_str()),
                origin,
            )
            .await;
        }
        Ok(())
    }
}
