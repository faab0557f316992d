use lanyard_core::model::{AccountLink, AccountLinkId, LinkPurpose};
use lanyard_core::{AccountId, Timestamp};
use uuid::Uuid;

use super::{LinkRefusal, SignupSettings, is_token_shaped, mail, refusal};

fn link(now: i64) -> AccountLink {
    AccountLink {
        id: AccountLinkId(Uuid::from_u128(1)),
        account_id: AccountId(Uuid::from_u128(2)),
        purpose: LinkPurpose::Reset,
        token_hash: "h".to_owned(),
        email: None,
        name: None,
        password_hash: None,
        created_at: Timestamp(now),
        expires_at: Timestamp(now + 3600),
        used_at: None,
        superseded_at: None,
    }
}

#[test]
fn a_link_works_until_one_second_before_it_expires() {
    let l = link(1000);
    assert_eq!(refusal(&l, Timestamp(4599)), None);
    assert_eq!(refusal(&l, Timestamp(4600)), Some(LinkRefusal::Expired));
    assert_eq!(refusal(&l, Timestamp(4601)), Some(LinkRefusal::Expired));
}

#[test]
fn used_comes_before_replaced_and_expired() {
    let mut l = link(1000);
    l.superseded_at = Some(Timestamp(1001));
    assert_eq!(refusal(&l, Timestamp(1002)), Some(LinkRefusal::Replaced));
    l.used_at = Some(Timestamp(1001));
    assert_eq!(refusal(&l, Timestamp(9999)), Some(LinkRefusal::Used));
}

#[test]
fn only_a_43_character_base64url_token_is_looked_up() {
    assert!(is_token_shaped(&"a".repeat(43)));
    assert!(is_token_shaped(
        "AbC-_0123456789abcdefghijklmnopqrstuvwxyzAB"
    ));
    for bad in [
        String::new(),
        "a".repeat(42),
        "a".repeat(44),
        format!("{}=", "a".repeat(42)),
        format!("{}/", "a".repeat(42)),
        format!("{}é", "a".repeat(41)),
    ] {
        assert!(!is_token_shaped(&bad), "{bad}");
    }
}

#[test]
fn the_settings_bound_lifetimes_and_limits() {
    assert!(SignupSettings::default().validate().is_ok());
    let mut s = SignupSettings {
        reset_ttl_secs: 10,
        ..SignupSettings::default()
    };
    assert_eq!(s.validate().unwrap_err().key, "signup.reset_ttl_secs");
    s.reset_ttl_secs = 3600;
    s.mails_per_ip_per_hour = 0;
    assert_eq!(
        s.validate().unwrap_err().key,
        "signup.mails_per_ip_per_hour"
    );
}

#[test]
fn notices_carry_no_link_but_the_forgot_page() {
    let at = Timestamp(1_797_863_520);
    let exists = mail::signup_exists("Lanyard", "a@example.com", "https://id.example.com");
    assert!(
        exists
            .text
            .contains("https://id.example.com/password/forgot")
    );
    assert!(!exists.text.contains("token="));
    for notice in [
        mail::reset_done("Lanyard", "a@example.com", at),
        mail::email_taken("Lanyard", "a@example.com"),
        mail::email_changed("Lanyard", "a@example.com", "b@example.com", at),
    ] {
        assert!(!notice.text.contains("http"), "{}", notice.text);
    }
    let reset = mail::reset(
        "Lanyard",
        "a@example.com",
        "https://x/t",
        Timestamp(at.0 + 3600),
    );
    assert!(reset.text.contains("https://x/t"));
    assert!(
        reset
            .text
            .contains("works once, until 21 December 2026 at 15:32 UTC")
    );
}
