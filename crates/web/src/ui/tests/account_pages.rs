//! The confirmation and one-time pages, and the token pages (issue 12 items 6, 8, 9): one
//! h1, a CSRF form posting to the action with Cancel back, every error listed, user text
//! escaped, the token in a select-all field with a download link.

use askama::Template;

use super::{CSRF, theme};
use crate::ui::FieldError;
use crate::ui::account_pages::{ConfirmPage, ShownOncePage};
use crate::ui::pat_pages::{
    LifetimeChoice, PatCreatedPage, PatView, PatsPage, ScopeChoice, ScopeGroup, SiteChoice,
};

const EVIL: &str = "<script>alert(1)</script>";

fn confirm() -> ConfirmPage {
    ConfirmPage {
        theme: theme(),
        title: "Remove \u{2018}Firefox on Linux\u{2019}?".into(),
        consequences: vec!["We will ask for a code again.".into()],
        action: "/account/devices/1/revoke".into(),
        csrf: CSRF.into(),
        button: "Remove this device".into(),
        cancel_href: "/account/security".into(),
    }
}

#[test]
fn a_confirmation_says_what_follows_and_offers_cancel() {
    let html = confirm().render().unwrap();
    assert_eq!(html.matches("<h1>").count(), 1);
    assert!(html.contains("<h1>Remove \u{2018}Firefox on Linux\u{2019}?</h1>"));
    assert!(html.contains("<p>We will ask for a code again.</p>"));
    assert!(html.contains("<form method=\"post\" action=\"/account/devices/1/revoke\">"));
    assert!(html.contains(&format!("name=\"csrf_token\" value=\"{CSRF}\"")));
    assert!(html.contains("<button class=\"button\" type=\"submit\">Remove this device</button>"));
    assert!(html.contains("<a href=\"/account/security\">Cancel</a>"));

    let unsafe_page = ConfirmPage {
        title: EVIL.into(),
        consequences: vec![EVIL.into()],
        cancel_href: "javascript:alert(1)".into(),
        ..confirm()
    }
    .render()
    .unwrap();
    assert!(!unsafe_page.contains("<script>") && !unsafe_page.contains("javascript:"));
    assert!(!unsafe_page.contains(">Cancel</a>"));
}

#[test]
fn a_one_time_page_seen_again_shows_no_secret() {
    let html = ShownOncePage {
        theme: theme(),
        title: "This token was shown once".into(),
        paragraphs: vec![format!("It is listed as \u{2018}{EVIL}\u{2019}.")],
        next: Some((
            "/account/backup-codes/regenerate".into(),
            "Generate a new backup code".into(),
        )),
        back_href: "/account/pats".into(),
        back_text: "Back to your tokens".into(),
    }
    .render()
    .unwrap();
    assert_eq!(html.matches("<h1>").count(), 1);
    assert!(!html.contains("<script>"));
    assert!(!html.contains("<form"));
    assert!(
        html.contains("href=\"/account/backup-codes/regenerate\">Generate a new backup code</a>")
    );
    assert!(html.contains("<a href=\"/account/pats\">Back to your tokens</a>"));
}

fn pats_page() -> PatsPage {
    PatsPage {
        theme: theme(),
        action: "/account/pats".into(),
        csrf: CSRF.into(),
        hidden: vec![],
        pats: vec![PatView {
            name: EVIL.into(),
            display: "lyd_pat_abcd\u{2026}wxyz".into(),
            revoke_action: "/account/pats/p-1/revoke".into(),
            ..PatView::default()
        }],
        scope_groups: vec![ScopeGroup {
            name: "Example API".into(),
            description: Some("Repositories.".into()),
            scopes: vec![
                ScopeChoice {
                    field: "scope_0".into(),
                    value: "repo:read".into(),
                    description: Some("Read your repositories".into()),
                    checked: true,
                },
                ScopeChoice {
                    field: "scope_1".into(),
                    value: "repo:write".into(),
                    description: None,
                    checked: false,
                },
            ],
        }],
        name: String::new(),
        lifetimes: vec![
            LifetimeChoice {
                value: "7".into(),
                text: "7 days (until 14 December 2026)".into(),
                selected: false,
            },
            LifetimeChoice {
                value: "90".into(),
                text: "90 days (until 7 March 2027)".into(),
                selected: true,
            },
        ],
        site_choices: vec![],
        notice: None,
        errors: vec![],
    }
}

/// E2: the form offers the account's site users (none: the token is the account's own), and
/// a listed token says which site user it is for.
#[test]
fn the_token_page_offers_site_users_and_names_a_tied_token() {
    let plain = pats_page().render().unwrap();
    assert!(!plain.contains("id=\"site\""), "no site users, no field");
    let html = PatsPage {
        site_choices: vec![
            SiteChoice {
                value: String::new(),
                text: "None: the token is for your account".into(),
                selected: false,
            },
            SiteChoice {
                value: "studio".into(),
                text: format!("Studio ({EVIL})"),
                selected: true,
            },
        ],
        pats: vec![PatView {
            name: "laptop".into(),
            site_text: Some("Studio (alice)".into()),
            ..PatView::default()
        }],
        ..pats_page()
    }
    .render()
    .unwrap();
    assert!(html.contains("<label class=\"label\" for=\"site\">Site user</label>"));
    assert!(html.contains("<option value=\"studio\" selected>Studio (&#60;script&#62;"));
    assert!(!html.contains("<script>alert"));
    assert!(html.contains("For the site user Studio (alice)"));
}

#[test]
fn the_token_page_groups_scopes_and_dates_expiries() {
    let html = pats_page().render().unwrap();
    assert!(!html.contains("<script>alert"));
    assert!(html.contains("<p class=\"scope-group-title\">Example API</p>"));
    assert!(html.contains("<p class=\"hint\">Repositories.</p>"));
    assert!(html.contains("for=\"scope_0\">Read your repositories <code>repo:read</code></label>"));
    assert!(html.contains("for=\"scope_1\"><code>repo:write</code></label>"));
    assert!(html.contains("value=\"repo:read\" checked>"));
    assert!(html.contains("<option value=\"7\">7 days (until 14 December 2026)</option>"));
    assert!(html.contains("<option value=\"90\" selected>90 days (until 7 March 2027)</option>"));
    // Revoke is a link to its confirmation, not a one-click form.
    assert!(html.contains("href=\"/account/pats/p-1/revoke\">Revoke<span"));
    assert_eq!(html.matches("<form").count(), 1, "only the create form");
    assert!(!html.contains("error-summary"));
}

#[test]
fn the_token_page_lists_every_error_at_once() {
    let html = PatsPage {
        errors: vec![
            FieldError::new("name", "Enter a name of up to 100 characters"),
            FieldError::new("scope_0", "Choose at least one scope"),
            FieldError::new("expires", "Choose when the token expires"),
        ],
        ..pats_page()
    }
    .render()
    .unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<title>Error: Personal access tokens"));
    for (field, message) in [
        ("name", "Enter a name of up to 100 characters"),
        ("scope_0", "Choose at least one scope"),
        ("expires", "Choose when the token expires"),
    ] {
        assert!(
            html.contains(&format!("<li><a href=\"#{field}\">{message}</a></li>")),
            "{field}"
        );
    }
    assert!(html.contains("<p id=\"name-error\" class=\"error-message\">"));
    assert!(html.contains("<p id=\"scope-error\" class=\"error-message\">"));
    assert!(html.contains("<p id=\"expires-error\" class=\"error-message\">"));
    assert_eq!(
        html.matches("aria-invalid=\"true\"").count(),
        2,
        "name and expires"
    );
}

#[test]
fn a_new_token_is_selectable_whole_and_downloadable() {
    let page = PatCreatedPage {
        theme: theme(),
        name: "Laptop backup \"script\"".into(),
        token: "lyd_pat_AbC123_xyz".into(),
        back: "/account/pats".into(),
    };
    let html = page.render().unwrap();
    assert!(html.contains(
        "<textarea class=\"token-field\" id=\"token\" readonly rows=\"3\" spellcheck=\"false\" \
         autocomplete=\"off\" autocapitalize=\"off\" aria-describedby=\"token-hint\">lyd_pat_AbC123_xyz</textarea>"
    ));
    assert!(html.contains(
        "<a href=\"data:text/plain;charset=utf-8,lyd_pat_AbC123_xyz%0A\" download=\"token-laptop-backup-script.txt\">"
    ));
    assert!(
        html.contains("Laptop backup &#34;script&#34;")
            || html.contains("Laptop backup &quot;script&quot;")
    );
    let unnamed = PatCreatedPage {
        name: "***".into(),
        ..page
    };
    assert_eq!(unnamed.download_name(), "token.txt");
}
