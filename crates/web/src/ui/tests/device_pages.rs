//! Connecting a device: the same rules as every page (one h1, labels, CSRF on every form,
//! escaping, no script, no jargon), plus what each page promises.

use askama::Template;
use axum::http::StatusCode;
use axum::response::IntoResponse;

use super::{CSRF, attr, input_with_id, tags, theme, words};
use crate::ui::{
    CSRF_FIELD, DeviceCodePage, DeviceConfirmPage, DeviceDonePage, FieldError, ScopeView,
};

const HOSTILE: &str = "<script>alert(1)</script>\"'&";

fn code_page() -> DeviceCodePage {
    DeviceCodePage {
        theme: theme(),
        action: "/device".into(),
        csrf: CSRF.into(),
        hidden: vec![],
        user_code: "BCDF-GHJK".into(),
        error: None,
        account_email: "ada@example.com".into(),
        sign_out_href: "/logout".into(),
    }
}

fn confirm_page() -> DeviceConfirmPage {
    DeviceConfirmPage {
        theme: theme(),
        action: "/device/confirm".into(),
        csrf: CSRF.into(),
        hidden: vec![("confirm".into(), "c-123".into())],
        client_name: "Living Room TV".into(),
        user_code: "BCDF-GHJK".into(),
        scopes: vec![ScopeView::new("email", "See your email address")],
        expires_text: "14:32 UTC (in 10 minutes)".into(),
        account_email: "ada@example.com".into(),
        sign_out_href: "/logout".into(),
    }
}

fn done_page(approved: bool) -> DeviceDonePage {
    DeviceDonePage {
        theme: theme(),
        approved,
        client_name: "Living Room TV".into(),
    }
}

fn all_pages() -> Vec<(&'static str, String)> {
    vec![
        ("code", code_page().render().unwrap()),
        (
            "code with error",
            DeviceCodePage {
                error: Some(FieldError::new("user_code", "That code did not work")),
                ..code_page()
            }
            .render()
            .unwrap(),
        ),
        ("confirm", confirm_page().render().unwrap()),
        (
            "confirm without scopes",
            DeviceConfirmPage {
                scopes: vec![],
                ..confirm_page()
            }
            .render()
            .unwrap(),
        ),
        ("approved", done_page(true).render().unwrap()),
        ("denied", done_page(false).render().unwrap()),
    ]
}

#[test]
fn every_device_page_has_the_layout_one_h1_and_no_script() {
    for (name, html) in all_pages() {
        assert!(html.starts_with("<!DOCTYPE html>"), "{name}");
        assert!(html.contains("<html lang=\"en\">"), "{name}");
        assert_eq!(tags(&html, "h1").len(), 1, "{name}: exactly one h1");
        assert!(html.contains("Acme Sign-in"), "{name}: product name");
        assert!(!html.contains("<script"), "{name}");
        assert!(!html.contains(" style="), "{name}");
        assert_eq!(html.matches("://").count(), 0, "{name}: nothing external");
        let words = words(&html);
        for jargon in ["scope", "scopes", "oauth", "oidc", "acr", "grant"] {
            assert!(!words.contains(&jargon.to_owned()), "{name}: {jargon}");
        }
    }
}

#[test]
fn every_device_form_posts_with_the_csrf_field_and_inputs_have_labels() {
    for (name, html) in all_pages() {
        let forms = tags(&html, "form");
        for form in &forms {
            assert_eq!(attr(form, "method"), Some("post"), "{name}");
        }
        let csrf_fields = tags(&html, "input")
            .into_iter()
            .filter(|i| attr(i, "name") == Some(CSRF_FIELD) && attr(i, "value") == Some(CSRF))
            .count();
        assert_eq!(csrf_fields, forms.len(), "{name}");
        let label_targets: Vec<&str> = tags(&html, "label")
            .iter()
            .filter_map(|l| attr(l, "for"))
            .collect();
        for input in tags(&html, "input") {
            if attr(input, "type") == Some("hidden") {
                continue;
            }
            let id = attr(input, "id").unwrap();
            assert!(label_targets.contains(&id), "{name}: no label for {id}");
        }
    }
}

#[test]
fn the_code_field_suits_a_typed_code() {
    let html = code_page().render().unwrap();
    let form = tags(&html, "form")[0];
    assert_eq!(attr(form, "action"), Some("/device"));
    assert_eq!(attr(form, "novalidate"), Some(""));
    let input = input_with_id(&html, "user_code");
    assert_eq!(attr(input, "name"), Some("user_code"));
    assert_eq!(attr(input, "type"), Some("text"));
    assert_eq!(attr(input, "inputmode"), Some("text"));
    assert_eq!(attr(input, "autocomplete"), Some("off"));
    assert_eq!(attr(input, "spellcheck"), Some("false"));
    assert_eq!(attr(input, "value"), Some("BCDF-GHJK"));
    assert_eq!(attr(input, "aria-describedby"), Some("user_code-hint"));
    assert_eq!(attr(input, "aria-invalid"), None);
    assert!(!html.contains("error-summary"));
}

#[test]
fn a_code_error_is_summarised_and_shown_by_the_field() {
    let html = DeviceCodePage {
        error: Some(FieldError::new("user_code", "That code did not work")),
        ..code_page()
    }
    .render()
    .unwrap();
    assert!(html.contains("<a href=\"#user_code\">That code did not work</a>"));
    assert!(html.contains("id=\"user_code-error\""));
    let input = input_with_id(&html, "user_code");
    assert_eq!(attr(input, "aria-invalid"), Some("true"));
    assert_eq!(
        attr(input, "aria-describedby"),
        Some("user_code-hint user_code-error")
    );
    assert!(html.contains("<title>Error: Connect a device"));
}

#[test]
fn the_confirmation_names_the_app_the_code_and_what_it_gets() {
    let html = confirm_page().render().unwrap();
    assert!(html.contains("<h1>Connect Living Room TV to your Acme Sign-in account?</h1>"));
    assert!(html.contains("<code><span class=\"code-group\">BCDF-</span><wbr><span class=\"code-group\">GHJK</span></code>"));
    assert!(html.contains("<li>See your email address</li>"));
    assert!(html.contains("until 14:32 UTC (in 10 minutes)"));
    assert!(html.contains("<input type=\"hidden\" name=\"confirm\" value=\"c-123\">"));
    let buttons = tags(&html, "button");
    let decisions: Vec<_> = buttons.iter().map(|b| attr(b, "value")).collect();
    assert_eq!(decisions, [Some("approve"), Some("deny")]);
    let empty = DeviceConfirmPage {
        scopes: vec![],
        ..confirm_page()
    }
    .render()
    .unwrap();
    assert!(empty.contains("will only learn that you signed in"));
}

#[test]
fn the_done_page_says_what_happened() {
    let approved = done_page(true).render().unwrap();
    assert!(approved.contains("<h1>Your device is connected</h1>"));
    assert!(approved.contains("You can return to your device"));
    let denied = done_page(false).render().unwrap();
    assert!(denied.contains("<h1>You denied access</h1>"));
    assert!(denied.contains("Living Room TV will not get access"));
}

#[test]
fn hostile_values_are_escaped() {
    let pages = [
        DeviceCodePage {
            user_code: HOSTILE.into(),
            error: Some(FieldError::new("user_code", HOSTILE)),
            ..code_page()
        }
        .render()
        .unwrap(),
        DeviceConfirmPage {
            client_name: HOSTILE.into(),
            user_code: HOSTILE.into(),
            ..confirm_page()
        }
        .render()
        .unwrap(),
        DeviceDonePage {
            client_name: HOSTILE.into(),
            ..done_page(true)
        }
        .render()
        .unwrap(),
    ];
    for html in pages {
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("\"'"), "{html}");
        assert!(
            html.contains("alert(1)"),
            "the value is shown, as text: {html}"
        );
    }
}

#[tokio::test]
async fn device_pages_are_html_with_status_200() {
    for response in [
        code_page().into_response(),
        confirm_page().into_response(),
        done_page(true).into_response(),
    ] {
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()["content-type"],
            "text/html; charset=utf-8"
        );
    }
}
