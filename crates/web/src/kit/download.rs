//! A text file the browser saves instead of showing (`Content-Disposition: attachment`,
//! RFC 6266): the backup codes' "Save to Text File". The name may carry what people typed (a
//! site login), so it is given twice — an ASCII-only `filename` with anything else replaced,
//! and the exact name as RFC 8187 `filename*` — and nothing in it can end the header value,
//! name a folder or hide a character.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

/// Characters kept as they are in the ASCII `filename`; the rest become `_`.
fn plain(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@' | '+')
}

/// The name with what no file name should hold (path separators, control and invisible
/// format characters, quotes) replaced by `_`, leading dots dropped, and at most 200
/// characters.
pub fn safe_file_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_control()
                || matches!(c, '/' | '\\' | '"' | ':' | '*' | '?' | '<' | '>' | '|')
                || is_format_char(c)
            {
                '_'
            } else {
                c
            }
        })
        .collect();
    let trimmed = cleaned.trim_start_matches('.').trim();
    let kept: String = trimmed.chars().take(200).collect();
    if kept.is_empty() {
        "download.txt".to_owned()
    } else {
        kept
    }
}

/// Bidirectional overrides, zero-width characters and the like: they make a name read as
/// something it is not (`codes` + U+202E + `txt.exe` reads as `codesexe.txt`).
fn is_format_char(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}')
}

/// The `Content-Disposition` value for `name`.
pub fn content_disposition(name: &str) -> String {
    let name = safe_file_name(name);
    let ascii: String = name
        .chars()
        .map(|c| if plain(c) { c } else { '_' })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// `body` as a UTF-8 text file named `name`, never cached (it holds secrets).
pub fn text_attachment(name: &str, body: String) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    // Only visible ASCII is written above, so the value is always valid.
    if let Ok(value) = HeaderValue::from_str(&content_disposition(name)) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ordinary_name_is_given_as_it_is() {
        assert_eq!(
            content_disposition("acme_backup_codes_ada.txt"),
            "attachment; filename=\"acme_backup_codes_ada.txt\"; \
             filename*=UTF-8''acme_backup_codes_ada.txt"
        );
    }

    #[test]
    fn other_characters_are_replaced_in_the_ascii_name_and_encoded_in_the_exact_one() {
        assert_eq!(
            content_disposition("acme_backup_codes_zoë smith.txt"),
            "attachment; filename=\"acme_backup_codes_zo__smith.txt\"; \
             filename*=UTF-8''acme_backup_codes_zo%C3%AB%20smith.txt"
        );
    }

    #[test]
    fn nothing_typed_can_end_the_header_name_a_folder_or_hide_a_character() {
        for hostile in [
            "a\"; filename=evil.exe",
            "../../etc/passwd",
            "a\r\nSet-Cookie: x=1",
            "codes\u{202E}txt.exe",
            "zero\u{200B}width",
            "c:\\windows\\x",
            "...hidden",
        ] {
            let value = content_disposition(&format!("acme_backup_codes_{hostile}.txt"));
            assert!(HeaderValue::from_str(&value).is_ok(), "{value}");
            let ascii = value
                .strip_prefix("attachment; filename=\"")
                .and_then(|v| v.split_once("\"; filename*=UTF-8''"))
                .unwrap_or_else(|| panic!("one filename and one filename*: {value}"));
            assert!(ascii.0.chars().all(plain), "{value}");
            assert!(
                !ascii.1.contains(['"', ';', '/', '\\', ' ', '\r', '\n']),
                "{value}"
            );
            assert!(!ascii.1.contains("%E2%80%AE") && !ascii.1.contains("%E2%80%8B"));
        }
        assert_eq!(safe_file_name("..."), "download.txt");
        assert_eq!(safe_file_name(&"a".repeat(500)).len(), 200);
    }

    #[test]
    fn the_file_is_plain_text_saved_not_shown_and_not_cached() {
        let response = text_attachment("x.txt", "ABCDE-FGHJK\n".to_owned());
        let headers = response.headers();
        assert_eq!(headers[header::CONTENT_TYPE], "text/plain; charset=utf-8");
        assert_eq!(headers[header::CACHE_CONTROL], "no-store");
        assert!(
            headers[header::CONTENT_DISPOSITION]
                .to_str()
                .unwrap()
                .starts_with("attachment; ")
        );
    }
}
