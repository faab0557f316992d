//! A site user's backup-code pages (C4): the same rules as every page (one h1, labels, CSRF
//! on every form, no script, escaping), the codes in order with used ones marked in words,
//! Print without script, and the text file's name and content.

use askama::Template;

use super::{CSRF, attr, tags, theme, words};
use crate::ui::CSRF_FIELD;
use crate::ui::site_code_pages::{
    SetCodeView, SetShown, SiteCodesPage, SiteTwoFactorPage, codes_file_name, codes_text_file,
};

fn codes() -> Vec<SetCodeView> {
    (0..10)
        .map(|i| SetCodeView {
            code: format!("ABCD{i}-FGHJ{i}"),
            used: i == 3,
        })
        .collect()
}

fn codes_page(shown: SetShown) -> SiteCodesPage {
    SiteCodesPage {
        theme: theme(),
        site_name: "Acme Studio".into(),
        login: "ada".into(),
        codes: codes(),
        shown,
        generated_text: "22 November 2026 at 14:32 UTC".into(),
        download_href: "/sites/acme/two-factor/codes/abc/download".into(),
        action: "/sites/acme/two-factor/codes/abc".into(),
        csrf: CSRF.into(),
        hidden: vec![("flow".into(), "f-123".into())],
        error: None,
        regenerate_href: "/sites/acme/account/two-factor/regenerate".into(),
        done_href: "/sites/acme/account/two-factor".into(),
    }
}

fn two_factor_page() -> SiteTwoFactorPage {
    SiteTwoFactorPage {
        theme: theme(),
        site_name: "Acme Studio".into(),
        login: "ada".into(),
        has_app: true,
        set: Some((9, "22 November 2026 at 14:32 UTC".into())),
        action: "/sites/acme/account/two-factor".into(),
        csrf: CSRF.into(),
        error: None,
        regenerate_href: "/sites/acme/account/two-factor/regenerate".into(),
    }
}

fn all_pages() -> Vec<(&'static str, String)> {
    let error = Some(crate::ui::FieldError::new(
        "saved",
        "Save your backup codes, then tick the box",
    ));
    vec![
        ("first", codes_page(SetShown::First).render().unwrap()),
        (
            "first with error",
            SiteCodesPage {
                error,
                ..codes_page(SetShown::First)
            }
            .render()
            .unwrap(),
        ),
        ("new", codes_page(SetShown::Regenerated).render().unwrap()),
        ("again", codes_page(SetShown::Again).render().unwrap()),
        ("two-factor", two_factor_page().render().unwrap()),
        (
            "two-factor with error",
            SiteTwoFactorPage {
                error: Some(crate::ui::FieldError::new(
                    "password",
                    "The password is not right",
                )),
                ..two_factor_page()
            }
            .render()
            .unwrap(),
        ),
        (
            "two-factor without codes or app",
            SiteTwoFactorPage {
                has_app: false,
                set: None,
                ..two_factor_page()
            }
            .render()
            .unwrap(),
        ),
    ]
}

#[test]
fn s44_s45_every_code_page_has_the_layout_csrf_labels_and_no_script() {
    for (name, html) in all_pages() {
        assert!(html.starts_with("<!DOCTYPE html>"), "{name}");
        assert_eq!(tags(&html, "h1").len(), 1, "{name}: exactly one h1");
        assert!(html.contains("Acme Sign-in"), "{name}: product name");
        assert!(!html.contains("<script"), "{name}");
        assert!(!html.contains(" style="), "{name}");
        for tag in html.split('<').skip(1).map(|t| &t[..t.find('>').unwrap()]) {
            assert!(!tag.contains(" on"), "{name}: {tag}");
        }
        assert_eq!(html.matches("://").count(), 0, "{name}: nothing external");
        let forms = tags(&html, "form");
        for form in &forms {
            assert_eq!(attr(form, "method"), Some("post"), "{name}");
        }
        let csrf_fields = tags(&html, "input")
            .into_iter()
            .filter(|i| attr(i, "name") == Some(CSRF_FIELD) && attr(i, "value") == Some(CSRF))
            .count();
        assert_eq!(csrf_fields, forms.len(), "{name}");
        let labels: Vec<&str> = tags(&html, "label")
            .iter()
            .filter_map(|l| attr(l, "for"))
            .collect();
        for input in tags(&html, "input") {
            if attr(input, "type") != Some("hidden") {
                let id = attr(input, "id").unwrap();
                assert!(labels.contains(&id), "{name}: no label for {id}");
            }
        }
        let words = words(&html);
        for jargon in ["otp", "totp", "mfa", "hash"] {
            assert!(!words.contains(&jargon.to_owned()), "{name}: {jargon}");
        }
    }
}

#[test]
fn c4_the_codes_are_listed_in_order_with_the_used_one_struck_and_named() {
    let html = codes_page(SetShown::Again).render().unwrap();
    let first = html.find("ABCD0-").unwrap();
    let last = html.find("ABCD9-").unwrap();
    assert!(first < last);
    assert!(html.contains(
        "<li><code><span class=\"code-group\">ABCD0-</span><wbr><span class=\"code-group\">FGHJ0</span></code></li>"
    ));
    assert!(html.contains(
        "<li class=\"code-used\"><s><span class=\"code-group\">ABCD3-</span><wbr><span class=\"code-group\">FGHJ3</span></s> <span class=\"code-state\">used</span></li>"
    ));
    assert!(html.contains("9 of 10 codes left."));
    assert!(
        html.contains("<h1><span class=\"caption\">Acme Studio · ada</span>Your backup codes</h1>")
    );
    // Shown again: no tick to give, the way to a new set and back.
    assert!(tags(&html, "form").is_empty());
    assert!(
        html.contains("href=\"/sites/acme/account/two-factor/regenerate\">Generate new codes</a>")
    );
    assert!(
        html.contains("href=\"/sites/acme/two-factor/codes/abc/download\">Save to Text File</a>")
    );
    assert!(html.contains("use your browser's Print command"));
}

#[test]
fn c4_a_new_set_asks_for_the_tick_and_a_regenerated_one_says_the_old_stopped() {
    let first = codes_page(SetShown::First).render().unwrap();
    assert!(first.contains("Save your backup codes</h1>"));
    assert!(
        first.contains(
            "<label class=\"checkbox-label\" for=\"saved\">I saved my backup codes</label>"
        )
    );
    assert!(first.contains("<input type=\"hidden\" name=\"flow\" value=\"f-123\">"));
    assert!(!first.contains("no longer work"));
    let new = codes_page(SetShown::Regenerated).render().unwrap();
    assert!(new.contains("Your new backup codes</h1>"));
    assert!(new.contains("Your old backup codes no longer work."));
}

#[test]
fn c4_the_two_factor_page_asks_the_password_before_show_backup_codes() {
    let html = two_factor_page().render().unwrap();
    assert!(html.contains("You have 9 unused backup codes of 10."));
    let password = tags(&html, "input")
        .into_iter()
        .find(|i| attr(i, "id") == Some("password"))
        .unwrap();
    assert_eq!(attr(password, "type"), Some("password"));
    assert_eq!(attr(password, "autocomplete"), Some("current-password"));
    assert!(html.contains(">Show Backup Codes</button>"));
    let none = SiteTwoFactorPage {
        has_app: false,
        set: None,
        ..two_factor_page()
    }
    .render()
    .unwrap();
    assert!(none.contains("You have no backup codes for Acme Studio."));
    assert!(tags(&none, "form").is_empty());
    assert!(!none.contains("Generate new codes"));
}

#[test]
fn names_and_logins_are_escaped() {
    let html = SiteCodesPage {
        site_name: "<b>Acme</b>".into(),
        login: "\"ada\"&co".into(),
        ..codes_page(SetShown::Again)
    }
    .render()
    .unwrap();
    assert!(html.contains("&#60;b&#62;Acme&#60;/b&#62;") || html.contains("&lt;b&gt;Acme"));
    assert!(!html.contains("<b>Acme</b>"));
    assert!(!html.contains("\"ada\"&co"));
}

#[test]
fn c4_the_text_file_is_named_after_the_site_and_login_and_lists_every_code() {
    assert_eq!(codes_file_name("acme", "ada"), "acme_backup_codes_ada.txt");
    let text = codes_text_file(
        "Acme Sign-in",
        ("Acme Studio", "ada"),
        "22 November 2026 at 14:32 UTC",
        &codes(),
    );
    assert!(text.starts_with(
        "Backup codes for ada at Acme Studio (Acme Sign-in)\nGenerated 22 November 2026 at 14:32 UTC\n\nABCD0-FGHJ0\n"
    ));
    assert!(text.contains("\nABCD3-FGHJ3  (used)\n"));
    assert!(text.contains("\nABCD9-FGHJ9\n"));
    assert_eq!(text.lines().filter(|l| l.starts_with("ABCD")).count(), 10);
}
