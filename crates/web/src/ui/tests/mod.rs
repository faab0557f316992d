//! Tests for the pages (security tests S44, S45); the stylesheet and CSRF tokens have their own
//! files beside this one.

mod account_pages;
mod assets;
mod csrf;
mod device_pages;
mod mfa_pages;
mod migration_pages;
mod site_code_pages;
mod site_pages;

use std::fmt;

use askama::Template;
use axum::body::to_bytes;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::home_pages::AccountPage;
use super::*;

const CSRF: &str = "tok3n-for-tests";

fn theme() -> Theme {
    Theme::new("Acme Sign-in")
}

fn email_page() -> SignInEmailPage {
    SignInEmailPage::new(theme(), "/login", CSRF).with_hidden("flow", "f-123")
}

fn password_page() -> SignInPasswordPage {
    SignInPasswordPage::new(
        theme(),
        "/login/password",
        CSRF,
        "ada@example.com",
        "/login?flow=f-123",
    )
    .with_hidden("flow", "f-123")
}

fn consent_page() -> ConsentPage {
    ConsentPage::new(
        theme(),
        "/consent",
        CSRF,
        "Photo Printer",
        vec![
            ScopeView::new("email", "See your email address"),
            ScopeView::new("offline_access", "Stay connected when you are not using it"),
        ],
    )
    .with_hidden("request", "r-1")
}

fn logout_page() -> LogoutPage {
    LogoutPage::new(theme(), "/logout", CSRF).with_client_name("Photo Printer")
}

fn error_page() -> ErrorPage {
    ErrorPage::new(
        theme(),
        "This link does not work",
        "The app that sent you here is not known to us.",
    )
}

fn signed_out_page() -> SignedOutPage {
    SignedOutPage::new(theme(), Some("https://app.example.com/bye".into()))
}

/// Every page, rendered with ordinary data.
fn all_pages() -> Vec<(&'static str, String)> {
    vec![
        ("email", email_page().render().unwrap()),
        (
            "email with error",
            email_page()
                .with_error(FieldError::new("email", "Enter your email address"))
                .render()
                .unwrap(),
        ),
        ("password", password_page().render().unwrap()),
        (
            "password with error",
            password_page()
                .with_error(FieldError::new("password", "Enter your password"))
                .render()
                .unwrap(),
        ),
        ("site login", site_pages::login_page().render().unwrap()),
        (
            "site login (dual)",
            site_pages::dual_page().render().unwrap(),
        ),
        (
            "site login (identity)",
            site_pages::identity_page().render().unwrap(),
        ),
        (
            "site no access",
            site_pages::no_access_page().render().unwrap(),
        ),
        ("consent", consent_page().render().unwrap()),
        ("error", error_page().render().unwrap()),
        ("logout", logout_page().render().unwrap()),
        ("signed out", signed_out_page().render().unwrap()),
        ("home", home_page().render().unwrap()),
        ("account", account_page().render().unwrap()),
        (
            "account with error",
            AccountPage {
                selected: String::new(),
                error: Some(FieldError::new(
                    "time_zone",
                    "Choose a time zone from the list",
                )),
                ..account_page()
            }
            .render()
            .unwrap(),
        ),
    ]
}

fn home_page() -> crate::ui::home_pages::HomePage {
    crate::ui::home_pages::HomePage {
        theme: theme(),
        signed_in_as: Some("ada@example.com".into()),
        discovery_href: "/.well-known/openid-configuration".into(),
        issuer: "https://id.example.com".into(),
    }
}

fn account_page() -> AccountPage {
    AccountPage {
        theme: theme(),
        csrf: CSRF.into(),
        email: "ada@example.com".into(),
        notice: None,
        action: "/account/time-zone".into(),
        zone: "Europe/Paris".into(),
        selected: "Europe/Paris".into(),
        now_text: "15:32 CET".into(),
        zones: vec!["UTC".into(), "Europe/Paris".into(), "Asia/Tokyo".into()],
        error: None,
    }
}

#[test]
fn account_page_selects_the_zone_and_asks_again_after_a_refusal() {
    let html = account_page().render().unwrap();
    assert!(
        html.contains("<option value=\"Europe/Paris\" selected>Europe/Paris</option>"),
        "{html}"
    );
    assert!(
        html.contains("<option value=\"UTC\">UTC</option>"),
        "{html}"
    );
    assert!(!html.contains("Choose a time zone</option>"));
    let refused = AccountPage {
        selected: String::new(),
        error: Some(FieldError::new(
            "time_zone",
            "Choose a time zone from the list",
        )),
        ..account_page()
    }
    .render()
    .unwrap();
    assert!(refused.contains("<option value=\"\" selected>Choose a time zone</option>"));
    assert!(!refused.contains(" selected>Europe/Paris"));
    assert!(refused.contains("aria-invalid=\"true\""));
}

/// The opening tags named `name` (`input`, `label`, …) in document order.
fn tags<'a>(html: &'a str, name: &str) -> Vec<&'a str> {
    let open = format!("<{name}");
    html.match_indices(&open)
        .filter(|(i, _)| html[i + open.len()..].starts_with([' ', '>']))
        .map(|(i, _)| {
            let end = html[i..].find('>').unwrap();
            &html[i..=i + end]
        })
        .collect()
}

/// The value of `attr` in one tag; `Some("")` for a bare attribute like `hidden`.
fn attr<'a>(tag: &'a str, attr: &str) -> Option<&'a str> {
    let quoted = format!(" {attr}=\"");
    if let Some(start) = tag.find(&quoted) {
        let rest = &tag[start + quoted.len()..];
        return Some(&rest[..rest.find('"').unwrap()]);
    }
    let bare = format!(" {attr}");
    tag.match_indices(&bare)
        .any(|(i, _)| tag[i + bare.len()..].starts_with([' ', '>']))
        .then_some("")
}

fn input_with_id<'a>(html: &'a str, id: &str) -> &'a str {
    tags(html, "input")
        .into_iter()
        .find(|tag| attr(tag, "id") == Some(id))
        .unwrap_or_else(|| panic!("no input with id {id}"))
}

/// Words of the page, lower-cased, for jargon checks.
fn words(html: &str) -> Vec<String> {
    html.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

async fn body_text(response: Response) -> String {
    let bytes = to_bytes(response.into_body(), 1 << 20).await.unwrap();
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[test]
fn every_page_has_the_layout_and_one_h1() {
    for (name, html) in all_pages() {
        assert!(html.starts_with("<!DOCTYPE html>"), "{name}");
        assert!(html.contains("<html lang=\"en\">"), "{name}");
        assert!(
            html.contains(
                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            ),
            "{name}"
        );
        assert_eq!(tags(&html, "h1").len(), 1, "{name}: exactly one h1");
        assert_eq!(tags(&html, "main").len(), 1, "{name}");
        assert!(
            html.contains("<a class=\"skip-link\" href=\"#main\">"),
            "{name}"
        );
        assert!(html.contains("<main id=\"main\""), "{name}");
        assert!(
            html.contains(&format!(
                "<link rel=\"stylesheet\" href=\"{STYLESHEET_PATH}\">"
            )),
            "{name}"
        );
        assert!(html.contains("Acme Sign-in"), "{name}: product name");
    }
}

#[test]
fn s45_pages_have_no_script_inline_style_or_third_party_resources() {
    for (name, html) in all_pages() {
        assert!(!html.contains("<script"), "{name}");
        assert!(!html.contains("<style"), "{name}");
        assert!(!html.contains(" style="), "{name}");
        for tag in html.split('<').skip(1).map(|t| &t[..t.find('>').unwrap()]) {
            assert!(
                !tag.contains(" on"),
                "{name}: no inline event handlers: {tag}"
            );
        }
        // The only absolute URLs are the signed-out page's link back to the app and the
        // issuer named (as text) on the landing page.
        let external = html.matches("://").count();
        assert_eq!(
            external,
            usize::from(name == "signed out" || name == "home"),
            "{name}"
        );
    }
}

#[test]
fn pages_use_no_jargon() {
    for (name, html) in all_pages() {
        let words = words(&html);
        for jargon in ["otp", "acr", "scope", "scopes", "oauth", "oidc"] {
            assert!(!words.contains(&jargon.to_owned()), "{name}: {jargon}");
        }
    }
}

#[test]
fn visible_inputs_have_labels() {
    for (name, html) in all_pages() {
        let label_targets: Vec<&str> = tags(&html, "label")
            .iter()
            .filter_map(|l| attr(l, "for"))
            .collect();
        for input in tags(&html, "input") {
            if attr(input, "type") == Some("hidden") || attr(input, "hidden").is_some() {
                continue;
            }
            let id =
                attr(input, "id").unwrap_or_else(|| panic!("{name}: input without id: {input}"));
            assert!(label_targets.contains(&id), "{name}: no label for {id}");
        }
        for select in tags(&html, "select") {
            let id = attr(select, "id").unwrap_or_else(|| panic!("{name}: select without id"));
            assert!(label_targets.contains(&id), "{name}: no label for {id}");
        }
        for target in label_targets {
            let is_select = tags(&html, "select")
                .iter()
                .any(|tag| attr(tag, "id") == Some(target));
            if !is_select {
                input_with_id(&html, target);
            }
        }
    }
}

#[test]
fn s44_every_form_posts_with_the_csrf_field() {
    for (name, html) in all_pages() {
        let forms = tags(&html, "form");
        for form in &forms {
            assert_eq!(attr(form, "method"), Some("post"), "{name}");
        }
        let csrf_fields = tags(&html, "input")
            .into_iter()
            .filter(|i| attr(i, "name") == Some(CSRF_FIELD))
            .inspect(|i| {
                assert_eq!(attr(i, "type"), Some("hidden"));
                assert_eq!(attr(i, "value"), Some(CSRF));
            })
            .count();
        assert_eq!(csrf_fields, forms.len(), "{name}");
    }
}

#[test]
fn email_page_asks_one_question() {
    let html = email_page().with_email("ada@example.com").render().unwrap();
    let input = input_with_id(&html, "email");
    assert_eq!(attr(input, "type"), Some("email"));
    assert_eq!(attr(input, "autocomplete"), Some("username"));
    assert_eq!(attr(input, "name"), Some("email"));
    assert_eq!(attr(input, "value"), Some("ada@example.com"));
    assert_eq!(attr(input, "aria-invalid"), None);
    assert!(html.contains("<label class=\"label\" for=\"email\">Email address</label>"));
    assert!(html.contains(">Continue</button>"));
    assert!(html.contains("<form method=\"post\" action=\"/login\""));
    assert!(html.contains("<input type=\"hidden\" name=\"flow\" value=\"f-123\">"));
    assert!(html.contains("<title>Sign in – Acme Sign-in</title>"));
}

#[test]
fn error_summary_only_with_an_error() {
    for (name, html) in all_pages() {
        let has_error = name.ends_with("with error");
        assert_eq!(html.contains("error-summary"), has_error, "{name}");
        assert_eq!(html.contains("role=\"alert\""), has_error, "{name}");
        assert_eq!(html.contains("<title>Error: "), has_error, "{name}");
    }
}

#[test]
fn email_error_is_summarised_and_shown_by_the_field() {
    let html = email_page()
        .with_error(FieldError::new(
            "email",
            "Enter an email address, like name@example.com",
        ))
        .render()
        .unwrap();
    let summary = tags(&html, "div")
        .into_iter()
        .find(|d| d.contains("error-summary"))
        .unwrap();
    assert_eq!(attr(summary, "role"), Some("alert"));
    assert_eq!(attr(summary, "tabindex"), Some("-1"));
    assert!(html.contains("<a href=\"#email\">Enter an email address, like name@example.com</a>"));
    assert!(html.contains("<p id=\"email-error\" class=\"error-message\">"));
    let input = input_with_id(&html, "email");
    assert_eq!(attr(input, "aria-invalid"), Some("true"));
    assert_eq!(attr(input, "aria-describedby"), Some("email-error"));
    // The summary comes before the h1, as in the GOV.UK pattern.
    assert!(html.find("error-summary").unwrap() < html.find("<h1>").unwrap());
}

#[test]
fn hostile_email_prefill_is_escaped() {
    let hostile = "\"><script>alert(1)</script>@example.com";
    let html = email_page().with_email(hostile).render().unwrap();
    assert!(!html.contains("<script>"));
    assert!(
        html.contains("&#34;&#62;&#60;script&#62;") || html.contains("&quot;&gt;&lt;script&gt;")
    );
    let input = input_with_id(&html, "email");
    assert!(attr(input, "value").unwrap().contains("script"));
}

#[test]
fn hostile_values_are_escaped_on_every_page() {
    let evil = "<script>x</script>\"'";
    let pages = [
        SignInEmailPage {
            theme: Theme::new(evil),
            hidden: vec![(evil.into(), evil.into())],
            action: evil.into(),
            csrf: evil.into(),
            error: Some(FieldError::new(evil, evil)),
            email: evil.into(),
            client_name: Some(evil.into()),
            signup_href: Some(evil.into()),
        }
        .render()
        .unwrap(),
        SignInPasswordPage {
            email: evil.into(),
            ..password_page()
        }
        .render()
        .unwrap(),
        ConsentPage {
            client_name: evil.into(),
            scopes: vec![ScopeView::new(evil, evil)],
            ..consent_page()
        }
        .render()
        .unwrap(),
        ErrorPage::new(theme(), evil, evil).render().unwrap(),
        LogoutPage::new(theme(), "/logout", CSRF)
            .with_client_name(evil)
            .render()
            .unwrap(),
    ];
    for html in pages {
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("\"'"), "{html}");
    }
}

#[test]
fn password_page_has_the_right_field() {
    let html = password_page().render().unwrap();
    let input = input_with_id(&html, "password");
    assert_eq!(attr(input, "type"), Some("password"));
    assert_eq!(attr(input, "autocomplete"), Some("current-password"));
    assert_eq!(attr(input, "name"), Some("password"));
    assert_eq!(
        attr(input, "value"),
        None,
        "a password is never echoed back"
    );
    assert!(html.contains("Signing in as <strong>ada@example.com</strong>"));
    assert!(html.contains("<a href=\"/login?flow=f-123\">Not you?"));
    assert!(html.contains(">Sign in</button>"));
    // The username hint for password managers is never submitted.
    let hint = tags(&html, "input")
        .into_iter()
        .find(|i| attr(i, "autocomplete") == Some("username"))
        .unwrap();
    assert_eq!(attr(hint, "name"), None);
    assert_eq!(attr(hint, "hidden"), Some(""));
}

#[test]
fn password_page_drops_an_unsafe_change_email_link() {
    let page = SignInPasswordPage {
        change_email_href: "javascript:alert(1)".into(),
        ..password_page()
    };
    let html = page.render().unwrap();
    assert!(!html.contains("javascript"));
    assert!(!html.contains("Not you?"));
}

#[test]
fn consent_page_explains_and_offers_two_choices() {
    let html = consent_page().render().unwrap();
    assert!(html.contains("<h1>Allow Photo Printer to use your Acme Sign-in account?</h1>"));
    assert!(html.contains("<li>See your email address</li>"));
    assert!(
        !html.contains("offline_access"),
        "protocol names stay off the page"
    );
    let buttons = tags(&html, "button");
    assert_eq!(buttons.len(), 2);
    assert_eq!(attr(buttons[0], "name"), Some("decision"));
    assert_eq!(attr(buttons[0], "value"), Some("allow"));
    assert_eq!(attr(buttons[1], "name"), Some("decision"));
    assert_eq!(attr(buttons[1], "value"), Some("deny"));
    assert!(html.contains("<input type=\"hidden\" name=\"request\" value=\"r-1\">"));
}

#[test]
fn consent_page_without_scopes_still_explains() {
    let html = ConsentPage {
        scopes: vec![],
        ..consent_page()
    }
    .render()
    .unwrap();
    assert!(html.contains("Photo Printer will only learn that you signed in."));
    assert!(!html.contains("<ul class=\"list\">"));
}

#[tokio::test]
async fn error_page_uses_the_callers_status_and_never_redirects() {
    let response = error_page().respond(StatusCode::BAD_REQUEST);
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get(header::LOCATION).is_none());
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "text/html; charset=utf-8"
    );
    let html = body_text(response).await;
    assert!(html.contains("<h1>This link does not work</h1>"));
    assert!(html.contains("<p>The app that sent you here is not known to us.</p>"));
}

#[test]
fn logout_page_confirms_before_signing_out() {
    let html = logout_page().render().unwrap();
    assert!(html.contains("<p>Photo Printer asked to sign you out.</p>"));
    assert!(html.contains("<button class=\"button\" type=\"submit\">Sign out</button>"));
    let anonymous = LogoutPage::new(theme(), "/logout", CSRF).render().unwrap();
    assert!(!anonymous.contains("asked to sign you out"));
}

#[test]
fn signed_out_page_links_on_only_to_safe_addresses() {
    let html = signed_out_page().render().unwrap();
    assert!(html.contains("<a class=\"button\" href=\"https://app.example.com/bye\">Continue</a>"));
    for unsafe_href in [
        "javascript:alert(1)",
        "//evil.example",
        "data:text/html,x",
        "https:/\\evil",
    ] {
        let html = SignedOutPage::new(theme(), Some(unsafe_href.into()))
            .render()
            .unwrap();
        assert!(!html.contains("Continue"), "{unsafe_href}");
        // Never a dead end: signing in again is always offered.
        assert!(html.contains("<a class=\"button\" href=\"/account\">Sign in again</a>"));
    }
    // "Sign in again" goes to the app's request when it is known, and only to a safe one.
    let back = SignedOutPage {
        sign_in_href: "/authorize?client_id=a".into(),
        ..SignedOutPage::new(theme(), None)
    };
    assert!(
        back.render()
            .unwrap()
            .contains("href=\"/authorize?client_id=a\">Sign in again")
    );
    let evil = SignedOutPage {
        sign_in_href: "javascript:alert(1)".into(),
        ..SignedOutPage::new(theme(), None)
    };
    let html = evil.render().unwrap();
    assert!(!html.contains("javascript:"), "{html}");
    assert!(html.contains("href=\"/account\">Sign in again"));
}

#[test]
fn error_pages_offer_their_way_on_and_only_a_safe_one() {
    let mut page = error_page();
    page.next = Some(crate::ui::PageLink::new(
        "/authorize?client_id=a&state=b",
        "Start again",
    ));
    let html = page.render().unwrap();
    assert!(
        html.contains(
            "<a class=\"button\" href=\"/authorize?client_id=a&#38;state=b\">Start again</a>"
        ),
        "{html}"
    );
    page.next = Some(crate::ui::PageLink::new(
        "javascript:alert(1)",
        "Start again",
    ));
    assert!(!page.render().unwrap().contains("Start again"));
    assert!(!error_page().render().unwrap().contains("class=\"button\""));
}

#[test]
fn consent_page_names_the_account_with_a_way_out() {
    let html = ConsentPage {
        account_email: "ada@example.com".into(),
        sign_out_href: "/logout".into(),
        ..consent_page()
    }
    .render()
    .unwrap();
    assert!(html.contains("Signed in as <strong>ada@example.com</strong> <a href=\"/logout\">Not you? Sign out</a>"), "{html}");
    // Without an account (never in practice) the line is left out rather than half-filled.
    assert!(!consent_page().render().unwrap().contains("Signed in as"));
}

#[test]
fn the_header_links_home_and_the_email_page_names_the_app() {
    let html = SignInEmailPage {
        client_name: Some("Photo Printer".into()),
        ..SignInEmailPage::new(theme(), "/login", CSRF)
    }
    .render()
    .unwrap();
    assert!(
        html.contains("<a class=\"product-link\" href=\"/\">"),
        "{html}"
    );
    assert!(html.contains("to continue to Photo Printer"), "{html}");
    assert!(
        !html.contains("organization"),
        "no promise of what does not exist: {html}"
    );
    // The first field is focused, unless an error summary takes the focus.
    assert!(html.contains(" autofocus"), "{html}");
    let with_error = SignInEmailPage::new(theme(), "/login", CSRF)
        .with_error(crate::ui::FieldError::new(
            "email",
            "Enter your email address",
        ))
        .render()
        .unwrap();
    assert_eq!(
        with_error.matches("autofocus").count(),
        1,
        "only the error summary"
    );
}

#[test]
fn codes_split_into_groups_that_join_back_to_the_code() {
    use crate::ui::code_groups;
    assert_eq!(code_groups("ABCD-EFGH-IJKL"), ["ABCD-", "EFGH-", "IJKL"]);
    assert_eq!(code_groups("ABCD EFGH IJ"), ["ABCD ", "EFGH ", "IJ"]);
    assert_eq!(code_groups("BCDFGHJK"), ["BCDFGHJK"]);
    assert!(code_groups("").is_empty());
    for code in ["ABCD-EFGH-IJKL", "ABCD EFGH IJ", "A--B"] {
        assert_eq!(code_groups(code).concat(), code);
    }
}

#[test]
fn safe_href_allows_only_http_links_and_local_paths() {
    assert_eq!(safe_href("/login?x=1"), Some("/login?x=1"));
    assert_eq!(
        safe_href("HTTPS://app.example.com/"),
        Some("HTTPS://app.example.com/")
    );
    assert_eq!(
        safe_href("http://localhost:8080/cb"),
        Some("http://localhost:8080/cb")
    );
    for bad in [
        "",
        "javascript:x",
        " javascript:x",
        "//evil",
        "/\\evil",
        "vbscript:x",
        "https://a\n.b",
        "login",
    ] {
        assert_eq!(safe_href(bad), None, "{bad:?}");
    }
}

#[tokio::test]
async fn pages_are_html_responses() {
    let response = email_page().into_response();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "text/html; charset=utf-8"
    );
    assert!(body_text(response).await.contains("<h1>Sign in</h1>"));
}

struct Broken;

impl fmt::Display for Broken {
    fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
        Err(fmt::Error)
    }
}

#[derive(Template)]
#[template(source = "<p>{{ broken }}</p>", ext = "html")]
struct BrokenPage {
    broken: Broken,
}

#[tokio::test]
async fn render_failure_is_a_generic_500() {
    let response = render(BrokenPage { broken: Broken });
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "text/plain; charset=utf-8"
    );
    assert_eq!(
        body_text(response).await,
        "Something went wrong on our side. Please try again.\n"
    );
}
