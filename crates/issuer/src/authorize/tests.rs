//! The re-authentication rule (B9).

use lanyard_core::model::Authenticated;
use lanyard_core::{AccountId, Timestamp};

use super::{AuthorizationRequest, Prompt, reauthentication_required};
use crate::scope::Scopes;

fn request(max_age: Option<i64>, login: bool) -> AuthorizationRequest {
    AuthorizationRequest {
        client_id: "rp".to_owned(),
        redirect_uri: "https://rp.example.com/cb".to_owned(),
        scope: Scopes::parse("openid").unwrap(),
        state: None,
        nonce: None,
        code_challenge: None,
        prompt: Prompt {
            login,
            ..Prompt::default()
        },
        max_age,
        login_hint: None,
        acr_values: Vec::new(),
    }
}

fn signed_in_at(secs: i64) -> Authenticated {
    Authenticated {
        account_id: AccountId(uuid::Uuid::nil()),
        auth_time: Timestamp(secs),
        acr: "urn:lanyard:loa:2".to_owned(),
        amr: vec!["pwd".to_owned(), "otp".to_owned()],
    }
}

#[test]
fn b9_max_age_zero_asks_again_even_in_the_second_of_the_sign_in() {
    let auth = signed_in_at(1_000);
    assert!(reauthentication_required(
        &request(Some(0), false),
        &auth,
        Timestamp(1_000)
    ));
    assert!(reauthentication_required(
        &request(Some(0), false),
        &auth,
        Timestamp(1_001)
    ));
}

#[test]
fn b9_max_age_never_accepts_a_sign_in_that_may_be_older() {
    let auth = signed_in_at(1_000);
    let max_age = |n| request(Some(n), false);
    // 59 whole seconds is at most 60 real ones.
    assert!(!reauthentication_required(
        &max_age(60),
        &auth,
        Timestamp(1_059)
    ));
    // 60 whole seconds may be 60.9 real ones.
    assert!(reauthentication_required(
        &max_age(60),
        &auth,
        Timestamp(1_060)
    ));
    assert!(!reauthentication_required(
        &request(None, false),
        &auth,
        Timestamp(90_000)
    ));
    assert!(reauthentication_required(
        &request(None, true),
        &auth,
        Timestamp(1_000)
    ));
}
