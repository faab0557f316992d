//! The site sign-in pages (C2, C5, F2): the legacy login in each migration state, the page
//! for an identity account with no access, and the site's two-factor set-up.

use askama::Template;

use super::{CSRF, attr, input_with_id, tags, theme};
use crate::ui::FieldError;
use crate::ui::mfa_pages::TotpSetupPage;
use crate::ui::site_pages::{SiteLoginPage, SiteNoAccessPage};

pub(super) fn login_page() -> SiteLoginPage {
    SiteLoginPage {
        theme: theme(),
        action: "/sites/acme/login".into(),
        csrf: CSRF.into(),
        hidden: vec![("flow".into(), "f-123".into())],
        site_name: "Acme Studio".into(),
        login: String::new(),
        legacy_open: true,
        identity_href: None,
        error: None,
    }
}

pub(super) fn dual_page() -> SiteLoginPage {
    SiteLoginPage {
        identity_href: Some("/login?flow=f-123".into()),
        ..login_page()
    }
}

pub(super) fn identity_page() -> SiteLoginPage {
    SiteLoginPage {
        legacy_open: false,
        ..dual_page()
    }
}

pub(super) fn no_access_page() -> SiteNoAccessPage {
    SiteNoAccessPage {
        theme: theme(),
        site_name: "Acme Studio".into(),
        account_email: "ada@example.com".into(),
        sign_out_href: "/logout".into(),
        site_login_href: Some("/sites/acme/login?flow=f-123".into()),
    }
}

#[test]
fn the_legacy_page_asks_login_and_password_with_the_right_fields() {
    let html = login_page().render().unwrap();
    assert!(html.contains("<h1>Sign in to Acme Studio</h1>"), "{html}");
    let login = input_with_id(&html, "login");
    assert_eq!(attr(login, "name"), Some("login"));
    assert_eq!(attr(login, "autocomplete"), Some("username"));
    let password = input_with_id(&html, "password");
    assert_eq!(attr(password, "type"), Some("password"));
    assert_eq!(attr(password, "autocomplete"), Some("current-password"));
    assert!(html.contains("<label class=\"label\" for=\"login\">Login</label>"));
    assert!(html.contains("<label class=\"label\" for=\"password\">Password</label>"));
    assert!(html.contains("novalidate"));
    assert!(!html.contains("Sign in with your Acme Sign-in account"));
}

#[test]
fn the_dual_page_offers_both_ways_and_the_identity_page_only_one() {
    let dual = dual_page().render().unwrap();
    assert!(dual.contains("name=\"password\""));
    assert!(dual.contains("href=\"/login?flow=f-123\""), "{dual}");
    assert!(dual.contains("Sign in with your Acme Sign-in account"));
    let identity = identity_page().render().unwrap();
    assert!(
        tags(&identity, "form").is_empty(),
        "no legacy form: {identity}"
    );
    assert!(identity.contains("no longer work"), "{identity}");
    assert!(identity.contains("href=\"/login?flow=f-123\""));
}

#[test]
fn a_refused_login_is_explained_at_the_field_and_keeps_what_was_typed() {
    let html = SiteLoginPage {
        login: "ada".into(),
        error: Some(FieldError::new(
            "password",
            "The login or password is not right. Check them and try again.",
        )),
        ..login_page()
    }
    .render()
    .unwrap();
    assert!(html.contains("There is a problem"));
    assert!(html.contains("href=\"#password\""));
    assert_eq!(attr(input_with_id(&html, "login"), "value"), Some("ada"));
    assert_eq!(
        attr(input_with_id(&html, "password"), "aria-invalid"),
        Some("true")
    );
    assert_eq!(attr(input_with_id(&html, "password"), "value"), None);
}

#[test]
fn site_names_logins_and_emails_are_escaped() {
    let evil = "<script>alert(1)</script>";
    for html in [
        SiteLoginPage {
            site_name: evil.into(),
            login: evil.into(),
            ..dual_page()
        }
        .render()
        .unwrap(),
        SiteNoAccessPage {
            site_name: evil.into(),
            account_email: evil.into(),
            ..no_access_page()
        }
        .render()
        .unwrap(),
    ] {
        assert!(!html.contains(evil), "{html}");
        assert!(html.contains("&#60;script&#62;") || html.contains("&lt;script&gt;"));
    }
}

#[test]
fn the_no_access_page_names_the_account_and_the_ways_on() {
    let html = no_access_page().render().unwrap();
    assert!(html.contains("Your account has no access to Acme Studio"));
    assert!(html.contains("ada@example.com"));
    assert!(html.contains("href=\"/sites/acme/login?flow=f-123\""));
    assert!(html.contains("href=\"/logout\""));
    let identity_site = SiteNoAccessPage {
        site_login_href: None,
        ..no_access_page()
    }
    .render()
    .unwrap();
    assert!(!identity_site.contains("/sites/acme/login"));
}

#[test]
fn a_site_users_set_up_says_verify_and_save_and_names_the_site() {
    let html = TotpSetupPage {
        theme: theme(),
        action: "/login/authenticator".into(),
        csrf: CSRF.into(),
        hidden: vec![("flow".into(), "f-123".into())],
        qr_svg: "<svg></svg>".into(),
        secret_text: "JBSW Y3DP EHPK 3PXP".into(),
        replacing: false,
        required: true,
        site_name: Some("Acme Studio".into()),
        error: None,
    }
    .render()
    .unwrap();
    assert!(html.contains("Acme Studio requires two-factor authentication"));
    assert!(html.contains(">Verify and Save</button>"), "{html}");
    assert!(html.contains("secret-block"));
    assert!(!html.contains("Your organization requires"));
}
