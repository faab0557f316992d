//! Invitations (C5, S41): who gets which kind, the token, re-sending, expiry, reuse, binding
//! to the invitation's email, parallel claims, wrong-token throttling; C6 email changes.

use lanyard_core::model::{InvitationKind, SiteRole};
use lanyard_core::ports::SiteRepo;
use lanyard_core::{Origin, Secret};
use lanyard_sites::SitesError;
use lanyard_sites::invitations::{ClaimRefusal, EmailChange, Selection, Skipped};
use lanyard_sites::progress_lists::{UserProgress, progress_rows};

use crate::{Harness, ISSUER, NowTs, PASSWORD, email_of, harness, origin};

fn refusal<T: std::fmt::Debug>(result: Result<T, SitesError>) -> ClaimRefusal {
    match result {
        Err(SitesError::Claim(refusal)) => refusal,
        other => panic!("expected a claim refusal, got {other:?}"),
    }
}

async fn invite_all(h: &Harness) {
    h.invitations
        .invite(&h.site, &Selection::All, &Origin::cli())
        .await
        .unwrap();
}

#[tokio::test]
async fn c5_a_matching_verified_account_gets_access_the_others_create_account() {
    let h = harness().await;
    h.person(&email_of("alice")).await;
    h.unverified_person(&email_of("bob")).await;
    let linked = h.person("dave.identity@example.com").await;
    assert!(
        h.store
            .link_site_user(h.user("dave").await.id, linked.id, h.clock.now_ts())
            .await
            .unwrap()
    );
    let report = h
        .invitations
        .invite(&h.site, &Selection::NotYetInvited, &Origin::cli())
        .await
        .unwrap();
    let kinds: Vec<_> = report
        .sent
        .iter()
        .map(|s| (s.login.as_str(), s.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            ("alice", InvitationKind::Access),
            // S42: an account whose email nobody proved is never offered the site user.
            ("bob", InvitationKind::CreateAccount),
            ("carol", InvitationKind::CreateAccount),
        ]
    );
    assert_eq!(report.skipped, [("dave".to_owned(), Skipped::Linked)]);
    let alice = &h.mails_to(&email_of("alice"))[0];
    assert!(alice.subject.contains("You now sign in to Studio"));
    let carol = &h.mails_to(&email_of("carol"))[0];
    assert!(
        carol
            .subject
            .contains("Complete your account creation for Studio")
    );
    assert!(carol.text.contains("\"carol\""));
    // The link is built from the configured issuer only.
    assert!(
        carol
            .text
            .contains(&format!("{ISSUER}/migrate/claim?token="))
    );
    // Not yet invited means: without a live invitation.
    let again = h
        .invitations
        .invite(&h.site, &Selection::NotYetInvited, &Origin::cli())
        .await
        .unwrap();
    assert!(again.sent.is_empty());
    assert_eq!(again.skipped.len(), 4);
}

/// S41: 256 random bits, only a keyed hash stored.
#[tokio::test]
async fn s41_the_token_has_256_bits_and_only_its_keyed_hash_is_stored() {
    let h = harness().await;
    invite_all(&h).await;
    let token = h.token_for(&email_of("bob"));
    assert_eq!(token.len(), 43, "32 bytes in base64url");
    let stored = h
        .store
        .latest_invitation(h.user("bob").await.id)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(stored.token_hash, token);
    assert!(!stored.token_hash.contains(&token));
    assert_eq!(
        stored.token_hash,
        h.hasher.hash(&format!("invitation:{token}"))
    );
    assert_eq!(stored.expires_at, h.clock.now_ts().plus_secs(14 * 86_400));
}

#[tokio::test]
async fn s41_sending_again_kills_the_old_link() {
    let h = harness().await;
    invite_all(&h).await;
    let old = h.token_for(&email_of("bob"));
    h.invitations
        .invite(
            &h.site,
            &Selection::Logins(vec!["BOB".to_owned()]),
            &Origin::cli(),
        )
        .await
        .unwrap();
    let new = h.token_for(&email_of("bob"));
    assert_ne!(old, new);
    let o = origin("192.0.2.1");
    assert_eq!(
        refusal(h.invitations.open(&old, &o).await),
        ClaimRefusal::Replaced
    );
    assert!(h.invitations.open(&new, &o).await.is_ok());
}

#[tokio::test]
async fn s41_an_invitation_expires_one_second_after_its_time() {
    let h = harness().await;
    invite_all(&h).await;
    let token = h.token_for(&email_of("bob"));
    let o = origin("192.0.2.1");
    h.clock.advance(14 * 86_400 - 1);
    assert!(h.invitations.open(&token, &o).await.is_ok());
    h.clock.advance(1);
    assert_eq!(
        refusal(h.invitations.open(&token, &o).await),
        ClaimRefusal::Expired
    );
    h.clock.advance(1);
    let created = h
        .invitations
        .accept_creating_account(&token, "Bob", Secret::new(PASSWORD), &o)
        .await;
    assert_eq!(refusal(created), ClaimRefusal::Expired);
    assert!(
        h.accounts
            .find_by_email(&email_of("bob"))
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn s41_a_used_link_is_refused_and_audited_as_reuse() {
    let h = harness().await;
    invite_all(&h).await;
    let token = h.token_for(&email_of("bob"));
    let o = origin("192.0.2.1");
    let (open, account) = h
        .invitations
        .accept_creating_account(&token, "Bob", Secret::new(PASSWORD), &o)
        .await
        .unwrap();
    assert_eq!(open.user.login, "bob");
    assert!(account.email_verified);
    assert_eq!(h.user("bob").await.account_id, Some(account.id));
    assert_eq!(
        refusal(h.invitations.open(&token, &o).await),
        ClaimRefusal::Used
    );
    let again = h
        .invitations
        .accept_with_account(&token, &account, &o)
        .await;
    assert_eq!(refusal(again), ClaimRefusal::Used);
    let kinds = h.audit_kinds().await;
    assert!(
        kinds.contains(&"migration.token_reuse".to_owned()),
        "{kinds:?}"
    );
    assert!(kinds.contains(&"migration.linked".to_owned()));
}

/// S41: an invitation for one email can not be accepted by another account (nor by an
/// account with the same but unverified email, nor by a site principal); nothing is linked
/// and the link still works for its owner.
#[tokio::test]
async fn s41_an_invitation_for_x_is_refused_while_signed_in_as_y() {
    let h = harness().await;
    let alice = h.person(&email_of("alice")).await;
    let mallory = h.person("mallory@example.com").await;
    invite_all(&h).await;
    let token = h.token_for(&email_of("alice"));
    let o = origin("192.0.2.1");
    let principal = h.account(h.user("alice").await.principal).await;
    for wrong in [&mallory, &principal] {
        let refused = h.invitations.accept_with_account(&token, wrong, &o).await;
        assert_eq!(refusal(refused), ClaimRefusal::WrongAccount);
    }
    assert_eq!(h.user("alice").await.account_id, None);
    let open = h
        .invitations
        .accept_with_account(&token, &alice, &o)
        .await
        .unwrap();
    assert_eq!(open.user.login, "alice");
    assert_eq!(h.user("alice").await.account_id, Some(alice.id));
}

#[tokio::test]
async fn s41_twenty_parallel_claims_make_one_account() {
    let h = harness().await;
    invite_all(&h).await;
    let token = h.token_for(&email_of("carol"));
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(20));
    let mut tasks = Vec::new();
    for i in 0..20 {
        let invitations = h.invitations.clone();
        let token = token.clone();
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            invitations
                .accept_creating_account(
                    &token,
                    "Carol",
                    Secret::new(PASSWORD),
                    &origin(&format!("192.0.2.{i}")),
                )
                .await
                .map(|(_, account)| account.id)
        }));
    }
    let mut won = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            Ok(id) => won.push(id),
            Err(SitesError::Claim(ClaimRefusal::Used)) => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(won.len(), 1, "exactly one claim wins");
    assert_eq!(h.user("carol").await.account_id, Some(won[0]));
}

/// S41: wrong-token guesses are limited per address; once over, even the right token waits
/// there, while other addresses are unaffected.
#[tokio::test]
async fn s41_wrong_tokens_are_throttled_per_address() {
    let h = harness().await;
    invite_all(&h).await;
    let token = h.token_for(&email_of("bob"));
    let guesser = origin("198.51.100.7");
    let guesses = [
        "x".to_owned(),
        "A".repeat(43),
        "a-b_".repeat(11)[..43].to_owned(),
    ];
    for i in 0..10 {
        let refused = h.invitations.open(&guesses[i % 3], &guesser).await;
        assert_eq!(refusal(refused), ClaimRefusal::Invalid, "guess {i}");
    }
    let blocked = h.invitations.open(&token, &guesser).await;
    assert_eq!(refusal(blocked), ClaimRefusal::Throttled(15 * 60));
    assert!(
        h.invitations
            .open(&token, &origin("192.0.2.1"))
            .await
            .is_ok()
    );
    assert!(
        h.audit_kinds()
            .await
            .contains(&"migration.claims_throttled".to_owned())
    );
    h.clock.advance(15 * 60 + 1);
    assert!(h.invitations.open(&token, &guesser).await.is_ok());
}

#[tokio::test]
async fn a_refused_name_or_password_does_not_spend_the_invitation() {
    let h = harness().await;
    invite_all(&h).await;
    let token = h.token_for(&email_of("bob"));
    let o = origin("192.0.2.1");
    for (name, password) in [
        ("Bob", "short"),
        ("", PASSWORD),
        ("Bob", "bob@studio.example"),
    ] {
        let refused = h
            .invitations
            .accept_creating_account(&token, name, Secret::new(password), &o)
            .await;
        assert!(
            matches!(refused, Err(SitesError::Identity(_))),
            "{refused:?}"
        );
    }
    assert!(
        h.accounts
            .find_by_email(&email_of("bob"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        h.invitations
            .accept_creating_account(&token, "Bob", Secret::new(PASSWORD), &o)
            .await
            .is_ok()
    );
}

/// S42 pre-hijack: someone registered the victim's address (unverified) before the
/// migration. The victim's invitation creates no account over it and links nothing to it.
#[tokio::test]
async fn s42_an_account_registered_first_with_the_email_gets_nothing() {
    let h = harness().await;
    let squatter = h.unverified_person(&email_of("bob")).await;
    invite_all(&h).await;
    let token = h.token_for(&email_of("bob"));
    let o = origin("192.0.2.1");
    let squatted = h
        .invitations
        .accept_with_account(&token, &squatter, &o)
        .await;
    assert_eq!(refusal(squatted), ClaimRefusal::WrongAccount);
    let create = h
        .invitations
        .accept_creating_account(&token, "Bob", Secret::new(PASSWORD), &o)
        .await;
    assert_eq!(refusal(create), ClaimRefusal::AccountExists);
    assert_eq!(h.user("bob").await.account_id, None);
}

#[tokio::test]
async fn an_undeliverable_mail_marks_the_invitation_bounced() {
    let h = harness().await;
    h.mailer.refuse.lock().unwrap().push(email_of("carol"));
    let report = h
        .invitations
        .invite(&h.site, &Selection::All, &Origin::cli())
        .await
        .unwrap();
    assert_eq!(report.sent.len(), 3);
    assert_eq!(
        report.failed,
        [("carol".to_owned(), "the email address can not receive mail")]
    );
    let stored = h
        .store
        .latest_invitation(h.user("carol").await.id)
        .await
        .unwrap()
        .unwrap();
    assert!(stored.bounced_at.is_some());
    // Not yet invited includes a bounced one: it is sent again.
    h.mailer.refuse.lock().unwrap().clear();
    let again = h
        .invitations
        .invite(&h.site, &Selection::NotYetInvited, &Origin::cli())
        .await
        .unwrap();
    let logins: Vec<_> = again.sent.iter().map(|s| s.login.as_str()).collect();
    assert_eq!(logins, ["carol"]);
}

/// C6: a changed email gets a confirmation invitation; until it is claimed the site user is
/// not linked automatically, at the old address or the new one.
#[tokio::test]
async fn c6_a_changed_email_is_confirmed_by_its_invitation_before_any_link() {
    let h = harness().await;
    let new_address = "bob.new@example.com";
    let bob_new = h.person(new_address).await;
    let change = h
        .invitations
        .change_email(&h.site, "bob", new_address, &Origin::cli())
        .await
        .unwrap();
    let EmailChange::InvitationSent(sent) = change else {
        panic!("{change:?}")
    };
    assert_eq!(sent.kind, InvitationKind::Access);
    assert!(h.user("bob").await.email_unverified_since.is_some());
    let o = origin("192.0.2.1");
    let auto = h
        .linking
        .site_user_at_sign_in(&h.site, &bob_new, &o)
        .await
        .unwrap();
    assert!(
        auto.is_none(),
        "no automatic link before the address is confirmed"
    );
    let token = h.token_for(new_address);
    h.invitations
        .accept_with_account(&token, &bob_new, &o)
        .await
        .unwrap();
    let bob = h.user("bob").await;
    assert_eq!(bob.account_id, Some(bob_new.id));
    assert!(bob.email_unverified_since.is_none());
}

#[tokio::test]
async fn c6_a_changed_email_is_refused_when_taken_malformed_or_unchanged() {
    let h = harness().await;
    for (email, why) in [
        (email_of("alice"), "another user of the site has this email"),
        (
            "not an address".to_owned(),
            "the email address is not valid",
        ),
        (
            email_of("bob").to_uppercase(),
            "the site user already has this email",
        ),
    ] {
        let refused = h
            .invitations
            .change_email(&h.site, "bob", &email, &Origin::cli())
            .await;
        assert!(
            matches!(&refused, Err(SitesError::Invalid(w)) if w == why),
            "{email}: {refused:?}"
        );
    }
    let unknown = h
        .invitations
        .change_email(&h.site, "nobody", "x@example.com", &Origin::cli())
        .await;
    assert!(matches!(unknown, Err(SitesError::NoSuchUser)));
    assert!(h.user("bob").await.email_unverified_since.is_none());
    assert!(h.mailer.sent.lock().unwrap().is_empty());
}

#[tokio::test]
async fn progress_lists_put_each_user_in_one_place() {
    let h = harness().await;
    h.mailer.refuse.lock().unwrap().push(email_of("carol"));
    h.invitations
        .invite(
            &h.site,
            &Selection::Logins(vec!["bob".to_owned(), "carol".to_owned()]),
            &Origin::cli(),
        )
        .await
        .unwrap();
    let alice = h.person("alice.identity@example.com").await;
    h.store
        .link_site_user(h.user("alice").await.id, alice.id, h.clock.now_ts())
        .await
        .unwrap();
    let rows = progress_rows(&*h.store, &h.site, h.clock.now_ts())
        .await
        .unwrap();
    let states: Vec<_> = rows
        .iter()
        .map(|r| (r.login.as_str(), r.progress.clone()))
        .collect();
    let now = h.clock.now_ts().seconds();
    assert_eq!(
        states,
        [
            (
                "alice",
                UserProgress::Linked {
                    linked_at: Some(now)
                }
            ),
            (
                "bob",
                UserProgress::Invited {
                    expires_at: now + 14 * 86_400
                }
            ),
            ("carol", UserProgress::Bounced { bounced_at: now }),
            ("dave", UserProgress::NotInvited),
        ]
    );
    h.clock.advance(14 * 86_400);
    let rows = progress_rows(&*h.store, &h.site, h.clock.now_ts())
        .await
        .unwrap();
    assert_eq!(
        rows[1].progress,
        UserProgress::Expired {
            expired_at: now + 14 * 86_400
        }
    );
    assert_eq!(rows[0].role, SiteRole::Admin.as_str());
}

/// Bad input changes nothing: one unknown login refuses the whole list, no mail goes out.
#[tokio::test]
async fn an_unknown_login_refuses_the_whole_invitation_list() {
    let h = harness().await;
    let refused = h
        .invitations
        .invite(
            &h.site,
            &Selection::Logins(vec!["bob".to_owned(), "nobody".to_owned()]),
            &Origin::cli(),
        )
        .await;
    assert!(
        matches!(&refused, Err(SitesError::Invalid(why)) if why.contains("nobody")),
        "{refused:?}"
    );
    assert!(h.mailer.sent.lock().unwrap().is_empty());
    assert!(
        h.store
            .latest_invitation(h.user("bob").await.id)
            .await
            .unwrap()
            .is_none()
    );
}
