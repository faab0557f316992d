//! Which account an upstream identity signs in to (G3, S38, S39): the rule of
//! docs/federation.md as one pure function, so every branch has its test.
//!
//! The key is the upstream's issuer and `sub`, never the email. An email only ever *links*
//! an identity to an existing account when the upstream asserts `email_verified` as the
//! boolean `true`, for a domain this organization has verified, and the local account's
//! email is verified too; anything less asks the person to prove the account (password and
//! second step) first.

use lanyard_core::AccountId;
use lanyard_core::model::{Account, AccountKind, AccountStatus, FederatedIdentity, OrgId};

/// What is known when an upstream sign-in comes back.
#[derive(Debug)]
pub struct LinkFacts<'a> {
    /// The identity already linked under this issuer and `sub`.
    pub linked: Option<&'a FederatedIdentity>,
    /// The connection's organization.
    pub org: OrgId,
    /// The email the upstream asserted, canonical (lower-case); `None` when absent/invalid.
    pub email: Option<&'a str>,
    /// `email_verified` was the JSON boolean `true` (a string "true" is not).
    pub email_verified: bool,
    /// The organization owning the email's domain, with the domain verified.
    pub domain_owner: Option<OrgId>,
    /// The person account that has this email, if any.
    pub account: Option<&'a Account>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkDecision {
    /// A linked identity: sign in to its account, whatever the email says now.
    SignIn(AccountId),
    /// No account has the email: create one, linked (just-in-time provisioning).
    Provision,
    /// Every condition for linking holds: link and sign in.
    Link(AccountId),
    /// An account has the email but linking is not safe: the person proves the account
    /// (password and second step), and the link is made after that.
    ProveToLink(AccountId),
    Refuse(LinkRefusal),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkRefusal {
    /// The upstream sent no usable email.
    NoEmail,
    /// The email's domain is not one this organization verified (S39: an IdP for
    /// corp.example asserting @other.example).
    DomainNotVerified,
    /// The account with this email can not be linked (a disabled account).
    AccountUnavailable,
}

impl LinkRefusal {
    /// The audit reason.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NoEmail => "no_email",
            Self::DomainNotVerified => "domain_not_verified",
            Self::AccountUnavailable => "account_unavailable",
        }
    }
}

pub fn decide(facts: &LinkFacts<'_>) -> LinkDecision {
    if let Some(linked) = facts.linked {
        return LinkDecision::SignIn(linked.account_id);
    }
    let Some(_email) = facts.email else {
        return LinkDecision::Refuse(LinkRefusal::NoEmail);
    };
    if facts.domain_owner != Some(facts.org) {
        return LinkDecision::Refuse(LinkRefusal::DomainNotVerified);
    }
    match facts.account {
        None => LinkDecision::Provision,
        Some(account)
            if account.kind != AccountKind::Person || account.status == AccountStatus::Disabled =>
        {
            LinkDecision::Refuse(LinkRefusal::AccountUnavailable)
        }
        Some(account) if facts.email_verified && account.email_verified => {
            LinkDecision::Link(account.id)
        }
        Some(account) => LinkDecision::ProveToLink(account.id),
    }
}

#[cfg(test)]
mod tests;
