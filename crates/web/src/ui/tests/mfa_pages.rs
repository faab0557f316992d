//! The second sign-in step and the security settings pages: the same rules as the sign-in
//! pages (one h1, labels, CSRF on every form, escaping, no script), plus what each page promises.

use askama::Template;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

use super::{CSRF, attr, body_text, input_with_id, tags, theme, words};
use crate::ui::{
    BackupCodePage, CSRF_FIELD, ChallengePage, DeviceView, FieldError, ReconfirmPage, SecurityPage,
    SessionView, StaySignedInPage, TotpSetupPage, TrustDevicePage,
};

const SVG: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 29 29\" \
                   shape-rendering=\"crispEdges\"><path fill=\"#000\" d=\"M4 4h7v7H4z\"/></svg>";

fn hidden() -> Vec<(String, String)> {
    vec![("flow".into(), "f-123".into())]
}

fn challenge(method: &str) -> ChallengePage {
    ChallengePage {
        theme: theme(),
        action: "/login/code".into(),
        csrf: CSRF.into(),
        hidden: hidden(),
        method: method.into(),
        email: "ada@example.com".into(),
        expires_text: Some("14:32 UTC (in 10 minutes)".into()),
        resend_action: "/login/code/email".into(),
        resend_text: None,
        too_many_sends: false,
        email_code_live: true,
        backup_href: Some("/login/code?method=backup".into()),
        totp_href: Some("/login/code?method=totp".into()),
        notice: None,
        step_up: false,
        error: None,
        submit_label: "Continue".into(),
    }
}

fn backup_page() -> BackupCodePage {
    BackupCodePage {
        theme: theme(),
        action: "/security/backup-code/saved".into(),
        csrf: CSRF.into(),
        hidden: hidden(),
        code: "ABCD-EFGH-JKLM-NPQR".into(),
        generated_text: "22 November 2026 at 14:32 UTC".into(),
        first_time: true,
        replaced_used: false,
        error: None,
    }
}

fn trust_page() -> TrustDevicePage {
    TrustDevicePage {
        theme: theme(),
        action: "/login/trust".into(),
        csrf: CSRF.into(),
        hidden: hidden(),
        until_text: "21 December 2026".into(),
    }
}

fn device(label: &str, id: u32) -> DeviceView {
    DeviceView {
        label: label.into(),
        trusted_until_text: "21 December 2026".into(),
        last_used_text: "22 November 2026".into(),
        revoke_action: format!("/security/devices/{id}/remove"),
        this_device: false,
    }
}

fn security_page() -> SecurityPage {
    SecurityPage {
        theme: theme(),
        csrf: CSRF.into(),
        email: "ada@example.com".into(),
        uses_authenticator: true,
        setup_href: "/security/authenticator".into(),
        turn_off_action: "/security/authenticator/off".into(),
        backup_generated_text: Some("22 November 2026 at 14:32 UTC".into()),
        backup_action: "/security/backup-code".into(),
        devices: vec![device("Firefox on Linux", 1), device("Safari on iPhone", 2)],
        revoke_all_action: "/security/devices/remove-all".into(),
        notice: None,
        end_other_sessions_action: "/account/sessions/end-others".into(),
        sessions: vec![
            session_view("Chrome on macOS", true),
            session_view("Firefox on Linux", false),
        ],
        end_session_action: "/account/sessions/end".into(),
        sign_out_href: "/logout".into(),
    }
}

fn session_view(device: &str, current: bool) -> SessionView {
    SessionView {
        device: device.into(),
        place: "Network 203.0.113.0/24".into(),
        started_text: "1 December 2026 at 09:00 UTC".into(),
        last_seen_text: "2 December 2026 at 10:00 UTC".into(),
        handle: format!("{:064x}", device.len()),
        current,
    }
}

/// F3: every signed-in browser is listed with its device and network; only the others have
/// a "Sign out" form (this one signs out with the header's link), each naming its session.
#[test]
fn security_page_lists_sessions_and_signs_out_only_the_others() {
    let html = security_page().render().unwrap();
    assert!(html.contains("Chrome on macOS <span class=\"tag\">This browser</span>"));
    assert!(html.contains("Network 203.0.113.0/24"));
    assert!(html.contains("Last active 2 December 2026 at 10:00 UTC"));
    assert_eq!(html.matches("action=\"/account/sessions/end\"").count(), 1);
    let other = format!(
        "name=\"session\" value=\"{:064x}\"",
        "Firefox on Linux".len()
    );
    assert!(html.contains(&other), "{html}");
    let current = format!("value=\"{:064x}\"", "Chrome on macOS".len());
    assert!(!html.contains(&current));
}

fn totp_page() -> TotpSetupPage {
    TotpSetupPage {
        theme: theme(),
        action: "/security/authenticator".into(),
        csrf: CSRF.into(),
        hidden: hidden(),
        qr_svg: SVG.into(),
        secret_text: "JBSW Y3DP EHPK 3PXP".into(),
        replacing: false,
        required: false,
        site_name: None,
        error: None,
    }
}

fn reconfirm_page() -> ReconfirmPage {
    ReconfirmPage {
        theme: theme(),
        action: "/security/reconfirm".into(),
        csrf: CSRF.into(),
        hidden: hidden(),
        email: "ada@example.com".into(),
        cancel_href: String::new(),
        error: None,
    }
}

/// Every page and variant, rendered with ordinary data.
fn all_pages() -> Vec<(&'static str, String)> {
    let code_error = || {
        Some(FieldError::new(
            "code",
            "Enter the 6-digit code from your email",
        ))
    };
    vec![
        ("challenge email", challenge("email").render().unwrap()),
        ("challenge totp", challenge("totp").render().unwrap()),
        ("challenge backup", challenge("backup").render().unwrap()),
        (
            "challenge step-up with notice",
            ChallengePage {
                step_up: true,
                notice: Some("We sent a new code".into()),
                resend_text: Some("You can ask for a new code at 14:33 UTC".into()),
                ..challenge("email")
            }
            .render()
            .unwrap(),
        ),
        (
            "challenge email with error",
            ChallengePage {
                error: code_error(),
                ..challenge("email")
            }
            .render()
            .unwrap(),
        ),
        (
            "challenge backup with error",
            ChallengePage {
                error: Some(FieldError::new("code", "Enter your backup code")),
                ..challenge("backup")
            }
            .render()
            .unwrap(),
        ),
        ("backup code", backup_page().render().unwrap()),
        (
            "backup code with error",
            BackupCodePage {
                error: Some(FieldError::new(
                    "saved",
                    "Confirm that you saved your backup code",
                )),
                ..backup_page()
            }
            .render()
            .unwrap(),
        ),
        ("trust device", trust_page().render().unwrap()),
        ("security", security_page().render().unwrap()),
        (
            "security without app or devices",
            SecurityPage {
                uses_authenticator: false,
                backup_generated_text: None,
                devices: vec![],
                notice: Some("Your authenticator app is turned off".into()),
                ..security_page()
            }
            .render()
            .unwrap(),
        ),
        ("totp setup", totp_page().render().unwrap()),
        (
            "totp setup required by the organization",
            TotpSetupPage {
                required: true,
                ..totp_page()
            }
            .render()
            .unwrap(),
        ),
        (
            "totp setup with error",
            TotpSetupPage {
                error: code_error(),
                replacing: true,
                ..totp_page()
            }
            .render()
            .unwrap(),
        ),
        ("reconfirm", reconfirm_page().render().unwrap()),
        (
            "reconfirm with error",
            ReconfirmPage {
                error: Some(FieldError::new("password", "Enter your password")),
                ..reconfirm_page()
            }
            .render()
            .unwrap(),
        ),
    ]
}

/// The heading levels (1–6) in document order.
fn heading_levels(html: &str) -> Vec<u8> {
    let mut levels = Vec::new();
    for (i, _) in html.match_indices("<h") {
        let rest = &html.as_bytes()[i + 2..];
        if let [digit @ b'1'..=b'6', b' ' | b'>', ..] = rest {
            levels.push(digit - b'0');
        }
    }
    levels
}

/// The text of the first element that starts with `open` (up to `close`).
fn element<'a>(html: &'a str, open: &str, close: &str) -> &'a str {
    let start = html
        .find(open)
        .unwrap_or_else(|| panic!("no {open} in page"));
    let end = html[start..].find(close).unwrap() + start + close.len();
    &html[start..end]
}

/// The forms of a page, each from `<form` to `</form>`.
fn forms(html: &str) -> Vec<&str> {
    html.match_indices("<form ")
        .map(|(i, _)| {
            let end = html[i..].find("</form>").unwrap() + i + "</form>".len();
            &html[i..end]
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

#[test]
fn every_page_has_the_layout_one_h1_and_headings_in_order() {
    for (name, html) in all_pages() {
        assert!(html.starts_with("<!DOCTYPE html>"), "{name}");
        assert!(html.contains("<html lang=\"en\">"), "{name}");
        assert_eq!(tags(&html, "h1").len(), 1, "{name}: exactly one h1");
        assert!(html.contains("Acme Sign-in"), "{name}: product name");
        // Only the error summary's h2 may come before the h1; after it no level is skipped.
        let levels = heading_levels(&html);
        let h1 = levels.iter().position(|l| *l == 1).unwrap();
        assert!(h1 <= usize::from(html.contains("error-summary")), "{name}");
        for pair in levels[h1..].windows(2) {
            assert!(pair[1] <= pair[0] + 1, "{name}: heading skips a level");
        }
    }
}

#[test]
fn pages_have_no_script_inline_style_or_third_party_resources() {
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
        // The only URL with a scheme is the QR code's SVG namespace, which loads nothing.
        let svg_namespaces = html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count();
        assert_eq!(html.matches("://").count(), svg_namespaces, "{name}");
        assert_eq!(
            svg_namespaces,
            usize::from(name.starts_with("totp")),
            "{name}"
        );
    }
}

/// The page without its tags: what people read (attribute values such as the posted `method`
/// are not shown).
fn visible_text(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                text.push(' ');
            }
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    text
}

#[test]
fn pages_use_no_jargon() {
    for (name, html) in all_pages() {
        let words = words(&visible_text(&html));
        for jargon in ["otp", "totp", "mfa", "2fa", "acr", "amr", "oauth", "oidc"] {
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
        for target in label_targets {
            input_with_id(&html, target);
        }
    }
}

#[test]
fn every_form_posts_with_the_csrf_field() {
    for (name, html) in all_pages() {
        let forms = forms(&html);
        assert_eq!(forms.len(), tags(&html, "form").len(), "{name}");
        assert!(!forms.is_empty(), "{name}");
        for form in forms {
            assert_eq!(
                attr(tags(form, "form")[0], "method"),
                Some("post"),
                "{name}"
            );
            let csrf = tags(form, "input")
                .into_iter()
                .filter(|i| attr(i, "name") == Some(CSRF_FIELD))
                .inspect(|i| {
                    assert_eq!(attr(i, "type"), Some("hidden"));
                    assert_eq!(attr(i, "value"), Some(CSRF));
                })
                .count();
            assert_eq!(csrf, 1, "{name}: {form}");
        }
    }
}

#[test]
fn error_summary_only_with_an_error_and_the_message_by_the_field() {
    for (name, html) in all_pages() {
        let has_error = name.ends_with("with error");
        assert_eq!(html.contains("error-summary"), has_error, "{name}");
        assert_eq!(html.contains("role=\"alert\""), has_error, "{name}");
        assert_eq!(html.contains("<title>Error: "), has_error, "{name}");
        if has_error {
            let field = ["code", "saved", "password"]
                .into_iter()
                .find(|f| html.contains(&format!("<a href=\"#{f}\">")))
                .unwrap_or_else(|| panic!("{name}: summary links to a field"));
            let input = input_with_id(&html, field);
            assert_eq!(attr(input, "aria-invalid"), Some("true"), "{name}");
            assert!(
                attr(input, "aria-describedby")
                    .unwrap()
                    .split(' ')
                    .any(|id| id == format!("{field}-error")),
                "{name}"
            );
            assert!(html.contains(&format!("<p id=\"{field}-error\" class=\"error-message\">")));
            assert!(html.find("error-summary").unwrap() < html.find("<h1").unwrap());
        }
    }
}

#[test]
fn code_inputs_ask_for_numbers_and_one_time_codes() {
    let pages = [
        challenge("email").render().unwrap(),
        challenge("totp").render().unwrap(),
        totp_page().render().unwrap(),
    ];
    for html in pages {
        let input = input_with_id(&html, "code");
        assert_eq!(attr(input, "name"), Some("code"));
        assert_eq!(attr(input, "type"), Some("text"));
        assert_eq!(attr(input, "inputmode"), Some("numeric"));
        assert_eq!(attr(input, "autocomplete"), Some("one-time-code"));
        assert_eq!(
            attr(input, "pattern"),
            Some("[0-9 \\-]*"),
            "spaces and dashes"
        );
        assert_eq!(attr(input, "value"), None, "a code is never echoed back");
        assert!(
            attr(input, "aria-describedby")
                .unwrap()
                .contains("code-hint")
        );
        assert!(html.contains("<p id=\"code-hint\" class=\"hint\">Enter the 6-digit code</p>"));
    }
}

#[test]
fn backup_code_input_takes_letters() {
    let html = challenge("backup").render().unwrap();
    let input = input_with_id(&html, "code");
    assert_eq!(attr(input, "name"), Some("code"));
    assert_eq!(attr(input, "autocomplete"), Some("off"));
    assert_eq!(attr(input, "autocapitalize"), Some("characters"));
    assert_eq!(attr(input, "spellcheck"), Some("false"));
    assert_eq!(attr(input, "inputmode"), None);
    assert!(html.contains("<label class=\"label\" for=\"code\">Backup code</label>"));
    assert!(html.contains("The code you saved, like ABCD-EFGH-…"));
}

#[test]
fn challenge_posts_its_method_with_the_code() {
    for (method, expected) in [
        ("email", "email"),
        ("totp", "totp"),
        ("backup", "backup"),
        ("\"><b>", "email"),
    ] {
        let html = challenge(method).render().unwrap();
        let main = forms(&html)
            .into_iter()
            .find(|f| f.contains("action=\"/login/code\""))
            .unwrap();
        assert!(
            main.contains(&format!(
                "<input type=\"hidden\" name=\"method\" value=\"{expected}\">"
            )),
            "{method}"
        );
        assert!(main.contains("<input type=\"hidden\" name=\"flow\" value=\"f-123\">"));
        assert!(main.contains("<button class=\"button\" type=\"submit\">Continue</button>"));
    }
}

#[test]
fn challenge_headings_follow_the_method() {
    let email = challenge("email").render().unwrap();
    assert!(email.contains("<h1>Check your email</h1>"));
    assert!(email.contains("<title>Check your email – Acme Sign-in</title>"));
    assert!(email.contains(
        "We sent a 6-digit code to <strong>ada@example.com</strong>. \
         It expires at 14:32 UTC (in 10 minutes).</p>"
    ));
    let totp = challenge("totp").render().unwrap();
    assert!(totp.contains("<h1>Enter the code from your authenticator app</h1>"));
    assert!(totp.contains("<label class=\"label\" for=\"code\">Code</label>"));
    let backup = challenge("backup").render().unwrap();
    assert!(backup.contains("<h1>Enter your backup code</h1>"));
    let no_expiry = ChallengePage {
        expires_text: None,
        ..challenge("email")
    }
    .render()
    .unwrap();
    assert!(no_expiry.contains("<strong>ada@example.com</strong>.</p>"));
    assert!(!no_expiry.contains("expires"));
}

#[test]
fn challenge_variants_offer_the_other_ways() {
    let resend = |html: &str| {
        forms(html)
            .into_iter()
            .find(|f| f.contains("action=\"/login/code/email\""))
            .map(str::to_owned)
    };

    let email = challenge("email").render().unwrap();
    let form = resend(&email).expect("email variant can send a new code");
    assert!(form.contains(">Send a new code</button>"));
    assert!(form.contains("<input type=\"hidden\" name=\"flow\" value=\"f-123\">"));
    assert!(!email.contains("Get code by email"));
    assert!(email.contains("<a href=\"/login/code?method=backup\">Use a backup code</a>"));
    assert!(email.contains("<a href=\"/login/code?method=totp\">Use your authenticator app</a>"));

    let totp = challenge("totp").render().unwrap();
    assert!(
        resend(&totp)
            .unwrap()
            .contains(">Get code by email</button>")
    );
    assert!(!totp.contains("Send a new code"));
    assert!(totp.contains("Use a backup code"));
    assert!(!totp.contains("Use your authenticator app"), "already here");

    let backup = challenge("backup").render().unwrap();
    assert!(
        resend(&backup)
            .unwrap()
            .contains(">Get code by email</button>")
    );
    assert!(backup.contains("Use your authenticator app"));
    assert!(!backup.contains("Use a backup code"), "already here");

    // Without links (no app, no backup code) the section disappears; email is always offered.
    let bare = ChallengePage {
        backup_href: None,
        totp_href: None,
        ..challenge("email")
    }
    .render()
    .unwrap();
    assert!(!bare.contains("Other ways"));
    assert!(resend(&bare).is_some());
    assert_eq!(forms(&bare).len(), 2);
}

#[test]
fn challenge_drops_unsafe_links() {
    let html = ChallengePage {
        backup_href: Some("javascript:alert(1)".into()),
        totp_href: Some("//evil.example/".into()),
        ..challenge("email")
    }
    .render()
    .unwrap();
    assert!(!html.contains("javascript"));
    assert!(!html.contains("evil"));
    assert!(!html.contains("Use a backup code"));
    assert!(!html.contains("Use your authenticator app"));
}

#[test]
fn challenge_step_up_notice_and_resend_time() {
    let html = ChallengePage {
        step_up: true,
        notice: Some("We sent a new code".into()),
        resend_text: Some("You can ask for a new code at 14:33 UTC".into()),
        submit_label: String::new(),
        ..challenge("totp")
    }
    .render()
    .unwrap();
    assert!(html.contains(
        "<h1><span class=\"caption\">Confirm it's you</span> \
         Enter the code from your authenticator app</h1>"
    ));
    assert!(html.contains("<p class=\"notice\" role=\"status\">We sent a new code</p>"));
    assert!(html.contains("You can ask for a new code at 14:33 UTC"));
    assert!(html.contains(">Continue</button>"), "default label");
    let plain = challenge("totp").render().unwrap();
    assert!(!plain.contains("Confirm it's you"));
    assert!(!plain.contains("role=\"status\""));
}

#[test]
fn backup_page_shows_the_code_once_with_a_download_and_an_acknowledgement() {
    let html = backup_page().render().unwrap();
    assert!(html.contains("<h1>Save your backup code</h1>"));
    assert!(html.contains("<p class=\"secret-block\"><code><span class=\"code-group\">ABCD-</span><wbr><span class=\"code-group\">EFGH-</span><wbr><span class=\"code-group\">JKLM-</span><wbr><span class=\"code-group\">NPQR</span></code></p>"));
    assert!(html.contains("Last generated 22 November 2026 at 14:32 UTC"));

    let checkbox = input_with_id(&html, "saved");
    assert_eq!(attr(checkbox, "type"), Some("checkbox"));
    assert_eq!(attr(checkbox, "name"), Some("saved"));
    assert_eq!(attr(checkbox, "value"), Some("yes"));
    assert_eq!(attr(checkbox, "required"), Some(""));
    assert!(
        html.contains(
            "<label class=\"checkbox-label\" for=\"saved\">I saved my backup code</label>"
        )
    );
    assert!(html.contains("<button class=\"button\" type=\"submit\">Continue</button>"));
    assert!(!html.contains("Copy"), "a copy button needs script");

    let link = tags(&html, "a")
        .into_iter()
        .find(|a| attr(a, "download").is_some())
        .unwrap();
    assert_eq!(attr(link, "download"), Some("backup-code.txt"));
    assert!(html.contains(" download=\"backup-code.txt\">Download as a text file</a>"));
    let href = attr(link, "href").unwrap();
    let data = href.strip_prefix("data:text/plain;charset=utf-8,").unwrap();
    assert!(
        data.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~%".contains(&b)),
        "{data}"
    );
    assert_eq!(
        percent_decode(data),
        "Backup code for Acme Sign-in: ABCD-EFGH-JKLM-NPQR\n"
    );
    assert_eq!(href, backup_page().download_href(), "unchanged by escaping");
}

#[test]
fn backup_download_round_trips_any_product_name() {
    let page = BackupCodePage {
        theme: crate::ui::Theme::new("Acme & \"Co\" <Sign-in> + 100% é"),
        ..backup_page()
    };
    let html = page.render().unwrap();
    let href = page.download_href();
    assert!(html.contains(&format!("href=\"{href}\"")));
    let data = href.strip_prefix("data:text/plain;charset=utf-8,").unwrap();
    assert!(!data.contains(['+', ' ', '<', '&', '"']));
    assert_eq!(
        percent_decode(data),
        "Backup code for Acme & \"Co\" <Sign-in> + 100% é: ABCD-EFGH-JKLM-NPQR\n"
    );
}

#[test]
fn backup_page_heading_says_why_it_is_shown() {
    let used = BackupCodePage {
        first_time: false,
        replaced_used: true,
        ..backup_page()
    }
    .render()
    .unwrap();
    assert!(used.contains("<h1>You used your backup code. Here is a new one</h1>"));
    let renewed = BackupCodePage {
        first_time: false,
        ..backup_page()
    }
    .render()
    .unwrap();
    assert!(renewed.contains("<h1>Your new backup code</h1>"));
    assert!(renewed.contains("Your old backup code no longer works."));
}

#[test]
fn trust_page_offers_two_choices() {
    let html = trust_page().render().unwrap();
    assert!(html.contains("<h1>Trust this device?</h1>"));
    assert!(html.contains("until 21 December 2026."));
    assert!(html.contains("If you're using a shared or public computer, choose"));
    let buttons = tags(&html, "button");
    assert_eq!(buttons.len(), 2);
    assert_eq!(attr(buttons[0], "name"), Some("trust"));
    assert_eq!(attr(buttons[0], "value"), Some("yes"));
    assert_eq!(attr(buttons[1], "name"), Some("trust"));
    assert_eq!(attr(buttons[1], "value"), Some("no"));
    assert_eq!(attr(buttons[1], "class"), Some("button button-secondary"));
    assert!(html.contains(">Trust this device</button>"));
    assert!(html.contains(">Don't trust this device</button>"));
    assert_eq!(forms(&html).len(), 1);
}

#[test]
fn security_page_with_an_app_and_devices() {
    let html = security_page().render().unwrap();
    assert!(html.contains("<h1>Security</h1>"));
    for h2 in ["Sign-in confirmation", "Backup code", "Trusted devices"] {
        assert!(html.contains(&format!("\">{h2}</h2>")), "{h2}");
    }
    assert!(html.contains("<strong>ada@example.com</strong>"));
    assert!(html.contains(
        "<a class=\"button button-secondary\" href=\"/security/authenticator\">Replace<span \
         class=\"visually-hidden\"> your authenticator app</span></a>"
    ));
    // Security reductions are links to a confirmation page (issue 12 item 8), not forms.
    assert!(html.contains(
        "<a class=\"button button-secondary\" href=\"/security/authenticator/off\">Turn off<span"
    ));
    assert!(!html.contains(">Set up<"));
    assert!(html.contains("Last generated 22 November 2026 at 14:32 UTC"));
    assert!(html.contains(">Generate a new backup code</a>"));
    assert!(html.contains("<a href=\"/logout\">Sign out</a>"));

    // One link per device, and its accessible name says which device.
    for (id, label) in [(1, "Firefox on Linux"), (2, "Safari on iPhone")] {
        assert!(html.contains(&format!(
            "href=\"/security/devices/{id}/remove\">Remove<span class=\"visually-hidden\"> \
             {label}</span></a>"
        )));
    }
    assert!(!html.contains("This device"));
    assert!(html.contains("Trusted until 21 December 2026"));
    assert!(html.contains(">Remove all trusted devices</a>"));
    // Only the sign-outs act at once (they take nothing away): "sign out everywhere else"
    // and one "Sign out" for the other browser in the session list.
    assert_eq!(forms(&html).len(), 2);
}

#[test]
fn security_page_marks_this_device() {
    let mut page = security_page();
    page.devices[1].this_device = true;
    let html = page.render().unwrap();
    assert!(html.contains(
        "<h3 class=\"device-label\">Safari on iPhone <span class=\"tag\">This device</span></h3>"
    ));
    assert!(html.contains("> Safari on iPhone (this device)</span></a>"));
    assert_eq!(html.matches("This device").count(), 1);
}

#[test]
fn security_page_without_an_app_or_devices() {
    let html = SecurityPage {
        uses_authenticator: false,
        backup_generated_text: None,
        devices: vec![],
        notice: Some("Your authenticator app is turned off".into()),
        ..security_page()
    }
    .render()
    .unwrap();
    assert!(html.contains("We email you a code when you sign in."));
    assert!(html.contains(
        "<a class=\"button button-secondary\" href=\"/security/authenticator\">Set up<span"
    ));
    assert!(!html.contains("Turn off"));
    assert!(!html.contains(">Replace<"));
    assert!(html.contains("You have no backup code yet."));
    assert!(html.contains("You have no trusted devices."));
    assert!(!html.contains("Remove"));
    assert!(
        html.contains(
            "<p class=\"notice\" role=\"status\">Your authenticator app is turned off</p>"
        )
    );
    assert_eq!(
        forms(&html).len(),
        2,
        "only the sign-out forms: everywhere else, and the other browser"
    );
}

#[test]
fn security_page_drops_unsafe_links() {
    let html = SecurityPage {
        setup_href: "javascript:alert(1)".into(),
        end_other_sessions_action: "/account/sessions/end-others".into(),
        sign_out_href: "//evil.example".into(),
        ..security_page()
    }
    .render()
    .unwrap();
    assert!(!html.contains("javascript"));
    assert!(!html.contains("evil"));
    assert!(!html.contains(">Sign out</a>"));
    assert!(!html.contains(">Replace<"));
}

#[test]
fn totp_setup_shows_the_qr_code_and_the_key() {
    let html = totp_page().render().unwrap();
    assert!(html.contains("<h1>Set up your authenticator app</h1>"));
    let figure = element(&html, "<figure", "</figure>");
    assert!(figure.contains(SVG), "the SVG is inserted as markup");
    let open = tags(figure, "figure")[0];
    assert_eq!(attr(open, "role"), Some("img"));
    assert_eq!(
        attr(open, "aria-label"),
        Some("QR code for your authenticator app")
    );
    assert!(html.contains("<code class=\"secret-block\"><span class=\"code-group\">JBSW </span><wbr><span class=\"code-group\">Y3DP </span><wbr><span class=\"code-group\">EHPK </span><wbr><span class=\"code-group\">3PXP</span></code>"));
    let steps = element(&html, "<ol class=\"steps\">", "</ol>");
    assert_eq!(tags(steps, "li").len(), 3);
    assert!(steps.contains(SVG));
    assert!(html.contains("<label class=\"label\" for=\"code\">Code from the app</label>"));
    assert!(html.contains("<button class=\"button\" type=\"submit\">Turn on</button>"));
    assert!(html.contains("<input type=\"hidden\" name=\"flow\" value=\"f-123\">"));

    let replacing = TotpSetupPage {
        replacing: true,
        ..totp_page()
    }
    .render()
    .unwrap();
    assert!(replacing.contains("<h1>Replace your authenticator app</h1>"));
    assert!(!html.contains("Your organization requires"));

    let required = TotpSetupPage {
        required: true,
        ..totp_page()
    }
    .render()
    .unwrap();
    assert!(required.contains("<h1>Set up your authenticator app</h1>"));
    assert!(required.contains("Your organization requires an authenticator app to sign in."));
}

#[test]
fn reconfirm_asks_for_the_password_again() {
    let html = reconfirm_page().render().unwrap();
    assert!(html.contains("<h1>Confirm it's you</h1>"));
    assert!(html.contains("To change your security settings, enter your password again."));
    let input = input_with_id(&html, "password");
    assert_eq!(attr(input, "type"), Some("password"));
    assert_eq!(attr(input, "name"), Some("password"));
    assert_eq!(attr(input, "autocomplete"), Some("current-password"));
    assert_eq!(attr(input, "value"), None);
    let hint = tags(&html, "input")
        .into_iter()
        .find(|i| attr(i, "autocomplete") == Some("username"))
        .unwrap();
    assert_eq!(attr(hint, "name"), None);
    assert_eq!(attr(hint, "hidden"), Some(""));
    assert_eq!(attr(hint, "value"), Some("ada@example.com"));
    assert!(html.contains(">Continue</button>"));
}

#[test]
fn hostile_values_are_escaped_on_every_page() {
    let evil = "<script>x</script>\"'";
    let pages = [
        ChallengePage {
            email: evil.into(),
            expires_text: Some(evil.into()),
            resend_text: Some(evil.into()),
            notice: Some(evil.into()),
            submit_label: evil.into(),
            hidden: vec![(evil.into(), evil.into())],
            error: Some(FieldError::new(evil, evil)),
            ..challenge("email")
        }
        .render()
        .unwrap(),
        ChallengePage {
            email: evil.into(),
            ..challenge("totp")
        }
        .render()
        .unwrap(),
        BackupCodePage {
            theme: crate::ui::Theme::new(evil),
            code: evil.into(),
            generated_text: evil.into(),
            ..backup_page()
        }
        .render()
        .unwrap(),
        TrustDevicePage {
            until_text: evil.into(),
            ..trust_page()
        }
        .render()
        .unwrap(),
        SecurityPage {
            email: evil.into(),
            notice: Some(evil.into()),
            backup_generated_text: Some(evil.into()),
            devices: vec![DeviceView {
                label: evil.into(),
                trusted_until_text: evil.into(),
                last_used_text: evil.into(),
                revoke_action: evil.into(),
                this_device: true,
            }],
            ..security_page()
        }
        .render()
        .unwrap(),
        TotpSetupPage {
            secret_text: evil.into(),
            error: Some(FieldError::new("code", evil)),
            ..totp_page()
        }
        .render()
        .unwrap(),
        ReconfirmPage {
            email: evil.into(),
            ..reconfirm_page()
        }
        .render()
        .unwrap(),
    ];
    for html in pages {
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("\"'"), "{html}");
        assert!(html.contains("&#60;script&#62;") || html.contains("&lt;script&gt;"));
    }
}

#[tokio::test]
async fn pages_are_html_responses() {
    let responses = [
        challenge("email").into_response(),
        backup_page().into_response(),
        trust_page().into_response(),
        security_page().into_response(),
        totp_page().into_response(),
        reconfirm_page().into_response(),
    ];
    for response in responses {
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
        assert_eq!(tags(&body_text(response).await, "h1").len(), 1);
    }
}

#[test]
fn defaults_render() {
    // A handler may fill only what it has; an empty page still renders.
    for html in [
        ChallengePage::default().render().unwrap(),
        BackupCodePage::default().render().unwrap(),
        TrustDevicePage::default().render().unwrap(),
        SecurityPage::default().render().unwrap(),
        TotpSetupPage::default().render().unwrap(),
        ReconfirmPage::default().render().unwrap(),
    ] {
        assert_eq!(tags(&html, "h1").len(), 1);
    }
    assert!(
        ChallengePage::default()
            .render()
            .unwrap()
            .contains("<h1>Check your email</h1>")
    );
}

#[test]
fn too_many_codes_sent_offers_the_other_ways_first_and_a_time_without_a_code_box() {
    let page = ChallengePage {
        too_many_sends: true,
        email_code_live: false,
        expires_text: None,
        resend_text: Some("You can ask for a new code at 15:04 UTC (in 42 minutes)".into()),
        ..challenge("email")
    };
    let html = page.render().unwrap();
    assert!(html.contains("<h1>Too many codes sent</h1>"));
    assert!(html.contains("A code we sent for an earlier sign-in does not work here."));
    assert!(html.contains("You can ask for a new code at 15:04 UTC (in 42 minutes)"));
    let has_code_box = |html: &str| {
        tags(html, "input")
            .iter()
            .any(|t| attr(t, "id") == Some("code"))
    };
    assert!(!has_code_box(&html), "no code box");
    // The other ways come before the retry.
    let others = html.find("Other ways to confirm it's you").unwrap();
    let retry = html.find("Get a new code later").unwrap();
    assert!(others < retry);
    assert!(html.contains(">Use your authenticator app</a>"));
    assert!(html.contains(">Use a backup code</a>"));
    assert!(html.contains(">Send a new code</button>"));
    assert!(!html.contains("Check your spam"));

    // With a live code of this sign-in: it is named, and its box is there.
    let html = ChallengePage {
        email_code_live: true,
        expires_text: Some("14:32 UTC (in 10 minutes)".into()),
        ..page
    }
    .render()
    .unwrap();
    assert!(html.contains(
        "The code we sent for this sign-in still works until 14:32 UTC (in 10 minutes)."
    ));
    assert!(has_code_box(&html));
}

#[test]
fn stay_signed_in_page_promises_only_what_the_session_does() {
    let html = StaySignedInPage {
        theme: theme(),
        action: "/login/stay-signed-in".into(),
        csrf: CSRF.into(),
        hidden: hidden(),
        until_text: "6 January 2027 at 14:32 UTC".into(),
        days: 30,
        idle_hours: 24,
    }
    .render()
    .unwrap();
    assert!(html.contains("<h1>Stay signed in on this browser?</h1>"));
    assert!(html.contains("until 6 January 2027 at 14:32 UTC, even if you close it"));
    assert!(
        html.contains(
            "a code from your authenticator app before you change your security settings"
        )
    );
    assert!(html.contains("after 24 hours without use"));
    assert!(
        !html.contains("not ask you for a code"),
        "no trusted-device promise"
    );
    let buttons = tags(&html, "button");
    assert_eq!(buttons.len(), 2);
    assert_eq!(attr(buttons[0], "name"), Some("stay"));
    assert_eq!(attr(buttons[0], "value"), Some("yes"));
    assert_eq!(attr(buttons[1], "value"), Some("no"));
    assert!(html.contains(">Stay signed in for 30 days</button>"));
    assert!(html.contains(">Don't stay signed in</button>"));
    assert_eq!(forms(&html).len(), 1);
}
