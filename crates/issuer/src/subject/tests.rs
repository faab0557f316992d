//! Whom tokens name, against a fake `SiteSubjects`: the site user (and the site claims) for a
//! site's client on every path that mints or answers for a user, the account otherwise, and
//! nothing for an account without access.

use lanyard_core::model::{
    AccountKind, ClientSubject, GrantType, Pat, PatId, SiteId, SiteRole, SiteSubject, SiteUserId,
};
use lanyard_core::{Origin, OsRng, Secret, Timestamp, pat_token};
use serde_json::Value;

use crate::grant::{
    API, GrantRequest, Harness, PAT_TOKEN_TYPE, RT1, TokenExchangeRequest, harness,
};

fn alice() -> SiteSubject {
    SiteSubject {
        site_user: SiteUserId(uuid::Uuid::from_u128(0x5173)),
        slug: "studio".to_owned(),
        login: "Alice".to_owned(),
        role: SiteRole::Admin,
    }
}

fn payload(jwt: &str) -> Value {
    crate::unverified::unverified_claims(jwt).unwrap()
}

/// The harness's client, as `ClientService` reads it once a site names it.
fn of_site(mut h: Harness) -> Harness {
    h.client.site = Some(SiteId(uuid::Uuid::from_u128(0x5173)));
    h
}

fn site_harness() -> Harness {
    let h = of_site(harness(0));
    h.sites.answer(ClientSubject::SiteUser(alice()));
    h
}

fn assert_names_alice(claims: &Value) {
    assert_eq!(claims["sub"], alice().site_user.to_string(), "{claims}");
    assert_eq!(claims["site"], "studio");
    assert_eq!(claims["site_login"], "Alice");
    assert_eq!(claims["site_role"], "admin");
}

#[tokio::test]
async fn a_site_clients_access_and_id_tokens_name_the_site_user() {
    let h = site_harness();
    let response = h.refresh(RT1).await.unwrap();
    assert_names_alice(&payload(&response.access_token));
    let id_token = payload(&response.id_token.unwrap());
    assert_names_alice(&id_token);
    // Profile claims still come from the account that signed in.
    assert_eq!(id_token["email"], "a@example.com");
}

#[tokio::test]
async fn a_client_of_no_site_keeps_the_account_as_sub_and_no_site_claims() {
    let h = harness(0);
    let response = h.refresh(RT1).await.unwrap();
    for token in [response.access_token, response.id_token.unwrap()] {
        let claims = payload(&token);
        assert_eq!(claims["sub"], h.account_id().to_string());
        for claim in super::SITE_CLAIMS {
            assert!(claims.get(claim).is_none(), "{claim} in {claims}");
        }
    }
}

#[tokio::test]
async fn an_account_without_access_to_the_site_gets_no_tokens_and_the_grant_ends() {
    let h = of_site(harness(0));
    h.sites.answer(ClientSubject::NoAccess);
    let refused = h.refresh(RT1).await.unwrap_err();
    assert_eq!(refused.code.as_str(), "invalid_grant");
    assert_eq!(h.revoked(), [h.family_id()]);
    assert!(h.audit_kinds().contains(&"token.site_refused".to_owned()));
}

/// The token endpoint's hot path: a client whose record names no site asks nobody about
/// sites (whatever `SiteSubjects` would say), and its tokens name the account.
#[tokio::test]
async fn a_client_of_no_site_is_not_asked_about_sites() {
    let h = harness(0);
    h.sites.answer(ClientSubject::NoAccess);
    let response = h.refresh(RT1).await.unwrap();
    assert_eq!(
        payload(&response.access_token)["sub"],
        h.account_id().to_string()
    );
    assert_eq!(h.sites.asked.load(std::sync::atomic::Ordering::SeqCst), 0);
    // The same grant at the client once a site names it: asked, and refused.
    let h = of_site(harness(0));
    h.sites.answer(ClientSubject::NoAccess);
    assert!(h.refresh(RT1).await.is_err());
    assert_eq!(h.sites.asked.load(std::sync::atomic::Ordering::SeqCst), 1);
}

/// A principal's sign-in counts for its own site only: at a client of no site it gets
/// nothing (design13.md point 2).
#[tokio::test]
async fn a_site_principal_gets_no_tokens_for_a_client_of_no_site() {
    let h = harness(0);
    h.change_account(|a| a.kind = AccountKind::SiteUser);
    let refused = h.refresh(RT1).await.unwrap_err();
    assert_eq!(refused.code.as_str(), "invalid_grant");
    assert_eq!(h.revoked(), [h.family_id()]);
}

#[tokio::test]
async fn userinfo_names_the_site_user_and_refuses_once_the_access_is_gone() {
    let h = site_harness();
    let access = h.refresh(RT1).await.unwrap().access_token;
    let info = serde_json::to_value(h.issuer.userinfo(&access).await.unwrap()).unwrap();
    assert_names_alice(&info);
    assert_eq!(info["email"], "a@example.com");

    h.sites.answer(ClientSubject::NoAccess);
    let refused = h.issuer.userinfo(&access).await.unwrap_err();
    assert_eq!(refused.code.as_str(), "invalid_token");

    // Linked to another site user since: the token does not speak for the new one.
    let mut bob = alice();
    bob.site_user = SiteUserId(uuid::Uuid::from_u128(0xb0b));
    h.sites.answer(ClientSubject::SiteUser(bob));
    let refused = h.issuer.userinfo(&access).await.unwrap_err();
    assert_eq!(refused.code.as_str(), "invalid_token");
}

#[tokio::test]
async fn introspection_names_the_site_user_for_access_and_refresh_tokens() {
    let h = site_harness();
    let access = h.refresh(RT1).await.unwrap().access_token;
    let seen =
        serde_json::to_value(h.issuer.introspect(&h.client, &access).await.unwrap()).unwrap();
    assert_eq!(seen["active"], true);
    assert_names_alice(&seen);

    let seen = serde_json::to_value(h.issuer.introspect(&h.client, RT1).await.unwrap()).unwrap();
    assert_eq!(seen["active"], true);
    assert_names_alice(&seen);

    h.sites.answer(ClientSubject::NoAccess);
    let seen = h.issuer.introspect(&h.client, RT1).await.unwrap();
    assert!(!seen.active);
}

fn tied_pat(h: &Harness, site_user: Option<SiteUserId>) -> Secret {
    let minted = pat_token::mint(&OsRng);
    *h.pats.known.lock().unwrap() = Some(Pat {
        id: PatId(uuid::Uuid::from_u128(0x9a7)),
        account_id: h.account_id(),
        name: "laptop".to_owned(),
        token_hash: "unused".to_owned(),
        display: "lyd_pat_…".to_owned(),
        scopes: vec!["read".to_owned()],
        audiences: vec![API.to_owned()],
        site_user,
        created_at: Timestamp(0),
        expires_at: None,
        last_used_at: None,
        revoked_at: None,
    });
    minted.token
}

async fn exchange(h: &Harness, token: &Secret) -> Result<Value, crate::OAuthError> {
    let mut client = h.client.clone();
    client.grant_types.push(GrantType::TokenExchange);
    let request = GrantRequest::TokenExchange(TokenExchangeRequest {
        subject_token: Secret::new(token.expose()),
        subject_token_type: PAT_TOKEN_TYPE.to_owned(),
        requested_token_type: None,
        audience: None,
        resource: None,
        scope: None,
        actor_token: None,
        actor_token_type: None,
    });
    let response = h
        .issuer
        .exchange(&client, request, &Origin::default())
        .await?;
    Ok(payload(&response.access_token))
}

/// E2: a PAT tied to a site user names the site user while the link (and the site's 2FA
/// rule) holds, and is refused with `invalid_grant` once it does not.
#[tokio::test]
async fn e2_a_site_tied_pat_names_the_site_user_until_the_link_is_gone() {
    let h = harness(0);
    let token = tied_pat(&h, Some(alice().site_user));
    *h.sites.pat_answer.lock().unwrap() = Some(alice());
    assert_names_alice(&exchange(&h, &token).await.unwrap());

    *h.sites.pat_answer.lock().unwrap() = None;
    let refused = exchange(&h, &token).await.unwrap_err();
    assert_eq!(refused.code.as_str(), "invalid_grant");
    assert!(h.audit_kinds().contains(&"pat.site_refused".to_owned()));
}

/// The hot path: a PAT tied to no site user asks nobody about sites.
#[tokio::test]
async fn e4_an_untied_pat_is_exchanged_without_a_site_lookup() {
    let h = harness(0);
    let token = tied_pat(&h, None);
    let claims = exchange(&h, &token).await.unwrap();
    assert_eq!(claims["sub"], h.account_id().to_string());
    assert!(claims.get("site").is_none());
    assert_eq!(
        h.sites.asked.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "no site lookup"
    );
}
