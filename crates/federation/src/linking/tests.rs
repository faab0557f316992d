use lanyard_core::Timestamp;
use uuid::Uuid;

use super::*;

const CORP: OrgId = OrgId(Uuid::from_u128(1));
const OTHER: OrgId = OrgId(Uuid::from_u128(2));

fn account(verified: bool) -> Account {
    Account {
        id: AccountId(Uuid::from_u128(10)),
        email: "victim@corp.example".into(),
        email_normalized: "victim@corp.example".into(),
        email_verified: verified,
        name: "Victim".into(),
        password_hash: Some("$argon2id$...".into()),
        status: AccountStatus::Active,
        kind: AccountKind::Person,
        time_zone: None,
        created_at: Timestamp(0),
        updated_at: Timestamp(0),
    }
}

fn facts<'a>(account: Option<&'a Account>, email_verified: bool) -> LinkFacts<'a> {
    LinkFacts {
        linked: None,
        org: CORP,
        email: Some("victim@corp.example"),
        email_verified,
        domain_owner: Some(CORP),
        account,
    }
}

#[test]
fn a_linked_identity_signs_in_to_its_account_whatever_the_email_says() {
    let linked = FederatedIdentity {
        issuer: "https://idp.corp.example".into(),
        subject: "123".into(),
        account_id: AccountId(Uuid::from_u128(99)),
        org_id: CORP,
        email: Some("old@corp.example".into()),
        linked_at: Timestamp(0),
        last_sign_in: Timestamp(0),
    };
    let victim = account(true);
    let mut f = facts(Some(&victim), true);
    f.linked = Some(&linked);
    f.domain_owner = None;
    assert_eq!(decide(&f), LinkDecision::SignIn(linked.account_id));
}

#[test]
fn a_new_email_in_a_verified_domain_is_provisioned() {
    assert_eq!(decide(&facts(None, true)), LinkDecision::Provision);
    assert_eq!(decide(&facts(None, false)), LinkDecision::Provision);
}

#[test]
fn s38_an_unverified_upstream_email_never_links() {
    let victim = account(true);
    // `false`, absent and the string "true" all arrive here as "not the boolean true".
    assert_eq!(
        decide(&facts(Some(&victim), false)),
        LinkDecision::ProveToLink(victim.id)
    );
}

#[test]
fn s38_an_unverified_local_email_never_links() {
    let victim = account(false);
    assert_eq!(
        decide(&facts(Some(&victim), true)),
        LinkDecision::ProveToLink(victim.id)
    );
}

#[test]
fn everything_verified_links() {
    let victim = account(true);
    assert_eq!(
        decide(&facts(Some(&victim), true)),
        LinkDecision::Link(victim.id)
    );
}

#[test]
fn s39_a_domain_of_another_organization_or_of_none_is_refused() {
    let victim = account(true);
    for owner in [None, Some(OTHER)] {
        for acc in [None, Some(&victim)] {
            let mut f = facts(acc, true);
            f.domain_owner = owner;
            assert_eq!(
                decide(&f),
                LinkDecision::Refuse(LinkRefusal::DomainNotVerified)
            );
        }
    }
}

#[test]
fn no_email_is_refused() {
    let mut f = facts(None, true);
    f.email = None;
    assert_eq!(decide(&f), LinkDecision::Refuse(LinkRefusal::NoEmail));
}

#[test]
fn disabled_accounts_and_site_principals_are_not_linked() {
    let mut disabled = account(true);
    disabled.status = AccountStatus::Disabled;
    let mut principal = account(true);
    principal.kind = AccountKind::SiteUser;
    for acc in [&disabled, &principal] {
        assert_eq!(
            decide(&facts(Some(acc), true)),
            LinkDecision::Refuse(LinkRefusal::AccountUnavailable)
        );
    }
}
