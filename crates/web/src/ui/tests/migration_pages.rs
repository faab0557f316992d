//! The invitation pages and the site admin page: what they say, what they never offer, and
//! that everything a site or a user brings is escaped.

use askama::Template;

use super::{CSRF, theme};
use crate::ui::FieldError;
use crate::ui::migrate_pages::{ClaimDonePage, ClaimPage, ClaimStep};
use crate::ui::site_admin_pages::{ModeMove, SiteAdminPage, UserLine};

const EVIL: &str = "<script>alert(1)</script>";

fn claim(step: ClaimStep) -> ClaimPage {
    ClaimPage {
        theme: theme(),
        action: "/migrate/claim".into(),
        csrf: CSRF.into(),
        hidden: vec![("token".into(), "T0k3n".into())],
        step,
        site_name: EVIL.into(),
        login: EVIL.into(),
        email: "carol@studio.example".into(),
        expires_text: "21 December 2026 at 12:00 UTC (in 14 days)".into(),
        name: String::new(),
        min_len: 8,
        error: None,
    }
}

#[test]
fn s41_the_create_account_page_shows_the_email_but_never_asks_for_it() {
    let html = claim(ClaimStep::Create).render().unwrap();
    assert_eq!(html.matches("<h1>").count(), 1);
    assert!(html.contains("<h1>Complete your account creation</h1>"));
    assert!(html.contains("<strong>carol@studio.example</strong>"));
    assert!(!html.contains("name=\"email\""), "the email is not a field");
    assert!(html.contains("autocomplete=\"new-password\""));
    assert!(html.contains("<label class=\"label\" for=\"name\">"));
    assert!(html.contains("<label class=\"label\" for=\"password\">"));
    assert!(html.contains("name=\"token\" value=\"T0k3n\""));
    assert!(html.contains("name=\"step\" value=\"create\""));
    assert!(html.contains("action=\"/migrate/claim\""));
    assert!(!html.contains("?token="));
    assert!(!html.contains("<script>alert"));
    assert!(html.contains("until 21 December 2026 at 12:00 UTC (in 14 days)"));
}

#[test]
fn the_create_account_page_says_what_to_fix() {
    let html = ClaimPage {
        error: Some(FieldError::new("password", "Use at least 8 characters.")),
        name: "Carol".into(),
        ..claim(ClaimStep::Create)
    }
    .render()
    .unwrap();
    assert!(html.contains("<title>Error: Complete your account creation"));
    assert!(html.contains("<li><a href=\"#password\">Use at least 8 characters.</a></li>"));
    assert!(html.contains("aria-invalid=\"true\""));
    assert!(html.contains("value=\"Carol\""));
}

#[test]
fn the_access_page_asks_to_sign_in_then_to_confirm() {
    let sign_in = claim(ClaimStep::SignIn).render().unwrap();
    assert!(sign_in.contains("Sign in to accept"));
    assert!(sign_in.contains("name=\"step\" value=\"sign_in\""));
    assert!(!sign_in.contains("name=\"password\""));
    let link = claim(ClaimStep::Link).render().unwrap();
    assert!(link.contains("Signed in as <strong>carol@studio.example</strong>"));
    assert!(link.contains("name=\"step\" value=\"link\""));
    for html in [sign_in, link] {
        assert_eq!(html.matches("<h1>").count(), 1);
        assert!(!html.contains("<script>alert"));
    }
}

#[test]
fn the_done_page_says_what_comes_next() {
    let created = ClaimDonePage {
        theme: theme(),
        created: true,
        sign_in_href: "/account".into(),
    }
    .render()
    .unwrap();
    assert!(created.contains("Your account is ready"));
    assert!(created.contains("backup code"));
    let linked = ClaimDonePage {
        theme: theme(),
        created: false,
        sign_in_href: "/account".into(),
    }
    .render()
    .unwrap();
    assert!(linked.contains("You're all set"));
}

fn line(login: &str, when: &str) -> UserLine {
    UserLine {
        login: login.into(),
        email: format!("{login}@studio.example"),
        role: "Licensed user".into(),
        when_text: when.into(),
    }
}

#[test]
fn the_site_admin_page_lists_every_user_once_and_escapes_them() {
    let html = SiteAdminPage {
        theme: theme(),
        csrf: CSRF.into(),
        hidden: vec![],
        site_name: EVIL.into(),
        mode: "dual".into(),
        mode_text: "Dual: …".into(),
        two_factor_on: false,
        two_factor_since_text: String::new(),
        two_factor_action: "/sites/studio/admin/two-factor".into(),
        mode_action: "/sites/studio/admin/mode".into(),
        invite_action: "/sites/studio/admin/invite".into(),
        moves: vec![ModeMove {
            to: "identity".into(),
            label: "Move to identity mode".into(),
            explanation: "Only accounts from now on.".into(),
            needs_confirmation: true,
        }],
        total: 3,
        linked: vec![line("ann", "7 December 2026")],
        invited: vec![line(EVIL, "until 21 December 2026 at 12:00 UTC")],
        not_invited: vec![],
        expired_or_bounced: vec![line("cy", "not delivered 7 December 2026")],
        notice: Some("3 invitations sent.".into()),
    }
    .render()
    .unwrap();
    assert_eq!(html.matches("<h1>").count(), 1);
    assert!(!html.contains("<script>alert"));
    assert!(
        html.contains("3 users: 1 linked, 1 invited, 0 not invited yet, 1 expired or bounced.")
    );
    assert!(html.contains("<p class=\"notice\" role=\"status\">3 invitations sent.</p>"));
    assert!(html.contains("<h3 id=\"not-invited-title\">Not invited yet</h3>\n\n<p>None.</p>"));
    assert!(html.contains("name=\"confirm\" type=\"checkbox\" value=\"yes\""));
    assert!(html.contains("<label class=\"checkbox-label\" for=\"confirm-identity\">"));
    assert_eq!(
        html.matches("name=\"csrf_token\"").count(),
        3,
        "one per form"
    );
    assert!(html.contains("name=\"required\" value=\"on\""));
    assert!(html.contains("value=\"not_invited\"") && html.contains("value=\"all\""));
}
